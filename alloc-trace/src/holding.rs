//! What a thread holds (feature `ownership`): per call path, the bytes and blocks that
//! the thread allocated under that path minus those it freed of blocks that path owns
//! (read from their headers, see `header`), and its part in the process-wide peak.
//!
//! A block's allocation and its free may happen on different threads, so one thread's
//! entry for a path can be negative; the sum over every thread (and the exited ones,
//! folded into `registry`'s retired numbers) is what the path holds. Entries are added up
//! with wrapping arithmetic and read as signed.
//!
//! The table is one entry per path id, grown like the thread's other tables (see
//! `record::Published`: copied into a larger one, the old one kept until the thread
//! exits, so readers need no lock to follow it). The owner keeps a pointer to the entry of
//! its innermost frame's path, so that an allocation finds its entry with one load; frames
//! forget it when they enter and leave (see `frame`), and the next allocation works it out
//! again (out of line, in `ownership`).

// No panic path (see the crate docs, "No panic path"): this code runs inside the global
// allocator, under the crate's locks, or on every tracked call.
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]
#![cfg_attr(not(test), deny(clippy::indexing_slicing, clippy::panic))]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#![cfg_attr(not(test), deny(clippy::unreachable, clippy::todo))]

use core::cell::Cell;
use core::ptr;
use core::sync::atomic::{
    AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering::Relaxed, compiler_fence,
};

use crate::counters::Owned;
use crate::record::Published;

/// One call path's entry on one thread.
#[derive(Debug)]
#[repr(C, align(32))]
pub(crate) struct HeldSlot {
    /// Bytes allocated under the path minus bytes of its blocks freed (wrapping).
    bytes: Owned,
    /// The same in blocks.
    blocks: Owned,
    /// The most `bytes` (as signed) reached on this thread.
    max_bytes: Owned,
}

const _: () = assert!(size_of::<HeldSlot>() == 32);

/// What an entry holds, as read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Held {
    /// Net bytes (signed, wrapping).
    pub bytes: u64,
    /// Net blocks (signed, wrapping).
    pub blocks: u64,
    /// The highest `bytes` one thread's entry reached (as signed).
    pub max_bytes: u64,
}

impl Held {
    /// Adds another thread's (or period's) entry: sums, and the maximum of maxima.
    pub(crate) fn merge(&mut self, o: &Self) {
        self.bytes = self.bytes.wrapping_add(o.bytes);
        self.blocks = self.blocks.wrapping_add(o.blocks);
        self.max_bytes = (self.max_bytes as i64).max(o.max_bytes as i64) as u64;
    }
}

impl HeldSlot {
    /// A block of `size` bytes allocated under the path.
    ///
    /// PERF and signals: `bytes` and `blocks` each move by one read-modify-write
    /// instruction (as the thread's counters do); the maximum is read back after, and a
    /// signal handler that interrupts between the two can only make it miss a level.
    #[inline(always)]
    pub(crate) fn add(&self, size: usize) {
        self.bytes.add(size as u64);
        self.blocks.add(1);
        compiler_fence(core::sync::atomic::Ordering::SeqCst);
        let now = self.bytes.get();
        if now as i64 > self.max_bytes.get() as i64 {
            self.max_bytes.set(now);
        }
    }

    /// A block of `size` bytes owned by the path freed on this thread.
    #[inline(always)]
    pub(crate) fn sub(&self, size: usize) {
        self.bytes.add((size as u64).wrapping_neg());
        self.blocks.add(u64::MAX);
    }

    /// Read by any thread.
    pub(crate) fn read(&self) -> Held {
        Held {
            bytes: self.bytes.read(),
            blocks: self.blocks.read(),
            max_bytes: self.max_bytes.read(),
        }
    }
}

fn copy_slot(from: &HeldSlot, to: &HeldSlot) {
    to.bytes.set(from.bytes.get());
    to.blocks.set(from.blocks.get());
    to.max_bytes.set(from.max_bytes.get());
}

/// An own-live limit no level reaches: the thread is paused (see [`Holding::pause`]).
pub(crate) const PAUSED: i64 = i64::MAX;
/// An own-live limit every level passes: the thread's next allocation takes the cold path
/// (another thread took over, or it never held).
pub(crate) const FORCED: i64 = i64::MIN;

