//! Contender `stats_alloc`: `StatsAlloc<System>` (process-wide atomic counters), and the
//! per-call cost of a `Region` around a function that does not allocate.

use std::alloc::System;
use std::hint::black_box;

use alloc_trace_benchmarks::harness::{self, Entry};
use alloc_trace_benchmarks::workloads::{Input, call_loop, leaf_work};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

#[inline(never)]
fn leaf(input: &Input) -> u64 {
    leaf_work(input)
}

fn counted(f: &dyn Fn()) -> u64 {
    let region = Region::new(GLOBAL);
    f();
    region.change().allocations as u64
}

fn main() {
    let mut entries: Vec<Entry> = harness::allocator_entries("stats_alloc", harness::direct);
    entries.extend(harness::call_entries(
        "stats_alloc Region",
        "call",
        |n| {
            call_loop(n, |input| {
                let region = Region::new(GLOBAL);
                let out = leaf(input);
                black_box(region.change());
                out
            });
        },
        |n| call_loop(n, leaf),
    ));
    harness::main(entries, Some(counted));
}
