//! `AllocLayer` (the `tracing` feature): every span callsite is a site, and a span's
//! numbers are exactly what its code did while entered, summed over its enters, with its
//! closes as calls. Spans and `#[track_allocs]` functions nest in one tree of call paths,
//! also when a span is entered on several threads, and every report output lists them.
//!
//! The expected numbers are worked out from the code: `Vec::<u8>::with_capacity(n)` is one
//! allocation of `n` bytes, `Box<[u8; n]>` one of `n`, and so on.

use std::hint::black_box;
use std::thread;

use alloc_trace::report::FoldedWeight;
use alloc_trace::{AllocCounts, AllocStats, Report, capture, track_allocs};
use tracing::{Span, info_span};

#[global_allocator]
static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();

#[path = "export_support/mod.rs"]
mod export_support;
#[path = "support/sites.rs"]
mod sites;
#[path = "support/spans.rs"]
mod spans;

use sites::site;

/// The line of `span`'s callsite, as tracing has it.
fn line_of(span: &Span) -> u32 {
    span.metadata().and_then(|m| m.line()).unwrap()
}

/// Two vectors of 100 bytes alive at once, then freed. Returns the span's line.
fn two_vectors() -> u32 {
    let span = info_span!("two_vectors");
    span.in_scope(|| {
        let a = black_box(Vec::<u8>::with_capacity(100));
        let b = black_box(Vec::<u8>::with_capacity(100));
        drop((a, b));
    });
    line_of(&span)
}

#[test]
fn a_span_is_a_site_with_exactly_what_its_code_did() {
    spans::install();
    let (line, report) = capture(|| {
        two_vectors();
        two_vectors();
        two_vectors()
    });
    let s = site(&report, "tracing_spans::two_vectors");
    assert_eq!((s.file.as_str(), s.line), (file!(), line));
    assert_eq!(s.calls, 3);
    let three_calls = AllocStats {
        allocs: 6,
        reallocs: 0,
        frees: 6,
        bytes_allocated: 600,
        bytes_freed: 600,
        peak_bytes: 200,
    };
    assert_eq!(s.inclusive, three_calls);
    assert_eq!(s.exclusive, three_calls.counts());
    assert_eq!(s.max_allocs_per_call, 2);
    assert_eq!(s.in_flight, 0);
}

#[test]
fn reallocs_frees_and_kept_bytes() {
    spans::install();
    let (kept, report) = capture(|| {
        info_span!("grow_and_keep").in_scope(|| {
            let mut v = Vec::<u8>::with_capacity(8);
            v.reserve_exact(16); // a realloc: 8 bytes given back, 16 asked for
            let keep = black_box(Vec::<u8>::with_capacity(40));
            drop(black_box(v));
            keep
        })
    });
    assert_eq!(kept.capacity(), 40);
    let s = site(&report, "tracing_spans::grow_and_keep");
    assert_eq!(s.calls, 1);
    assert_eq!(
        s.inclusive,
        AllocStats {
            allocs: 3,
            reallocs: 1,
            frees: 2,
            bytes_allocated: 8 + 16 + 40,
            bytes_freed: 8 + 16,
            // 16 and 40 live at once.
            peak_bytes: 56,
        }
    );
    assert_eq!(s.inclusive.net_bytes(), 40);
}

#[test]
fn every_enter_adds_to_the_span_and_its_close_is_the_call() {
    spans::install();
    let span = info_span!("three_enters");
    let mut kept: Vec<Box<[u8; 10]>> = Vec::with_capacity(3);
    let ((), open) = capture(|| {
        for _ in 0..3 {
            span.in_scope(|| kept.push(Box::new([0; 10])));
        }
    });
    // Entered three times, not closed: in flight, with its numbers so far.
    let s = site(&open, "tracing_spans::three_enters");
    assert_eq!((s.calls, s.in_flight), (0, 1));
    assert_eq!(
        s.inclusive,
        AllocStats {
            allocs: 3,
            reallocs: 0,
            frees: 0,
            bytes_allocated: 30,
            bytes_freed: 0,
            peak_bytes: 10, // the highest of one enter
        }
    );
    let ((), closed) = capture(|| drop(span));
    let s = site(&closed, "tracing_spans::three_enters");
    assert_eq!(s.calls, 1);
    assert_eq!(s.max_allocs_per_call, 3, "one call: all three enters");
    assert_eq!(s.inclusive.allocs, 0, "closing does nothing in the span");
    drop(kept);
}

