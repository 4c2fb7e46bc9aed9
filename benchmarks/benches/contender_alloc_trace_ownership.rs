//! Contender `alloc-trace (ownership)`: `CountingAlloc` built with the ownership view
//! (every block carries a 16-byte header naming the call path that owns it, and the
//! process peak of live bytes is kept), with no tracked frame active and inside one
//! `#[track_allocs]` frame. Built with `--features ownership` (the driver does it in a
//! second build), so that no other binary gets the header.

#[path = "common/alloc_trace_api.rs"]
mod api;

use alloc_trace::{CountingAlloc, track_allocs};
use alloc_trace_benchmarks::harness::{self, Entry};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc::system();

/// Runs a workload inside one tracked call, so every allocation happens with a frame open.
#[track_allocs]
#[inline(never)]
fn in_frame(run: &dyn Fn(u64), iters: u64) {
    run(iters);
}

fn main() {
    let mut entries: Vec<Entry> =
        harness::allocator_entries("alloc-trace (ownership)", harness::direct);
    entries.extend(harness::allocator_entries(
        "alloc-trace (ownership, in frame)",
        in_frame,
    ));
    harness::main(entries, Some(api::allocs_of));
}
