//! Contender `floor, counting first`: the bare thread-local counter of `contender_floor`,
//! but counting each request before forwarding it (failed ones too), so that `malloc`
//! stays a tail call: the cheapest counting there is, and a semantics alloc-trace rejects.

use alloc_trace_benchmarks::floor::{self, Floor, PreCountFloorAlloc};
use alloc_trace_benchmarks::harness;

#[global_allocator]
static ALLOC: PreCountFloorAlloc = Floor;

fn counted(f: &dyn Fn()) -> u64 {
    let before = floor::allocs();
    f();
    floor::allocs() - before
}

fn main() {
    harness::main(
        harness::allocator_entries("floor (counts requests first)", harness::direct),
        Some(counted),
    );
}
