//! Arithmetic on `AllocCounts`, for tests of process-wide totals.

use alloc_trace::AllocCounts;

/// `a - b`: what happened between two readings of `process_stats()`.
pub fn minus(a: AllocCounts, b: AllocCounts) -> AllocCounts {
    AllocCounts {
        allocs: a.allocs - b.allocs,
        reallocs: a.reallocs - b.reallocs,
        frees: a.frees - b.frees,
        bytes_allocated: a.bytes_allocated - b.bytes_allocated,
        bytes_freed: a.bytes_freed - b.bytes_freed,
    }
}
