//! A pool of threads that never exit (std threads parked on a channel between jobs):
//! while they are parked, `process_stats()` and `report().totals()` equal an independent
//! count of every allocation, exactly, and the row of the tracked job they run shows its
//! exact calls and allocations.
//!
//! `harness = false`: see `support/oracle.rs`.

#[path = "support/oracle.rs"]
mod oracle;

use std::hint::black_box;
use std::sync::mpsc;
use std::sync::{Arc, Barrier};
use std::thread;

use alloc_trace::track_allocs;
use oracle::{Checks, Oracle, Window};

#[global_allocator]
static ALLOC: Oracle = Oracle::new();

fn main() {
    oracle::run(
        "live_thread_pool",
        &[("4 pool threads parked between jobs", parked_pool)],
    );
}

const THREADS: usize = 4;
const JOBS: u64 = 200;

/// 3 allocations, all freed: `n` `u64`s, a 32-byte string, a box: `8n + 40` bytes.
#[track_allocs]
fn job(n: u64) -> u64 {
    let v: Vec<u64> = (0..n).collect();
    let mut s = String::with_capacity(32);
    s.push_str("job");
    let b = black_box(Box::new(n));
    v.iter().sum::<u64>() + *b + black_box(s).len() as u64
}

/// The job's size for job number `i`.
fn size(i: u64) -> u64 {
    1 + i % 16
}

/// A pool thread: runs jobs until the channel closes; after each job it keeps the
/// result, boxed, outside any tracked call, and sends it back. The first job is the
/// warm-up (its record and tables are bookkeeping the oracle would see): after it, the
/// thread waits on `ready` until the main thread has opened its window.
fn pool_thread(jobs: mpsc::Receiver<u64>, results: mpsc::Sender<u64>, ready: Arc<Barrier>) {
    let mut done = Vec::with_capacity(64);
    black_box(job(jobs.recv().expect("warm-up job")));
    ready.wait();
    for n in jobs {
        let r = job(n);
        done.push(Box::new(r));
        results.send(r).expect("main receives");
    }
    black_box(done);
}

fn parked_pool() -> Checks {
    let ready = Arc::new(Barrier::new(THREADS + 1));
    let (results_tx, results) = mpsc::channel();
    let (senders, threads): (Vec<_>, Vec<_>) = (0..THREADS)
        .map(|_| {
            let (tx, rx) = mpsc::channel();
            let (results_tx, ready) = (results_tx.clone(), Arc::clone(&ready));
            (
                tx,
                thread::spawn(move || pool_thread(rx, results_tx, ready)),
            )
        })
        .unzip();
    drop(results_tx);
    for jobs in &senders {
        jobs.send(size(0)).expect("pool alive");
    }
    ready.wait();

    let window = Window::open();
    for i in 0..JOBS {
        senders[i as usize % THREADS]
            .send(size(i))
            .expect("pool alive");
    }
    let mut sum = 0;
    for _ in 0..JOBS {
        sum += results.recv().expect("pool alive");
    }
    // Every job is done; the pool threads are parked (or on their way) in `recv`.
    let parked = window.close_with_report();
    drop(senders);
    for t in threads {
        t.join().expect("pool thread");
    }

    let mut checks = Checks::new();
    let expected_sum: u64 = (0..JOBS)
        .map(|i| size(i) * (size(i) - 1) / 2 + size(i) + 3)
        .sum();
    checks.eq("the jobs' results", sum, expected_sum);
    checks.window("pool threads alive, parked", &parked);
    let report = parked.full_report.as_ref().expect("taken");
    let calls = THREADS as u64 + JOBS;
    let bytes: u64 = (0..THREADS as u64)
        .map(|_| size(0))
        .chain((0..JOBS).map(size))
        .map(|n| 8 * n + 40)
        .sum();
    let site = report.site("job").expect("site");
    checks.eq("job: calls", site.calls, calls);
    checks.eq(
        "job: inclusive (allocs, frees, bytes_allocated)",
        (
            site.inclusive.allocs,
            site.inclusive.frees,
            site.inclusive.bytes_allocated,
        ),
        (3 * calls, 3 * calls, bytes),
    );
    checks.eq("job: max_allocs_per_call", site.max_allocs_per_call, 3);
    checks.eq(
        "rows (exclusive + outside) == totals: (allocs, bytes)",
        oracle::rows_sum(report),
        (report.totals().allocs, report.totals().bytes_allocated),
    );
    checks
}
