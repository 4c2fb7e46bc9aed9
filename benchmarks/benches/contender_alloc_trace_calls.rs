//! Issue 14's rows of `alloc-trace` (`CountingAlloc`): tracked calls that allocate (1, 10,
//! 100 pairs; inside a tracked parent; chains and recursion 1 to 128 deep), per poll of a
//! tracked `async fn`, `capture()` / `assert_allocs!` in this binary's few sites,
//! `measure()` around an allocating call, and a call with an allocation budget (16-entry
//! site table: the budget rows come first, so this thread's table is still at its minimum
//! when they are timed). Then handed-off work (a poll of a marked future, a
//! `Handoff::run`) and `tracked!` sites beside the attribute, each over the same work
//! unmarked.
//!
//! A binary of its own, apart from `contender_alloc_trace`: in that binary, this much
//! more code changed how the compiler built the allocator's `dealloc` (the cold
//! `first_dealloc` was no longer specialised for the zero-sized `System` and took the
//! allocator's address: 3 more instructions per free), which moved its churn row from +18
//! to +21 instructions per pair.

#[path = "common/alloc_trace_api.rs"]
mod api;

use std::hint::black_box;

use alloc_trace::{CountingAlloc, track_allocs, tracked};
use alloc_trace_benchmarks::harness::{self, Bench, Entry};
use alloc_trace_benchmarks::workloads::{Input, alloc_pairs, call_loop, leaf_work, poll_to_end};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc::system();

const TRACKED: &str = "alloc-trace #[track_allocs]";

/// Runs a workload inside one tracked call, so every allocation happens with a frame open.
#[track_allocs]
#[inline(never)]
fn in_frame(run: &dyn Fn(u64), iters: u64) {
    run(iters);
}

/// One alloc + free, with a budget it keeps (checked in release builds: the package turns
/// on alloc-trace's `budgets-in-release`).
#[track_allocs(max_allocs = 4)]
#[inline(never)]
fn budgeted(input: &Input) -> u64 {
    alloc_pairs(1);
    black_box(input)[0]
}

