//! A workload with known allocations, shared by the `report_*` tests (`#[path]` module).
//!
//! `run()` makes, on the calling thread:
//! - 10 calls of `handle`: a 100-byte box, then `parse`, whose `Vec<u64>` gets 5 pushes
//!   (capacity 4 = 32 bytes, then 8 = 64 bytes: 1 alloc + 1 realloc) and is dropped by
//!   `handle`. Per call: 3 allocs (1 of them a realloc), 3 frees (the box, the vector and
//!   the realloc's old block), 196 bytes, all freed; peak 100 + 64 = 164.
//! - 3 calls of `remember`: a 1000-byte box kept in a cache (1 alloc, 1000 bytes kept).
//! - outside any tracked function: the cache's `Vec` (capacity 4 pointers: 32 bytes), and
//!   at the end the drop of the cache (frees 32 + 3000 bytes).
//!
//! So the capture totals are 34 allocs (10 of them reallocs) and 34 frees, 4992 bytes
//! allocated and freed, peak 32 + 3000 = 3032; outside tracked functions: 1 alloc,
//! 32 bytes, and 4 frees (the cache and the 3 kept boxes), net -3000 bytes.

use std::hint::black_box;

use alloc_trace::track_allocs;

#[track_allocs]
pub fn handle(i: u32) -> usize {
    let header = black_box(Box::new([0u8; 100]));
    let fields = parse(i);
    header.len() + black_box(fields).len()
}

#[track_allocs]
pub fn parse(i: u32) -> Vec<u64> {
    let mut fields = Vec::new();
    for k in 0..5 {
        fields.push(u64::from(i) + k);
    }
    fields
}

// A box per entry on purpose: one 1000-byte allocation per call, kept.
#[allow(clippy::vec_box)]
#[track_allocs]
pub fn remember(cache: &mut Vec<Box<[u8; 1000]>>) {
    cache.push(black_box(Box::new([1u8; 1000])));
}

// Never called: the report lists it as such.
#[allow(dead_code)]
#[track_allocs]
pub fn never_called() -> Vec<u8> {
    vec![1, 2, 3]
}

pub fn run() {
    for i in 0..10 {
        black_box(handle(i));
    }
    let mut cache = Vec::with_capacity(4);
    for _ in 0..3 {
        remember(&mut cache);
    }
    drop(black_box(cache));
}
