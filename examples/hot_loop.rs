//! Hot loop: a buffer allocated in every iteration versus one hoisted out of the loop.
//!
//! Both functions render 100,000 records. The first allocates a fresh 256-byte buffer for
//! each record: 100,000 allocs, 24.4 MiB requested, yet the net is 0 B and the peak stays
//! at 256 bytes (low residency, high allocation rate). The second allocates the buffer
//! once and clears it in each iteration (capacity kept): 1 alloc.
//!
//! Run: `cargo run --release --example hot_loop`

use alloc_trace_examples::hot_loop::{RECORDS, fresh_buffer_per_record, reused_buffer};
use std::hint::black_box;

#[global_allocator]
static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();

fn main() {
    let records: Vec<u64> = (0..RECORDS).collect();

    let (_, before) = alloc_trace::capture(|| black_box(fresh_buffer_per_record(&records)));
    println!("BEFORE: a fresh buffer in every iteration\n\n{before}");

    let (_, after) = alloc_trace::capture(|| black_box(reused_buffer(&records)));
    println!("AFTER: one buffer, cleared and reused\n\n{after}");

    println!(
        "allocs: {} -> {} for {} records",
        before.totals().allocs,
        after.totals().allocs,
        records.len()
    );
}
