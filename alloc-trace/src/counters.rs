//! The per-thread counters that [`CountingAlloc`](crate::CountingAlloc) updates: the only
//! state on the allocator's hot path.
//!
//! They live in the thread's [`PerThread`](crate::per_thread::PerThread). Only their own
//! thread writes them, with relaxed stores (plain moves on x86-64 and AArch64: no `lock`
//! prefix, no contended cache line); other threads read them with relaxed loads when a
//! report is built, so a live thread counts exactly up to the moment it is read. The owner
//! reads its own counters without atomics ([`Owned::get`]), which cannot race: no other
//! thread ever writes them.
//!
//! This module calls nothing: the first allocation, reallocation or free of a thread is
//! returned as a flag, and the caller (`alloc.rs`) arms the thread's exit hook.

// No panic path (see the crate docs, "No panic path"): this code runs inside the global
// allocator, under the crate's locks, or on every tracked call.
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]
#![cfg_attr(not(test), deny(clippy::indexing_slicing, clippy::panic))]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#![cfg_attr(not(test), deny(clippy::unreachable, clippy::todo))]

use core::cell::Cell;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering, Ordering::Relaxed, compiler_fence};

use crate::stats::Totals;

/// A counter written only by the thread that owns it, readable by every thread.
#[derive(Debug)]
#[repr(transparent)]
pub(crate) struct Owned(AtomicU64);

impl Owned {
    pub(crate) const fn new(v: u64) -> Self {
        Self(AtomicU64::new(v))
    }

    /// The value, read by its owning thread.
    ///
    /// Every `Owned` is written only by the thread that owns it (its `PerThread`, or a
    /// table of that thread); callers are that thread.
    #[inline(always)]
    pub(crate) fn get(&self) -> u64 {
        // SAFETY: only the owning thread (the caller) writes this value, so a plain read
        // cannot race: other threads only ever read it, atomically.
        unsafe { *self.0.as_ptr() }
    }

    /// The value, read by any thread.
    #[inline(always)]
    pub(crate) fn read(&self) -> u64 {
        self.0.load(Relaxed)
    }

    /// Sets the value (owning thread only).
    #[inline(always)]
    pub(crate) fn set(&self, v: u64) {
        self.0.store(v, Relaxed);
    }

    /// Adds `by` (owning thread only). PERF: a load and a store that compilers fold into
    /// one read-modify-write instruction on memory (not a `lock`ed one), which a signal
    /// handler cannot split.
    #[inline(always)]
    pub(crate) fn add(&self, by: u64) {
        if cfg!(debug_assertions) {
            // Unoptimised code does not fold the load and the store: a real atomic
            // add keeps a signal handler's count from being lost between them.
            self.0.fetch_add(by, Relaxed);
        } else {
            self.0.store(self.0.load(Relaxed).wrapping_add(by), Relaxed);
        }
    }

    /// Raises the value to `to` if it is higher (owning thread only).
    #[inline(always)]
    pub(crate) fn raise(&self, to: u64) {
        if to > self.get() {
            self.set(to);
        }
    }
}

/// Where a thread's `bytes_allocated` starts. PERF: so that its live bytes, which are
/// negative on a thread that frees more than it allocates (memory sent from other
/// threads), stay positive: a frame can then lower the running peak to 0, a one-instruction
/// store, rather than to its own live level (see [`Counters::open_frame_peak`]). Only
/// differences of `bytes_allocated` leave this module, so the bias is never seen.
pub(crate) const BYTES_BIAS: u64 = 1 << 62;

/// The counters exactly as stored (bytes allocated from [`BYTES_BIAS`]): what a frame
/// copies at entry. Differences of two are [`Totals`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub(crate) struct Raw {
    allocs: u64,
    reallocs: u64,
    deallocs: u64,
    bytes_allocated: u64,
    bytes_freed: u64,
}

impl Raw {
    /// The counters of a thread that has done nothing.
    pub(crate) const START: Self = Self {
        allocs: 0,
        reallocs: 0,
        deallocs: 0,
        bytes_allocated: BYTES_BIAS,
        bytes_freed: 0,
    };

    /// What happened between `earlier` and `self`.
    #[inline]
    pub(crate) const fn since(&self, earlier: &Self) -> Totals {
        Totals {
            allocs: self.allocs.wrapping_sub(earlier.allocs),
            reallocs: self.reallocs.wrapping_sub(earlier.reallocs),
            deallocs: self.deallocs.wrapping_sub(earlier.deallocs),
            bytes_allocated: self.bytes_allocated.wrapping_sub(earlier.bytes_allocated),
            bytes_freed: self.bytes_freed.wrapping_sub(earlier.bytes_freed),
        }
    }

