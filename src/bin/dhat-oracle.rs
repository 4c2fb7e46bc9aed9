//! Runs the differential workloads under dhat and prints dhat's numbers, one line each.
//! Used by `tests/dhat_differential.rs`; not meant to be run by hand.

#[path = "../../tests/support/differential.rs"]
mod differential;

use differential::{Oracle, WORKLOADS};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

fn main() {
    let mut lines = Vec::new();
    for (name, workload) in WORKLOADS {
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
        lines.push(oracle.to_line(name));
    }
    println!("{}", lines.join("\n"));
}
