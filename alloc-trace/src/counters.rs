//! The per-thread counters that [`CountingAlloc`](crate::CountingAlloc) updates: the only
//! state on the allocator's hot path.
//!
//! They live in the crate's one thread-local (see `per_thread`). Every field is a `Cell`
//! written only by its own thread: no atomics, no locks, no shared cache lines. Other
//! threads learn these numbers only when they are folded into process-wide totals (see
//! `threads`).

use core::cell::Cell;

use crate::per_thread::THREAD;
use crate::{AllocCounts, AllocStats};

/// Monotonic per-thread totals, as the allocator counts them: `allocs` are `alloc` and
/// `alloc_zeroed` calls only, `deallocs` are `dealloc` calls only (reallocs are apart).
/// [`Totals::counts`] turns them into the public vocabulary. `live = bytes_allocated -
/// bytes_freed` is derived, never stored, so the hot path keeps one counter fewer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Totals {
    pub allocs: u64,
    pub reallocs: u64,
    pub deallocs: u64,
    pub bytes_allocated: u64,
    pub bytes_freed: u64,
}

impl Totals {
    pub(crate) const ZERO: Self = Self {
        allocs: 0,
        reallocs: 0,
        deallocs: 0,
        bytes_allocated: 0,
        bytes_freed: 0,
    };

    /// Requests for a block, in the public sense: allocs + reallocs.
    #[inline]
    pub(crate) const fn requests(&self) -> u64 {
        self.allocs.wrapping_add(self.reallocs)
    }

    #[inline]
    pub(crate) const fn minus(self, o: Self) -> Self {
        Self {
            allocs: self.allocs.wrapping_sub(o.allocs),
            reallocs: self.reallocs.wrapping_sub(o.reallocs),
            deallocs: self.deallocs.wrapping_sub(o.deallocs),
            bytes_allocated: self.bytes_allocated.wrapping_sub(o.bytes_allocated),
            bytes_freed: self.bytes_freed.wrapping_sub(o.bytes_freed),
        }
    }

    #[inline]
    pub(crate) const fn plus(self, o: Self) -> Self {
        Self {
            allocs: self.allocs.wrapping_add(o.allocs),
            reallocs: self.reallocs.wrapping_add(o.reallocs),
            deallocs: self.deallocs.wrapping_add(o.deallocs),
            bytes_allocated: self.bytes_allocated.wrapping_add(o.bytes_allocated),
            bytes_freed: self.bytes_freed.wrapping_add(o.bytes_freed),
        }
    }

    /// In the public vocabulary (see [`AllocStats`]): a realloc is one of the `allocs` and
    /// one of the `frees`.
    pub(crate) const fn counts(self) -> AllocCounts {
        AllocCounts {
            allocs: self.allocs.wrapping_add(self.reallocs),
            reallocs: self.reallocs,
            frees: self.deallocs.wrapping_add(self.reallocs),
            bytes_allocated: self.bytes_allocated,
            bytes_freed: self.bytes_freed,
        }
    }

    pub(crate) const fn with_peak(self, peak_bytes: u64) -> AllocStats {
        self.counts().with_peak(peak_bytes)
    }
}

impl From<AllocCounts> for Totals {
    fn from(c: AllocCounts) -> Self {
        Self {
            allocs: c.allocs.wrapping_sub(c.reallocs),
            reallocs: c.reallocs,
            deallocs: c.frees.wrapping_sub(c.reallocs),
            bytes_allocated: c.bytes_allocated,
            bytes_freed: c.bytes_freed,
        }
    }
}

impl From<AllocStats> for Totals {
    fn from(s: AllocStats) -> Self {
        s.counts().into()
    }
}

/// Where a thread's `bytes_allocated` starts. PERF: so that its live bytes, which are
/// negative on a thread that frees more than it allocates (memory sent from other
/// threads), stay positive: a frame can then lower the running peak to 0, a one-instruction
/// store, rather than to its own live level (see [`open_frame_peak`]). Only differences of
/// `bytes_allocated` leave this module, so the bias is never seen.
const BYTES_BIAS: u64 = 1 << 62;

