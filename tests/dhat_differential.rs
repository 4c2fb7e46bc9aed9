//! `measure`, and a capture's row for a tracked call, agree exactly with dhat, a second,
//! independent implementation, on a set of ordinary workloads (serde_json's among them):
//! dhat's `total_blocks` = allocs (reallocs included: dhat counts a realloc as a new
//! block), `total_bytes` = bytes_allocated, `curr_bytes` = net bytes, `curr_blocks` =
//! allocs - frees, `max_bytes` = peak.

#[path = "support/dhat_oracle.rs"]
mod dhat_oracle;
#[path = "support/differential.rs"]
mod differential;

use alloc_trace::{CountingAlloc, capture, measure, track_allocs};
use differential::{Kept, Oracle, WORKLOADS};

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

#[track_allocs(name = "differential::run")]
fn run(workload: fn() -> Kept) -> Kept {
    workload()
}

/// A capture's row for the tracked call that runs the workload agrees exactly with dhat
/// too: the per-function numbers, not only the measurement's totals.
#[test]
fn a_captured_call_agrees_with_dhat_on_every_workload() {
    let expected = dhat_numbers();
    for ((name, workload), (dhat_name, dhat)) in WORKLOADS.iter().zip(&expected) {
        assert_eq!(name, dhat_name);
        let (kept, report) = capture(|| run(*workload));
        drop(kept);
        let site = report
            .site("differential::run")
            .expect("the tracked call's row");
        let ours = Oracle {
            total_blocks: site.inclusive.allocs,
            total_bytes: site.inclusive.bytes_allocated,
            curr_blocks: site.inclusive.allocs - site.inclusive.frees,
            curr_bytes: site.inclusive.net_bytes() as u64,
            max_bytes: site.inclusive.peak_bytes,
        };
        assert_eq!(
            &ours, dhat,
            "workload `{name}`: the captured call's row (left) vs dhat (right)"
        );
        assert_eq!(site.calls, 1, "workload `{name}`");
        assert_eq!(site.exclusive, site.inclusive.counts(), "workload `{name}`");
        assert_eq!(
            report.sites().len(),
            1,
            "workload `{name}`: one tracked site"
        );
    }
}