/// A thread's part in the process-wide peak (see `ownership`). The thread whose numbers
/// are current in the process peak is the *holder*; every other thread has `limit` at
/// [`FORCED`] and is *slow* (see [`Holding::set_slow`]), so its next request takes the
/// cold path, which makes it the holder. When threads *share* instead (no holder),
/// `limit` is each thread's allowance: the own live level it may reach before it takes
/// the cold path, the allowances adding up to the process best. Written by the owner, and
/// by a thread taking over or sharing out, under the registry lock; the owner reads
/// `limit` on its hot path with a plain load.
pub(crate) struct ThreadPeak {
    /// The own live level (as `Raw::live`) above which an allocation is a new process
    /// best. [`FORCED`]: take the cold path; [`PAUSED`]: nothing is a best (the thread is
    /// in an uncounted section).
    pub(crate) limit: AtomicI64,
    /// What every other thread, live or exited, held when this thread last became the
    /// holder: bytes, blocks, and requests made so far (`allocs` in the public sense).
    pub(crate) base_bytes: AtomicI64,
    pub(crate) base_blocks: AtomicI64,
    pub(crate) base_requests: AtomicU64,
    /// The thread's requests made when its live bytes last rose above `limit`.
    pub(crate) best_requests: Owned,
    /// The thread's requests and frees when another thread took over from it: if it made
    /// more before it next took the cold path, it counted them against a stale base
    /// ([`ThreadPeak::mark_forced`]).
    events_at_force: AtomicU64,
    /// Its bytes allocated plus freed then: a bound on how far the requests it counted
    /// against a stale base moved the process's level (see `ownership::PeakState`).
    bytes_at_force: AtomicU64,
    /// The thread's requests and frees when it last became the holder: a holder that
    /// counted fewer than `ownership::SHARE_AFTER` before another thread took over is
    /// taking turns with it request by request, and the two share instead.
    pub(crate) events_at_tenure: AtomicU64,
    /// Whether the thread is the holder: `limit` is then the best so far, and passing it
    /// is a new best, noted without the lock. PERF: a flag in the thread's own state (one
    /// compare on that path); written with the registry's holder, under its lock.
    pub(crate) holds: AtomicBool,
    /// `limit` before the outermost uncounted section.
    saved_limit: AtomicI64,
}

impl ThreadPeak {
    const fn new() -> Self {
        Self {
            limit: AtomicI64::new(FORCED),
            base_bytes: AtomicI64::new(0),
            base_blocks: AtomicI64::new(0),
            base_requests: AtomicU64::new(0),
            best_requests: Owned::new(0),
            events_at_force: AtomicU64::new(0),
            bytes_at_force: AtomicU64::new(crate::counters::Raw::START.moved_bytes()),
            events_at_tenure: AtomicU64::new(0),
            holds: AtomicBool::new(false),
            saved_limit: AtomicI64::new(FORCED),
        }
    }

    /// Notes the thread's counts as of now, when another thread forces it (or it counts
    /// within an allowance of its own): its requests and frees (`Raw::events`) and its
    /// bytes allocated plus freed (`Raw::moved_bytes`).
    pub(crate) fn mark_forced(&self, events: u64, moved_bytes: u64) {
        self.events_at_force.store(events, Relaxed);
        self.bytes_at_force.store(moved_bytes, Relaxed);
    }

    /// What the thread counted since [`ThreadPeak::mark_forced`], given its counts now:
    /// requests and frees (below zero if an uncounted section put its counters back), and
    /// the bytes they moved.
    pub(crate) fn since_forced(&self, events: u64, moved_bytes: u64) -> (i64, u64) {
        let missed = events.wrapping_sub(self.events_at_force.load(Relaxed)) as i64;
        let bytes = moved_bytes.wrapping_sub(self.bytes_at_force.load(Relaxed)) as i64;
        (missed, bytes.unsigned_abs())
    }

