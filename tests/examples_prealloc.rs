//! The numbers `examples/prealloc.rs` prints, asserted exactly on the same code.

use std::hint::black_box;

use alloc_trace::AllocStats;
use alloc_trace_examples::prealloc::{ROWS, Row, import_growing, import_preallocated};

#[global_allocator]
static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();

const ROW: u64 = size_of::<Row>() as u64;

#[test]
fn a_row_is_16_bytes() {
    assert_eq!(ROW, 16);
}

#[test]
fn growing_from_empty_is_20_allocs_19_of_them_reallocs() {
    // `Vec` growth for 16-byte elements: first capacity 4, then doubling, so the
    // capacities are 4 = 2^2, 8, ..., 2^21 = 2,097,152 (the first power of two >= 2 million):
    // 20 capacities, 20 allocs: 1 alloc + 19 reallocs, each realloc giving back the block
    // before it (19 frees).
    let (_, report) = alloc_trace::capture(|| drop(black_box(import_growing(ROWS))));
    let site = report.site("import_growing").unwrap();
    let expected = AllocStats {
        allocs: 1 + 19,
        reallocs: 19,
        frees: 19,
        bytes_allocated: ROW * ((1 << 22) - 4), // 16 x (4 + 8 + ... + 2^21) = 64.0 MiB
        bytes_freed: ROW * ((1 << 21) - 4),     // the 19 old blocks
        peak_bytes: ROW << 21,                  // 32 MiB: a realloc replaces the old block
    };
    assert_eq!((site.calls, site.inclusive), (1, expected));
    assert_eq!(
        site.inclusive.allocs - site.inclusive.frees,
        1,
        "one block left: the returned Vec's"
    );
    assert_eq!(
        site.inclusive.net_bytes(),
        16 << 21,
        "the returned Vec: 2,097,152 rows of capacity"
    );
}

#[test]
fn with_capacity_is_one_allocation() {
    let (_, report) = alloc_trace::capture(|| drop(black_box(import_preallocated(ROWS))));
    let site = report.site("import_preallocated").unwrap();
    let bytes = ROW * ROWS as u64; // 32,000,000 = 30.5 MiB
    let expected = AllocStats {
        allocs: 1,
        reallocs: 0,
        frees: 0,
        bytes_allocated: bytes,
        bytes_freed: 0,
        peak_bytes: bytes,
    };
    assert_eq!((site.calls, site.inclusive), (1, expected));
}

#[test]
fn both_import_the_same_rows() {
    assert_eq!(import_growing(1000), import_preallocated(1000));
}
