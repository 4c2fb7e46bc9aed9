//! The rows of issue 14 ("a tracked call that allocates costs as little as one that does
//! not; cost that never grows with depth, paths or sites") and its goals, checked.
//!
//! Every per-call row is "extra" over the same code without the measuring mechanism, in
//! the same binary (the `:base` entry of the same name), as the `call` rows are.

use std::fmt::Write as _;

use crate::numbers::{goal_row, median, show, show_spread};
use crate::run::Results;

const TRACKED: &str = "alloc-trace #[track_allocs]";
const BUDGETED: &str = "alloc-trace #[track_allocs(max_allocs)]";
const MEASURE: &str = "alloc_trace::measure";
const CAPTURE: &str = "alloc_trace::capture";
const ASSERT: &str = "alloc_trace::assert_allocs!";
const NOT_INSTALLED: &str = "alloc-trace #[track_allocs] (not installed)";

/// A group of per-call rows: its heading, what one operation is, and (workload, what the
/// row measures).
struct Group {
    title: &'static str,
    rows: &'static [(&'static str, &'static str)],
}

const GROUPS: &[Group] = &[
    Group {
        title: "Tracked calls that allocate (per call)",
        rows: &[
            ("alloc1", "allocates and frees a 32-byte block once"),
            ("alloc10", "the same, 10 times per call"),
            ("alloc100", "the same, 100 times per call"),
            ("alloc1-parent", "once, inside a tracked parent"),
        ],
    },
    Group {
        title: "Depth: every level allocates once (per tracked call)",
        rows: &[
            ("chain1", "chain of distinct functions, depth 1"),
            ("chain16", "chain, depth 16"),
            ("chain64", "chain, depth 64"),
            ("chain128", "chain, depth 128"),
            ("rec1", "one recursive function, depth 1"),
            ("rec16", "recursion, depth 16"),
            ("rec64", "recursion, depth 64"),
            ("rec128", "recursion, depth 128"),
        ],
    },
    Group {
        title: "Call paths: a tree whose outer function changes every call, each outer call \
                making 64 (or 128) inner calls, every call allocating once (per tracked call; \
                \"the limit\" is the old table's 16,384 paths: the table now grows to 16 \
                million)",
        rows: &[
            (
                "paths-half",
                "128 outer x 64 inner: 8,320 paths (half the limit)",
            ),
            (
                "paths-below",
                "252 outer x 64 inner: 16,380 paths (just below)",
            ),
            (
                "paths-past",
                "256 outer x 64 inner: 16,640 paths (just past)",
            ),
            (
                "paths-double",
                "256 outer x 128 inner: 33,024 paths (twice the limit)",
            ),
        ],
    },
    Group {
        title: "`async fn`, polled by hand with a no-op waker (per poll)",
        rows: &[
            ("poll", "a poll that does not allocate"),
            ("poll-alloc", "a poll that allocates and frees once"),
        ],
    },
    Group {
        title: "Handed-off work: a poll of a future marked with `in_current_site()` over the \
                same poll unmarked, polled by hand (per poll); `Handoff::run` of a closure over \
                the closure called (per run)",
        rows: &[
            ("poll-task", "a poll that does not allocate"),
            ("poll-task-alloc", "a poll that allocates and frees once"),
            ("handoff-run", "a run that does not allocate"),
            ("handoff-run-alloc", "a run that allocates and frees once"),
        ],
    },
    Group {
        title: "`tracked!` sites beside `#[track_allocs]`, over the same code untracked (per \
                call; the attribute's allocating call is the `alloc1` row)",
        rows: &[
            (
                "site-fn",
                "`#[track_allocs]` function that does not allocate",
            ),
            (
                "site-block",
                "the same function, its body a `tracked!` block",
            ),
            (
                "site-closure",
                "a `tracked!` closure that does not allocate",
            ),
            (
                "site-block-alloc",
                "a `tracked!` block that allocates and frees once",
            ),
        ],
    },
    Group {
        title: "Measuring one call that allocates once (per call)",
        rows: &[(
            "measure-alloc",
            "`measure()` (or the peer's equivalent) around the call",
        )],
    },
    Group {
        title: "Budgets: the same allocating call with `max_allocs = 4` (kept), over it \
                tracked without a budget (per call; `budgets-in-release` on)",
        rows: &[
            ("budget-16", "this thread's site table: 16 entries"),
            (
                "budget-1k",
                "1,024 entries (1,000-site binary, every site called)",
            ),
        ],
    },
    Group {
        title: "`capture()` / `assert_allocs!` of a closure making one tracked call that \
                allocates, over the call alone (per call)",
        rows: &[
            ("capture-small", "capture(), contender_alloc_trace's sites"),
            (
                "assert-small",
                "assert_allocs!, contender_alloc_trace's sites",
            ),
            ("capture-1k", "capture(), 1,000-site binary"),
            ("assert-1k", "assert_allocs!, 1,000-site binary"),
            ("capture-10k", "capture(), 10,000-site binary"),
            ("assert-10k", "assert_allocs!, 10,000-site binary"),
        ],
    },
    Group {
        title: "A new thread making one tracked call that allocates, over a new thread making \
                it untracked (per thread; the thread's exit is not counted)",
        rows: &[
            ("thread-site1-10k", "10,000-site binary, site id 1"),
            ("thread-site10k-10k", "10,000-site binary, site id 10,000"),
            ("thread-last-100k", "100,000-site binary, site id 100,000"),
        ],
    },
];

