//! `#[instrument]` async fns with `AllocLayer`: every poll enters the span, on whatever
//! thread runs it, so a span's numbers are the sum of its polls and its call is counted
//! once, when it closes. Shown with a future polled by hand on two threads, and with many
//! calls moving between the workers of tokio's multi-threaded runtime; spans nest with
//! each other and with `#[track_allocs]` functions in one tree, wherever each poll ran.

use std::collections::HashSet;
use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant};

use alloc_trace::{AllocCounts, AllocStats, Report, track_allocs};
use tracing::Instrument;

#[global_allocator]
static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();

#[path = "support/sites.rs"]
mod sites;
#[path = "support/spans.rs"]
mod spans;
#[path = "support/yield_once.rs"]
mod yield_once;

use sites::site;
use yield_once::YieldOnce;

fn path_exclusive(report: &Report, path: &str) -> AllocCounts {
    report
        .paths()
        .iter()
        .find(|p| p.path == path)
        .unwrap_or_else(|| panic!("no path {path}: {:#?}", report.paths()))
        .exclusive
}

// ---------------------------------------------------------------------------------------
// One call, polled by hand on two threads.

/// First poll: 10 bytes. Second poll: 20 bytes, then both vectors are freed.
#[tracing::instrument]
async fn two_polls() -> usize {
    let a = black_box(vec![0u8; 10]);
    YieldOnce::default().await;
    let b = black_box(vec![0u8; 20]);
    a.len() + b.len()
}

type Boxed = Pin<Box<dyn Future<Output = usize> + Send>>;

/// Polls `future` once on a new thread.
fn poll_on_new_thread(mut future: Boxed) -> (Boxed, Poll<usize>) {
    thread::spawn(move || {
        spans::install();
        let mut cx = Context::from_waker(Waker::noop());
        let poll = future.as_mut().poll(&mut cx);
        (future, poll)
    })
    .join()
    .unwrap()
}

#[test]
fn a_span_polled_on_two_threads() {
    spans::install();
    let future: Boxed = Box::pin(two_polls());
    let (future, first) = poll_on_new_thread(future);
    assert_eq!(first, Poll::Pending);
    let in_flight = alloc_trace::report();
    let s = site(&in_flight, "tracing_tokio::two_polls");
    assert_eq!((s.calls, s.in_flight), (0, 1));
    assert_eq!(s.inclusive.bytes_allocated, 10);

    // `#[instrument]` drops its span when the body completes: the call ends in this poll.
    let (future, second) = poll_on_new_thread(future);
    assert_eq!(second, Poll::Ready(30));
    drop(future);

    let report = alloc_trace::report();
    let s = site(&report, "tracing_tokio::two_polls");
    assert_eq!((s.calls, s.in_flight), (1, 0));
    assert_eq!(
        s.inclusive,
        AllocStats {
            allocs: 2,
            reallocs: 0,
            frees: 2,
            bytes_allocated: 30,
            bytes_freed: 30,
            peak_bytes: 20, // the second poll's
        }
    );
    assert_eq!(s.max_allocs_per_call, 2, "both polls are one call");
}

// ---------------------------------------------------------------------------------------
// tokio's multi-threaded runtime.

/// Calls whose polls did not all run on one worker.
static MIGRATED: AtomicUsize = AtomicUsize::new(0);

/// Four polls: 10 bytes; 20 bytes and `step`'s first poll (5 bytes); `step`'s second
/// (which frees its 5); `tracked_leaf` (3 bytes, freed), then both vectors are freed.
#[tracing::instrument]
async fn handler(i: usize) -> usize {
    let started_on = thread::current().id();
    let a = black_box(vec![0u8; 10]);
    tokio::task::yield_now().await;
    let b = black_box(vec![0u8; 20]);
    let stepped = step(i).await;
    tokio::task::yield_now().await;
    if thread::current().id() != started_on {
        MIGRATED.fetch_add(1, Ordering::Relaxed);
    }
    a.len() + b.len() + stepped + tracked_leaf(i)
}

/// An `#[instrument]` async fn awaited inside another: 5 bytes, a yield, then freed.
#[tracing::instrument]
async fn step(i: usize) -> usize {
    let v = black_box(vec![0u8; 5]);
    tokio::task::yield_now().await;
    v.len() + i % 2
}

/// A tracked sync call inside the spans: 3 bytes.
#[track_allocs]
fn tracked_leaf(i: usize) -> usize {
    black_box(vec![0u8; 3]).len() + i % 3
}

