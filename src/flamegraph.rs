//! `examples/flamegraph.rs`: nested tracked functions whose call paths become a
//! flamegraph (`Report::folded`).

use std::hint::black_box;

use alloc_trace::track_allocs;

/// Requests the example serves.
pub const REQUESTS: u32 = 1000;

/// Serves `requests` requests: one allocation for the results, then [`handle`] for each.
#[track_allocs]
pub fn serve(requests: u32) -> Vec<usize> {
    let mut sizes = Vec::with_capacity(requests as usize);
    for i in 0..requests {
        sizes.push(handle(i));
    }
    sizes
}

/// Handles one request: a 64-byte header of its own, then [`parse`] and [`render`].
#[track_allocs]
pub fn handle(i: u32) -> usize {
    let header = black_box(Box::new([0u8; 64]));
    let fields = parse(i);
    let body = render(&fields);
    header.len() + body.len()
}

/// Parses a request into 4 fields: one 16-byte allocation (the iterator's exact size).
#[track_allocs]
pub fn parse(i: u32) -> Vec<u32> {
    (0..4).map(|k| i.wrapping_mul(31).wrapping_add(k)).collect()
}

/// Renders the response body: one 256-byte allocation.
#[track_allocs]
pub fn render(fields: &[u32]) -> String {
    let mut body = String::with_capacity(256);
    for field in fields {
        body.push_str(if field % 2 == 0 { "even " } else { "odd " });
    }
    black_box(body)
}
