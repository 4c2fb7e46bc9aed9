//! A thread blocked inside a long tracked call (`worker_loop`, which allocated, called a
//! tracked `inner` that returned, allocated again, and now waits): a report taken from
//! the main thread meanwhile shows `worker_loop`'s allocations so far, counts `inner`'s
//! once (every row's exclusive share plus the outside share add up to exactly 100% of the
//! totals), and its totals equal an independent count of every allocation.
//!
//! `harness = false`: see `support/oracle.rs`.

#[path = "support/oracle.rs"]
mod oracle;

use std::hint::black_box;
use std::sync::{Arc, Barrier};
use std::thread;

use alloc_trace::track_allocs;
use oracle::{Checks, Oracle, Window};

#[global_allocator]
static ALLOC: Oracle = Oracle::new();

fn main() {
    oracle::run(
        "live_nested_call",
        &[(
            "a thread blocked inside a tracked call",
            blocked_inside_a_call,
        )],
    );
}

/// One allocation, so the thread's record and tables exist before the window.
#[track_allocs]
fn warm_up() -> Box<u64> {
    black_box(Box::new(0u64))
}

/// 11 allocations, kept by the caller: a `Vec` for 10 vectors (10 x 24 bytes) and the 10
/// vectors (16 bytes each).
#[track_allocs]
fn inner() -> Vec<Vec<u8>> {
    let mut v = Vec::with_capacity(10);
    for i in 0..10u8 {
        v.push(black_box(vec![i; 16]));
    }
    v
}

/// 5 allocations of its own (a `Vec` of 4 boxes: 32 + 4 x 8 bytes), then `inner` (11),
/// then 3 more of its own (a `Vec` of 2 boxes: 16 + 2 x 4 bytes); then it tells the main
/// thread and waits until released. Everything is freed when it returns.
#[track_allocs]
fn worker_loop(sync: &Barrier) -> usize {
    let mut own: Vec<Box<u64>> = Vec::with_capacity(4);
    for i in 0..4 {
        own.push(black_box(Box::new(i)));
    }
    let nested = inner();
    let tail = black_box(vec![Box::new(1u32), Box::new(2u32)]);
    sync.wait(); // allocated everything: the main thread looks now
    sync.wait(); // released
    own.len() + nested.len() + tail.len()
}

const BEFORE_INNER: (u64, u64) = (5, 64);
const INNER: (u64, u64) = (11, 240 + 160);
const AFTER_INNER: (u64, u64) = (3, 24);

fn blocked_inside_a_call() -> Checks {
    let sync = Arc::new(Barrier::new(2));
    let worker = {
        let sync = Arc::clone(&sync);
        thread::spawn(move || {
            // Kept: freeing it before the window would be one more thing published late.
            let _warm = warm_up();
            sync.wait(); // warmed up: the main thread opens its window
            sync.wait(); // window open
            worker_loop(&sync)
        })
    };
    sync.wait();
    let window = Window::open();
    sync.wait();
    sync.wait(); // the worker is inside `worker_loop`, `inner` has returned
    let during = window.close_with_report();
    sync.wait(); // release it
    let len = worker.join().expect("worker");

    let mut checks = Checks::new();
    checks.eq("worker_loop's result", len, 4 + 10 + 2);
    checks.window("worker blocked inside worker_loop", &during);
    let report = during.full_report.as_ref().expect("taken");
    let inner = report.site("inner").expect("site");
    checks.eq(
        "inner: (calls, inclusive allocs, inclusive bytes)",
        (
            inner.calls,
            inner.inclusive.allocs,
            inner.inclusive.bytes_allocated,
        ),
        (1, INNER.0, INNER.1),
    );
    let looping = report.site("worker_loop").expect("site");
    checks.eq(
        "worker_loop (in flight): inclusive (allocs, bytes) so far",
        (looping.inclusive.allocs, looping.inclusive.bytes_allocated),
        (
            BEFORE_INNER.0 + INNER.0 + AFTER_INNER.0,
            BEFORE_INNER.1 + INNER.1 + AFTER_INNER.1,
        ),
    );
    checks.eq(
        "worker_loop (in flight): exclusive (allocs, bytes) so far",
        (looping.exclusive.allocs, looping.exclusive.bytes_allocated),
        (
            BEFORE_INNER.0 + AFTER_INNER.0,
            BEFORE_INNER.1 + AFTER_INNER.1,
        ),
    );
    checks.eq(
        "worker_loop: calls finished, and in flight",
        (looping.calls, looping.in_flight),
        (0, 1),
    );
    let table = report.to_string();
    checks.truth(
        "worker_loop is marked as in flight in the table",
        table.contains("::worker_loop  (1 in flight)"),
        &table,
    );
    let (rows_allocs, rows_bytes) = oracle::rows_sum(report);
    let totals = report.totals();
    checks.eq(
        "rows (exclusive + outside) == totals: (allocs, bytes)",
        (rows_allocs, rows_bytes),
        (totals.allocs, totals.bytes_allocated),
    );
    checks.note(&format!(
        "rows add up to {:.1}% of the allocs",
        100.0 * rows_allocs as f64 / totals.allocs as f64
    ));
    checks
}
