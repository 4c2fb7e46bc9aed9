//! Contender `alloc_tracker`: `alloc_tracker::Allocator<System>`, and the per-call cost of
//! a thread span (`Operation::measure_thread`) around a function that does not allocate.
//!
//! Issue 14's rows, with a thread span in place of `#[track_allocs]`: around an allocating
//! call (1, 10, 100 pairs), inside an enclosing span, and nested per level of a chain (a
//! distinct operation per level) or a recursion (one operation). alloc_tracker has no
//! per-poll span for an `async fn` (a span is a guard on one thread's stack), call paths,
//! `capture`, or budgets.

use std::alloc::System;
use std::hint::black_box;

use alloc_trace_benchmarks::harness::{self, Entry};
use alloc_trace_benchmarks::workloads::{Input, MAX_CHAIN, alloc_pairs, call_loop, leaf_work};
use alloc_tracker::{Allocator, Operation, Session};

#[global_allocator]
static ALLOC: Allocator<System> = Allocator::system();

#[inline(never)]
fn leaf(input: &Input) -> u64 {
    leaf_work(input)
}

/// The allocating function of issue 14's rows: `pairs` alloc + free.
#[inline(never)]
fn alloc_call(input: &Input, pairs: u64) -> u64 {
    alloc_pairs(pairs);
    black_box(input)[0]
}

/// One level of a chain or recursion: a span of `ops[level]` (or of `ops[0]` for all
/// levels, `distinct == false`), one alloc + free, then the next level.
#[inline(never)]
fn spans_down(ops: &[Operation], level: usize, depth: u32, distinct: bool) -> u64 {
    let _span = ops[if distinct { level } else { 0 }]
        .measure_thread()
        .iterations(1);
    alloc_pairs(1);
    if depth > 1 {
        spans_down(ops, level + 1, black_box(depth - 1), distinct).wrapping_add(1)
    } else {
        1
    }
}

/// The same levels without spans.
#[inline(never)]
fn plain_down(depth: u32) -> u64 {
    alloc_pairs(1);
    if depth > 1 {
        plain_down(black_box(depth - 1)).wrapping_add(1)
    } else {
        1
    }
}

/// Runs `f` with a session's operations `level0`..`level127`. Both a row and its baseline
/// run this set-up, so it is not in the extra.
fn with_ops(f: impl FnOnce(&[Operation])) {
    let session = Session::new().no_stdout().no_file();
    let ops: Vec<Operation> = (0..MAX_CHAIN)
        .map(|i| session.operation(format!("level{i}")))
        .collect();
    f(black_box(&ops));
}

/// `n` calls on `pairs` pairs, each inside its own span of `op`.
fn spanned(op: &Operation, n: u64, pairs: u64) {
    call_loop(n, |input| {
        let _span = op.measure_thread().iterations(1);
        alloc_call(input, pairs)
    });
}

/// Issue 14's rows of a thread span, each against the plain calls.
fn issue14_entries() -> Vec<Entry> {
    const SPAN: &str = "alloc_tracker thread span";
    let mut entries = Vec::new();
    let mut add = |pair: [Entry; 2]| entries.extend(pair);
    for (workload, pairs, iters) in [
        ("alloc1", 1, 20_000),
        ("alloc10", 10, 5_000),
        ("alloc100", 100, 1_000),
    ] {
        add(harness::per_call(
            SPAN,
            workload,
            "call",
            move |n| with_ops(|ops| spanned(&ops[0], n, pairs)),
            move |n| with_ops(|_| call_loop(n, |input| alloc_call(input, pairs))),
        )
        .map(|e| e.count_iters(iters)));
    }
    add(harness::per_call(
        SPAN,
        "alloc1-parent",
        "call",
        |n| {
            with_ops(|ops| {
                let _parent = ops[1].measure_thread().iterations(1);
                spanned(&ops[0], n, 1);
            });
        },
        |n| {
            with_ops(|ops| {
                let _parent = ops[1].measure_thread().iterations(1);
                call_loop(n, |input| alloc_call(input, 1));
            });
        },
    ));
    for (chain, rec, depth) in [
        ("chain1", "rec1", 1),
        ("chain16", "rec16", 16),
        ("chain64", "rec64", 64),
        ("chain128", "rec128", 128),
    ] {
        let iters = 40_000 / u64::from(depth) + 100;
        for (workload, distinct) in [(chain, true), (rec, false)] {
            add(harness::per_call(
                SPAN,
                workload,
                "call",
                move |n| {
                    with_ops(|ops| {
                        for _ in 0..n {
                            black_box(spans_down(ops, 0, black_box(depth), distinct));
                        }
                    });
                },
                move |n| {
                    with_ops(|_| {
                        for _ in 0..n {
                            black_box(plain_down(black_box(depth)));
                        }
                    });
                },
            )
            .map(|e| e.ops_per_iter(depth.into()).count_iters(iters)));
        }
    }
    entries
}

fn counted(f: &dyn Fn()) -> u64 {
    let session = Session::new().no_stdout().no_file();
    let operation = session.operation("check");
    {
        let _span = operation.measure_thread().iterations(1);
        f();
    }
    let report = session.to_report();
    report
        .operations()
        .map(|(_, op)| op.total_allocations_count())
        .sum()
}

fn main() {
    let mut entries: Vec<Entry> = harness::allocator_entries("alloc_tracker", harness::direct);
    entries.extend(harness::call_entries(
        "alloc_tracker thread span",
        "call",
        |n| {
            let session = Session::new().no_stdout().no_file();
            let operation = session.operation("leaf");
            call_loop(n, |input| {
                let _span = operation.measure_thread().iterations(1);
                leaf(input)
            });
        },
        |n| call_loop(n, leaf),
    ));
    entries.extend(issue14_entries());
    harness::main(entries, Some(counted));
}
