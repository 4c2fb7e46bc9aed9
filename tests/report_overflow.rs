//! The call-path table has no small fixed size: tens of thousands of distinct paths (the
//! old table held 16384) are each named and counted exactly. Its own test binary: the
//! table is process-wide.

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
fn past_16384_paths_every_path_is_named_and_exact() {
    let (_, report) = alloc_trace::capture(|| {
        a(1);
        b(1);
    });
    // 2 + 4 + ... + 2^14 calls, each at its own path, each one allocation.
    let calls: u64 = (1..=DEPTH).map(|d| 1u64 << d).sum();
    assert_eq!(calls, 32_766);
    assert_eq!(report.totals().allocs, calls);
    assert!(report.paths().iter().all(|p| p.path != OVERFLOW_PATH));
    assert_eq!(report.paths().len() as u64, calls, "one path per call");
    assert!(report.paths().iter().all(|p| p.exclusive.allocs == 1));
    let deepest = report
        .paths()
        .iter()
        .filter(|p| p.path.matches(';').count() == DEPTH as usize - 1)
        .count();
    assert_eq!(deepest, 1 << DEPTH);

    let folded = report.folded(FoldedWeight::Allocs);
    let sum: u64 = folded
        .lines()
        .map(|l| l.rsplit_once(' ').unwrap().1.parse::<u64>().unwrap())
        .sum();
    assert_eq!(sum, calls, "the flamegraph adds up to every allocation");

    let a = report.site("a").unwrap();
    assert_eq!((a.calls, a.exclusive.allocs), (calls / 2, calls / 2));
    // Inclusive: every allocation with an `a` on its path (an `a` below an `a` counts
    // once): all but those of the 14 paths made only of b's.
    assert_eq!(a.inclusive.allocs, calls - u64::from(DEPTH));
}
