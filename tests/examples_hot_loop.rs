//! The numbers `examples/hot_loop.rs` prints, asserted exactly on the same code.

use std::hint::black_box;

use alloc_trace::AllocStats;
use alloc_trace_examples::hot_loop::{
    BUF_CAPACITY, RECORDS, fresh_buffer_per_record, reused_buffer,
};

#[global_allocator]
static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();

fn records() -> Vec<u64> {
    (0..RECORDS).collect()
}

#[test]
fn a_fresh_buffer_per_record_is_one_allocation_per_record_and_keeps_nothing() {
    let records = records();
    let (_, report) = alloc_trace::capture(|| black_box(fresh_buffer_per_record(&records)));
    let site = report.site("fresh_buffer_per_record").unwrap();
    assert_eq!(site.calls, 1);
    // `Vec::with_capacity(256)` in each of the 100,000 iterations, dropped at its end; the
    // rendered text (under 64 bytes) never makes it grow.
    let n = RECORDS;
    let size = BUF_CAPACITY as u64;
    let expected = AllocStats {
        allocs: n,
        reallocs: 0,
        frees: n,
        bytes_allocated: n * size,
        bytes_freed: n * size,
        peak_bytes: size,
    };
    assert_eq!(site.inclusive, expected);
    assert_eq!(site.inclusive.bytes_allocated, 25_600_000); // the example's "24.4 MiB"
    assert_eq!(site.net_bytes_per_call(), 0.0);
    assert_eq!(
        report.totals(),
        expected.counts(),
        "nothing outside the tracked function"
    );
    assert_eq!(report.peak_bytes(), Some(size));
}

#[test]
fn a_hoisted_buffer_is_one_allocation() {
    let records = records();
    let (_, report) = alloc_trace::capture(|| black_box(reused_buffer(&records)));
    let site = report.site("reused_buffer").unwrap();
    let size = BUF_CAPACITY as u64;
    let expected = AllocStats {
        allocs: 1,
        reallocs: 0,
        frees: 1,
        bytes_allocated: size,
        bytes_freed: size,
        peak_bytes: size,
    };
    assert_eq!((site.calls, site.inclusive), (1, expected));
}

#[test]
fn both_compute_the_same_checksum() {
    let records = records();
    assert_eq!(fresh_buffer_per_record(&records), reused_buffer(&records));
}
