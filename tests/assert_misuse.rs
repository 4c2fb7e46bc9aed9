//! Run-time edge cases of the testing API: a capture inside a capture, assertions inside
//! captures, and `allocs_per_run` with no runs.

use std::hint::black_box;

use alloc_trace::{assert_allocs, capture, measure};

#[global_allocator]
static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();

#[path = "support/fixtures.rs"]
mod fixtures;
#[path = "support/panics.rs"]
mod panics;
#[path = "support/sites.rs"]
mod sites;

use fixtures::{boxed, grow5};
use panics::panic_message;
use sites::site_counts;

#[test]
fn a_capture_inside_a_capture_nests() {
    let ((v, b, inner), outer) = capture(|| {
        let v = grow5();
        let (b, inner) = capture(boxed);
        (v, b, inner)
    });
    assert_eq!((v.len(), *b), (5, 7));

    // The inner capture saw only its closure.
    assert_eq!(
        site_counts(&inner, "assert_misuse::fixtures::boxed"),
        (1, 1, 0, 8)
    );
    // A capture lists only the functions its closure ran (it costs in proportion to
    // them, not to every function in the program).
    assert!(inner.site("assert_misuse::fixtures::grow5").is_none());
    let t = inner.totals();
    assert_eq!(
        (t.allocs, t.reallocs, t.frees, t.bytes_allocated),
        (1, 0, 0, 8)
    );
    assert_eq!(inner.peak_bytes(), Some(8));

    // The outer one saw both tracked calls, the inner one's included.
    assert_eq!(
        site_counts(&outer, "assert_misuse::fixtures::grow5"),
        (1, 2, 1, 48)
    );
    assert_eq!(
        site_counts(&outer, "assert_misuse::fixtures::boxed"),
        (1, 1, 0, 8)
    );
    assert_eq!(outer.in_tracked().allocs, 3);
    let inside = outer.totals().allocs - outer.outside_tracked().allocs;
    assert_eq!(inside, 3);
}

#[test]
fn the_inner_report_is_memory_the_outer_closure_allocated() {
    // Building a `Report` allocates like any other code, so an enclosing capture counts
    // the inner one's report: exactly what `measure` sees for the same code.
    let nested = || {
        let (_, inner) = capture(boxed);
        drop(black_box(inner));
    };
    let ((), measured) = measure(nested);
    let ((), outer) = capture(nested);
    assert_eq!(outer.totals(), measured.counts());
    assert_eq!(outer.peak_bytes(), Some(measured.peak_bytes));
    // The tracked call is 1 of those allocations, the report's are outside tracked code.
    assert_eq!(outer.outside_tracked().allocs, measured.allocs - 1);
    // An assertion hides its own report instead: see `assert_inside_capture_is_exact`.
}

#[test]
fn assert_inside_capture_is_exact() {
    let (v, outer) = capture(|| assert_allocs!(grow5(), allocs == 2));
    assert_eq!(v.len(), 5);
    let t = outer.totals();
    assert_eq!(
        (
            t.allocs,
            t.reallocs,
            t.frees,
            t.bytes_allocated,
            t.bytes_freed
        ),
        (2, 1, 1, 48, 16)
    );
    assert_eq!(outer.peak_bytes(), Some(32));
    assert_eq!(
        site_counts(&outer, "assert_misuse::fixtures::grow5"),
        (1, 2, 1, 48)
    );
}

#[test]
fn allocs_per_run_needs_a_run() {
    let message = panic_message(|| {
        let _ = alloc_trace::allocs_per_run(0, || ());
    });
    assert_eq!(
        message.as_deref(),
        Some("alloc-trace: allocs_per_run needs at least one run")
    );
}

#[test]
fn allocs_per_run_counts_per_run_after_a_warm_up() {
    let mut cache: Vec<u64> = Vec::new();
    // The warm-up run fills the cache (not counted); every counted run allocates one box.
    let per_run = alloc_trace::allocs_per_run(50, || {
        if cache.is_empty() {
            cache.extend(0..100);
        }
        drop(boxed());
    });
    assert_eq!(per_run, 1.0);
}
