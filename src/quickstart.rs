//! `examples/quickstart.rs`: splitting a line into owned `String`s versus borrowed `&str`s.

use alloc_trace::track_allocs;

/// The line the example splits.
pub const LINE: &str = "alice,42,paris";
/// How many times the example splits it with each function.
pub const LINES: u32 = 1000;

/// Splits `line` at commas into owned strings: one allocation for the `Vec` and one per
/// field.
#[track_allocs]
pub fn split_owned(line: &str) -> Vec<String> {
    line.split(',').map(str::to_owned).collect()
}

/// Splits `line` at commas into slices of it: one allocation, for the `Vec`.
#[track_allocs]
pub fn split_borrowed(line: &str) -> Vec<&str> {
    line.split(',').collect()
}