    /// Everything since the thread started (or was last folded).
    pub(crate) const fn totals(&self) -> Totals {
        self.since(&Self::START)
    }

    /// Live bytes plus [`BYTES_BIAS`]: positive unless the thread freed 4 EiB more than
    /// it allocated. Only for comparing with another `Raw`'s and with the running peak.
    #[inline]
    pub(crate) const fn live(&self) -> i64 {
        self.bytes_allocated.wrapping_sub(self.bytes_freed) as i64
    }

    /// Requests and frees made.
    #[cfg(feature = "ownership")]
    pub(crate) const fn events(&self) -> u64 {
        self.allocs
            .wrapping_add(self.reallocs)
            .wrapping_add(self.deallocs)
    }

    /// Bytes allocated plus bytes freed (plus [`BYTES_BIAS`]): how far the thread's
    /// requests and frees can have moved its live level between two readings.
    #[cfg(feature = "ownership")]
    pub(crate) const fn moved_bytes(&self) -> u64 {
        self.bytes_allocated.wrapping_add(self.bytes_freed)
    }

    /// True if `self` was taken no later than `other` (both of one thread: its counters
    /// only grow, so of two snapshots one is at or before the other in every field).
    #[inline]
    pub(crate) const fn not_after(&self, other: &Self) -> bool {
        self.bytes_allocated <= other.bytes_allocated && self.bytes_freed <= other.bytes_freed
    }
}

/// A [`Raw`] snapshot kept where other threads can read it (a thread's mark, see
/// `frame`). Written by its owner only.
#[derive(Debug)]
pub(crate) struct SharedRaw([Owned; 5]);

impl SharedRaw {
    pub(crate) const fn new() -> Self {
        Self([
            Owned::new(Raw::START.allocs),
            Owned::new(Raw::START.reallocs),
            Owned::new(Raw::START.deallocs),
            Owned::new(Raw::START.bytes_allocated),
            Owned::new(Raw::START.bytes_freed),
        ])
    }

    /// Read by the owner.
    #[inline(always)]
    pub(crate) fn get(&self) -> Raw {
        let [a, r, d, ba, bf] = &self.0;
        Raw {
            allocs: a.get(),
            reallocs: r.get(),
            deallocs: d.get(),
            bytes_allocated: ba.get(),
            bytes_freed: bf.get(),
        }
    }

    /// Read by any thread.
    pub(crate) fn read(&self) -> Raw {
        let [a, r, d, ba, bf] = &self.0;
        Raw {
            allocs: a.read(),
            reallocs: r.read(),
            deallocs: d.read(),
            bytes_allocated: ba.read(),
            bytes_freed: bf.read(),
        }
    }

    /// True if the mark is strictly before `snapshot` (both of its thread).
    #[inline(always)]
    pub(crate) fn is_before(&self, snapshot: &Raw) -> bool {
        let [_, _, _, ba, bf] = &self.0;
        let (ba, bf) = (ba.get(), bf.get());
        // PERF: the common cases first: the mark is the snapshot (nothing happened in
        // between), or after it (a nested call booked since).
        !(ba == snapshot.bytes_allocated && bf == snapshot.bytes_freed)
            && ba <= snapshot.bytes_allocated
            && bf <= snapshot.bytes_freed
    }

    /// The fields, for walking them together with a [`Counters`]'.
    pub(crate) fn fields(&self) -> &[Owned; 5] {
        &self.0
    }

    #[inline(always)]
    pub(crate) fn set(&self, raw: &Raw) {
        let [a, r, d, ba, bf] = &self.0;
        a.set(raw.allocs);
        r.set(raw.reallocs);
        d.set(raw.deallocs);
        ba.set(raw.bytes_allocated);
        bf.set(raw.bytes_freed);
    }
}

/// Set when any thread's counters first move: `CountingAlloc` is the global allocator.
static COUNTED: AtomicBool = AtomicBool::new(false);

/// True once any allocation was counted (so `CountingAlloc` is installed). A program
/// allocates before `main`, so where it is installed this is true by the time any tracked
/// call runs.
pub(crate) fn any_counted() -> bool {
    COUNTED.load(Relaxed)
}

