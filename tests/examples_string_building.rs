//! The numbers `examples/string_building.rs` prints, asserted exactly on the same code.
//!
//! Growth rule of `String`/`Vec<u8>` (amortized doubling): when a push needs more than the
//! capacity, the new capacity is `max(2 * capacity, needed, 8)`. Every piece pushed here is
//! at most 9 bytes, so from the first capacity on each growth exactly doubles it.

use std::hint::black_box;

use alloc_trace::AllocStats;
use alloc_trace_examples::string_building::{
    BUILDS, ITEM_LEN, ITEMS, format_per_item, push_str_growth, with_capacity, write_into_reused,
};

#[global_allocator]
static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();

fn expected_text() -> String {
    (0..ITEMS).map(|i| format!("id={i:05};")).collect()
}

#[test]
fn all_four_build_the_same_string() {
    let expected = expected_text();
    assert_eq!(expected.len(), ITEM_LEN * ITEMS as usize);
    assert_eq!(push_str_growth(ITEMS), expected);
    assert_eq!(with_capacity(ITEMS), expected);
    assert_eq!(format_per_item(ITEMS), expected);
    let mut buf = String::new();
    write_into_reused(&mut buf, ITEMS);
    assert_eq!(buf, expected);
}

/// Pushing 3-, 5- and 1-byte pieces into an empty `String` up to 9,000 bytes: the first
/// push makes capacity 8, then 16, 32, ..., 16384 (the first power of two above 9000).
const GROWTH_FROM_EMPTY: AllocStats = AllocStats {
    allocs: 1 + 11,              // the first block, then 11 reallocs
    reallocs: 11,                // 8 -> 16 -> ... -> 16384: 11 doublings
    frees: 11,                   // the old blocks; the result is returned
    bytes_allocated: 32_768 - 8, // 8 + 16 + ... + 16384
    bytes_freed: 16_384 - 8,     // 8 + ... + 8192, freed by the reallocations
    peak_bytes: 16_384,
};

#[test]
fn push_str_growth_is_12_allocs_11_of_them_reallocs() {
    let (s, stats) = alloc_trace::measure(|| black_box(push_str_growth(ITEMS)));
    assert_eq!(stats, GROWTH_FROM_EMPTY);
    assert_eq!(
        (s.len(), s.capacity()),
        (9000, 16_384),
        "keeps 16 KiB for 8.8 KiB of text"
    );
}

#[test]
fn with_capacity_is_one_exact_allocation() {
    let (_, stats) = alloc_trace::measure(|| black_box(with_capacity(ITEMS)));
    assert_eq!(
        stats,
        AllocStats {
            allocs: 1,
            reallocs: 0,
            frees: 0,
            bytes_allocated: 9000,
            bytes_freed: 0,
            peak_bytes: 9000
        }
    );
}

#[test]
fn format_per_item_pays_two_allocations_per_item() {
    // Each `format!("id={i:05};")` starts with capacity 2 x its literal text ("id=" + ";"
    // = 4 bytes, so 8), then grows to 16 for the 9th byte: 2 allocs (1 alloc + 1 realloc),
    // 24 bytes, all freed (2 frees: the realloc's old block and the drop). The result grows
    // from empty by 9-byte pushes: capacity 9, 18, ..., 9216 (9 x 2^10): 11 allocs (1 alloc
    // + 10 reallocs) and 10 frees (the old blocks; the result is returned).
    let n = u64::from(ITEMS);
    let (s, stats) = alloc_trace::measure(|| black_box(format_per_item(ITEMS)));
    let result_growth = AllocStats {
        allocs: 1 + 10,
        reallocs: 10,
        frees: 10,
        bytes_allocated: 9 * (2048 - 1), // 9 + 18 + ... + 9216
        bytes_freed: 9 * (1024 - 1),     // 9 + ... + 4608
        peak_bytes: 0,
    };
    let expected = AllocStats {
        allocs: 2 * n + result_growth.allocs,
        reallocs: n + result_growth.reallocs,
        frees: 2 * n + result_growth.frees,
        bytes_allocated: n * 24 + result_growth.bytes_allocated,
        bytes_freed: n * 24 + result_growth.bytes_freed,
        peak_bytes: 9216 + 16, // the full result plus the last temporary
    };
    assert_eq!(stats, expected);
    assert_eq!(stats.allocs, 2011);
    assert_eq!(s.capacity(), 9216);
}

#[test]
fn write_into_a_reused_string_allocates_only_while_it_first_grows() {
    let mut buf = String::new();
    let ((), first) = alloc_trace::measure(|| write_into_reused(&mut buf, ITEMS));
    assert_eq!(
        first, GROWTH_FROM_EMPTY,
        "`write!` grows an empty String as `push_str` does"
    );
    let ((), again) = alloc_trace::measure(|| write_into_reused(&mut buf, ITEMS));
    assert_eq!(again, AllocStats::default(), "{again}");
}

#[test]
fn the_examples_report_per_call() {
    let (_, before) = alloc_trace::capture(|| {
        for _ in 0..BUILDS {
            black_box(push_str_growth(ITEMS));
            black_box(format_per_item(ITEMS));
        }
    });
    let (_, after) = alloc_trace::capture(|| {
        let mut buf = String::new();
        for _ in 0..BUILDS {
            black_box(with_capacity(ITEMS));
            write_into_reused(&mut buf, ITEMS);
        }
    });
    let per_call = |report: &alloc_trace::Report, name: &str| {
        let site = report.site(name).unwrap();
        assert_eq!(site.calls, u64::from(BUILDS));
        site.allocs_per_call()
    };
    assert_eq!(per_call(&before, "push_str_growth"), 12.0);
    assert_eq!(per_call(&before, "format_per_item"), 2011.0);
    assert_eq!(per_call(&after, "with_capacity"), 1.0);
    assert_eq!(per_call(&after, "write_into_reused"), 0.12); // 12 allocations, all in the first call
}
