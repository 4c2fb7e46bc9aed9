//! Budgets on `async fn`s and allocation numbers of async code under `#[tokio::test]`, on
//! the current-thread and the multi-thread runtime.
//!
//! A tracked `async fn` call is measured across all its polls (wherever they run), so its
//! budget covers the whole call: here every poll allocates one box, within any budget on
//! its own, and only the sum goes over. `measure` and `capture` count the calling thread
//! only: for async code use a current-thread runtime, or per-site numbers.

use std::hint::black_box;

use alloc_trace::track_allocs;

#[global_allocator]
static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();

/// Budgets are checked in debug builds, and in release only with `budgets-in-release`.
const BUDGETS_ON: bool = cfg!(debug_assertions) || alloc_trace::__private::BUDGETS_IN_RELEASE;

#[path = "support/panics.rs"]
mod panics;
#[path = "support/sites.rs"]
mod sites;
#[path = "support/yield_once.rs"]
mod yield_once;

use panics::payload_text;
use sites::site_line;
use yield_once::YieldOnce;

/// One 8-byte box per poll, three polls: 3 allocs, 24 B, all freed at the end.
async fn three_boxes_in_three_polls() -> u64 {
    let a = black_box(Box::new(1u64));
    YieldOnce(false).await;
    let b = black_box(Box::new(2u64));
    YieldOnce(false).await;
    let c = black_box(Box::new(3u64));
    *a + *b + *c
}

#[track_allocs(max_allocs = 3, max_bytes = 24)]
async fn within_budget() -> u64 {
    three_boxes_in_three_polls().await
}

#[track_allocs(max_allocs = 2)]
async fn over_budget_current() -> u64 {
    three_boxes_in_three_polls().await
}

#[track_allocs(max_allocs = 2)]
async fn over_budget_multi() -> u64 {
    three_boxes_in_three_polls().await
}

#[track_allocs(max_allocs = 3)]
async fn spawned_many() -> u64 {
    three_boxes_in_three_polls().await
}

#[track_allocs]
async fn measured_on_current_thread() -> u64 {
    three_boxes_in_three_polls().await
}

#[tokio::test]
async fn current_thread_within_budget() {
    for _ in 0..100 {
        assert_eq!(within_budget().await, 6);
    }
}

#[tokio::test]
async fn current_thread_budget_covers_all_polls() {
    let result = tokio::spawn(over_budget_current()).await;
    if !BUDGETS_ON {
        assert_eq!(result.expect("budgets are off"), 6);
        return;
    }
    let message = payload_text(
        result
            .expect_err("3 allocs over polls exceed max_allocs = 2")
            .into_panic(),
    );
    assert!(
        message.starts_with(
            &format!(
                "alloc-trace: `budget_async::over_budget_current` (tests/budget_async.rs:{}) exceeded its \
                 allocation budget (max_allocs = 2): 3 allocs, 24 B allocated, peak 8 B\n",
                site_line("budget_async::over_budget_current")
            )
        ),
        "{message}"
    );
    assert!(
        message.contains("\n  max_allocs = 2: the call made 3 allocs (reallocs included, nested calls included)  <- OVER\n"),
        "{message}"
    );
    // Polls may run on several threads, so an async call's budget message lists no nested
    // sites.
    assert!(
        message.ends_with("\n  nested tracked calls: not listed for `async fn` calls\n"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_thread_budget_covers_all_polls() {
    for _ in 0..20 {
        let result = tokio::spawn(over_budget_multi()).await;
        if !BUDGETS_ON {
            assert_eq!(result.expect("budgets are off"), 6);
            continue;
        }
        let message = payload_text(result.expect_err("over budget").into_panic());
        assert!(
            message.starts_with(
                &format!(
                    "alloc-trace: `budget_async::over_budget_multi` (tests/budget_async.rs:{}) exceeded its \
                     allocation budget (max_allocs = 2): 3 allocs, 24 B allocated, peak 8 B\n",
                    site_line("budget_async::over_budget_multi")
                )
            ),
            "{message}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn multi_thread_per_site_numbers_are_exact() {
    // Tasks spread over workers; per-site numbers add up every thread's share.
    let tasks: Vec<_> = (0..64).map(|_| tokio::spawn(spawned_many())).collect();
    for task in tasks {
        assert_eq!(task.await.expect("within budget"), 6);
    }
    let report = alloc_trace::report();
    let site = report.site("budget_async::spawned_many").unwrap();
    assert_eq!(site.calls, 64);
    assert_eq!(
        (
            site.inclusive.allocs,
            site.inclusive.frees,
            site.inclusive.bytes_allocated
        ),
        (192, 192, 1536)
    );
    assert_eq!(site.max_allocs_per_call, 3);
}

#[test]
fn capture_around_a_current_thread_runtime() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    // Every poll runs on this thread, so the closure's numbers include the whole call.
    let (sum, report) = alloc_trace::capture(|| rt.block_on(measured_on_current_thread()));
    assert_eq!(sum, 6);
    let site = report
        .site("budget_async::measured_on_current_thread")
        .unwrap();
    assert_eq!(site.calls, 1);
    assert_eq!(
        (
            site.inclusive.allocs,
            site.inclusive.bytes_allocated,
            site.inclusive.bytes_freed
        ),
        (3, 24, 24)
    );
    assert_eq!(
        site.inclusive.peak_bytes, 8,
        "one poll at a time: the most one poll held"
    );
}

#[track_allocs]
async fn on_a_worker() -> u64 {
    three_boxes_in_three_polls().await
}

#[test]
fn capture_around_a_multi_thread_runtime_misses_its_workers() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    // A task spawned from `block_on` runs on a worker thread, never on this one: the
    // capture (this thread only) sees no call of it.
    let (sum, captured) =
        alloc_trace::capture(|| rt.block_on(async { tokio::spawn(on_a_worker()).await.unwrap() }));
    assert_eq!(sum, 6);
    assert!(captured.site("budget_async::on_a_worker").is_none());
    // Per-site numbers from `report()` add up every thread.
    let report = alloc_trace::report();
    let site = report.site("budget_async::on_a_worker").unwrap();
    assert_eq!(
        (
            site.calls,
            site.inclusive.allocs,
            site.inclusive.bytes_allocated
        ),
        (1, 3, 24)
    );
}
