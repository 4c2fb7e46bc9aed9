//! `examples/prealloc.rs`: a `Vec` of 2 million rows grown from empty versus created with
//! the capacity it needs.

use alloc_trace::track_allocs;

/// One imported row (16 bytes).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Row {
    /// Row number.
    pub id: u64,
    /// A value computed from it.
    pub amount: f64,
}

/// Rows the example imports.
pub const ROWS: usize = 2_000_000;

fn row(i: usize) -> Row {
    Row {
        id: i as u64,
        amount: i as f64 * 0.25,
    }
}

/// Pushes `n` rows into a `Vec` that starts empty: capacity 4, 8, 16, ... doubling, so one
/// alloc, then a realloc (and a copy of every row so far) at each doubling.
#[track_allocs]
pub fn import_growing(n: usize) -> Vec<Row> {
    let mut rows = Vec::new();
    for i in 0..n {
        rows.push(row(i));
    }
    rows
}

/// Pushes `n` rows into a `Vec` created with capacity `n`: one allocation.
#[track_allocs]
pub fn import_preallocated(n: usize) -> Vec<Row> {
    let mut rows = Vec::with_capacity(n);
    for i in 0..n {
        rows.push(row(i));
    }
    rows
}
