//! `#[track_allocs] async fn`: a call's numbers cover all its polls, on whatever thread
//! each poll runs, and the call counts once. Shown with a future polled by hand on two
//! threads, and with many calls migrating between the workers of tokio's multi-threaded
//! runtime.

use std::collections::HashSet;
use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use alloc_trace::{AllocStats, Report, capture, track_allocs};

#[global_allocator]
static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();

#[path = "support/sites.rs"]
mod sites;
#[path = "support/yield_once.rs"]
mod yield_once;

use sites::site;
use yield_once::YieldOnce;

// ---------------------------------------------------------------------------------------
// One call, polled by hand on two threads.

/// First poll: 10 bytes. Second poll: 20 bytes, then both vectors are freed.
#[track_allocs]
async fn two_polls() -> usize {
    let a = black_box(vec![0u8; 10]);
    YieldOnce::default().await;
    let b = black_box(vec![0u8; 20]);
    a.len() + b.len()
}

type Boxed = Pin<Box<dyn Future<Output = usize> + Send>>;

/// Polls `future` once on a new thread; returns it with the poll's result and what a
/// `capture` of that poll saw on that thread.
fn poll_on_new_thread(mut future: Boxed) -> (Boxed, Poll<usize>, Report) {
    std::thread::spawn(move || {
        let mut cx = Context::from_waker(Waker::noop());
        let (poll, report) = capture(|| future.as_mut().poll(&mut cx));
        (future, poll, report)
    })
    .join()
    .unwrap()
}

#[test]
fn a_call_polled_on_two_threads() {
    let future: Boxed = Box::pin(two_polls());
    let (future, first, on_a) = poll_on_new_thread(future);
    assert_eq!(first, Poll::Pending);
    let (future, second, on_b) = poll_on_new_thread(future);
    assert_eq!(second, Poll::Ready(30));
    drop(future);

    // Thread A saw the first poll: 10 bytes kept, no call finished yet.
    let a = site(&on_a, "track_allocs_async::two_polls");
    assert_eq!(a.calls, 0);
    let first_poll = AllocStats {
        allocs: 1,
        reallocs: 0,
        frees: 0,
        bytes_allocated: 10,
        bytes_freed: 0,
        peak_bytes: 10,
    };
    assert_eq!(a.inclusive, first_poll);
    // Thread B saw the second: 20 bytes, and both vectors freed (one allocated on A).
    let b = site(&on_b, "track_allocs_async::two_polls");
    assert_eq!(b.calls, 1);
    let second_poll = AllocStats {
        allocs: 1,
        reallocs: 0,
        frees: 2,
        bytes_allocated: 20,
        bytes_freed: 30,
        peak_bytes: 20,
    };
    assert_eq!(b.inclusive, second_poll);
    assert_eq!(
        b.max_allocs_per_call, 2,
        "the call's allocations over both polls"
    );

    // The process-wide report adds both threads up (both have exited).
    let report = alloc_trace::report();
    let s = site(&report, "track_allocs_async::two_polls");
    assert_eq!(s.calls, 1);
    let whole_call = AllocStats {
        allocs: 2,
        reallocs: 0,
        frees: 2,
        bytes_allocated: 30,
        bytes_freed: 30,
        peak_bytes: 20,
    };
    assert_eq!(s.inclusive, whole_call);
    assert_eq!(
        s.exclusive,
        (AllocStats {
            peak_bytes: 0,
            ..whole_call
        })
        .counts()
    );
    assert_eq!(s.max_allocs_per_call, 2);
}

// ---------------------------------------------------------------------------------------
// tokio's multi-threaded runtime.

/// 10 bytes, a yield to the scheduler, 20 bytes, another yield, then both are freed:
/// three polls, which may run on different workers.
#[track_allocs]
async fn yields_between_allocations(i: usize) -> usize {
    let a = black_box(vec![0u8; 10]);
    tokio::task::yield_now().await;
    let b = black_box(vec![0u8; 20]);
    tokio::task::yield_now().await;
    a.len() + b.len() + nested(i)
}

/// A sync tracked call inside the async one: 5 bytes.
#[track_allocs]
fn nested(i: usize) -> usize {
    black_box(vec![0u8; 5]).len() + i % 2
}

const WORKERS: usize = 2;
/// Tasks in flight at once. tokio's `yield_now` hands the task's waker to a per-worker
/// list (a `Vec`) that is allocated, with room for 4, on the first yield of each worker:
/// the warm-up below does that, and never more than 4 tasks defer at once afterwards.
const IN_FLIGHT: usize = 4;
const CALLS: usize = 200;

