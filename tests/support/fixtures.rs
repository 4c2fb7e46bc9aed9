//! Two tracked functions with known numbers, for the tests of assertions and budgets.

#![allow(dead_code)] // Each test binary uses a part of it.

use std::hint::black_box;

use alloc_trace::track_allocs;

/// The file that defines the two sites (budget messages name it).
pub const FILE: &str = file!();

/// Five `u32` pushes: the first allocates capacity 4 (16 B), the fifth grows it to 8 (a
/// realloc, 16 -> 32 B). So 2 allocs (1 of them a realloc), 1 free (the old block the
/// realloc gave back), 48 B allocated, 16 B freed, net 32 B (the returned `Vec`), peak
/// 32 B.
#[track_allocs]
pub fn grow5() -> Vec<u32> {
    let mut v = Vec::new();
    for i in 0..5 {
        v.push(black_box(i));
    }
    v
}

/// One 8-byte box, returned: 1 alloc, 8 B allocated, net 8 B, peak 8 B.
#[track_allocs]
pub fn boxed() -> Box<u64> {
    black_box(Box::new(7))
}