/// A thread's counters.
#[derive(Debug)]
pub(crate) struct Counters {
    allocs: Owned,
    reallocs: Owned,
    deallocs: Owned,
    bytes_allocated: Owned,
    bytes_freed: Owned,
    /// The highest `live` seen since the innermost open peak window (or thread start), or
    /// the level the window opened at if higher (a frame's window opens at 0, below any
    /// live level). Read only by the owner.
    peak: Cell<i64>,
    /// Whether the exit hook is armed (see `thread_exit`). Checked on a new peak, and on
    /// every free and realloc (a thread that only frees memory sent from elsewhere never
    /// sets a peak).
    armed: Cell<bool>,
}

impl Counters {
    pub(crate) const fn new() -> Self {
        Self {
            allocs: Owned::new(Raw::START.allocs),
            reallocs: Owned::new(Raw::START.reallocs),
            deallocs: Owned::new(Raw::START.deallocs),
            bytes_allocated: Owned::new(Raw::START.bytes_allocated),
            bytes_freed: Owned::new(Raw::START.bytes_freed),
            peak: Cell::new(0),
            armed: Cell::new(false),
        }
    }

    /// Counts a successful `alloc`. True if the caller must arm the exit hook.
    ///
    /// PERF: the hot path. A thread's first allocation always sets a new peak, so the
    /// armed flag is checked only there.
    #[cfg_attr(feature = "ownership", allow(dead_code))] // the ownership view counts its own way
    #[inline(always)]
    pub(crate) fn on_alloc(&self, size: usize) -> bool {
        // The live level is computed anyway; unused here, it costs nothing once inlined.
        self.on_alloc_live(size).0
    }

    /// [`Counters::on_alloc`] that also returns the live level it computed (for the
    /// ownership view's process peak, which compares it with its own limit).
    #[inline(always)]
    pub(crate) fn on_alloc_live(&self, size: usize) -> (bool, i64) {
        // Bytes first: see `Counters::request_counted`.
        self.bytes_allocated.add(size as u64);
        #[cfg(test)]
        interrupt::here();
        self.request_counted(&self.allocs);
        let live = self.live_after_add();
        if live > self.peak.get() {
            self.peak.set(live);
            return (!self.armed.get(), live);
        }
        (false, live)
    }

    /// Counts a `dealloc`. True if the caller must arm the exit hook: the thread's first
    /// free, if it never allocated (memory sent from elsewhere). The rare work is left to
    /// the caller so that its own forwarding call can stay a tail call.
    #[cfg_attr(feature = "ownership", allow(dead_code))] // the ownership view counts its own way
    #[inline(always)]
    pub(crate) fn on_dealloc(&self, size: usize) -> bool {
        self.count_dealloc(size);
        !self.armed.get()
    }

    /// Counts a `dealloc` without looking at the exit hook: the ownership view's free
    /// path arms it on its own slow path (see `holding::ThreadPeak::slow`).
    #[inline(always)]
    pub(crate) fn count_dealloc(&self, size: usize) {
        self.bytes_freed.add(size as u64);
        #[cfg(test)]
        interrupt::here();
        self.request_counted(&self.deallocs);
    }

    /// Counts a successful `realloc`. True if the caller must arm the exit hook.
    #[cfg_attr(feature = "ownership", allow(dead_code))] // the ownership view counts its own way
    #[inline(always)]
    pub(crate) fn on_realloc(&self, old_size: usize, new_size: usize) -> bool {
        self.on_realloc_live(old_size, new_size).0
    }

    /// [`Counters::on_realloc`] that also returns the live level.
    #[inline(always)]
    pub(crate) fn on_realloc_live(&self, old_size: usize, new_size: usize) -> (bool, i64) {
        self.bytes_allocated.add(new_size as u64);
        self.bytes_freed.add(old_size as u64);
        #[cfg(test)]
        interrupt::here();
        self.request_counted(&self.reallocs);
        let live = self.live_after_add();
        if live > self.peak.get() {
            self.peak.set(live);
        }
        (!self.armed.get(), live)
    }

    /// Counts a request in `count`, once its bytes moved.
    ///
    /// Signals: a frame tells whether anything happened since the thread's mark by its
    /// bytes alone (`SharedRaw::is_before`: two compares on every allocating call's end). So
    /// a request's bytes move first: a signal handler's tracked call that lands between
    /// the two sees the bytes moved and leaves the request to the interrupted frame. With
    /// the count first, the handler saw the count moved and the bytes at the mark, took
    /// the whole segment since the mark for its own, and booked the interrupted request
    /// (an alloc, a free or a realloc) to its own path. The fence keeps the compiler
    /// from moving the count's add before the bytes' (no instruction).
    #[inline(always)]
    fn request_counted(&self, count: &Owned) {
        compiler_fence(Ordering::SeqCst);
        count.add(1);
    }