    /// What the thread counted since another thread forced it, if it has not taken the
    /// cold path since (at its exit, it never will): its requests and frees, and the bytes
    /// they moved (see [`ThreadPeak::since_forced`]).
    pub(crate) fn unnoticed(&self, events: u64, moved_bytes: u64) -> Option<(u64, u64)> {
        if self.limit.load(Relaxed) != FORCED {
            // The holder, or a thread sharing the peak: it counted within its own limit.
            return None;
        }
        let (missed, bytes) = self.since_forced(events, moved_bytes);
        (missed > 0).then_some((missed as u64, bytes))
    }

    /// Whether the thread is in an uncounted section, read by another thread.
    pub(crate) fn is_paused_shared(&self) -> bool {
        self.limit.load(Relaxed) == PAUSED
    }

    /// The limit as it is outside uncounted sections.
    pub(crate) fn effective_limit(&self) -> i64 {
        match self.limit.load(Relaxed) {
            PAUSED => self.saved_limit.load(Relaxed),
            limit => limit,
        }
    }

    /// The thread's tenure as it stands (read by any thread, under the registry lock).
    pub(crate) fn tenure(&self) -> Tenure {
        Tenure {
            base_bytes: self.base_bytes.load(Relaxed),
            base_blocks: self.base_blocks.load(Relaxed),
            base_requests: self.base_requests.load(Relaxed),
            limit: self.effective_limit(),
            best_requests: self.best_requests.read(),
        }
    }
}

/// What a holder's time as holder left to record: the process best it reached, if it
/// passed the one before (`base_bytes + limit` above the previous best).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Tenure {
    pub base_bytes: i64,
    pub base_blocks: i64,
    pub base_requests: u64,
    /// The own live level of its best (as `Raw::live`), or [`FORCED`].
    pub limit: i64,
    pub best_requests: u64,
}

/// A thread's holdings: its table and its cached entry.
pub(crate) struct Holding {
    table: Published<HeldSlot>,
    base: Cell<*const HeldSlot>,
    len: Cell<usize>,
    /// The table's length as the free path sees it: `len`, or 0 when the thread is
    /// *slow*: its next free or realloc takes the cold path first (a best to record before
    /// live bytes go down, a takeover, the exit hook to arm). PERF: one bounds check does
    /// both. Written by the owner, and by a thread taking over (under the registry lock).
    free_len: AtomicUsize,
    /// The entry of the innermost frame's path (or of the root outside frames); null when
    /// not known.
    current: Cell<*const HeldSlot>,
    /// Its path.
    current_path: Cell<u32>,
    /// Set while the table grows: a signal handler that interrupts it does not grow it
    /// too (its update is lost, and said).
    growing: Cell<bool>,
    /// Nesting of uncounted sections, and whether the thread was slow before the outermost.
    pause_depth: Cell<u32>,
    was_slow: Cell<bool>,
    pub(crate) peak: ThreadPeak,
}

impl Holding {
    pub(crate) const fn new() -> Self {
        Self {
            table: Published::empty(),
            base: Cell::new(ptr::null()),
            len: Cell::new(0),
            free_len: AtomicUsize::new(0),
            current: Cell::new(ptr::null()),
            current_path: Cell::new(0),
            growing: Cell::new(false),
            pause_depth: Cell::new(0),
            was_slow: Cell::new(true),
            peak: ThreadPeak::new(),
        }
    }

    /// Counts a block of `size` bytes under the current path and returns the path, if
    /// the current entry is known (else the caller works it out: [`Holding::set_current`]).
    #[inline(always)]
    pub(crate) fn add_current(&self, size: usize) -> Option<u32> {
        // SAFETY: a non-null `current` points into this thread's table (it is reset
        // whenever the table is replaced), which stays allocated while the thread runs.
        let slot = unsafe { self.current.get().as_ref() }?;
        slot.add(size);
        Some(self.current_path.get())
    }

    /// Makes `path` the current path and returns its entry (`None`: the table could not
    /// grow).
    pub(crate) fn set_current(&self, path: u32) -> Option<&HeldSlot> {
        let slot = self.slot(path)?;
        self.current.set(slot);
        self.current_path.set(path);
        Some(slot)
    }

    /// The current path, if its entry is known.
    #[inline(always)]
    pub(crate) fn current_path(&self) -> Option<u32> {
        (!self.current.get().is_null()).then(|| self.current_path.get())
    }

