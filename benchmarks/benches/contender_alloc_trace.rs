//! Contender `alloc-trace`: `CountingAlloc` with no tracked frame active, the same inside
//! a `#[track_allocs]` frame, and the per-call cost of `#[track_allocs]` (one call, and a
//! chain of three) and of `alloc_trace::measure` on a function that does not allocate.
//!
//! Issue 14's rows are in `contender_alloc_trace_calls`: added here, they changed the code
//! of the allocator's `dealloc` in this binary (see that file).

#[path = "common/alloc_trace_api.rs"]
mod api;

use alloc_trace::{CountingAlloc, track_allocs};
use alloc_trace_benchmarks::harness::{self, Entry};
use alloc_trace_benchmarks::workloads::{Input, call_loop, leaf_work};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc::system();

/// Runs a workload inside one tracked call, so every allocation happens with a frame open.
#[track_allocs]
#[inline(never)]
fn in_frame(run: &dyn Fn(u64), iters: u64) {
    run(iters);
}

#[inline(never)]
fn leaf(input: &Input) -> u64 {
    leaf_work(input)
}

#[track_allocs]
#[inline(never)]
fn leaf_tracked(input: &Input) -> u64 {
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

#[track_allocs]
#[inline(never)]
fn outer_tracked(input: &Input) -> u64 {
    middle_tracked(input).wrapping_add(1)
}

#[track_allocs]
#[inline(never)]
fn middle_tracked(input: &Input) -> u64 {
    leaf_tracked(input).wrapping_add(1)
}

fn main() {
    let mut entries: Vec<Entry> = harness::allocator_entries("alloc-trace", harness::direct);
    entries.extend(harness::allocator_entries(
        "alloc-trace (in frame)",
        in_frame,
    ));
    entries.extend(harness::call_entries(
        "alloc-trace #[track_allocs]",
        "call",
        |n| call_loop(n, leaf_tracked),
        |n| call_loop(n, leaf),
    ));
    entries.extend(harness::call_entries(
        "alloc-trace #[track_allocs]",
        "call-2t",
        |n| call_loop(n, leaf_tracked),
        |n| call_loop(n, leaf),
    ));
    entries.extend(harness::call_entries(
        "alloc-trace #[track_allocs]",
        "nested3",
        |n| call_loop(n, outer_tracked),
        |n| call_loop(n, outer),
    ));
    entries.extend(harness::call_entries(
        "alloc_trace::measure",
        "call",
        |n| call_loop(n, |input| api::measured(|| leaf(input))),
        |n| call_loop(n, leaf),
    ));
    harness::main(entries, Some(api::allocs_of));
}
