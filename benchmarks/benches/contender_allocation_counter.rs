//! Contender `allocation-counter`: the crate installs its own global allocator (a
//! thread-local `RefCell` stack of counters); `allocation_counter::measure` per call, around
//! a function that does not allocate and (issue 14's `measure-alloc` row) around one that
//! allocates and frees a 32-byte block. It has no per-function attribute, call paths,
//! per-poll measurement, or budgets.

use alloc_trace_benchmarks::harness::{self, Entry};
use alloc_trace_benchmarks::workloads::{Input, call_loop, leaf_work};

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
    allocation_counter::measure(f).count_total
}

fn main() {
    let mut entries: Vec<Entry> = harness::allocator_entries("allocation-counter", harness::direct);
    entries.extend(harness::call_entries(
        "allocation_counter::measure",
        "call",
        |n| {
            call_loop(n, |input| {
                let mut out = 0;
                let info = allocation_counter::measure(|| out = leaf(input));
                std::hint::black_box(info);
                out
            });
        },
        |n| call_loop(n, leaf),
    ));
    entries.extend(harness::per_call(
        "allocation_counter::measure",
        "measure-alloc",
        "call",
        |n| {
            call_loop(n, |input| {
                let mut out = 0;
                let info = allocation_counter::measure(|| out = plain::alloc1(input));
                std::hint::black_box(info);
                out
            });
        },
        |n| call_loop(n, plain::alloc1),
    ));
    harness::main(entries, Some(counted));
}
