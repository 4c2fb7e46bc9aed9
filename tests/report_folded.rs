//! Call paths in the folded-stack format: exact lines for nested, recursive and untracked
//! allocations, and the 64-frame depth limit.

use std::hint::black_box;

use alloc_trace::report::{FoldedWeight, OUTSIDE_FRAME};
use alloc_trace::track_allocs;

#[global_allocator]
static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();

/// 2 allocations of 8 bytes of its own, then `middle` twice.
#[track_allocs(name = "outer")]
fn outer() -> (Box<u64>, Box<u64>) {
    let kept = (Box::new(1), Box::new(2));
    for _ in 0..2 {
        black_box(middle());
    }
    black_box(kept)
}

/// 2 allocations of 16 bytes of its own (the second a realloc), then `inner` 3 times.
#[track_allocs(name = "middle")]
fn middle() -> usize {
    let mut v: Vec<u32> = Vec::with_capacity(2);
    v.extend([1, 2, 3]); // 2 -> 4: one realloc, 8 -> 16 bytes
    (0..3).map(|_| inner()).sum::<usize>() + black_box(v).len()
}

/// 1 allocation of 100 bytes.
#[track_allocs(name = "inner")]
fn inner() -> usize {
    black_box(vec![7u8; 100]).len()
}

#[test]
fn nested_calls_give_exact_folded_lines() {
    let (_, report) = alloc_trace::capture(|| {
        black_box(Box::new([0u8; 40])); // outside any tracked function
        black_box(outer())
    });
    // outer: two Box<u64> = 2 allocs, 16 bytes.
    // middle (2 calls): alloc 8 + realloc to 16 = 2 allocs, 24 bytes each.
    // inner (6 calls): 1 alloc, 100 bytes each.
    assert_eq!(
        report.folded(FoldedWeight::Allocs),
        format!("outer 2\nouter;middle 4\nouter;middle;inner 6\n{OUTSIDE_FRAME} 1\n")
    );
    assert_eq!(
        report.folded(FoldedWeight::Bytes),
        format!("outer 16\nouter;middle 48\nouter;middle;inner 600\n{OUTSIDE_FRAME} 40\n")
    );
    // The lines add up to the totals, so a flamegraph's width is the whole capture.
    assert_eq!(report.totals().allocs, 2 + 4 + 6 + 1);
}

#[track_allocs(name = "rec")]
fn recurse(depth: u32) -> usize {
    let here = black_box(Box::new(depth));
    if depth > 1 {
        recurse(depth - 1) + *here as usize
    } else {
        *here as usize
    }
}

fn rec_path(frames: usize) -> String {
    vec!["rec"; frames].join(";")
}

#[test]
fn recursion_gives_one_line_per_depth() {
    let (_, report) = alloc_trace::capture(|| black_box(recurse(3)));
    assert_eq!(
        report.folded(FoldedWeight::Allocs),
        "rec 1\nrec;rec 1\nrec;rec;rec 1\n"
    );
}

#[test]
fn paths_deeper_than_128_frames_keep_their_innermost_frame() {
    let (_, report) = alloc_trace::capture(|| black_box(recurse(140)));
    let folded = report.folded(FoldedWeight::Allocs);
    let lines: Vec<&str> = folded.lines().collect();
    assert_eq!(lines.len(), 129, "{folded}");
    // One line per depth 1..=128; frames 129 to 140 share one more, whose middle is cut.
    for depth in 1..=128 {
        let line = format!("{} 1", rec_path(depth));
        assert!(lines.contains(&line.as_str()), "no line for depth {depth}");
    }
    let cut = format!("{};[...];rec 12", rec_path(127));
    assert!(lines.contains(&cut.as_str()), "{folded}");
}

#[test]
fn an_empty_capture_folds_to_nothing() {
    let (_, report) = alloc_trace::capture(|| 1 + 1);
    assert_eq!(report.folded(FoldedWeight::Allocs), "");
}