    /// Forgets the current path: the innermost frame changed.
    #[inline(always)]
    pub(crate) fn forget_current(&self) {
        self.current.set(ptr::null());
    }

    /// The entry of `path` for the free path: `None` if the table does not have it, or
    /// if the thread is slow.
    #[inline(always)]
    pub(crate) fn slot_fast(&self, path: u32) -> Option<&HeldSlot> {
        let index = path as usize;
        (index < self.free_len.load(Relaxed)).then(|| {
            // SAFETY: `free_len` is 0 or `len`: in bounds of the cached table, which
            // stays allocated while the thread runs.
            unsafe { &*self.base.get().add(index) }
        })
    }

    /// The entry of `path` if the table has it (slow or not; it never grows here).
    #[inline(always)]
    pub(crate) fn slot_known(&self, path: u32) -> Option<&HeldSlot> {
        let index = path as usize;
        (index < self.len.get()).then(|| {
            // SAFETY: in bounds of the cached table, which stays allocated while the
            // thread runs.
            unsafe { &*self.base.get().add(index) }
        })
    }

    /// Whether the thread is slow (see `free_len`).
    #[inline(always)]
    pub(crate) fn is_slow(&self) -> bool {
        self.free_len.load(Relaxed) == 0
    }

    /// Makes the thread slow (the owner, or a thread taking over from it).
    #[inline(always)]
    pub(crate) fn set_slow(&self) {
        self.free_len.store(0, Relaxed);
    }

    /// Makes the thread's frees fast again (the owner, under the registry lock, so that
    /// no takeover is overwritten), unless it is paused (then at its end).
    pub(crate) fn clear_slow(&self) {
        if self.is_paused() {
            self.was_slow.set(false);
        } else {
            self.free_len.store(self.len.get(), Relaxed);
        }
    }

    /// The entry of `path` (`None`: the table could not grow).
    #[inline(always)]
    pub(crate) fn slot(&self, path: u32) -> Option<&HeldSlot> {
        let index = path as usize;
        if index < self.len.get() {
            // SAFETY: in bounds of the cached table, which stays allocated while the
            // thread runs.
            Some(unsafe { &*self.base.get().add(index) })
        } else {
            self.slot_cold(index)
        }
    }

    #[cold]
    #[inline(never)]
    fn slot_cold(&self, index: usize) -> Option<&HeldSlot> {
        if self.growing.replace(true) {
            return None;
        }
        let old = self.len.get();
        let len = index
            .saturating_add(1)
            .max(old.saturating_mul(2))
            .max(256)
            .min(crate::paths::CAPACITY as usize);
        let grown = if index < len {
            self.table.grow(0, len, copy_slot)
        } else {
            None
        };
        if let Some(entries) = grown {
            // The cached entry points into the old table: work it out again.
            self.current.set(ptr::null());
            self.base.set(entries.as_ptr());
            self.len.set(len);
            // Unless the thread is slow (a takeover may make it so meanwhile: kept).
            let _ = self.free_len.compare_exchange(old, len, Relaxed, Relaxed);
        }
        self.growing.set(false);
        grown.and_then(|e| e.get(index))
    }

    /// Whether the thread is in an uncounted section (owner only).
    pub(crate) fn is_paused(&self) -> bool {
        self.pause_depth.get() > 0
    }

    /// Enters an uncounted section: nothing the thread does until [`Holding::resume`]
    /// is a best, or is recorded before a free. (The section frees what it allocates and
    /// its counters are put back, so the state at its end is the state at its start.)
    pub(crate) fn pause(&self) {
        let depth = self.pause_depth.get();
        self.pause_depth.set(depth.saturating_add(1));
        if depth > 0 {
            return;
        }
        // Swaps: a takeover meanwhile is seen, not overwritten.
        let limit = self.peak.limit.swap(PAUSED, Relaxed);
        self.peak.saved_limit.store(limit, Relaxed);
        let free_len = self.free_len.swap(self.len.get(), Relaxed);
        self.was_slow.set(free_len == 0);
    }

