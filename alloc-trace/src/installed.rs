//! Detects, once per process, whether `CountingAlloc` is the global allocator, so that a
//! missing `#[global_allocator]` is a clear panic instead of silent zeros.

use core::sync::atomic::{AtomicBool, Ordering::Relaxed};

use crate::per_thread;

static INSTALLED: AtomicBool = AtomicBool::new(false);

/// The panic message when `CountingAlloc` is not installed.
pub(crate) const NOT_INSTALLED: &str = "alloc-trace: `CountingAlloc` is not the global \
allocator, so nothing can be counted. Add these lines to your binary, test or bench \
(once per binary, e.g. at the top of `main.rs` or of the test file):

    #[global_allocator]
    static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
";

/// True if [`CountingAlloc`](crate::CountingAlloc) is the global allocator, so that
/// allocations are counted.
///
/// Every function that returns numbers ([`measure`](crate::measure),
/// [`capture`](crate::capture), [`report`](crate::report()),
/// [`process_stats`](crate::process_stats), the assertions) panics with the lines to add
/// when it is not; the exit report prints them instead of a table. Call this first where a
/// panic is not wanted.
///
/// ```
/// #[global_allocator]
/// static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
///
/// # fn main() {
/// assert!(alloc_trace::is_installed());
/// # }
/// ```
#[must_use]
pub fn is_installed() -> bool {
    if INSTALLED.load(Relaxed) {
        return true;
    }
    if crate::counters::any_counted() {
        INSTALLED.store(true, Relaxed);
        return true;
    }
    // One probe allocation, hidden from every measurement.
    let allocs = || per_thread::with(|t| t.counters.raw().totals().allocs);
    let counted = per_thread::uncounted(|| {
        let before = allocs();
        drop(core::hint::black_box(Box::new(0u8)));
        allocs() != before
    });
    if counted {
        INSTALLED.store(true, Relaxed);
    }
    counted
}

/// # Panics
///
/// With [`NOT_INSTALLED`] if `CountingAlloc` is not the global allocator.
#[inline(always)]
#[track_caller]
pub(crate) fn assert_installed() {
    // PERF: one thread-local load on the common path (`measure` is meant for hot loops):
    // the calling thread's exit hook is armed by its first counted allocation or free, so
    // a thread that has counted anything proves `CountingAlloc` installed. (A process-wide
    // flag is a static of this crate, which a caller's code reaches through the global
    // offset table: a load more.) A thread that has counted nothing yet takes the cold
    // check.
    if !per_thread::with(|t| t.counters.is_armed()).unwrap_or(false) {
        check_installed();
    }
}

#[cold]
#[inline(never)]
#[track_caller]
fn check_installed() {
    if !is_installed() {
        panic!("{NOT_INSTALLED}");
    }
}
