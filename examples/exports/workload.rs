//! The workload of `examples/exports` and of `tests/export_gate.rs`: a small request
//! handler. Its sites are named explicitly (`name = "..."`), so the example and the test
//! (different crates, different module paths) share one baseline.

use std::fmt::Write as _;
use std::hint::black_box;

use alloc_trace::track_allocs;

/// Requests one run serves.
pub const REQUESTS: u32 = 100;

/// Serves `requests` requests; returns the bytes of the responses.
#[track_allocs(name = "workload::serve")]
pub fn serve(requests: u32) -> usize {
    (0..requests).map(|i| black_box(handle(i)).len()).sum()
}

/// Parses the request line, then renders the response.
#[track_allocs(name = "workload::handle")]
pub fn handle(i: u32) -> String {
    let fields = parse(black_box("GET /items 42"));
    render(&fields, i)
}

/// The request's fields: one `Vec` (of 4 `&str` at first: 64 bytes).
#[track_allocs(name = "workload::parse")]
pub fn parse(line: &str) -> Vec<&str> {
    line.split(' ').collect()
}

/// The response: one 64-byte `String`.
#[track_allocs(name = "workload::render")]
pub fn render(fields: &[&str], i: u32) -> String {
    let mut out = String::with_capacity(64);
    let _ = write!(out, "200 {} {} #{i}", fields[1], fields[2]);
    out
}