    /// Leaves an uncounted section. A takeover meanwhile (which set the limit to
    /// [`FORCED`] and made the thread slow) is kept.
    pub(crate) fn resume(&self) {
        let depth = self.pause_depth.get().saturating_sub(1);
        self.pause_depth.set(depth);
        if depth > 0 {
            return;
        }
        if self.was_slow.get() {
            self.set_slow();
        }
        let _ = self.peak.limit.compare_exchange(
            PAUSED,
            self.peak.saved_limit.load(Relaxed),
            Relaxed,
            Relaxed,
        );
    }

    /// After the thread was folded into the retired numbers (it is exiting): it starts
    /// again as a thread that never held, with no table.
    pub(crate) fn restart(&self) {
        let p = &self.peak;
        p.limit.store(FORCED, Relaxed);
        p.saved_limit.store(FORCED, Relaxed);
        p.best_requests.set(0);
        let start = crate::counters::Raw::START;
        p.mark_forced(start.events(), start.moved_bytes());
        p.events_at_tenure.store(0, Relaxed);
        p.holds.store(false, Relaxed);
        self.set_slow();
        self.was_slow.set(true);
    }

    /// The entries, read by another thread.
    ///
    /// # Safety
    ///
    /// As `Published::entries`: the caller holds the registry lock and this thread is
    /// listed (or is the caller).
    pub(crate) unsafe fn shared(&self) -> &[HeldSlot] {
        // SAFETY: per the contract.
        unsafe { self.table.entries() }.entries
    }

    /// Frees the table and clears the caches; a later request starts a new one.
    ///
    /// # Safety
    ///
    /// As `Tables::free`: the owner, under the registry lock, after the thread was taken
    /// out of the registry.
    pub(crate) unsafe fn free(&self) {
        self.current.set(ptr::null());
        self.free_len.store(0, Relaxed);
        self.base.set(ptr::null());
        self.len.set(0);
        // SAFETY: per the contract.
        unsafe { self.table.free_all() };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_add_up_across_threads_and_keep_their_maximum() {
        let a = Holding::new();
        let b = Holding::new();
        assert_eq!(a.add_current(8), None, "no current path yet");
        let slot = a.set_current(3).unwrap();
        slot.add(100);
        assert_eq!(a.add_current(50), Some(3));
        a.slot(3).unwrap().sub(100);
        // Freed on another thread.
        b.slot(3).unwrap().sub(50);
        a.forget_current();
        assert_eq!(a.add_current(1), None);
        // A path past the table grows it, and the cached entry is worked out again.
        let _ = a.set_current(3);
        a.slot(5000).unwrap().add(7);
        assert_eq!(a.add_current(1), None);
        let mut total = a.slot(3).unwrap().read();
        total.merge(&b.slot(3).unwrap().read());
        assert_eq!(
            total,
            Held {
                bytes: 0,
                blocks: 0,
                max_bytes: 150
            }
        );
        assert_eq!(a.slot(5000).unwrap().read().bytes, 7);
        // SAFETY: the owner (this test), nothing else reads them.
        unsafe {
            a.free();
            b.free();
        }
    }

    #[test]
    fn pauses_nest_and_keep_a_takeover() {
        let h = Holding::new();
        let _ = h.slot(0);
        h.peak.limit.store(1000, Relaxed);
        h.clear_slow();
        assert!(!h.is_slow() && h.slot_fast(0).is_some());
        h.pause();
        h.pause();
        assert_eq!(h.peak.limit.load(Relaxed), PAUSED);
        assert_eq!(h.peak.effective_limit(), 1000);
        h.resume();
        assert_eq!(
            h.peak.limit.load(Relaxed),
            PAUSED,
            "still inside the outer section"
        );
        h.resume();
        assert_eq!((h.peak.limit.load(Relaxed), h.is_slow()), (1000, false));
        h.pause();
        // Another thread takes over meanwhile.
        h.peak.limit.store(FORCED, Relaxed);
        h.set_slow();
        h.resume();
        assert_eq!((h.peak.limit.load(Relaxed), h.is_slow()), (FORCED, true));
        assert!(
            h.slot_fast(0).is_none(),
            "a slow thread's frees take the cold path"
        );
        // SAFETY: the owner (this test), nothing else reads it.
        unsafe { h.free() };
    }
}