#[test]
fn a_span_never_entered_is_no_call() {
    spans::install();
    let ((), report) = capture(|| drop(info_span!("never_entered")));
    let name = "tracing_spans::never_entered";
    assert!(report.sites().iter().all(|s| s.name != name));
    assert!(alloc_trace::report().sites().iter().all(|s| s.name != name));
}

#[test]
fn a_span_entered_again_while_entered_counts_once() {
    spans::install();
    let span = info_span!("entered_twice");
    let ((), report) = capture(|| {
        let _outer = span.enter();
        let a = black_box(Box::new(1u64));
        {
            let _inner = span.enter();
            drop(black_box(Box::new(2u64)));
        }
        drop(a);
    });
    let ((), closed) = capture(|| drop(span));
    let s = site(&report, "tracing_spans::entered_twice");
    assert_eq!(
        s.inclusive,
        AllocStats {
            allocs: 2,
            reallocs: 0,
            frees: 2,
            bytes_allocated: 16,
            bytes_freed: 16,
            peak_bytes: 16,
        }
    );
    assert_eq!(
        site(&closed, "tracing_spans::entered_twice").max_allocs_per_call,
        2,
        "the inner enter is not counted a second time"
    );
}

// ---------------------------------------------------------------------------------------
// Nesting with `#[track_allocs]`: one tree.

/// 10 bytes, then `tracked_middle` (20 bytes, and the span `inner`: 30 bytes).
fn outer() -> usize {
    info_span!("outer").in_scope(|| {
        let v = black_box(vec![0u8; 10]);
        tracked_middle() + v.len()
    })
}

#[track_allocs]
fn tracked_middle() -> usize {
    let v = black_box(vec![0u8; 20]);
    info_span!("inner").in_scope(|| black_box(vec![0u8; 30]).len()) + v.len()
}

const OUTER: &str = "tracing_spans::outer";
const MIDDLE: &str = "tracing_spans::outer;tracing_spans::tracked_middle";
const INNER: &str = "tracing_spans::outer;tracing_spans::tracked_middle;tracing_spans::inner";

/// `allocs` allocations of `bytes` in all, each freed.
fn freed(allocs: u64, bytes: u64) -> AllocCounts {
    AllocCounts {
        allocs,
        reallocs: 0,
        frees: allocs,
        bytes_allocated: bytes,
        bytes_freed: bytes,
    }
}

fn path<'r>(report: &'r Report, path: &str) -> &'r alloc_trace::report::PathStats {
    report
        .paths()
        .iter()
        .find(|p| p.path == path)
        .unwrap_or_else(|| panic!("no path {path}: {:#?}", report.paths()))
}

#[test]
fn span_then_tracked_function_then_span() {
    spans::install();
    let (n, report) = capture(outer);
    assert_eq!(n, 60);
    let outer = site(&report, "tracing_spans::outer");
    let middle = site(&report, "tracing_spans::tracked_middle");
    let inner = site(&report, "tracing_spans::inner");
    assert_eq!((outer.calls, middle.calls, inner.calls), (1, 1, 1));
    assert_eq!(outer.inclusive.counts(), freed(3, 60));
    assert_eq!(outer.exclusive, freed(1, 10));
    assert_eq!(middle.inclusive.counts(), freed(2, 50));
    assert_eq!(middle.exclusive, freed(1, 20));
    assert_eq!(inner.inclusive.counts(), freed(1, 30));
    assert_eq!(inner.exclusive, freed(1, 30));
    assert_eq!(path(&report, OUTER).exclusive, freed(1, 10));
    assert_eq!(path(&report, MIDDLE).exclusive, freed(1, 20));
    assert_eq!(path(&report, INNER).exclusive, freed(1, 30));
    assert_eq!(report.paths().len(), 3);
}

#[track_allocs]
fn tracked_outer() -> usize {
    info_span!("between").in_scope(tracked_leaf)
}

#[track_allocs]
fn tracked_leaf() -> usize {
    black_box(vec![0u8; 7]).len()
}

