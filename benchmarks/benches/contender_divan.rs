//! Contender `divan`: `divan::AllocProfiler` (a thread-local tally per operation kind) as
//! the global allocator. It has no public counter to read outside a divan benchmark, so
//! this binary runs without the counting check.

use alloc_trace_benchmarks::harness;

#[global_allocator]
static ALLOC: divan::AllocProfiler = divan::AllocProfiler::system();

fn main() {
    harness::main(
        harness::allocator_entries("divan AllocProfiler", harness::direct),
        None,
    );
}
