//! Tracked calls while `CountingAlloc` is *not* the global allocator (`System` is): peak
//! resident set (`VmHWM`) after 10,000 or 40,000 threads, one after another, each made one
//! tracked call, against the same threads calling the function untracked. Each reading
//! runs in a process of its own.

use std::alloc::System;
use std::hint::black_box;

use alloc_trace_benchmarks::harness::{Bench, Memory};
use alloc_trace_benchmarks::memory;

#[global_allocator]
static ALLOC: System = System;

#[alloc_trace::track_allocs]
#[inline(never)]
fn tracked() -> usize {
    black_box(vec![0u8; 8]).len()
}

#[inline(never)]
fn plain() -> usize {
    black_box(vec![0u8; 8]).len()
}

/// Peak RSS after `threads` threads each called `f` once.
fn peak_rss_after(threads: u64, f: fn() -> usize) -> f64 {
    for _ in 0..threads {
        std::thread::scope(|s| {
            s.spawn(|| black_box(f()));
        });
    }
    memory::proc_status_bytes("VmHWM").expect("alloc-trace-benchmarks: VmHWM needs Linux") as f64
}

fn main() {
    let mut readings = Vec::new();
    for (workload, base, threads) in [
        ("rss-10k-threads", "rss-10k-threads:base", 10_000),
        ("rss-40k-threads", "rss-40k-threads:base", 40_000),
    ] {
        readings.push(Memory::bytes(
            "alloc-trace #[track_allocs] (not installed)",
            workload,
            move || peak_rss_after(threads, tracked),
        ));
        readings.push(Memory::bytes(
            "alloc-trace #[track_allocs] (not installed)",
            base,
            move || peak_rss_after(threads, plain),
        ));
    }
    Bench::new(Vec::new()).memory(readings).run();
}