/// Memory readings: (workload, what, how).
const MEMORY_ROWS: &[(&str, &str, &str)] = &[
    (
        "tables-site1-10k",
        "a new thread after one tracked call, 10,000-site binary, site id 1",
        HEAP,
    ),
    ("tables-site10k-10k", "the same, site id 10,000", HEAP),
    (
        "tables-last-100k",
        "a new thread after one tracked call, 100,000-site binary, site id 100,000",
        HEAP,
    ),
    (
        "tables-every-100k",
        "a new thread after calling every site of the 100,000-site binary once",
        HEAP,
    ),
    (
        "rss-10k-threads",
        "10,000 threads, one after another, each made one tracked call; `CountingAlloc` not \
         the global allocator",
        RSS,
    ),
    ("rss-40k-threads", "the same, 40,000 threads", RSS),
];

const HEAP: &str = "heap in use (glibc `mallinfo2`: `uordblks + hblkhd`, chunk headers \
                    included) on the thread after the call minus before it, the thread alive \
                    and alone; baseline: the same calls untracked";
const RSS: &str = "peak resident set (`VmHWM`) of a process of its own at the end; baseline: \
                   the same threads calling the function untracked";

fn extra_instr(r: &Results, contender: &str, workload: &str) -> Option<f64> {
    r.extra_call_instr(contender, workload)
}

fn extra_ns(r: &Results, contender: &str, workload: &str) -> Option<(f64, f64, f64)> {
    r.extra_ns(contender, workload)
}

/// Instructions, with thousands separators above 10,000 and a sign if `sign`.
fn instr(v: Option<f64>, sign: bool) -> String {
    match v {
        Some(x) if x.abs() >= 10_000.0 => {
            let digits = format!("{:.0}", x.abs());
            let mut grouped = String::new();
            for (i, c) in digits.chars().enumerate() {
                if i > 0 && (digits.len() - i) % 3 == 0 {
                    grouped.push(',');
                }
                grouped.push(c);
            }
            let s = if x < 0.0 {
                "-"
            } else if sign {
                "+"
            } else {
                ""
            };
            format!("{s}{grouped}")
        }
        other => show(other, 1, sign),
    }
}

fn bytes(v: Option<f64>) -> String {
    match v {
        None => "n/a".to_owned(),
        Some(b) if b.abs() >= 1024.0 * 1024.0 => format!("{:.1} MiB", b / (1024.0 * 1024.0)),
        Some(b) if b.abs() >= 1024.0 => format!("{:.1} KiB", b / 1024.0),
        Some(b) => format!("{b:.0} B"),
    }
}

/// The number of sites a binary printed (`INFO sites:<binary>`).
fn sites(r: &Results, binary: &str) -> String {
    r.info
        .get(&format!("sites:{binary}"))
        .cloned()
        .unwrap_or_else(|| "?".to_owned())
}

