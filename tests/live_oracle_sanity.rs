//! The oracle of the `live_*` tests agrees with alloc-trace where alloc-trace is exact
//! today: on the calling thread, and for threads that have been joined. If this binary
//! fails, the other `live_*` failures say nothing about alloc-trace.
//!
//! `harness = false`: the main thread runs the cases, so no test-harness thread
//! allocates while the numbers are compared (see `support/oracle.rs`).

#[path = "support/oracle.rs"]
mod oracle;

use std::collections::HashMap;
use std::hint::black_box;

use alloc_trace::track_allocs;
use oracle::{Checks, Oracle, Window};

#[global_allocator]
static ALLOC: Oracle = Oracle::new();

fn main() {
    oracle::run(
        "live_oracle_sanity",
        &[
            ("main thread, untracked code", untracked_code),
            ("main thread, tracked calls", tracked_calls),
            ("measure() == oracle", measure_matches),
            ("threads spawned and joined in the window", joined_threads),
        ],
    );
}

/// Every kind of request: allocs, zeroed allocs, reallocs up and down, frees.
fn workload() -> usize {
    let mut v = Vec::new();
    for i in 0..1000u32 {
        v.push(black_box(i));
    }
    v.truncate(10);
    v.shrink_to_fit();
    let zeroed = black_box(vec![0u8; 4096]);
    let mut map = HashMap::new();
    for i in 0..100u32 {
        map.insert(i, i.to_string());
    }
    for i in 0..50u32 {
        map.remove(&i);
    }
    let text = format!("{v:?} {}", map.len());
    black_box(Box::new(7u64));
    v.len() + zeroed.len() + map.len() + text.len()
}

#[track_allocs]
fn tracked_leaf(n: usize) -> Vec<u64> {
    (0..n as u64).collect()
}

#[track_allocs]
fn tracked_outer() -> usize {
    let own = black_box(vec![1u8; 100]);
    own.len() + tracked_leaf(10).len() + workload()
}

fn untracked_code() -> Checks {
    let window = Window::open();
    black_box(workload());
    let closed = window.close();
    let mut checks = Checks::new();
    checks.window("workload on main", &closed);
    checks.truth(
        "the workload allocated",
        closed.oracle.allocs > 100 && closed.oracle.reallocs > 0,
        &oracle::brief(closed.oracle),
    );
    checks
}

fn tracked_calls() -> Checks {
    // The main thread's record and tables are bookkeeping: made before the window.
    black_box(tracked_leaf(1));
    let window = Window::open();
    for _ in 0..10 {
        black_box(tracked_outer());
    }
    let closed = window.close_with_report();
    let report = closed.full_report.as_ref().expect("taken");
    let mut checks = Checks::new();
    checks.window("tracked calls on main", &closed);
    let leaf = report.site("tracked_leaf").expect("site");
    checks.eq("tracked_leaf calls", leaf.calls, 11);
    checks.eq("tracked_leaf inclusive allocs", leaf.inclusive.allocs, 11);
    let outer = report.site("tracked_outer").expect("site");
    checks.eq("tracked_outer calls", outer.calls, 10);
    checks.eq(
        "rows (exclusive + outside) == totals: (allocs, bytes)",
        oracle::rows_sum(report),
        (report.totals().allocs, report.totals().bytes_allocated),
    );
    checks
}

fn measure_matches() -> Checks {
    let before = oracle::counts();
    let (_, stats) = alloc_trace::measure(|| black_box(workload()));
    let after = oracle::counts();
    let mut checks = Checks::new();
    checks.counts(
        "measure(workload) == oracle around it",
        stats.counts(),
        oracle::minus(after, before),
    );
    checks
}

fn joined_threads() -> Checks {
    let window = Window::open();
    let handles: Vec<_> = (0..4)
        .map(|_| std::thread::spawn(|| black_box(workload())))
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let closed = window.close();
    let mut checks = Checks::new();
    checks.window("4 threads, joined (so exited and folded)", &closed);
    checks.truth(
        "the threads allocated",
        closed.oracle.allocs > 400,
        &oracle::brief(closed.oracle),
    );
    checks
}
