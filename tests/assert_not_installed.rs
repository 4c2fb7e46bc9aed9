//! A test binary WITHOUT `CountingAlloc` as its global allocator: every function that
//! would report numbers panics with a message that starts `alloc-trace: ` and shows the
//! lines to add, instead of returning zeros as if they were real.

use alloc_trace::{assert_allocs, assert_no_alloc, track_allocs};

#[path = "support/not_installed.rs"]
mod not_installed;
#[path = "support/panics.rs"]
mod panics;

use not_installed::NOT_INSTALLED;
use panics::panic_message;

/// A budget it would exceed if anything were counted.
#[track_allocs(max_allocs = 0)]
fn budgeted() -> Vec<u8> {
    vec![1, 2, 3]
}

#[test]
fn measure_panics() {
    assert_eq!(
        panic_message(|| drop(alloc_trace::measure(|| vec![1u8]))).as_deref(),
        Some(NOT_INSTALLED)
    );
}

#[test]
fn capture_panics() {
    assert_eq!(
        panic_message(|| drop(alloc_trace::capture(|| vec![1u8]))).as_deref(),
        Some(NOT_INSTALLED)
    );
}

#[test]
fn allocs_per_run_panics() {
    assert_eq!(
        panic_message(|| {
            let _ = alloc_trace::allocs_per_run(10, || drop(vec![1u8]));
        })
        .as_deref(),
        Some(NOT_INSTALLED)
    );
}

#[test]
fn assert_allocs_panics() {
    assert_eq!(
        panic_message(|| drop(assert_allocs!(vec![1u8], allocs == 1))).as_deref(),
        Some(NOT_INSTALLED)
    );
}

#[test]
fn assert_no_alloc_panics() {
    // Even an assertion that would pass: zeros are not evidence.
    assert_eq!(
        panic_message(|| assert_no_alloc!(())).as_deref(),
        Some(NOT_INSTALLED)
    );
}

#[test]
fn the_expression_is_not_run_when_nothing_can_be_counted() {
    let mut ran = false;
    let _ = panic_message(|| assert_no_alloc!(ran = true));
    assert!(!ran);
}

#[test]
fn budgets_are_not_checked_and_the_report_panics() {
    // Nothing is counted, so a budget cannot be checked: the call runs normally.
    assert_eq!(budgeted(), [1, 2, 3]);
    // Asked for its numbers, the report panics like `measure` (one policy).
    assert_eq!(
        panic_message(|| drop(alloc_trace::report())).as_deref(),
        Some(NOT_INSTALLED)
    );
}

#[test]
fn process_stats_panics() {
    assert_eq!(
        panic_message(|| {
            let _ = alloc_trace::process_stats();
        })
        .as_deref(),
        Some(NOT_INSTALLED)
    );
}

#[test]
fn is_installed_says_so_without_panicking() {
    assert!(!alloc_trace::is_installed());
}
