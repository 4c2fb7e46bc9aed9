//! Churn versus leak: two handlers with the same allocation rate, told apart by what they
//! leave allocated.
//!
//! Both allocate one 1 KiB buffer per request: same allocs/call (1), same bytes/call
//! (1.0 KiB), same peak per call (1.0 KiB). `handle_stateless` frees it (net/call 0 B:
//! churn, flat residency); `handle_with_session_cache` stores it in a cache that is never
//! trimmed (net/call 1.0 KiB: residency grows with every request, a leak). Allocation
//! rate alone cannot tell them apart; the net column can.
//!
//! With the ownership view (`--features ownership`), every block remembers which function
//! allocated it: the churning handler holds nothing at the end, the leaking one exactly
//! the buffers its cache kept, however long after its calls.
//!
//! Run: `cargo run --release --example churn_vs_leak [--features ownership]`

use alloc_trace::report::SortBy;
use alloc_trace_examples::churn_vs_leak::{REQUESTS, handle_stateless, handle_with_session_cache};
use std::hint::black_box;

#[global_allocator]
static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();

fn main() {
    let mut sessions = Vec::with_capacity(REQUESTS as usize);
    let (_, report) = alloc_trace::capture(|| {
        for id in 0..REQUESTS {
            black_box(handle_stateless(id));
            black_box(handle_with_session_cache(id, &mut sessions));
        }
    });
    println!(
        "Both handlers, sorted by net bytes\n\n{}",
        report.table().sort_by(SortBy::Net)
    );
    let leak = report.site("handle_with_session_cache").expect("called");
    println!(
        "{} sessions still held: the cache keeps a net {} bytes, {} per request",
        sessions.len(),
        leak.inclusive.net_bytes(),
        leak.net_bytes_per_call()
    );

    // Who holds the memory now, and at the process's peak: process-wide.
    let report = alloc_trace::report();
    println!();
    match report.ownership() {
        None => println!(
            "Who holds the memory: build with `--features ownership` (every block then \
             remembers the function that allocated it)"
        ),
        Some(process) => {
            println!(
                "Who holds the memory (ownership view; the process peaked at {} bytes):",
                process.peak.bytes
            );
            for name in ["handle_stateless", "handle_with_session_cache"] {
                let held = report.site(name).and_then(|s| s.ownership).expect("called");
                println!(
                    "  {name:<26} live at end: {:>8} bytes in {:>5} blocks; at the peak: {:>8} bytes",
                    held.inclusive.live.bytes,
                    held.inclusive.live.blocks,
                    held.inclusive.at_peak.bytes
                );
            }
        }
    }
}
