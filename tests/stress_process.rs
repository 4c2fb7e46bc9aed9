//! Stress, process-wide: `process_stats()` is exact once every thread has exited, after
//! thousands of threads and a tokio runtime's workers. One case alone in its binary, on
//! the main thread (`harness = false`): any other thread would add to the process-wide
//! numbers.
//!
//! Scale: 16 long-lived threads of 100,000 operations each in debug builds (1,000,000 in
//! release builds), plus 100 waves of 16 short-lived threads (1,600 threads); then a
//! multi-threaded tokio runtime (4 workers) running 128 tasks that migrate between workers.

#[path = "support/counts.rs"]
mod counts;
#[path = "stress_support/start_up_spy.rs"]
mod start_up_spy;
mod stress_support;

use std::hint::black_box;
use std::thread;
use std::time::{Duration, Instant};

use alloc_trace::{AllocStats, CountingAlloc, measure, process_stats, report, track_allocs};
use counts::minus;
use start_up_spy::StartUpSpy;
use stress_support::{Expected, SiteExpect, model_worker, run_worker, site_numbers};

#[global_allocator]
static ALLOC: CountingAlloc<StartUpSpy> = CountingAlloc::new(StartUpSpy);

const THREADS: u64 = 16;
const BATCH: usize = 1_000;
const LONG_BATCHES: usize = if cfg!(debug_assertions) { 100 } else { 1_000 };

/// `LONG_BATCHES`, or `STRESS_BATCHES` if set (see `stress_threads.rs`).
fn long_batches() -> usize {
    std::env::var("STRESS_BATCHES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(LONG_BATCHES)
}
const WAVES: u64 = 100;
const SHORT_OPS: usize = 64;

/// Threads of this process right now (Linux: entries of `/proc/self/task`).
fn os_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .map(Iterator::count)
        .unwrap_or(0)
}

/// Waits until the process is back to `count` threads: a thread whose `join` returned
/// has exited, but a runtime's workers may still be finishing after it shut down.
fn wait_for_threads(count: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while os_threads() > count {
        assert!(
            Instant::now() < deadline,
            "threads still running after 10 s"
        );
        thread::sleep(Duration::from_millis(1));
    }
}

#[path = "support/yield_once.rs"]
mod yield_once;
use yield_once::YieldOnce;

/// Holds a 64-byte buffer across each await, replacing it after.
#[track_allocs]
async fn stress_process_task(yields: u64) {
    let mut held = black_box(vec![0u8; 64]);
    for _ in 0..yields {
        YieldOnce(false).await;
        held = black_box(vec![0u8; 64]);
    }
    drop(held);
}

/// Alone on the main thread (`harness = false`): as a `#[test]`, libtest's main thread
/// allocated while the test ran (4 allocations over the count in 2 runs of 40).
fn main() {
    process_totals_are_exact_after_thousands_of_threads_and_a_tokio_runtime();
    println!("stress_process: 1 case passed");
}