    /// The live level (allocated minus freed bytes), read again after the adds.
    ///
    /// PERF and signals: each counter is moved by one read-modify-write instruction,
    /// which a signal handler's own allocation cannot split; the fence keeps the compiler
    /// from fusing an add with this reload into a load, add and store.
    #[inline(always)]
    fn live_after_add(&self) -> i64 {
        compiler_fence(Ordering::SeqCst);
        self.bytes_allocated
            .get()
            .wrapping_sub(self.bytes_freed.get()) as i64
    }

    /// Requests made (`allocs` in the public sense: allocs and reallocs), owner only.
    #[cfg(feature = "ownership")]
    #[inline(always)]
    pub(crate) fn requests(&self) -> u64 {
        self.allocs.get().wrapping_add(self.reallocs.get())
    }

    /// Requests and frees made, owner only.
    #[cfg(feature = "ownership")]
    pub(crate) fn events(&self) -> u64 {
        self.requests().wrapping_add(self.deallocs.get())
    }

    /// Requests and frees made, read by any thread.
    #[cfg(feature = "ownership")]
    pub(crate) fn read_events(&self) -> u64 {
        self.read_raw().events()
    }

    /// Whether the exit hook is armed: this thread counted an allocation, reallocation
    /// or free since it started (or since its exit fold).
    #[inline(always)]
    pub(crate) fn is_armed(&self) -> bool {
        self.armed.get()
    }

    /// Whether the exit hook still has to be armed; marks it armed.
    #[cold]
    pub(crate) fn take_arming(&self) -> bool {
        COUNTED.store(true, Relaxed);
        !self.armed.replace(true)
    }

    /// Called after this thread's counts were folded into the process totals: they start
    /// again from zero, and the hook is disarmed, so whatever the thread does from here on
    /// (in destructors that run after the exit hook) re-arms it: an allocation (always a
    /// new peak after the reset), a reallocation or a free.
    pub(crate) fn restart(&self) {
        self.set_raw(Raw::START);
        self.peak.set(0);
        self.armed.set(false);
    }

    /// The counters as stored, read by the owner.
    #[inline(always)]
    pub(crate) fn raw(&self) -> Raw {
        Raw {
            allocs: self.allocs.get(),
            reallocs: self.reallocs.get(),
            deallocs: self.deallocs.get(),
            bytes_allocated: self.bytes_allocated.get(),
            bytes_freed: self.bytes_freed.get(),
        }
    }

    /// The five counters, in the order of [`Raw`] and [`SharedRaw`]'s fields.
    #[inline(always)]
    pub(crate) fn fields(&self) -> [&Owned; 5] {
        [
            &self.allocs,
            &self.reallocs,
            &self.deallocs,
            &self.bytes_allocated,
            &self.bytes_freed,
        ]
    }

    /// The counters as stored, read by another thread while the owner may be counting:
    /// each field is read once, atomically; a request being counted meanwhile may be in
    /// some fields and not yet in others.
    pub(crate) fn read_raw(&self) -> Raw {
        Raw {
            allocs: self.allocs.read(),
            reallocs: self.reallocs.read(),
            deallocs: self.deallocs.read(),
            bytes_allocated: self.bytes_allocated.read(),
            bytes_freed: self.bytes_freed.read(),
        }
    }

    /// Puts the counters back to `raw` (owner only): the end of an uncounted section.
    pub(crate) fn set_raw(&self, raw: Raw) {
        self.allocs.set(raw.allocs);
        self.reallocs.set(raw.reallocs);
        self.deallocs.set(raw.deallocs);
        self.bytes_allocated.set(raw.bytes_allocated);
        self.bytes_freed.set(raw.bytes_freed);
    }

    /// Allocations in the public sense (reallocs included) and bytes allocated since
    /// `snapshot`: what budgets check.
    #[inline(always)]
    pub(crate) fn requests_and_bytes_since(&self, snapshot: &Raw) -> (u64, u64) {
        let requests = self
            .allocs
            .get()
            .wrapping_add(self.reallocs.get())
            .wrapping_sub(snapshot.allocs.wrapping_add(snapshot.reallocs));
        let bytes = self
            .bytes_allocated
            .get()
            .wrapping_sub(snapshot.bytes_allocated);
        (requests, bytes)
    }

