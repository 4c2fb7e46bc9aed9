//! Call paths near and past the old limit of 16,384 distinct paths (the table now grows
//! to 16 million; the rows stay, to show there is no cliff there): a tree of tracked
//! functions (`call_tree!`: 256 outer functions, each calling the same 64 or 128 inner
//! ones), whose outer function changes every call (`PATH_ROWS`): 8,320 paths (half the
//! limit), 16,380 (just below), 16,640 (just past), 33,024 (twice). Per tracked call,
//! against the same tree untracked.
//!
//! A binary of its own, and every entry timed in a process of its own (as callgrind counts
//! it): call paths are interned process-wide, so other workloads in the same process
//! would move the limit.

#[path = "common/alloc_trace_api.rs"]
mod api;

use std::hint::black_box;

use alloc_trace::CountingAlloc;
use alloc_trace_benchmarks::harness::{self, Bench, Entry};
use alloc_trace_benchmarks::workloads::{PATH_ROWS, TREE_OUTER};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc::system();

mod tracked {
    alloc_trace_benchmarks::call_tree!([#[alloc_trace::track_allocs]]);
}

mod plain {
    alloc_trace_benchmarks::call_tree!([]);
}

/// `n` outer calls, cycling through the first `outers` outer functions, each calling
/// `inner` inner ones.
fn tree_calls(all: &[fn(u64) -> u64], outers: usize, inner: u64, n: u64) {
    for i in 0..n as usize {
        black_box(all[i % outers](inner));
    }
}

fn main() {
    let (t, p) = (tracked::outer::all(), plain::outer::all());
    assert_eq!((t.len(), p.len()), (TREE_OUTER, TREE_OUTER));
    let mut entries: Vec<Entry> = Vec::new();
    for (workload, outers, inner) in PATH_ROWS {
        let (t, p) = (t.clone(), p.clone());
        entries.extend(
            harness::per_call(
                "alloc-trace #[track_allocs]",
                workload,
                "call",
                move |n| tree_calls(&t, outers, inner, n),
                move |n| tree_calls(&p, outers, inner, n),
            )
            // Warm-up (a quarter) covers every outer function: all paths exist before
            // the counted run.
            .map(|e| e.ops_per_iter(inner + 1).count_iters(1_024).alone()),
        );
    }
    Bench::new(entries).counted(Some(api::allocs_of)).run();
}
