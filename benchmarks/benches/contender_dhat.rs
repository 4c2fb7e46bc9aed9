//! Contender `dhat`: `dhat::Alloc` with a heap profiler running (testing mode, so nothing
//! is written at exit). dhat records a backtrace per allocation, which is its value and
//! its cost.

use alloc_trace_benchmarks::harness;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

fn counted(f: &dyn Fn()) -> u64 {
    let before = dhat::HeapStats::get().total_blocks;
    f();
    dhat::HeapStats::get().total_blocks - before
}

fn main() {
    let _profiler = dhat::Profiler::builder().testing().build();
    harness::main(
        harness::allocator_entries("dhat", harness::direct),
        Some(counted),
    );
}
