//! Contender `hotpath` (features `hotpath`, `hotpath-alloc`): its `CountingAllocator` and
//! profiler guard, as `#[hotpath::main]` installs them, and the per-call cost of
//! `#[hotpath::measure]` (one call, and a chain of three) on a function that does not
//! allocate. hotpath has no public counter to read per closure, so this binary runs
//! without the counting check.
//!
//! Issue 14's rows, with `#[hotpath::measure]` in place of `#[track_allocs]`: allocating
//! calls (1, 10, 100 pairs; inside a measured parent; chains and recursion 1 and 16 deep:
//! at 64, hotpath panics unless rebuilt with `HOTPATH_ALLOC_MAX_DEPTH`),
//! per poll of a measured `async fn`, and the call tree of the path-limit rows (hotpath
//! keeps no call paths, so it has no such limit: the tree rows show its cost on the same
//! calls).

use std::hint::black_box;

use alloc_trace_benchmarks::harness::{self, Entry};
use alloc_trace_benchmarks::workloads::{Input, PATH_ROWS, call_loop, leaf_work, poll_to_end};

#[global_allocator]
static ALLOC: hotpath::CountingAllocator = hotpath::CountingAllocator::new();

#[inline(never)]
fn leaf(input: &Input) -> u64 {
    leaf_work(input)
}

#[hotpath::measure]
#[inline(never)]
fn leaf_measured(input: &Input) -> u64 {
    leaf_work(input)
}

#[inline(never)]
fn outer(input: &Input) -> u64 {
    middle(input).wrapping_add(1)
}

#[inline(never)]
fn middle(input: &Input) -> u64 {
    leaf(input).wrapping_add(1)
}

#[hotpath::measure]
#[inline(never)]
fn outer_measured(input: &Input) -> u64 {
    middle_measured(input).wrapping_add(1)
}

#[hotpath::measure]
#[inline(never)]
fn middle_measured(input: &Input) -> u64 {
    leaf_measured(input).wrapping_add(1)
}

/// Runs a workload inside one measured call.
#[hotpath::measure]
#[inline(never)]
fn in_frame(run: &dyn Fn(u64), iters: u64) {
    run(iters);
}

/// The allocating functions of issue 14, measured.
#[allow(dead_code)]
mod measured {
    alloc_trace_benchmarks::issue14_fns!([#[hotpath::measure]] async);
}

/// The same, plain.
#[allow(dead_code)]
mod plain {
    alloc_trace_benchmarks::issue14_fns!([] async);
}

mod measured_tree {
    alloc_trace_benchmarks::call_tree!([#[hotpath::measure]]);
}

mod plain_tree {
    alloc_trace_benchmarks::call_tree!([]);
}

/// `n` calls of `f(depth)`.
#[inline(always)]
fn depth_loop(n: u64, depth: u32, f: fn(u32) -> u64) {
    for _ in 0..n {
        black_box(f(black_box(depth)));
    }
}

/// `n` outer calls of a tree, cycling through the first `outers` outer functions, each
/// calling `inner` inner ones.
fn tree_calls(all: &[fn(u64) -> u64], outers: usize, inner: u64, n: u64) {
    for i in 0..n as usize {
        black_box(all[i % outers](inner));
    }
}

/// Issue 14's rows of `#[hotpath::measure]`, each against its plain twin.
fn issue14_entries() -> Vec<Entry> {
    const MEASURED: &str = "hotpath #[measure]";
    let mut entries = Vec::new();
    let mut add = |pair: [Entry; 2]| entries.extend(pair);
    add(harness::per_call(
        MEASURED,
        "alloc1",
        "call",
        |n| call_loop(n, measured::alloc1),
        |n| call_loop(n, plain::alloc1),
    ));
    add(harness::per_call(
        MEASURED,
        "alloc10",
        "call",
        |n| call_loop(n, measured::alloc10),
        |n| call_loop(n, plain::alloc10),
    )
    .map(|e| e.count_iters(5_000)));
    add(harness::per_call(
        MEASURED,
        "alloc100",
        "call",
        |n| call_loop(n, measured::alloc100),
        |n| call_loop(n, plain::alloc100),
    )
    .map(|e| e.count_iters(1_000)));
    add(harness::per_call(
        MEASURED,
        "alloc1-parent",
        "call",
        |n| in_frame(&|n| call_loop(n, measured::alloc1), n),
        |n| in_frame(&|n| call_loop(n, plain::alloc1), n),
    ));
    // Not 64 or 128: hotpath panics past 64 nested measured functions on one thread in
    // alloc mode (a chain of 64 already fails, one level being taken before it) unless it
    // is rebuilt with `HOTPATH_ALLOC_MAX_DEPTH`; it runs as shipped here.
    for (chain, rec, depth) in [("chain1", "rec1", 1), ("chain16", "rec16", 16)] {
        let iters = 40_000 / u64::from(depth) + 100;
        add(harness::per_call(
            MEASURED,
            chain,
            "call",
            move |n| depth_loop(n, depth, measured::c0),
            move |n| depth_loop(n, depth, plain::c0),
        )
        .map(|e| e.ops_per_iter(depth.into()).count_iters(iters)));
        add(harness::per_call(
            MEASURED,
            rec,
            "call",
            move |n| depth_loop(n, depth, measured::rec),
            move |n| depth_loop(n, depth, plain::rec),
        )
        .map(|e| e.ops_per_iter(depth.into()).count_iters(iters)));
    }
    add(harness::per_call(
        MEASURED,
        "poll",
        "poll",
        |n| {
            black_box(poll_to_end(measured::polls_idle(n)));
        },
        |n| {
            black_box(poll_to_end(plain::polls_idle(n)));
        },
    ));
    add(harness::per_call(
        MEASURED,
        "poll-alloc",
        "poll",
        |n| {
            black_box(poll_to_end(measured::polls_alloc(n)));
        },
        |n| {
            black_box(poll_to_end(plain::polls_alloc(n)));
        },
    ));
    let (m, p) = (measured_tree::outer::all(), plain_tree::outer::all());
    for (workload, outers, inner) in PATH_ROWS {
        let (m, p) = (m.clone(), p.clone());
        add(harness::per_call(
            MEASURED,
            workload,
            "call",
            move |n| tree_calls(&m, outers, inner, n),
            move |n| tree_calls(&p, outers, inner, n),
        )
        .map(|e| e.ops_per_iter(inner + 1).count_iters(1_024)));
    }
    entries
}

fn main() {
    // hotpath serves live metrics on a local port unless told not to; a benchmark has no
    // client for them.
    // SAFETY: no other thread exists yet, so nothing reads the environment concurrently.
    unsafe { std::env::set_var("HOTPATH_METRICS_SERVER_OFF", "1") };
    let _hotpath = hotpath::HotpathGuardBuilder::new("alloc-trace-benchmarks")
        .output_path(std::env::temp_dir().join("alloc-trace-benchmarks-hotpath.txt"))
        .build();
    let mut entries: Vec<Entry> = harness::allocator_entries("hotpath", harness::direct);
    entries.extend(harness::call_entries(
        "hotpath #[measure]",
        "call",
        |n| call_loop(n, leaf_measured),
        |n| call_loop(n, leaf),
    ));
    entries.extend(harness::call_entries(
        "hotpath #[measure]",
        "nested3",
        |n| call_loop(n, outer_measured),
        |n| call_loop(n, outer),
    ));
    entries.extend(issue14_entries());
    harness::main(entries, None);
}
