//! `measure` agrees exactly with dhat, a second, independent implementation, on a set of
//! ordinary workloads: dhat's `total_blocks` = allocs (reallocs included: dhat counts a
//! realloc as a new block), `total_bytes` = bytes_allocated, `curr_bytes` = net bytes,
//! `curr_blocks` = allocs - frees, `max_bytes` = peak.

#[path = "support/dhat_oracle.rs"]
mod dhat_oracle;
#[path = "support/differential.rs"]
mod differential;

use alloc_trace::{CountingAlloc, measure};
use differential::{Oracle, WORKLOADS};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc::system();

fn dhat_numbers() -> Vec<(String, Oracle)> {
    dhat_oracle::dhat_oracle_output()
        .lines()
        .map(Oracle::from_line)
        .collect()
}

#[test]
fn measure_agrees_with_dhat_on_every_workload() {
    let expected = dhat_numbers();
    // The oracle's lines for the workloads that cross threads come last: not for a
    // measurement on one thread (see `tests/ownership_dhat.rs`).
    assert_eq!(
        expected.len(),
        WORKLOADS.len() + differential::CROSS_THREAD.len()
    );
    for ((name, workload), (dhat_name, dhat)) in WORKLOADS.iter().zip(&expected) {
        assert_eq!(name, dhat_name);
        let (kept, stats) = measure(workload);
        let ours = Oracle {
            total_blocks: stats.allocs,
            total_bytes: stats.bytes_allocated,
            curr_blocks: stats.allocs - stats.frees,
            curr_bytes: stats.net_bytes() as u64,
            max_bytes: stats.peak_bytes,
        };
        drop(kept);
        assert_eq!(
            &ours, dhat,
            "workload `{name}`: alloc-trace (left) vs dhat (right)"
        );
        assert!(
            dhat.total_blocks > 0,
            "workload `{name}` must allocate to be a test"
        );
    }
}