/// The allocating functions of issue 14, tracked.
#[allow(dead_code)]
mod tracked {
    alloc_trace_benchmarks::issue14_fns!([#[alloc_trace::track_allocs]] async);
}

/// The same, plain.
#[allow(dead_code)]
mod plain {
    alloc_trace_benchmarks::issue14_fns!([] async);
}

/// A plain function, for the `site-*` rows' baseline.
#[inline(never)]
fn leaf(input: &Input) -> u64 {
    leaf_work(input)
}

/// The same, tracked by the attribute.
#[track_allocs]
#[inline(never)]
fn leaf_tracked(input: &Input) -> u64 {
    leaf_work(input)
}

/// The same, its body a `tracked!` block.
#[inline(never)]
fn leaf_block(input: &Input) -> u64 {
    tracked!("leaf_block", leaf_work(input))
}

/// One alloc + free in a `tracked!` block (the `alloc1` row's body).
#[inline(never)]
fn alloc1_block(input: &Input) -> u64 {
    tracked!("alloc1_block", {
        alloc_pairs(1);
        black_box(input)[0]
    })
}

/// The rows of handed-off work and of `tracked!` sites (per poll, per run, per call),
/// each against the same work unmarked.
fn handoff_entries() -> Vec<Entry> {
    let mut entries = Vec::new();
    let mut add = |pair: [Entry; 2]| entries.extend(pair);
    add(harness::per_call(
        "alloc-trace in_current_site()",
        "poll-task",
        "poll",
        |n| {
            black_box(poll_to_end(api::in_current_site(plain::polls_idle(n))));
        },
        |n| {
            black_box(poll_to_end(plain::polls_idle(n)));
        },
    ));
    add(harness::per_call(
        "alloc-trace in_current_site()",
        "poll-task-alloc",
        "poll",
        |n| {
            black_box(poll_to_end(api::in_current_site(plain::polls_alloc(n))));
        },
        |n| {
            black_box(poll_to_end(plain::polls_alloc(n)));
        },
    ));
    add(harness::per_call(
        "alloc-trace Handoff::run",
        "handoff-run",
        "run",
        |n| {
            let here = api::handoff_here();
            call_loop(n, |input| api::run_handed_off(here, || leaf(input)));
        },
        |n| call_loop(n, leaf),
    ));
    add(harness::per_call(
        "alloc-trace Handoff::run",
        "handoff-run-alloc",
        "run",
        |n| {
            let here = api::handoff_here();
            call_loop(n, |input| {
                api::run_handed_off(here, || plain::alloc1(input))
            });
        },
        |n| call_loop(n, plain::alloc1),
    ));
    add(harness::per_call(
        TRACKED,
        "site-fn",
        "call",
        |n| call_loop(n, leaf_tracked),
        |n| call_loop(n, leaf),
    ));
    add(harness::per_call(
        "alloc-trace tracked! block",
        "site-block",
        "call",
        |n| call_loop(n, leaf_block),
        |n| call_loop(n, leaf),
    ));
    add(harness::per_call(
        "alloc-trace tracked! closure",
        "site-closure",
        "call",
        |n| call_loop(n, tracked!("leaf_closure", |input: &Input| leaf(input))),
        |n| call_loop(n, |input: &Input| leaf(input)),
    ));
    add(harness::per_call(
        "alloc-trace tracked! block",
        "site-block-alloc",
        "call",
        |n| call_loop(n, alloc1_block),
        |n| call_loop(n, plain::alloc1),
    ));
    entries
}

/// Issue 14's per-call rows of `#[track_allocs]`, each against its plain twin.
fn issue14_entries() -> Vec<Entry> {
    let mut entries = Vec::new();
    let mut add = |pair: [Entry; 2]| entries.extend(pair);
    add(harness::per_call(
        TRACKED,
        "alloc1",
        "call",
        |n| call_loop(n, tracked::alloc1),
        |n| call_loop(n, plain::alloc1),
    ));
    add(harness::per_call(
        TRACKED,
        "alloc10",
        "call",
        |n| call_loop(n, tracked::alloc10),
        |n| call_loop(n, plain::alloc10),
    )
    .map(|e| e.count_iters(5_000)));
    add(harness::per_call(
        TRACKED,
        "alloc100",
        "call",
        |n| call_loop(n, tracked::alloc100),
        |n| call_loop(n, plain::alloc100),
    )
    .map(|e| e.count_iters(1_000)));
    add(harness::per_call(
        TRACKED,
        "alloc1-parent",
        "call",
        |n| in_frame(&|n| call_loop(n, tracked::alloc1), n),
        |n| in_frame(&|n| call_loop(n, plain::alloc1), n),
    ));
    for (chain, rec, depth) in [
        ("chain1", "rec1", 1),
        ("chain16", "rec16", 16),
        ("chain64", "rec64", 64),
        ("chain128", "rec128", 128),
    ] {
        let iters = 40_000 / u64::from(depth) + 100;
        add(harness::per_call(
            TRACKED,
            chain,
            "call",
            move |n| depth_loop(n, depth, tracked::c0),
            move |n| depth_loop(n, depth, plain::c0),
        )
        .map(|e| e.ops_per_iter(depth.into()).count_iters(iters)));
        add(harness::per_call(
            TRACKED,
            rec,
            "call",
            move |n| depth_loop(n, depth, tracked::rec),
            move |n| depth_loop(n, depth, plain::rec),
        )
        .map(|e| e.ops_per_iter(depth.into()).count_iters(iters)));
    }
    add(harness::per_call(
        TRACKED,
        "poll",
        "poll",
        |n| {
            black_box(poll_to_end(tracked::polls_idle(n)));
        },
        |n| {
            black_box(poll_to_end(plain::polls_idle(n)));
        },
    ));
    add(harness::per_call(
        TRACKED,
        "poll-alloc",
        "poll",
        |n| {
            black_box(poll_to_end(tracked::polls_alloc(n)));
        },
        |n| {
            black_box(poll_to_end(plain::polls_alloc(n)));
        },
    ));
    add(harness::per_call(
        "alloc_trace::capture",
        "capture-small",
        "call",
        |n| call_loop(n, |input| api::captured(|| tracked::alloc1(input))),
        |n| call_loop(n, tracked::alloc1),
    )
    .map(|e| e.count_iters(5_000)));
    add(harness::per_call(
        "alloc_trace::assert_allocs!",
        "assert-small",
        "call",
        |n| {
            call_loop(n, |input| {
                api::asserted_one_alloc(|| tracked::alloc1(input))
            })
        },
        |n| call_loop(n, tracked::alloc1),
    )
    .map(|e| e.count_iters(5_000)));
    add(harness::per_call(
        "alloc_trace::measure",
        "measure-alloc",
        "call",
        |n| call_loop(n, |input| api::measured(|| plain::alloc1(input))),
        |n| call_loop(n, plain::alloc1),
    ));
    entries
}

/// `n` calls of `f(depth)`: a chain or recursion `depth` tracked calls deep.
#[inline(always)]
fn depth_loop(n: u64, depth: u32, f: fn(u32) -> u64) {
    for _ in 0..n {
        black_box(f(black_box(depth)));
    }
}

fn main() {
    // First, while this thread's site table has its minimum of 16 entries (see above).
    let mut entries: Vec<Entry> = harness::per_call(
        "alloc-trace #[track_allocs(max_allocs)]",
        "budget-16",
        "call",
        |n| call_loop(n, budgeted),
        |n| call_loop(n, tracked::alloc1),
    )
    .into();
    entries.extend(issue14_entries());
    entries.extend(handoff_entries());
    Bench::new(entries)
        .counted(Some(api::allocs_of))
        .info("sites:contender_alloc_trace_calls", api::site_count())
        .run();
}
