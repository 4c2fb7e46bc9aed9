//! Contender `dhat`: `dhat::Alloc` with a heap profiler running (testing mode, so nothing
//! is written at exit). dhat records a backtrace per allocation, which is its value and
//! its cost.
//!
//! Issue 14's `measure-alloc` row: two `HeapStats::get()` around a call that allocates and
//! frees a 32-byte block (dhat's way to measure a piece of code), against the call alone.
//! dhat has no per-function attribute, per-poll measurement, or budgets.

use std::hint::black_box;

use alloc_trace_benchmarks::harness;
use alloc_trace_benchmarks::workloads::call_loop;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

/// Issue 14's allocating function, plain.
#[allow(dead_code)]
mod plain {
    alloc_trace_benchmarks::issue14_fns!([]);
}

fn counted(f: &dyn Fn()) -> u64 {
    let before = dhat::HeapStats::get().total_blocks;
    f();
    dhat::HeapStats::get().total_blocks - before
}

fn main() {
    let _profiler = dhat::Profiler::builder().testing().build();
    let mut entries = harness::allocator_entries("dhat", harness::direct);
    entries.extend(harness::per_call(
        "dhat HeapStats::get() pair",
        "measure-alloc",
        "call",
        |n| {
            call_loop(n, |input| {
                let before = dhat::HeapStats::get();
                let out = plain::alloc1(input);
                black_box((before, dhat::HeapStats::get()));
                out
            });
        },
        |n| call_loop(n, plain::alloc1),
    ));
    harness::main(entries, Some(counted));
}
