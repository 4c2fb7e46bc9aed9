//! `Report::diff`: per site, the change in calls, allocs/call, bytes/call and net/call,
//! largest regression first, as a table and as markdown; `Report::folded_diff` against
//! inferno's own differential folding; the diff of two JSON files.

use std::hint::black_box;

use alloc_trace::report::{FoldedWeight, ReportDiff};
use alloc_trace::{Report, track_allocs};

mod export_support;

use export_support::TempFile;

#[global_allocator]
static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();

/// A 1-alloc `String` of `n` bytes.
#[track_allocs(name = "render")]
fn render(n: usize) -> String {
    let mut s = String::with_capacity(n);
    s.extend(std::iter::repeat_n('x', n));
    s
}

/// 8 `u64`s: presized, 1 alloc of 64 bytes; grown, 2 allocs (4 then 8: 32 + 64 bytes,
/// the first freed by the realloc). Net 64 either way: the Vec is returned.
#[track_allocs(name = "collect")]
fn collect(presize: bool) -> Vec<u64> {
    let mut v = if presize {
        Vec::with_capacity(8)
    } else {
        Vec::new()
    };
    for i in 0..8 {
        v.push(i);
    }
    v
}

#[track_allocs(name = "legacy")]
fn legacy() -> Box<u32> {
    Box::new(1)
}

#[track_allocs(name = "audit")]
fn audit() -> Box<u64> {
    Box::new(2)
}

/// Version 1: presized vectors, 16-byte strings, `legacy`. Version 2: grown vectors,
/// 32-byte strings, `audit` instead of `legacy`.
#[track_allocs(name = "serve")]
fn serve(version: u32) {
    for _ in 0..10 {
        black_box(render(if version == 1 { 16 } else { 32 }));
        black_box(collect(version == 1));
    }
    if version == 1 {
        black_box(legacy());
    } else {
        black_box(audit());
    }
}

fn reports() -> (Report, Report) {
    let (_, before) = alloc_trace::capture(|| serve(1));
    let (_, after) = alloc_trace::capture(|| serve(2));
    (before, after)
}

#[test]
fn sites_by_largest_regression_with_exact_changes() {
    let (before, after) = reports();
    let diff = after.diff(&before);
    let names: Vec<&str> = diff.rows().iter().map(|r| r.name.as_str()).collect();
    // serve: 21 -> 31 allocs/call; collect +1 (and +32 B) before audit's new +1 (+8 B);
    // render only in bytes; legacy gone.
    assert_eq!(names, ["serve", "collect", "audit", "render", "legacy"]);

    let serve = diff.site("serve").unwrap();
    assert_eq!(serve.calls_change(), 0);
    assert_eq!(serve.allocs_per_call_change(), 10.0);
    assert_eq!(serve.bytes_per_call_change(), (1288 - 804) as f64);
    assert!(serve.allocs_per_call_rose());

    let collect = diff.site("collect").unwrap();
    assert_eq!(
        (collect.before.unwrap().calls, collect.after.unwrap().calls),
        (10, 10)
    );
    assert_eq!(collect.allocs_per_call_change(), 1.0);
    assert_eq!(collect.bytes_per_call_change(), 32.0);
    assert_eq!(collect.net_bytes_per_call_change(), 0.0);

    let render = diff.site("render").unwrap();
    assert!(!render.allocs_per_call_rose());
    assert!(render.bytes_per_call_rose_past(0.99));
    assert!(!render.bytes_per_call_rose_past(1.0), "+100% exactly");
    assert_eq!(render.net_bytes_per_call_change(), 16.0);

    assert_eq!(diff.site("audit").unwrap().before, None);
    assert_eq!(diff.site("legacy").unwrap().after, None);
    assert_eq!(diff.changed().count(), 5);
}

#[test]
fn the_table() {
    let (before, after) = reports();
    assert_eq!(
        after.diff(&before).to_string(),
        "\
alloc-trace diff: 5 of 5 sites changed, largest regression first (before -> after)
   calls  allocs/call        change        bytes/call           change      net/call  change  function
  1 -> 1     21 -> 31  +10 (+47.6%)  804 B -> 1.3 KiB  +484 B (+60.2%)    0 B -> 0 B     0 B  serve
10 -> 10       1 -> 2  +1 (+100.0%)      64 B -> 96 B   +32 B (+50.0%)  64 B -> 64 B     0 B  collect
  - -> 1       - -> 1           new          - -> 8 B              new      - -> 8 B     new  audit
10 -> 10       1 -> 1             0      16 B -> 32 B  +16 B (+100.0%)  16 B -> 32 B   +16 B  render
  1 -> -       1 -> -          gone          4 B -> -             gone      4 B -> -    gone  legacy
"
    );
    // No change: one line.
    assert_eq!(
        before.diff(&before).to_string(),
        "alloc-trace diff: 0 of 4 sites changed, largest regression first (before -> after)\n"
    );
}

