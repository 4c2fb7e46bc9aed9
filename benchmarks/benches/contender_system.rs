//! Contender `System`: the baseline every ratio and every extra instruction count is
//! measured against. Run all contenders with `cargo run --release -p alloc-trace-benchmarks`.

use std::alloc::System;

use alloc_trace_benchmarks::harness;

#[global_allocator]
static ALLOC: System = System;

fn main() {
    harness::main(harness::allocator_entries("System", harness::direct), None);
}