const WORKERS: usize = 2;
/// Tasks in flight at once: tokio's per-worker list of deferred wakers (`yield_now`) is
/// allocated with room for 4 on a worker's first yield, which the warm-up makes happen;
/// no more than 4 tasks defer at once afterwards.
const IN_FLIGHT: usize = 4;
const CALLS: usize = 200;

/// Makes every worker yield once and enter a span once, so that what tokio and the
/// registry allocate per thread (the deferred-waker list; the registry's slab page of
/// spans and its stack of entered spans) is there before the measured calls.
async fn warm_up_workers() {
    let seen: &'static Mutex<HashSet<ThreadId>> = Box::leak(Box::default());
    let deadline = Instant::now() + Duration::from_secs(30);
    while seen.lock().unwrap().len() < WORKERS {
        assert!(
            Instant::now() < deadline,
            "alloc-trace test: not every worker ran a task"
        );
        let tasks: Vec<_> = (0..WORKERS * 2)
            .map(|_| {
                tokio::spawn(async move {
                    thread::sleep(Duration::from_millis(5));
                    // The worker that polls this first enters the span and defers the
                    // yield, in this same poll: once it ends, another may finish the task.
                    async {
                        seen.lock().unwrap().insert(thread::current().id());
                        tokio::task::yield_now().await;
                    }
                    .instrument(tracing::info_span!("warm_up"))
                    .await;
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
    }
}

#[test]
fn tokio_multi_thread_runtime() {
    spans::install();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKERS)
        .build()
        .unwrap();
    let total = runtime.block_on(async {
        warm_up_workers().await;
        let mut total = 0;
        for batch in 0..CALLS / IN_FLIGHT {
            let tasks: Vec<_> = (0..IN_FLIGHT)
                .map(|i| tokio::spawn(handler(batch * IN_FLIGHT + i)))
                .collect();
            for task in tasks {
                total += task.await.unwrap();
            }
        }
        total
    });
    // Every worker exits, so the report below is final.
    drop(runtime);
    let expected: usize = (0..CALLS).map(|i| 38 + i % 2 + i % 3).sum();
    assert_eq!(total, expected);
    println!(
        "tracing_tokio: {} of {CALLS} calls moved between workers",
        MIGRATED.load(Ordering::Relaxed)
    );

    let report = alloc_trace::report();
    let calls = CALLS as u64;
    let freed = |allocs: u64, bytes: u64| AllocCounts {
        allocs: allocs * calls,
        reallocs: 0,
        frees: allocs * calls,
        bytes_allocated: bytes * calls,
        bytes_freed: bytes * calls,
    };

    let h = site(&report, "tracing_tokio::handler");
    assert_eq!(
        h.calls, calls,
        "one call per span closed, however often entered"
    );
    assert_eq!(h.in_flight, 0);
    assert_eq!(h.inclusive.counts(), freed(4, 38));
    assert_eq!(h.exclusive, freed(2, 30));
    assert_eq!(h.max_allocs_per_call, 4);
    // The highest poll is the second: `b`'s 20 bytes and `step`'s 5.
    assert_eq!(h.inclusive.peak_bytes, 25);

    let s = site(&report, "tracing_tokio::step");
    assert_eq!(s.calls, calls);
    assert_eq!(s.inclusive.counts(), freed(1, 5));
    assert_eq!(s.inclusive.peak_bytes, 5);
    assert_eq!(s.max_allocs_per_call, 1);

    let t = site(&report, "tracing_tokio::tracked_leaf");
    assert_eq!((t.calls, t.inclusive.counts()), (calls, freed(1, 3)));

    // One tree, whichever worker ran each poll.
    assert_eq!(
        path_exclusive(&report, "tracing_tokio::handler"),
        freed(2, 30)
    );
    assert_eq!(
        path_exclusive(&report, "tracing_tokio::handler;tracing_tokio::step"),
        freed(1, 5)
    );
    assert_eq!(
        path_exclusive(
            &report,
            "tracing_tokio::handler;tracing_tokio::tracked_leaf"
        ),
        freed(1, 3)
    );
    let elsewhere: Vec<&str> = report
        .paths()
        .iter()
        .map(|p| p.path.as_str())
        .filter(|p| p.contains("tracing_tokio::") && !p.starts_with("tracing_tokio::handler"))
        .filter(|p| !p.contains("warm_up") && !p.contains("two_polls"))
        .collect();
    assert!(
        elsewhere.is_empty(),
        "paths outside the tree: {elsewhere:?}"
    );
}
