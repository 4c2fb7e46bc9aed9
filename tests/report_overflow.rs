//! When the fixed call-path table (16384 paths) is full, new paths are counted under
//! `OVERFLOW_PATH` and nothing is lost. Its own test binary: the table is process-wide.

use std::hint::black_box;

use alloc_trace::report::{FoldedWeight, OVERFLOW_PATH};
use alloc_trace::track_allocs;

#[global_allocator]
static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();

/// Levels of the call tree below the root call.
const DEPTH: u32 = 14;

#[track_allocs(name = "a")]
fn a(level: u32) {
    step(level);
}

#[track_allocs(name = "b")]
fn b(level: u32) {
    step(level);
}

/// One 1-byte allocation, then both `a` and `b` one level down: every call is at a path
/// (a sequence of a's and b's) that no other call has.
fn step(level: u32) {
    black_box(Box::new(0u8));
    if level < DEPTH {
        a(level + 1);
        b(level + 1);
    }
}

#[test]
fn a_full_table_counts_new_paths_under_the_overflow_path() {
    let (_, report) = alloc_trace::capture(|| {
        a(1);
        b(1);
    });
    // 2 + 4 + ... + 2^14 calls, each at its own path, each one allocation.
    let calls: u64 = (1..=DEPTH).map(|d| 1u64 << d).sum();
    assert_eq!(calls, 32_766);
    assert_eq!(report.totals().allocs, calls);

    let overflow = report
        .paths()
        .iter()
        .find(|p| p.path == OVERFLOW_PATH)
        .expect("the table filled up");
    let named = report
        .paths()
        .iter()
        .filter(|p| p.path != OVERFLOW_PATH)
        .count() as u64;
    assert_eq!(named, 16_384, "every slot of the table holds a path");
    assert_eq!(
        overflow.exclusive.allocs,
        calls - 16_384,
        "the rest is counted, not lost"
    );
    assert_eq!(report.paths().len() as u64, named + 1);

    let folded = report.folded(FoldedWeight::Allocs);
    let overflow_line = format!("{OVERFLOW_PATH} {}", calls - 16_384);
    assert!(
        folded.lines().any(|l| l == overflow_line),
        "{overflow_line}"
    );
    let sum: u64 = folded
        .lines()
        .map(|l| l.rsplit_once(' ').unwrap().1.parse::<u64>().unwrap())
        .sum();
    assert_eq!(
        sum, calls,
        "the flamegraph still adds up to every allocation"
    );

    // The per-function numbers do not depend on the path table.
    let a = report.site("a").unwrap();
    assert_eq!((a.calls, a.exclusive.allocs), (calls / 2, calls / 2));
}