/// The counters exactly as stored (reallocs and deallocs counted down, bytes allocated
/// from [`BYTES_BIAS`]): what a frame copies at entry. Converted to [`Totals`] only when
/// the frame allocated.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Raw {
    allocs: u64,
    reallocs_countdown: u64,
    deallocs_countdown: u64,
    bytes_allocated: u64,
    bytes_freed: u64,
}

impl Raw {
    pub(crate) const ZERO: Self = Self {
        allocs: 0,
        reallocs_countdown: 0,
        deallocs_countdown: 0,
        bytes_allocated: 0,
        bytes_freed: 0,
    };

    /// What happened between `earlier` and `self`.
    #[inline]
    pub(crate) const fn since(&self, earlier: &Self) -> Totals {
        Totals {
            allocs: self.allocs.wrapping_sub(earlier.allocs),
            reallocs: earlier
                .reallocs_countdown
                .wrapping_sub(self.reallocs_countdown),
            deallocs: earlier
                .deallocs_countdown
                .wrapping_sub(self.deallocs_countdown),
            bytes_allocated: self.bytes_allocated.wrapping_sub(earlier.bytes_allocated),
            bytes_freed: self.bytes_freed.wrapping_sub(earlier.bytes_freed),
        }
    }

    /// Live bytes plus [`BYTES_BIAS`]: positive unless the thread freed 4 EiB more than
    /// it allocated. Only for comparing with another `Raw`'s and with the running peak.
    #[inline]
    pub(crate) const fn live(&self) -> i64 {
        self.bytes_allocated.wrapping_sub(self.bytes_freed) as i64
    }

    /// True if the allocator was not called since this snapshot, given the current
    /// `(bytes_allocated, bytes_freed)`: every alloc and realloc adds at least one byte to
    /// the first and every dealloc one to the second, because `GlobalAlloc` is never asked
    /// for zero bytes.
    #[inline]
    pub(crate) const fn same_bytes(&self, bytes: (u64, u64)) -> bool {
        self.bytes_allocated == bytes.0 && self.bytes_freed == bytes.1
    }
}

pub(crate) struct ThreadCounters {
    allocs: Cell<u64>,
    /// `1 - reallocs` and `1 - deallocs`, counted down: the first realloc or free of a
    /// thread takes the counter to zero, which the decrement itself flags (`dec; je`), so
    /// spotting a thread's first free costs one branch and no extra load.
    reallocs_countdown: Cell<u64>,
    deallocs_countdown: Cell<u64>,
    bytes_allocated: Cell<u64>,
    bytes_freed: Cell<u64>,
    /// The highest `live` seen since the innermost open [`PeakWindow`] (or thread start), or
    /// the level the window opened at if higher (a frame's window opens at 0, below any
    /// live level).
    peak: Cell<i64>,
    /// Whether this thread's counters will be folded into the process-wide totals when it
    /// exits. Checked only off the common path (on a new peak or a first free).
    exit_hook: Cell<bool>,
}

/// This thread's counters. It cannot fail (see `per_thread`); callers still handle the
/// error rather than unwrap, so that no panic path exists.
#[inline(always)]
fn with<R>(f: impl FnOnce(&ThreadCounters) -> R) -> Result<R, std::thread::AccessError> {
    THREAD.try_with(|t| f(&t.counters))
}

impl ThreadCounters {
    pub(crate) const fn new() -> Self {
        Self {
            allocs: Cell::new(0),
            reallocs_countdown: Cell::new(1),
            deallocs_countdown: Cell::new(1),
            bytes_allocated: Cell::new(BYTES_BIAS),
            bytes_freed: Cell::new(0),
            peak: Cell::new(0),
            exit_hook: Cell::new(false),
        }
    }

    fn raw(&self) -> Raw {
        Raw {
            allocs: self.allocs.get(),
            reallocs_countdown: self.reallocs_countdown.get(),
            deallocs_countdown: self.deallocs_countdown.get(),
            bytes_allocated: self.bytes_allocated.get(),
            bytes_freed: self.bytes_freed.get(),
        }
    }

    fn totals(&self) -> Totals {
        self.raw().since(&Raw {
            reallocs_countdown: 1,
            deallocs_countdown: 1,
            bytes_allocated: BYTES_BIAS,
            ..Raw::ZERO
        })
    }