/// The issue-14 tables (only the rows that were measured).
pub fn tables(w: &mut String, r: &Results) {
    let measured = GROUPS
        .iter()
        .flat_map(|g| g.rows)
        .any(|(wl, _)| r.entries.iter().any(|e| e.workload == *wl))
        || !r.memory.is_empty();
    if !measured {
        return;
    }
    let _ = writeln!(
        w,
        "### Issue 14: allocating calls, depth, call paths, polls, sites, threads\n\n\
         Extra: over the same code without the mechanism, in the same binary. Sites: \
         contender_alloc_trace_calls has {}, the site-count binaries {}, {} and {}.\n",
        sites(r, "contender_alloc_trace_calls"),
        sites(r, "sites_1k"),
        sites(r, "report_sites"),
        sites(r, "sites_100k"),
    );
    for g in GROUPS {
        let rows: Vec<_> = g
            .rows
            .iter()
            .filter(|(wl, _)| r.entries.iter().any(|e| e.workload == *wl))
            .collect();
        if rows.is_empty() {
            continue;
        }
        let _ = writeln!(
            w,
            "#### {}\n\n| row | mechanism | extra instructions | extra ns | plain: ns / instructions |\n\
             | --- | --- | ---: | ---: | ---: |",
            g.title
        );
        for (wl, what) in rows {
            for c in r.contenders() {
                if !r.has(&c, wl) {
                    continue;
                }
                let base = format!("{wl}:base");
                let base_ns = r.times(&c, &base).and_then(|t| median(&mut t.clone()));
                let _ = writeln!(
                    w,
                    "| {what} | {c} | {} | {} | {} / {} |",
                    instr(extra_instr(r, &c, wl), true),
                    show_spread(extra_ns(r, &c, wl), 1, r.rounds),
                    show(base_ns, 1, false),
                    instr(r.instr(&c, &base), false),
                );
            }
        }
        let _ = writeln!(w);
    }
    let _ = writeln!(
        w,
        "Peers without the operation: allocation-counter, stats_alloc and dhat have no \
         per-function attribute (only a measurement around code: the `measure-alloc` row); \
         hotpath panics at 64 nested measured functions on a thread (\"more than 64 nested \
         measured functions on one thread in alloc mode\", unless rebuilt with \
         `HOTPATH_ALLOC_MAX_DEPTH`), so it has no depth-64 or depth-128 rows; alloc_tracker has no per-poll span (a span is a guard \
         on one thread's stack), and none of the peers has call paths, a per-closure report of sites like `capture()`, \
         budgets, or per-thread site tables.\n"
    );
    let mem: Vec<_> = MEMORY_ROWS
        .iter()
        .filter(|(wl, ..)| r.memory.keys().any(|(_, m)| m == wl))
        .collect();
    if mem.is_empty() {
        return;
    }
    let _ = writeln!(
        w,
        "#### Memory (one reading each, outside callgrind)\n\n\
         | reading | measured | baseline | extra | how |\n| --- | ---: | ---: | ---: | --- |"
    );
    for (wl, what, how) in mem {
        let c = if wl.starts_with("rss-") {
            NOT_INSTALLED
        } else {
            TRACKED
        };
        let (v, b) = memory(r, c, wl);
        let _ = writeln!(
            w,
            "| {what} | {} | {} | {} | {how} |",
            bytes(v),
            bytes(b),
            bytes(v.zip(b).map(|(v, b)| v - b)),
        );
    }
    let _ = writeln!(w);
}

/// A memory reading and its baseline.
fn memory(r: &Results, contender: &str, workload: &str) -> (Option<f64>, Option<f64>) {
    let get = |wl: &str| {
        r.memory
            .get(&(contender.to_owned(), wl.to_owned()))
            .copied()
    };
    (get(workload), get(&format!("{workload}:base")))
}

