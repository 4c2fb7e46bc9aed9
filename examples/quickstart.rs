//! Quickstart: the shortest complete use of alloc-trace.
//!
//! Install the counting allocator, mark functions with `#[track_allocs]`, hold the guard
//! of `report_on_exit()` in `main`: when `main` returns, a table on stderr shows, per
//! function, how often it allocated (allocs/call), how much (bytes/call), and what it left
//! allocated (net/call). Here `split_owned` makes 4 allocs per line (the `Vec` and one
//! `String` per field) where `split_borrowed` makes 1 (the `Vec` only). Both return what
//! they allocated, so it shows in the call's net bytes.
//!
//! Run: `cargo run --release --example quickstart`
//! Or, as JSON in a file: `ALLOC_TRACE=json:report.json cargo run --release --example quickstart`

use alloc_trace_examples::quickstart::{LINE, LINES, split_borrowed, split_owned};
use std::hint::black_box;

#[global_allocator]
static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();

fn main() {
    let _report = alloc_trace::report_on_exit();
    for _ in 0..LINES {
        black_box(split_owned(black_box(LINE)));
        black_box(split_borrowed(black_box(LINE)));
    }
} // the report is printed here