    fn set_totals(&self, t: Totals) {
        self.allocs.set(t.allocs);
        self.reallocs_countdown.set(1u64.wrapping_sub(t.reallocs));
        self.deallocs_countdown.set(1u64.wrapping_sub(t.deallocs));
        self.bytes_allocated
            .set(BYTES_BIAS.wrapping_add(t.bytes_allocated));
        self.bytes_freed.set(t.bytes_freed);
    }
}

// The three tallies below are the allocator's hot path. They use `try_with` (which cannot
// fail for a const thread-local without `Drop`, and compiles to nothing) and wrapping
// arithmetic, so no panic path exists even in debug builds.

#[inline(always)]
pub(crate) fn on_alloc(size: usize) {
    let _ = with(|c| {
        c.allocs.set(c.allocs.get().wrapping_add(1));
        let allocated = c.bytes_allocated.get().wrapping_add(size as u64);
        c.bytes_allocated.set(allocated);
        let live = allocated.wrapping_sub(c.bytes_freed.get()) as i64;
        if live > c.peak.get() {
            c.peak.set(live);
            // A thread's first allocation always sets a new peak: that is where its exit
            // hook is armed, without a separate check on every allocation.
            if !c.exit_hook.get() {
                arm_exit_hook(c);
            }
        }
    });
}

/// Counts a free. Returns true on the thread's first free, when the caller must call
/// [`on_first_dealloc`]: the rare work is left to the caller so that its own forwarding
/// call can stay a tail call (see `CountingAlloc::dealloc`).
#[inline(always)]
pub(crate) fn on_dealloc(size: usize) -> bool {
    with(|c| {
        let countdown = c.deallocs_countdown.get().wrapping_sub(1);
        c.deallocs_countdown.set(countdown);
        c.bytes_freed
            .set(c.bytes_freed.get().wrapping_add(size as u64));
        // A thread that only frees (memory sent from elsewhere) never sets a peak.
        countdown == 0
    })
    .unwrap_or(false)
}

/// The rest of a thread's first [`on_dealloc`].
#[cold]
#[inline(never)]
pub(crate) fn on_first_dealloc() {
    let _ = with(first_free_or_realloc);
}

#[inline(always)]
pub(crate) fn on_realloc(old_size: usize, new_size: usize) {
    let _ = with(|c| {
        let countdown = c.reallocs_countdown.get().wrapping_sub(1);
        c.reallocs_countdown.set(countdown);
        let allocated = c.bytes_allocated.get().wrapping_add(new_size as u64);
        c.bytes_allocated.set(allocated);
        let freed = c.bytes_freed.get().wrapping_add(old_size as u64);
        c.bytes_freed.set(freed);
        let live = allocated.wrapping_sub(freed) as i64;
        if live > c.peak.get() {
            c.peak.set(live);
        }
        if countdown == 0 {
            first_free_or_realloc(c);
        }
    });
}

#[cold]
#[inline(never)]
fn first_free_or_realloc(c: &ThreadCounters) {
    if !c.exit_hook.get() {
        arm_exit_hook(c);
    }
}

#[cold]
#[inline(never)]
fn arm_exit_hook(c: &ThreadCounters) {
    c.exit_hook.set(true);
    crate::threads::arm_exit_hook();
}

/// Called by the exit hook once it has folded this thread into the process-wide totals:
/// the thread's counts start again from zero, so whatever it does from here on (in
/// destructors that run after the hook) begins with a first allocation (a new peak), a
/// first reallocation or a first free, each of which arms the hook again; its next run
/// folds just that. (Clearing only the armed flag would miss a late allocation below the
/// thread's old peak, and every late free or reallocation.)
pub(crate) fn restart_after_fold() {
    let _ = with(|c| {
        c.set_totals(Totals::ZERO);
        c.peak.set(0);
        c.exit_hook.set(false);
    });
}

/// This thread's counters as stored, for frames.
#[inline]
pub(crate) fn raw() -> Raw {
    with(ThreadCounters::raw).unwrap_or(Raw::ZERO)
}

/// This thread's `(bytes_allocated, bytes_freed)`: enough to tell whether anything
/// happened since a [`Raw`] snapshot.
#[inline]
pub(crate) fn bytes() -> (u64, u64) {
    with(|c| (c.bytes_allocated.get(), c.bytes_freed.get())).unwrap_or((0, 0))
}

