//! `measure` and `allocs_per_run`: exact numbers for a closure on the calling thread.

// No panic path (see the crate docs, "No panic path"): this code runs on every tracked
// call or measurement.
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]
#![cfg_attr(not(test), deny(clippy::indexing_slicing, clippy::panic))]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#![cfg_attr(not(test), deny(clippy::unreachable, clippy::todo))]

use crate::counters::Raw;
use crate::installed::assert_installed;
use crate::per_thread;
use crate::stats::AllocStats;

/// An open measurement of the calling thread: a snapshot of its counters and a peak
/// window.
pub(crate) struct Measurement {
    start: Raw,
    window: Window,
}

/// A measurement's peak window: the enclosing window's peak, which closing it restores.
/// Dropping it unclosed (the measured code panicked) closes it, which keeps the thread's
/// peak consistent.
///
/// PERF: a value of its own, so that only this word must be in memory across the
/// measured call for its unwinding path; the counters' snapshot can stay in registers.
struct Window {
    outer_peak: i64,
}

impl Window {
    /// The window's peak above `base` (the live level at its start, see `Raw::live`);
    /// the thread's peak is the enclosing window's again.
    #[inline(always)]
    fn close(self, base: i64) -> u64 {
        let this = core::mem::ManuallyDrop::new(self);
        per_thread::with(|t| t.counters.close_peak(this.outer_peak, base)).unwrap_or(0)
    }
}

impl Drop for Window {
    fn drop(&mut self) {
        // The peak above the start is not asked for, so any base will do.
        let _ = per_thread::with(|t| t.counters.close_peak(self.outer_peak, 0));
    }
}

impl Measurement {
    #[inline(always)]
    pub(crate) fn start() -> Self {
        per_thread::with(|t| {
            // PERF: the window opens at 0, as a frame's does (see `open_frame_peak`): its
            // base, the live level at the start, is worked out from `start` at the end.
            Self {
                start: t.counters.raw(),
                window: Window {
                    outer_peak: t.counters.open_frame_peak(),
                },
            }
        })
        .unwrap_or_else(|| Self {
            start: Raw::START,
            window: Window { outer_peak: 0 },
        })
    }

    /// What happened since the start.
    #[inline(always)]
    pub(crate) fn finish(self) -> AllocStats {
        let Self { start, window } = self;
        let peak = window.close(start.live());
        per_thread::with(|t| t.counters.raw().since(&start).with_peak(peak)).unwrap_or_default()
    }
}

/// Runs `f` and returns its result with what it asked of the allocator **on the calling
/// thread**.
///
/// Allocations made by other threads meanwhile (other tests of a parallel `cargo test`,
/// thread pools) are never included; allocations `f` makes on threads it spawns are not
/// included either (use [`process_stats`](crate::process_stats) for those). Measurements
/// nest: a `measure` inside `f` sees only its own closure.
///
/// In `--release` builds the optimiser may remove allocations whose results are unused;
/// pass results through [`std::hint::black_box`] when measuring such code.
///
/// # Panics
///
/// If [`CountingAlloc`](crate::CountingAlloc) is not the global allocator (the message
/// shows the lines to add), or if `f` panics.
///
/// # Examples
///
/// ```
/// # #[global_allocator]
/// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
/// let (v, stats) = alloc_trace::measure(|| {
///     let mut v = Vec::new();
///     for i in 1..=1000u32 {
///         v.push(i);
///     }
///     v
/// });
/// assert_eq!(v.len(), 1000);
/// assert_eq!((stats.allocs, stats.reallocs), (9, 8)); // capacity 4, then 8, 16, ..., 1024
/// assert_eq!(stats.peak_bytes, 4096);
/// ```
#[track_caller]
#[inline]
pub fn measure<R>(f: impl FnOnce() -> R) -> (R, AllocStats) {
    assert_installed();
    measured(f)
}

/// [`measure`] without the check that `CountingAlloc` is installed (the caller made it).
#[inline(always)]
pub(crate) fn measured<R>(f: impl FnOnce() -> R) -> (R, AllocStats) {
    // PERF: taken apart while `f` runs, so that only the window is in memory for the
    // unwinding path (which drops it); the snapshot stays in registers.
    let Measurement { start, window } = Measurement::start();
    let result = f();
    (result, Measurement { start, window }.finish())
}

/// The mean number of allocations (`allocs`, reallocs included) per call of `f`, over `runs` calls
/// after one warm-up call: the counterpart of Go's `testing.AllocsPerRun`.
///
/// Counts only the calling thread, so it is safe in parallel tests.
///
/// # Panics
///
/// If `runs` is 0, or if [`CountingAlloc`](crate::CountingAlloc) is not the global
/// allocator.
///
/// ```
/// # #[global_allocator]
/// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
/// let mut buf = String::new();
/// let per_run = alloc_trace::allocs_per_run(100, || {
///     buf.clear();
///     buf.push_str("reused after the warm-up call");
/// });
/// assert_eq!(per_run, 0.0);
/// ```
#[track_caller]
pub fn allocs_per_run(runs: u32, mut f: impl FnMut()) -> f64 {
    assert!(
        runs > 0,
        "alloc-trace: allocs_per_run needs at least one run"
    );
    assert_installed();
    f();
    let ((), stats) = measure(|| {
        for _ in 0..runs {
            f();
        }
    });
    stats.allocs as f64 / f64::from(runs)
}