/// The goals of issue 14, checked.
pub fn goals(w: &mut String, r: &Results) {
    let _ = writeln!(
        w,
        "### Goals of issue 14\n\n| goal | measured | |\n| --- | --- | --- |"
    );
    for wl in ["alloc1", "alloc10", "alloc100", "alloc1-parent"] {
        let x = extra_instr(r, TRACKED, wl);
        goal_row(
            w,
            &format!("allocating call ≤ +60 beyond the allocations themselves ({wl})"),
            instr(x, true),
            x.map(|x| x <= 60.0),
        );
    }
    for (kind, one, deep) in [
        ("chain", "chain1", "chain128"),
        ("recursion", "rec1", "rec128"),
    ] {
        let (a, b) = (extra_instr(r, TRACKED, one), extra_instr(r, TRACKED, deep));
        goal_row(
            w,
            &format!("{kind}: depth 128 within 10% of depth 1 (extra per call)"),
            format!("{} vs {}", instr(b, true), instr(a, true)),
            a.zip(b).map(|(a, b)| b <= a * 1.1),
        );
    }
    let (half, below, past) = (
        extra_instr(r, TRACKED, "paths-half"),
        extra_instr(r, TRACKED, "paths-below"),
        extra_instr(r, TRACKED, "paths-past"),
    );
    goal_row(
        w,
        "no cliff at the path limit: just below it within 10% of half of it",
        format!("{} vs {}", instr(below, true), instr(half, true)),
        below.zip(half).map(|(b, h)| b <= h * 1.1),
    );
    for (wl, x) in [
        ("just past", past),
        ("twice", extra_instr(r, TRACKED, "paths-double")),
    ] {
        goal_row(
            w,
            &format!("past the path limit ({wl}) no more than just below it"),
            format!("{} vs {}", instr(x, true), instr(below, true)),
            x.zip(below).map(|(p, b)| p <= b),
        );
    }
    for (wl, max, what) in [
        ("poll", 40.0, "non-allocating"),
        ("poll-alloc", 60.0, "allocating"),
    ] {
        let x = extra_instr(r, TRACKED, wl);
        goal_row(
            w,
            &format!("async poll ≤ +{max} ({what})"),
            instr(x, true),
            x.map(|x| x <= max),
        );
    }
    for (c, wl) in [(CAPTURE, "capture-10k"), (ASSERT, "assert-10k")] {
        let x = extra_instr(r, c, wl);
        goal_row(
            w,
            &format!(
                "{c} ≤ 2,000 instructions for a closure making one tracked call, 10,000-site binary"
            ),
            instr(x, true),
            x.map(|x| x <= 2_000.0),
        );
    }
    for (wl, what) in [("call", "non-allocating"), ("measure-alloc", "allocating")] {
        let x = extra_instr(r, MEASURE, wl);
        goal_row(
            w,
            &format!("measure() ≤ +40 ({what} closure)"),
            instr(x, true),
            x.map(|x| x <= 40.0),
        );
    }
    for wl in ["budget-16", "budget-1k"] {
        let x = extra_instr(r, BUDGETED, wl);
        goal_row(
            w,
            &format!("budgeted call ≤ +20 over the same call unbudgeted ({wl})"),
            instr(x, true),
            x.map(|x| x <= 20.0),
        );
    }
    let (v, b) = memory(r, TRACKED, "tables-last-100k");
    let held = v.zip(b).map(|(v, b)| v - b);
    goal_row(
        w,
        "a thread calling one site of a 100,000-site binary holds a few KiB (read: ≤ 8 KiB)",
        bytes(held),
        held.map(|x| x <= 8.0 * 1024.0),
    );
    let x = extra_instr(r, TRACKED, "thread-last-100k");
    goal_row(
        w,
        "a thread calling one site of a 100,000-site binary pays a few thousand instructions (read: ≤ 5,000)",
        instr(x, true),
        x.map(|x| x <= 5_000.0),
    );
    let churn = r.extra_instr("alloc-trace", "churn");
    goal_row(
        w,
        "held: churn ≤ +18 per pair",
        show(churn, 1, true),
        churn.map(|x| x <= 18.0),
    );
    let call = r.extra_call_instr(TRACKED, "call");
    goal_row(
        w,
        "held: non-allocating tracked call ≤ +39",
        show(call, 1, true),
        call.map(|x| x <= 39.0),
    );
    let ms = r
        .times("alloc-trace", "report-10k")
        .and_then(|t| median(&mut t.clone()))
        .map(|ns| ns / 1e6);
    goal_row(
        w,
        "held: report of 10,000 sites ≤ 10 ms",
        format!("{} ms", show(ms, 2, false)),
        ms.map(|x| x <= 10.0),
    );
    let _ = writeln!(
        w,
        "\nNo goal is set for the threads made while `CountingAlloc` is not installed; the \
         memory table shows them.\n"
    );
}
