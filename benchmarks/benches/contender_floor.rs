//! Contender `floor`: a bare `const` thread-local counter of allocations, live bytes and
//! their peak (`alloc_trace_benchmarks::floor`) that counts successful allocations only,
//! as `CountingAlloc` does: the least such a counting allocator costs.

use alloc_trace_benchmarks::floor::{self, Floor, FloorAlloc};
use alloc_trace_benchmarks::harness;

#[global_allocator]
static ALLOC: FloorAlloc = Floor;

fn counted(f: &dyn Fn()) -> u64 {
    let before = floor::allocs();
    f();
    floor::allocs() - before
}

fn main() {
    harness::main(
        harness::allocator_entries("floor (counts successes)", harness::direct),
        Some(counted),
    );
}