#[test]
fn tracked_function_then_span_then_tracked_function() {
    spans::install();
    let (n, report) = capture(tracked_outer);
    assert_eq!(n, 7);
    let leaf = "tracing_spans::tracked_outer;tracing_spans::between;tracing_spans::tracked_leaf";
    assert_eq!(path(&report, leaf).exclusive, freed(1, 7));
    assert_eq!(
        site(&report, "tracing_spans::between").inclusive.counts(),
        freed(1, 7)
    );
    assert_eq!(
        site(&report, "tracing_spans::between").exclusive,
        AllocCounts::default()
    );
}

#[test]
fn every_output_lists_the_spans() {
    spans::install();
    let (_, report) = capture(outer);

    let table = report.to_string();
    for name in ["tracing_spans::outer", "tracing_spans::inner"] {
        assert!(table.contains(name), "{name} in the table:\n{table}");
    }

    let folded = report.folded(FoldedWeight::Allocs);
    let lines: Vec<&str> = folded.lines().collect();
    for want in [
        format!("{OUTER} 1"),
        format!("{MIDDLE} 1"),
        format!("{INNER} 1"),
    ] {
        assert!(lines.contains(&want.as_str()), "{want} in:\n{folded}");
    }

    let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
    let inner = json["sites"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "tracing_spans::inner")
        .expect("the inner span in the JSON sites");
    assert_eq!(inner["calls"], 1);
    assert_eq!(inner["file"], file!());
    let paths: Vec<&str> = json["paths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["path"].as_str().unwrap())
        .collect();
    assert!(paths.contains(&INNER), "{paths:?}");

    // pprof: decoded by Google's protobuf runtime (skipped, saying why, without it).
    let file = export_support::TempFile::new("tracing-spans.pb.gz");
    alloc_trace::report::pprof::write(&report, file.path()).unwrap();
    let decoded = match export_support::python_decode(file.path()) {
        Ok(decoded) => decoded,
        Err(why) => return export_support::skipped("pprof of spans", &why),
    };
    let sample = decoded["samples"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| {
            let mut stack: Vec<String> = serde_json::from_value(s["stack"].clone()).unwrap();
            stack.reverse();
            stack.join(";") == INNER
        })
        .expect("a sample for the inner span's path");
    // allocs, bytes, reallocs, frees, bytes freed, net bytes
    assert_eq!(sample["values"], serde_json::json!([1, 30, 0, 1, 30, 0]));
    let function = decoded["functions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "tracing_spans::inner")
        .expect("the inner span is a function of the profile");
    assert_eq!(function["filename"], file!());
}

// ---------------------------------------------------------------------------------------
// Threads.

/// Enters `span` for the first time inside a tracked call: 11 bytes.
#[track_allocs]
fn hands_off(span: &Span) {
    span.in_scope(|| drop(black_box(vec![0u8; 11])));
}

#[test]
fn a_span_entered_again_on_another_thread_keeps_its_place_in_the_tree() {
    spans::install();
    let span = info_span!("migrating");
    hands_off(&span);
    // Entered again on a thread where no tracked call is running: 13 bytes, still under
    // `hands_off`, where the span was first entered.
    let moved = span.clone();
    thread::spawn(move || moved.in_scope(|| drop(black_box(vec![0u8; 13]))))
        .join()
        .unwrap();
    drop(span);

    let report = alloc_trace::report();
    let s = site(&report, "tracing_spans::migrating");
    assert_eq!(s.calls, 1);
    assert_eq!(s.inclusive.counts(), freed(2, 24));
    let paths: Vec<&str> = report
        .paths()
        .iter()
        .map(|p| p.path.as_str())
        .filter(|p| p.contains("migrating"))
        .collect();
    assert_eq!(paths, ["tracing_spans::hands_off;tracing_spans::migrating"]);
    assert_eq!(
        path(&report, "tracing_spans::hands_off;tracing_spans::migrating").exclusive,
        freed(2, 24)
    );
    let caller = site(&report, "tracing_spans::hands_off");
    assert_eq!(
        caller.inclusive.counts(),
        freed(2, 24),
        "the span is below it"
    );
    assert_eq!(caller.exclusive, AllocCounts::default());
}

#[test]
fn a_span_entered_on_two_threads_at_once() {
    spans::install();
    let span = info_span!("shared");
    thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| span.in_scope(|| drop(black_box(vec![0u8; 50]))));
        }
    });
    drop(span);
    let report = alloc_trace::report();
    let s = site(&report, "tracing_spans::shared");
    assert_eq!(s.calls, 1);
    assert_eq!(s.max_allocs_per_call, 2);
    assert_eq!(
        s.inclusive,
        AllocStats {
            peak_bytes: 50,
            ..freed(2, 100).with_peak(0)
        }
    );
}