/// This thread's totals so far.
#[inline]
pub(crate) fn totals() -> Totals {
    with(ThreadCounters::totals).unwrap_or(Totals::ZERO)
}

/// A measurement of this thread's peak: opened at the start of a measured region and
/// closed at its end, strictly nested (LIFO) like the regions themselves.
///
/// Opening lowers the running peak to the current live level, so that the region's own
/// peak can be read at close; closing raises it back to the enclosing region's peak.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PeakWindow {
    base_live: i64,
    outer_peak: i64,
}

impl PeakWindow {
    #[inline]
    pub(crate) fn open() -> Self {
        let base_live = raw().live();
        Self {
            base_live,
            outer_peak: open_peak(base_live),
        }
    }

    /// Closes the window and returns its peak above `base_live`.
    #[inline]
    pub(crate) fn close(self) -> u64 {
        close_peak(self.outer_peak, self.base_live)
    }
}

/// [`PeakWindow::open`]: lowers the running peak to `base_live` and returns the
/// enclosing window's peak.
#[inline(always)]
fn open_peak(base_live: i64) -> i64 {
    with(|c| c.peak.replace(base_live)).unwrap_or(base_live)
}

/// [`PeakWindow::open`] for frames, which keep only the returned outer peak (the base
/// level is derived from their counters snapshot). PERF: it lowers the running peak to 0
/// (below any live level, see [`BYTES_BIAS`]) rather than to the base level, which would
/// have to be computed. That reads the same at close: [`close_peak`] measures from the
/// base, and every allocation in the window raises the peak to its own live level.
#[inline(always)]
pub(crate) fn open_frame_peak() -> i64 {
    with(|c| c.peak.replace(0)).unwrap_or(0)
}

/// Closes a frame's window in which nothing was allocated: the peak is still the base.
#[inline(always)]
pub(crate) fn close_peak_untouched(outer_peak: i64) {
    let _ = with(|c| c.peak.set(outer_peak));
}

/// [`PeakWindow::close`] for frames.
#[inline]
pub(crate) fn close_peak(outer_peak: i64, base_live: i64) -> u64 {
    with(|c| {
        let peak = c.peak.get();
        c.peak.set(peak.max(outer_peak));
        peak.saturating_sub(base_live).max(0) as u64
    })
    .unwrap_or(0)
}

/// Runs `f` without counting it on this thread: everything it allocates and frees is
/// invisible to every measurement. Used around the crate's own bookkeeping.
///
/// WARNING: `f` must free what it allocates (or leave it to a later `untracked` call).
/// Memory allocated here and freed outside would appear as bytes freed out of nowhere.
pub(crate) fn untracked<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(Option<(Totals, i64)>);
    impl Drop for Restore {
        fn drop(&mut self) {
            if let Some((t, peak)) = self.0 {
                let _ = with(|c| {
                    c.set_totals(t);
                    c.peak.set(peak);
                });
            }
        }
    }
    let saved = with(|c| (totals(), c.peak.get())).ok();
    let _restore = Restore(saved);
    f()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tallies_update_totals_and_peak() {
        let start = totals();
        let window = PeakWindow::open();
        on_alloc(100);
        on_realloc(100, 300);
        on_dealloc(300);
        on_alloc(10);
        let done = totals().minus(start);
        assert_eq!(
            done,
            Totals {
                allocs: 2,
                reallocs: 1,
                deallocs: 1,
                bytes_allocated: 410,
                bytes_freed: 400
            }
        );
        assert_eq!(window.close(), 300);
        on_dealloc(10);
    }

    #[test]
    fn nested_windows_restore_the_outer_peak() {
        let outer = PeakWindow::open();
        on_alloc(1000);
        let inner = PeakWindow::open();
        on_dealloc(1000);
        on_alloc(10);
        assert_eq!(
            inner.close(),
            0,
            "inner never rose above its start of 1000 live"
        );
        on_dealloc(10);
        assert_eq!(outer.close(), 1000);
    }

    #[test]
    fn untracked_work_is_invisible() {
        let before = totals();
        untracked(|| {
            on_alloc(64);
            on_dealloc(64);
        });
        assert_eq!(totals(), before);
    }
}
