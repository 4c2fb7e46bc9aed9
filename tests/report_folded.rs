//! Call paths in the folded-stack format: exact lines for nested, recursive and untracked
//! allocations, the 128-frame depth limit, and names that would break the format (read
//! back frame for frame by inferno).

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
        format!("{OUTSIDE_FRAME} 1\nouter 2\nouter;middle 4\nouter;middle;inner 6\n")
    );
    assert_eq!(
        report.folded(FoldedWeight::Bytes),
        format!("{OUTSIDE_FRAME} 40\nouter 16\nouter;middle 48\nouter;middle;inner 600\n")
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

// ---- names that would break the format ------------------------------------------------

#[track_allocs(name = "parse; fast path")]
fn semicolon() -> usize {
    black_box(vec![0u8; 1]).len()
}

#[track_allocs(name = "two\nlines")]
fn newline() -> usize {
    black_box(vec![0u8; 1]).len() + black_box(vec![0u8; 1]).len()
}

#[track_allocs(name = "answer 42")]
fn trailing_number() -> usize {
    (0..3).map(|_| black_box(vec![0u8; 1]).len()).sum()
}

#[track_allocs(name = "hostile")]
fn hostile() -> usize {
    semicolon() + newline() + trailing_number()
}

/// What `flamegraph.pl` does with a line: `^(.*)\s+?(\d+(?:\.\d*)?)$` takes the count;
/// the same pattern on what is left would be a second (differential) count. Returns the
/// stack, or `None` if the line has no count or has two.
fn flamegraph_pl_stack(line: &str) -> Option<&str> {
    fn split_count(s: &str) -> Option<&str> {
        let (stack, count) = s.rsplit_once(|c: char| c.is_ascii_whitespace())?;
        let (int, frac) = count.split_once('.').unwrap_or((count, ""));
        let numeric = !int.is_empty()
            && int.bytes().all(|b| b.is_ascii_digit())
            && frac.bytes().all(|b| b.is_ascii_digit());
        numeric.then(|| stack.trim_end_matches(|c: char| c.is_ascii_whitespace()))
    }
    let stack = split_count(line)?;
    split_count(stack).is_none().then_some(stack)
}

#[test]
fn hostile_names_are_escaped_into_valid_lines() {
    let (_, report) = alloc_trace::capture(|| black_box(hostile()));
    let folded = report.folded(FoldedWeight::Allocs);
    assert_eq!(
        folded,
        "hostile;answer\\u{20}42 3\n\
         hostile;parse\\u{3b} fast path 1\n\
         hostile;two\\nlines 2\n"
    );
    for line in folded.lines() {
        let stack = flamegraph_pl_stack(line).unwrap_or_else(|| panic!("{line:?}"));
        assert_eq!(stack.split(';').count(), 2, "{line:?}");
    }
    // The unescaped names are still in the report's paths.
    let frames: Vec<&[String]> = report.paths().iter().map(|p| &p.frames[..]).collect();
    assert!(frames.contains(&&["hostile".to_owned(), "two\nlines".to_owned()][..]));
}

#[test]
fn inferno_reads_back_every_frame() {
    let (_, report) = alloc_trace::capture(|| black_box(hostile()));
    let folded = report.folded(FoldedWeight::Allocs);
    let mut svg = Vec::new();
    let mut options = inferno::flamegraph::Options::default();
    // Sorted already: inferno can be told not to sort.
    options.no_sort = true;
    inferno::flamegraph::from_lines(&mut options, folded.lines(), &mut svg).unwrap();
    let svg = String::from_utf8(svg).unwrap();
    // The frames inferno drew: each box's title is `frame (N samples, P%)`.
    let mut frames: Vec<(&str, &str)> = svg
        .split("<title>")
        .skip(1)
        .map(|t| t.split_once(" samples, ").unwrap().0)
        .map(|t| t.rsplit_once(" (").unwrap())
        .collect();
    frames.sort_unstable();
    assert_eq!(
        frames,
        [
            ("all", "6"),
            ("answer\\u{20}42", "3"),
            ("hostile", "6"),
            ("parse\\u{3b} fast path", "1"),
            ("two\\nlines", "2"),
        ],
        "{svg}"
    );
}