// ---------------------------------------------------------------------------------------
// Misuse: numbers of the misused enters are lost, nothing else.

#[track_allocs]
fn drops_the_guard(guard: tracing::span::Entered<'_>) {
    drop(guard);
    drop(black_box(Box::new(4u8)));
}

#[track_allocs]
fn returns_a_guard(span: &Span) -> tracing::span::Entered<'_> {
    span.enter()
}

#[test]
fn out_of_order_exits_lose_those_enters_only() {
    spans::install();
    let a = info_span!("out_of_order_a");
    let b = info_span!("out_of_order_b");
    let ((), report) = capture(|| {
        let ga = a.enter();
        drop(black_box(Box::new(1u8)));
        let gb = b.enter();
        drop(black_box(Box::new(2u8)));
        drop(ga); // before `b`'s, which was entered after it
        drop(black_box(Box::new(3u8)));
        drop(gb);

        // A span exited inside a tracked call it encloses, and a tracked call that returns
        // while a span it entered is still entered.
        drop_the_guard_inside(&a);
        let g = returns_a_guard(&b);
        drop(black_box(Box::new(5u8)));
        drop(g);
    });
    // Everything is counted on the thread, somewhere.
    assert_eq!(report.totals().allocs, 5);
    drop((a, b));
    // And the next span is exact.
    let (_, after) = capture(two_vectors);
    let s = site(&after, "tracing_spans::two_vectors");
    assert_eq!((s.calls, s.inclusive.counts()), (1, freed(2, 200)));
}

fn drop_the_guard_inside(span: &Span) {
    drops_the_guard(span.enter());
}

// ---------------------------------------------------------------------------------------
// The README's example.

/// The README's tracing example is `ignore`d there (the README's doctests run without the
/// feature); it is the first example of `alloc_trace::tracing`'s docs, a doctest run with
/// it. This keeps the two the same.
#[test]
fn the_readme_example_is_the_module_doctest() {
    let readme = include_str!("../README.md");
    let section = &readme[readme.find("## Spans of `tracing` as sites").unwrap()..];
    let block = &section[section.find("```rust,ignore\n").unwrap() + "```rust,ignore\n".len()..];
    let block = &block[..block.find("```\n").unwrap()];

    let docs = include_str!("../alloc-trace/src/tracing/mod.rs");
    let example: String = docs
        .lines()
        .skip_while(|l| *l != "//! ```")
        .skip(1)
        .take_while(|l| *l != "//! ```")
        .map(|l| {
            format!(
                "{}\n",
                l.strip_prefix("//! ")
                    .unwrap_or(l.trim_start_matches("//!"))
            )
        })
        .collect();
    assert_eq!(block, example);
}

#[track_allocs]
fn after_a_forgotten_guard() -> usize {
    black_box(vec![0u8; 9]).len()
}

#[test]
fn a_forgotten_guard_ends_when_its_span_closes() {
    spans::install();
    let ((), report) = capture(|| {
        let span = info_span!("forgotten");
        std::mem::forget(span.enter());
        drop(black_box(Box::new(1u8)));
        drop(span); // closes it: its enter on this thread ends here, and counts
        after_a_forgotten_guard();
    });
    let s = site(&report, "tracing_spans::forgotten");
    assert_eq!((s.calls, s.inclusive.counts()), (1, freed(1, 1)));
    // The tracked call after the close is not nested under the closed span.
    assert_eq!(
        path(&report, "tracing_spans::after_a_forgotten_guard").exclusive,
        freed(1, 9)
    );
    let (_, after) = capture(two_vectors);
    let s = site(&after, "tracing_spans::two_vectors");
    assert_eq!((s.calls, s.inclusive.counts()), (1, freed(2, 200)));
}
