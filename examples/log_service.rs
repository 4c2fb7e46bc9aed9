//! Log service: a request handler whose log line costs 6 allocations per request, found
//! and fixed with the report.
//!
//! The handler formats each field with `format!`, then the line with one more `format!`
//! (which grows 3 times as it is written): 6 allocs (3 of them reallocs), 144 bytes per
//! request. Nothing is kept (net/call = 0 B) and the peak is 88 bytes: memory looks flat
//! and small, but 100,000 requests make 600,000 allocs, the churn that costs CPU
//! time (and, in a garbage-collected language, collector time). The fix writes the same
//! line with `write!` into a buffer kept across requests: 0 allocations per request.
//!
//! Run: `cargo run --release --example log_service`

use alloc_trace_examples::log_service::{
    Log, REQUESTS, handle_with_format, handle_with_reused_buffer, request,
};
use std::hint::black_box;

#[global_allocator]
static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();

fn main() {
    let mut log = Log::default();
    let (_, before) = alloc_trace::capture(|| {
        for i in 0..REQUESTS {
            black_box(handle_with_format(&request(i), &mut log));
        }
    });
    println!("BEFORE: format! for the log line\n\n{before}");

    let mut buf = String::with_capacity(128);
    let (_, after) = alloc_trace::capture(|| {
        for i in 0..REQUESTS {
            black_box(handle_with_reused_buffer(&request(i), &mut buf, &mut log));
        }
    });
    println!("AFTER: write! into a reused buffer\n\n{after}");
    println!("{} lines, {} bytes logged", log.lines, log.bytes);
}
