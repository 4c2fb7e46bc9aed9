//! Contender `hotpath` (features `hotpath`, `hotpath-alloc`): its `CountingAllocator` and
//! profiler guard, as `#[hotpath::main]` installs them, and the per-call cost of
//! `#[hotpath::measure]` (one call, and a chain of three) on a function that does not
//! allocate. hotpath has no public counter to read per closure, so this binary runs
//! without the counting check.

use alloc_trace_benchmarks::harness::{self, Entry};
use alloc_trace_benchmarks::workloads::{Input, call_loop, leaf_work};

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
    harness::main(entries, None);
}