/// Makes every worker yield once (so its deferred-waker list exists), by running tasks
/// that each hold a worker for a moment until all workers have been seen.
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
                    std::thread::sleep(Duration::from_millis(5));
                    // The worker that polls the yield first defers it (and makes its
                    // list), in this same poll: once it ends, another may finish the task.
                    seen.lock().unwrap().insert(std::thread::current().id());
                    tokio::task::yield_now().await;
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
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKERS)
        .build()
        .unwrap();
    let threads: &'static Mutex<HashSet<ThreadId>> = Box::leak(Box::default());
    let total = runtime.block_on(async {
        warm_up_workers().await;
        let mut total = 0;
        for batch in 0..CALLS / IN_FLIGHT {
            let tasks: Vec<_> = (0..IN_FLIGHT)
                .map(|i| {
                    tokio::spawn(async move {
                        let n = yields_between_allocations(batch * IN_FLIGHT + i).await;
                        threads.lock().unwrap().insert(std::thread::current().id());
                        n
                    })
                })
                .collect();
            for task in tasks {
                total += task.await.unwrap();
            }
        }
        total
    });
    // Every worker thread exits, so the report below is final.
    drop(runtime);
    assert_eq!(total, CALLS * 35 + CALLS / 2);

    let report = alloc_trace::report();
    let calls = CALLS as u64;
    let s = site(&report, "track_allocs_async::yields_between_allocations");
    assert_eq!(
        s.calls, calls,
        "one call per task, however often it was polled"
    );
    let per_call = |allocs: u64, bytes: u64| AllocStats {
        allocs: allocs * calls,
        reallocs: 0,
        frees: allocs * calls,
        bytes_allocated: bytes * calls,
        bytes_freed: bytes * calls,
        peak_bytes: 0,
    };
    assert_eq!(
        AllocStats {
            peak_bytes: 0,
            ..s.inclusive
        },
        per_call(3, 35)
    );
    assert_eq!(s.exclusive, (per_call(2, 30)).counts());
    assert_eq!(s.max_allocs_per_call, 3);
    // The highest poll is the second, with `b`'s 20 bytes (the first holds 10, the third
    // `nested`'s 5 before freeing everything).
    assert_eq!(s.inclusive.peak_bytes, 20);
    let n = site(&report, "track_allocs_async::nested");
    assert_eq!(n.calls, calls);
    assert_eq!(
        n.inclusive,
        AllocStats {
            peak_bytes: 5,
            ..per_call(1, 5)
        }
    );
    assert!(!threads.lock().unwrap().is_empty());
}

/// As `yields_between_allocations`, for the current-thread test (each test has its own
/// sites, as the multi-thread test reads process-wide numbers).
#[track_allocs]
async fn yields_on_current_thread() -> usize {
    let a = black_box(vec![0u8; 10]);
    tokio::task::yield_now().await;
    let b = black_box(vec![0u8; 20]);
    tokio::task::yield_now().await;
    a.len() + b.len()
}

/// tokio's current-thread runtime: `capture` sees the whole call, since every poll runs on
/// the calling thread.
#[test]
fn tokio_current_thread_runtime_with_capture() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let (n, report) = capture(|| {
        runtime.block_on(async {
            // The runtime allocates its deferred-waker list on the first yield of each
            // `block_on`: let that happen outside the tracked call.
            tokio::task::yield_now().await;
            yields_on_current_thread().await
        })
    });
    assert_eq!(n, 30);
    let s = site(&report, "track_allocs_async::yields_on_current_thread");
    assert_eq!(s.calls, 1);
    let whole_call = AllocStats {
        allocs: 2,
        reallocs: 0,
        frees: 2,
        bytes_allocated: 30,
        bytes_freed: 30,
        peak_bytes: 20,
    };
    assert_eq!(s.inclusive, whole_call);
    assert_eq!(s.max_allocs_per_call, 2);
}

// ---------------------------------------------------------------------------------------
// With `#[tokio::test]`, in either order: above it, the attribute tracks the test's async
// body; below it, the sync test function tokio generates (runtime included).

#[track_allocs]
#[tokio::test]
async fn tracked_above_tokio_test() {
    tokio::task::yield_now().await;
    assert_eq!(black_box(vec![1u8]).len(), 1);
}

#[tokio::test]
#[track_allocs]
async fn tracked_below_tokio_test() {
    tokio::task::yield_now().await;
    assert_eq!(black_box(vec![1u8]).len(), 1);
}