fn process_totals_are_exact_after_thousands_of_threads_and_a_tokio_runtime() {
    // Threads: per thread and process-wide.
    let before = process_stats();
    let (per_thread, spawning) = measure(|| {
        let mut results = Vec::with_capacity((THREADS * (WAVES + 1)) as usize);
        let spawn = |seed: u64, batches: usize, ops: usize| {
            thread::spawn(move || {
                let start_up = StartUpSpy::user_code_starts();
                let ((), measured) = measure(|| run_worker(seed, batches, ops));
                (measured, model_worker(seed, batches, ops), start_up)
            })
        };
        let long: Vec<_> = (0..THREADS)
            .map(|t| spawn(t, long_batches(), BATCH))
            .collect();
        for wave in 0..WAVES {
            let short: Vec<_> = (0..THREADS)
                .map(|t| spawn(5_000 + wave * THREADS + t, 1, SHORT_OPS))
                .collect();
            results.extend(short.into_iter().map(|h| h.join().unwrap()));
        }
        results.extend(long.into_iter().map(|h| h.join().unwrap()));
        results
    });
    let after = process_stats();

    let mut expected = Expected::default();
    let (mut start_up_allocs, mut start_up_bytes) = (0, 0);
    for (measured, model, (allocs, bytes)) in &per_thread {
        assert_eq!(*measured, model.thread);
        expected.merge(model);
        start_up_allocs += allocs;
        start_up_bytes += bytes;
    }
    let workers = expected.thread;
    let process = minus(after, before);
    // Every allocation was seen: the workers' own, what std did to start them (see
    // `StartUpSpy`), and what spawning and joining them cost this thread.
    assert_eq!(
        process.allocs,
        workers.allocs + start_up_allocs + spawning.allocs
    );
    assert_eq!(process.reallocs, workers.reallocs + spawning.reallocs);
    assert_eq!(
        process.bytes_allocated,
        workers.bytes_allocated + start_up_bytes + spawning.bytes_allocated
    );
    // Every free was seen too, wherever it happened (thread handles and closures are
    // freed by the exiting threads, after their measured work): the only block still
    // live is `per_thread` itself.
    assert_eq!(process.frees, process.allocs - 1);
    assert_eq!(
        process.net_bytes(),
        (per_thread.capacity() * size_of::<(AllocStats, Expected, (u64, u64))>()) as i64
    );
    let report = report();
    assert_eq!(site_numbers(&report, "stress_batch"), expected.batch);
    assert_eq!(site_numbers(&report, "stress_recurse"), expected.recurse);
    drop(per_thread);

    // A tokio runtime, built, used and dropped on a thread of its own; its workers exit
    // when it shuts down. Afterwards every block anyone allocated has been freed, on
    // whichever thread, and every thread's share has been folded in.
    const TASKS: u64 = 128;
    const YIELDS: u64 = 20;
    let threads_before = os_threads();
    let before = process_stats();
    thread::spawn(|| {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(4)
            .build()
            .unwrap();
        rt.block_on(async {
            let tasks: Vec<_> = (0..TASKS)
                .map(|_| tokio::spawn(stress_process_task(YIELDS)))
                .collect();
            for task in tasks {
                task.await.unwrap();
            }
        });
    })
    .join()
    .unwrap();
    wait_for_threads(threads_before);
    let process = minus(process_stats(), before);
    assert_eq!(
        (process.allocs, process.bytes_allocated),
        (process.frees, process.bytes_freed),
        "every block allocated while the runtime lived was freed and seen: {process:?}"
    );
    let site = site_numbers(&alloc_trace::report(), "stress_process_task");
    let bytes = TASKS * 64 * (1 + YIELDS);
    let allocs = TASKS * (1 + YIELDS);
    assert_eq!(
        site,
        SiteExpect {
            calls: TASKS,
            inclusive: AllocStats {
                allocs,
                reallocs: 0,
                frees: allocs,
                bytes_allocated: bytes,
                bytes_freed: bytes,
                peak_bytes: 64,
            },
            exclusive: AllocStats {
                allocs,
                reallocs: 0,
                frees: allocs,
                bytes_allocated: bytes,
                bytes_freed: bytes,
                peak_bytes: 0,
            },
            max_allocs_per_call: 1 + YIELDS,
        }
    );
    #[cfg(feature = "ownership")]
    ownership_after_the_threads();
}

/// With the ownership view, after threads that counted at the same time (so they shared
/// the process peak, see `ownership`), once they exited: what every path holds adds up to
/// what the process holds, block for block; the runtime's task held nothing at the end;
/// and the peak is at least what is held now.
#[cfg(feature = "ownership")]
fn ownership_after_the_threads() {
    let now = process_stats();
    let report = alloc_trace::report();
    let o = *report.ownership().unwrap();
    assert_eq!(o.live.bytes as i64, now.net_bytes(), "{o:?}");
    assert_eq!(o.live.blocks, now.allocs - now.frees, "{o:?}");
    let task = report
        .site("stress_process_task")
        .unwrap()
        .ownership
        .unwrap();
    assert_eq!(
        (task.exclusive.live.blocks, task.exclusive.live.bytes),
        (0, 0)
    );
    assert!(o.peak.bytes >= o.live.bytes, "{o:?}");
    println!(
        "stress_process: ownership peak {} B ({}), live {} B",
        o.peak.bytes,
        if o.exact { "exact" } else { "approximate" },
        o.live.bytes
    );
}
