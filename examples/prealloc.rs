//! Preallocation: a `Vec` of 2 million rows grown from empty versus created with the
//! capacity it needs.
//!
//! Grown from empty, the `Vec` doubles its capacity 4, 8, 16, ..., 2,097,152: 20 allocs
//! (1 alloc and 19 reallocs), 64 MiB requested and copied around for 30.5 MiB of rows, and
//! it keeps 32 MiB (net). With `Vec::with_capacity(2_000_000)`: 1 alloc of exactly
//! 30.5 MiB.
//!
//! Run: `cargo run --release --example prealloc`

use alloc_trace_examples::prealloc::{ROWS, import_growing, import_preallocated};
use std::hint::black_box;

#[global_allocator]
static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();

fn main() {
    let (rows, before) = alloc_trace::capture(|| black_box(import_growing(ROWS)));
    drop(rows);
    println!("BEFORE: Vec::new() and push\n\n{before}");

    let (rows, after) = alloc_trace::capture(|| black_box(import_preallocated(ROWS)));
    drop(rows);
    println!("AFTER: Vec::with_capacity(ROWS) and push\n\n{after}");

    let growing = before.site("import_growing").expect("called");
    let preallocated = after.site("import_preallocated").expect("called");
    println!(
        "{} rows: {} allocs ({} of them reallocs) -> {} alloc",
        ROWS, growing.inclusive.allocs, growing.inclusive.reallocs, preallocated.inclusive.allocs
    );
}
