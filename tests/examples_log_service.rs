//! The numbers `examples/log_service.rs` prints, asserted exactly on the same code.

use std::hint::black_box;

use alloc_trace::{AllocCounts, AllocStats};
use alloc_trace_examples::log_service::{
    Log, REQUESTS, handle_with_format, handle_with_reused_buffer, request,
};

#[global_allocator]
static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();

/// One request logged with `format!`, derived from how `format!` sizes its first buffer
/// (2 x the literal text, or 0 when the string starts with an argument and its literal
/// text is under 16 bytes) and the growth rule `max(2 x capacity, needed, 8)`:
/// - `format!("user={}", 1003)`: capacity 2 x 5 = 10, "user=1003" fits: 1 alloc, 10 bytes;
/// - `format!("took={}us", 103)`: capacity 2 x 7 = 14, "took=103us" fits: 1 alloc, 14 bytes;
/// - the line `"{} {} {} {} status={}"` starts empty and grows while written: "GET" -> 8,
///   "/api/orders" -> 16, "user=1003" -> 32, "took=103us" -> 64: 1 alloc + 3 reallocs,
///   8 + 16 + 32 + 64 = 120 bytes for the 47-byte line.
///
/// So 6 allocs, 3 of them reallocs; 6 frees: the 3 strings dropped and the 3 old blocks
/// the reallocs gave back. All freed before returning; the peak is the three strings
/// alive together: 10 + 14 + 64.
const FORMAT_PER_REQUEST: AllocStats = AllocStats {
    allocs: 6,
    reallocs: 3,
    frees: 6,
    bytes_allocated: 144,
    bytes_freed: 144,
    peak_bytes: 88,
};

#[test]
fn the_log_line_is_the_same_both_ways() {
    let mut log = Log::default();
    let mut buf = String::new();
    handle_with_format(&request(3), &mut log);
    handle_with_reused_buffer(&request(3), &mut buf, &mut log);
    assert_eq!(buf, "GET /api/orders user=1003 took=103us status=200");
    assert_eq!((log.lines, log.bytes), (2, 94));
}

#[test]
fn format_costs_six_allocations_per_request_and_keeps_nothing() {
    let mut log = Log::default();
    let (_, report) = alloc_trace::capture(|| {
        for i in 0..REQUESTS {
            black_box(handle_with_format(&request(i), &mut log));
        }
    });
    let site = report.site("handle_with_format").unwrap();
    let n = u64::from(REQUESTS);
    let expected = AllocStats {
        allocs: 6 * n,
        reallocs: 3 * n,
        frees: 6 * n,
        bytes_allocated: 144 * n,
        bytes_freed: 144 * n,
        peak_bytes: FORMAT_PER_REQUEST.peak_bytes, // flat: one request's worth
    };
    assert_eq!((site.calls, site.inclusive), (n, expected));
    assert_eq!(
        (
            site.allocs_per_call(),
            site.bytes_per_call(),
            site.net_bytes_per_call()
        ),
        (6.0, 144.0, 0.0)
    );
    assert_eq!(site.max_allocs_per_call, 6);

    let (_, one) = alloc_trace::measure(|| black_box(handle_with_format(&request(7), &mut log)));
    assert_eq!(one, FORMAT_PER_REQUEST);
}

#[test]
fn a_reused_buffer_allocates_nothing_per_request() {
    let mut log = Log::default();
    let mut buf = String::with_capacity(128);
    let (_, report) = alloc_trace::capture(|| {
        for i in 0..REQUESTS {
            black_box(handle_with_reused_buffer(&request(i), &mut buf, &mut log));
        }
    });
    let site = report.site("handle_with_reused_buffer").unwrap();
    assert_eq!(
        (site.calls, site.inclusive),
        (u64::from(REQUESTS), AllocStats::default())
    );
    assert_eq!(report.totals(), AllocCounts::default());
    assert_eq!(report.peak_bytes(), Some(0));
}
