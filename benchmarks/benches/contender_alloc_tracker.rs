//! Contender `alloc_tracker`: `alloc_tracker::Allocator<System>`, and the per-call cost of
//! a thread span (`Operation::measure_thread`) around a function that does not allocate.

use std::alloc::System;

use alloc_trace_benchmarks::harness::{self, Entry};
use alloc_trace_benchmarks::workloads::{Input, call_loop, leaf_work};
use alloc_tracker::{Allocator, Session};

#[global_allocator]
static ALLOC: Allocator<System> = Allocator::system();

#[inline(never)]
fn leaf(input: &Input) -> u64 {
    leaf_work(input)
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
    harness::main(entries, Some(counted));
}