#[test]
fn the_markdown() {
    let (before, after) = reports();
    assert_eq!(
        after.diff(&before).to_markdown(),
        "\
### alloc-trace: allocations per call, before → after

| function | calls | allocs/call | change | bytes/call | change | net/call | change |
|---|--:|--:|--:|--:|--:|--:|--:|
| `serve` | 1 → 1 | 21 → 31 | +10 (+47.6%) | 804 B → 1.3 KiB | +484 B (+60.2%) | 0 B → 0 B | 0 B |
| `collect` | 10 → 10 | 1 → 2 | +1 (+100.0%) | 64 B → 96 B | +32 B (+50.0%) | 64 B → 64 B | 0 B |
| `audit` | - → 1 | - → 1 | new | - → 8 B | new | - → 8 B | new |
| `render` | 10 → 10 | 1 → 1 | 0 | 16 B → 32 B | +16 B (+100.0%) | 16 B → 32 B | +16 B |
| `legacy` | 1 → - | 1 → - | gone | 4 B → - | gone | 4 B → - | gone |
"
    );
    let same = before.diff(&before).to_markdown();
    assert!(
        same.ends_with("No change in 4 sites (calls, allocs/call, bytes/call, net/call).\n"),
        "{same}"
    );
}

/// `folded_diff` writes what `inferno-diff-folded` writes from the two folded outputs.
#[test]
fn folded_diff_is_infernos_differential_folding() {
    let (before, after) = reports();
    for weight in [FoldedWeight::Allocs, FoldedWeight::Bytes] {
        let mut inferno_out = Vec::new();
        inferno::differential::from_readers(
            inferno::differential::Options::default(),
            before.folded(weight).as_bytes(),
            after.folded(weight).as_bytes(),
            &mut inferno_out,
        )
        .unwrap();
        let mut inferno_lines: Vec<String> = String::from_utf8(inferno_out)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect();
        inferno_lines.sort();
        let ours = after.folded_diff(&before, weight);
        let ours: Vec<&str> = ours.lines().collect();
        assert_eq!(ours, inferno_lines, "{weight:?}");
    }
    // serve allocates nothing itself; nothing happens outside it.
    assert_eq!(
        after.folded_diff(&before, FoldedWeight::Allocs),
        "serve;audit 0 1\n\
         serve;collect 10 20\n\
         serve;legacy 1 0\n\
         serve;render 10 10\n"
    );
}

#[test]
fn inferno_draws_the_differential_flamegraph() {
    let (before, after) = reports();
    let lines = after.folded_diff(&before, FoldedWeight::Allocs);
    let mut svg = Vec::new();
    let mut options = inferno::flamegraph::Options::default();
    inferno::flamegraph::from_lines(&mut options, lines.lines(), &mut svg).unwrap();
    let svg = String::from_utf8(svg).unwrap();
    // Boxes are the after profile (31 allocations); collect grew from 10 to 20, +10 of
    // the 31 (inferno's change is a share of the total).
    assert!(
        svg.contains("collect (20 samples, 64.52%; +32.26%)"),
        "{svg}"
    );
}

#[test]
fn the_diff_of_two_json_files() {
    let (before, after) = reports();
    let (b, a) = (TempFile::new("before.json"), TempFile::new("after.json"));
    std::fs::write(b.path(), before.to_json()).unwrap();
    std::fs::write(a.path(), after.to_json()).unwrap();
    let diff = ReportDiff::from_json_files(b.path(), a.path()).unwrap();
    assert_eq!(diff, after.diff(&before));
    // A baseline on either side works the same.
    let baseline = TempFile::new("before.baseline.json");
    alloc_trace::report::baseline::Baseline::from_report(&before)
        .save(baseline.path())
        .unwrap();
    assert_eq!(
        ReportDiff::from_json_files(baseline.path(), a.path()).unwrap(),
        diff
    );
}
