//! Runs the differential workloads under dhat and prints dhat's numbers, one line each
//! (the single-threaded ones, then those that cross threads). Used by
//! `tests/dhat_differential.rs` and `tests/ownership_dhat.rs`; not meant to be run by
//! hand. dhat is the global allocator here, so it sees the blocks as requested (no
//! ownership header, whatever features alloc-trace has).

#[path = "../../tests/support/differential.rs"]
mod differential;

use differential::{CROSS_THREAD, Oracle, WORKLOADS};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

fn main() {
    let mut lines = Vec::new();
    for (name, workload) in WORKLOADS.iter().chain(CROSS_THREAD) {
        let profiler = dhat::Profiler::builder().testing().build();
        let kept = workload();
        let stats = dhat::HeapStats::get();
        drop(kept);
        drop(profiler);
        let oracle = Oracle {
            total_blocks: stats.total_blocks,
            total_bytes: stats.total_bytes,
            curr_blocks: stats.curr_blocks as u64,
            curr_bytes: stats.curr_bytes as u64,
            max_bytes: stats.max_bytes as u64,
        };
        lines.push(oracle.to_line(name, stats.max_blocks as u64));
    }
    println!("{}", lines.join("\n"));
}