    /// `(bytes_allocated, bytes_freed)` as a `Raw` comparison needs them.
    #[inline(always)]
    pub(crate) fn same_bytes_as(&self, snapshot: &Raw) -> bool {
        self.bytes_allocated.get() == snapshot.bytes_allocated
            && self.bytes_freed.get() == snapshot.bytes_freed
    }

    /// Opens a frame's (or a measurement's) peak window: lowers the running peak to 0 (below any live level,
    /// see [`BYTES_BIAS`]) and returns the enclosing window's peak. PERF: 0 rather than the
    /// base level, which would have to be computed; [`Counters::close_peak`] measures from
    /// the base, and every allocation in the window raises the peak to its own live level.
    #[inline(always)]
    pub(crate) fn open_frame_peak(&self) -> i64 {
        self.peak.replace(0)
    }

    /// Closes a window in which nothing was allocated: the peak is the outer one again.
    #[inline(always)]
    pub(crate) fn close_peak_untouched(&self, outer: i64) {
        self.peak.set(outer);
    }

    /// Closes a window: returns its peak above `base` and raises the running peak back to
    /// the enclosing window's.
    #[inline]
    pub(crate) fn close_peak(&self, outer: i64, base: i64) -> u64 {
        let peak = self.peak.get();
        self.peak.set(peak.max(outer));
        // Both are live levels plus `BYTES_BIAS`, so in `0..2^63`: the difference cannot
        // overflow.
        peak.wrapping_sub(base).max(0) as u64
    }

    /// The running peak and its setter, for uncounted sections that restore it.
    pub(crate) fn peak(&self) -> i64 {
        self.peak.get()
    }

    pub(crate) fn set_peak(&self, peak: i64) {
        self.peak.set(peak);
    }
}

/// A test's stand-in for a signal handler that interrupts the allocator's counting: runs
/// a function once, between the bytes and the count of this thread's next request.
#[cfg(test)]
pub(crate) mod interrupt {
    use core::cell::Cell;

    std::thread_local! {
        static NEXT: Cell<Option<fn()>> = const { Cell::new(None) };
    }

    /// `f` runs inside the counting of this thread's next alloc, realloc or free, after
    /// its bytes moved and before its count.
    pub(crate) fn between_next_moves(f: fn()) {
        NEXT.with(|n| n.set(Some(f)));
    }

    #[inline(always)]
    pub(super) fn here() {
        if let Some(f) = NEXT.try_with(Cell::take).ok().flatten() {
            f();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tallies_update_totals_and_peak() {
        let c = Counters::new();
        let start = c.raw();
        let (base, outer) = (start.live(), c.open_frame_peak());
        assert!(c.on_alloc(100), "first allocation: arm");
        assert!(c.take_arming());
        assert!(!c.take_arming());
        assert!(!c.on_realloc(100, 300), "armed");
        assert!(!c.on_dealloc(300));
        assert!(!c.on_alloc(10), "armed, and below the peak");
        assert!(!c.on_dealloc(10));
        let fresh = Counters::new();
        assert!(fresh.on_dealloc(8), "a thread that only frees must arm too");
        assert!(fresh.on_realloc(8, 16));
        assert_eq!(
            c.raw().since(&start),
            Totals {
                allocs: 2,
                reallocs: 1,
                deallocs: 2,
                bytes_allocated: 410,
                bytes_freed: 410
            }
        );
        assert_eq!(c.close_peak(outer, base), 300);
        assert_eq!(c.read_raw(), c.raw());
    }

    #[test]
    fn a_frame_window_lowers_the_peak_to_zero_and_restores_it() {
        let c = Counters::new();
        c.on_alloc(1000);
        let entry = c.raw();
        let outer = c.open_frame_peak();
        c.on_dealloc(1000);
        c.on_alloc(10);
        assert_eq!(
            c.close_peak(outer, entry.live()),
            0,
            "never above its start"
        );
        assert_eq!(c.peak(), outer);
    }

    #[test]
    fn order_of_snapshots() {
        let c = Counters::new();
        let a = c.raw();
        c.on_alloc(8);
        let b = c.raw();
        c.on_dealloc(8);
        let d = c.raw();
        assert!(a.not_after(&b) && b.not_after(&d) && a.not_after(&a));
        assert!(!d.not_after(&b));
        let mark = SharedRaw::new();
        mark.set(&a);
        assert!(!mark.is_before(&a), "not strictly before itself");
        assert!(mark.is_before(&b) && mark.is_before(&d));
        mark.set(&d);
        assert!(!mark.is_before(&b), "after it");
        assert!(c.same_bytes_as(&d) && !c.same_bytes_as(&b));
    }
}
