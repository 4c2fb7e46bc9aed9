//! Contender `stats_alloc`: `StatsAlloc<System>` (process-wide atomic counters), and the
//! per-call cost of a `Region` around a function that does not allocate and (issue 14's
//! `measure-alloc` row) around one that allocates and frees a 32-byte block. It has no
//! per-function attribute, call paths, per-poll measurement, or budgets.

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

/// Issue 14's allocating function, plain.
#[allow(dead_code)]
mod plain {
    alloc_trace_benchmarks::issue14_fns!([]);
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
    entries.extend(harness::per_call(
        "stats_alloc Region",
        "measure-alloc",
        "call",
        |n| {
            call_loop(n, |input| {
                let region = Region::new(GLOBAL);
                let out = plain::alloc1(input);
                black_box(region.change());
                out
            });
        },
        |n| call_loop(n, plain::alloc1),
    ));
    harness::main(entries, Some(counted));
}
