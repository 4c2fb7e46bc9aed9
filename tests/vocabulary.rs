//! One word, one number: a workload with reallocations and frees, read through every
//! surface of the crate (`measure`, a capture's site and totals, the table's cells, the
//! JSON keys, `assert_allocs!` fields and its message, a `max_allocs` budget, folded
//! weights, `allocs_per_run`), and every surface gives the same number for the same word.
//!
//! The numbers are derived once, by hand, from how `Vec` and `String` grow (see
//! [`workload`]); every check below compares with these constants.

use std::hint::black_box;

use alloc_trace::report::FoldedWeight;
use alloc_trace::{AllocCounts, AllocStats, assert_allocs, capture, measure, track_allocs};
use serde_json::Value;

#[global_allocator]
static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();

#[path = "support/panics.rs"]
mod panics;
#[path = "support/sites.rs"]
mod sites;

use panics::{expect_panic, panic_message};
use sites::{site, site_line};

/// Budgets are checked in debug builds, and in release only with `budgets-in-release`.
const BUDGETS_ON: bool = cfg!(debug_assertions) || alloc_trace::__private::BUDGETS_IN_RELEASE;

const WORKLOAD: &str = "vocabulary::workload";

/// Requests for a block: the `Vec`'s alloc and 1 realloc, the `String`'s alloc and 2
/// reallocs, the scratch buffer, the box.
const ALLOCS: u64 = 2 + 3 + 1 + 1;
/// How many of the `ALLOCS` were reallocs: the `Vec`'s 1 and the `String`'s 2.
const REALLOCS: u64 = 1 + 2;
/// Blocks given back: the 3 old blocks the reallocs replaced, the scratch buffer, the box.
const FREES: u64 = 3 + 1 + 1;
/// The `Vec`: 32 + 64; the `String`: 8 + 16 + 32; the scratch buffer 100; the box 4.
const BYTES_ALLOCATED: u64 = (32 + 64) + (8 + 16 + 32) + 100 + 4;
/// The old blocks: 32 (the `Vec`'s) and 8 + 16 (the `String`'s); the buffer; the box.
const BYTES_FREED: u64 = 32 + (8 + 16) + 100 + 4;
/// What the call returns: the `Vec`'s 64 bytes and the `String`'s 32.
const NET_BYTES: i64 = 64 + 32;
/// The `Vec` (64) and the `String` (32) live when the 100-byte buffer is allocated.
const PEAK_BYTES: u64 = 64 + 32 + 100;

const EXPECTED: AllocStats = AllocStats {
    allocs: ALLOCS,
    reallocs: REALLOCS,
    frees: FREES,
    bytes_allocated: BYTES_ALLOCATED,
    bytes_freed: BYTES_FREED,
    peak_bytes: PEAK_BYTES,
};

/// The workload:
/// - a `Vec<u64>` grown by 5 pushes: capacity 4 (an alloc of 32 B), then 8 (a realloc
///   32 -> 64 B, which gives back the old block);
/// - a `String` grown by ten 3-byte pushes: capacity 8 (an alloc), 16 and 32 (2 reallocs,
///   each giving back the block before);
/// - a 100-byte scratch buffer and a 4-byte box, each allocated and freed.
///
/// It returns the `Vec` and the `String`: 2 blocks (`allocs - frees`) and 96 bytes
/// (`net_bytes`) left allocated.
#[track_allocs]
fn workload() -> (Vec<u64>, String) {
    let mut v = Vec::new();
    for i in 0..5 {
        v.push(black_box(i));
    }
    let mut s = String::new();
    for _ in 0..10 {
        s.push_str(black_box("abc"));
    }
    drop(black_box(vec![0u8; 100]));
    drop(black_box(Box::new(1u32)));
    (v, s)
}

/// Exactly at its budget: the workload's allocs.
#[track_allocs(max_allocs = 7)]
fn at_budget() -> (Vec<u64>, String) {
    workload()
}

/// One under the workload's allocs.
#[track_allocs(max_allocs = 6)]
fn over_budget() -> (Vec<u64>, String) {
    workload()
}

#[test]
fn the_derivation_adds_up() {
    assert_eq!(
        (ALLOCS, REALLOCS, FREES, BYTES_ALLOCATED, BYTES_FREED),
        (7, 3, 5, 256, 160)
    );
    assert_eq!(ALLOCS - FREES, 2, "the Vec and the String are left");
    assert_eq!(EXPECTED.net_bytes(), NET_BYTES);
    let (v, s) = workload();
    assert_eq!((v.capacity(), s.capacity()), (8, 32));
}

#[test]
fn measure_and_its_display() {
    let (kept, stats) = measure(|| black_box(workload()));
    assert_eq!(stats, EXPECTED);
    assert_eq!(stats.net_bytes(), NET_BYTES);
    assert_eq!(
        stats.to_string(),
        format!(
            "{ALLOCS} allocs ({REALLOCS} reallocs), {FREES} frees; {BYTES_ALLOCATED} B allocated, \
             {BYTES_FREED} B freed, net {NET_BYTES} B, peak {PEAK_BYTES} B"
        )
    );
    drop(kept);
}

#[test]
fn the_site_and_the_capture_totals() {
    let (kept, report) = capture(|| black_box(workload()));
    let s = site(&report, WORKLOAD);
    assert_eq!(s.calls, 1);
    assert_eq!(s.inclusive, EXPECTED);
    assert_eq!(
        s.exclusive,
        (AllocStats {
            peak_bytes: 0,
            ..EXPECTED
        })
        .counts()
    );
    assert_eq!(s.max_allocs_per_call, ALLOCS);
    assert_eq!(s.allocs_per_call(), ALLOCS as f64);
    assert_eq!(s.net_bytes_per_call(), NET_BYTES as f64);
    assert_eq!(report.totals(), EXPECTED.counts());
    assert_eq!(report.in_tracked(), EXPECTED.counts());
    assert_eq!(report.outside_tracked(), AllocCounts::default());
    assert_eq!(report.peak_bytes(), Some(PEAK_BYTES));
    drop(kept);
}

/// The cell of `column` in the row of `function`. Cells are right-aligned under their
/// headers, so a column ends where its header ends, and starts after the one before.
fn cell<'t>(table: &'t str, function: &str, column: &str) -> &'t str {
    let header = table
        .lines()
        .find(|l| l.starts_with("calls "))
        .unwrap_or_else(|| panic!("no header:\n{table}"));
    let row = table
        .lines()
        .find(|l| l.ends_with(&format!("  {function}")))
        .unwrap_or_else(|| panic!("no row for {function}:\n{table}"));
    let mut end = 0;
    for name in header.split_whitespace() {
        let start = end;
        end = header[start..].find(name).unwrap() + start + name.len();
        if name == column {
            return row[start..end].trim();
        }
    }
    panic!("no column {column:?}:\n{table}")
}

/// A byte count the table shows in bytes (under 1 KiB).
fn bytes(cell: &str) -> i64 {
    cell.strip_suffix(" B")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("not a byte count: {cell:?}"))
}

#[test]
fn the_table() {
    let (kept, report) = capture(|| black_box(workload()));
    let table = report.to_string();
    let row = |column| cell(&table, WORKLOAD, column);
    assert_eq!(row("calls"), "1");
    assert_eq!(row("allocs").parse::<u64>().unwrap(), ALLOCS, "{table}");
    assert_eq!(
        row("allocs/call").parse::<u64>().unwrap(),
        ALLOCS,
        "{table}"
    );
    assert_eq!(row("reallocs").parse::<u64>().unwrap(), REALLOCS, "{table}");
    assert_eq!(bytes(row("bytes")), BYTES_ALLOCATED as i64, "{table}");
    assert_eq!(bytes(row("net")), NET_BYTES, "{table}");
    assert_eq!(bytes(row("net/call")), NET_BYTES, "{table}");
    assert_eq!(bytes(row("peak")), PEAK_BYTES as i64, "{table}");
    assert_eq!(row("excl%"), "100.0%", "{table}");
    let total = |column| cell(&table, "TOTAL (this capture)", column);
    assert_eq!(total("allocs").parse::<u64>().unwrap(), ALLOCS, "{table}");
    assert_eq!(
        total("reallocs").parse::<u64>().unwrap(),
        REALLOCS,
        "{table}"
    );
    assert_eq!(bytes(total("net")), NET_BYTES, "{table}");
    assert_eq!(bytes(total("peak")), PEAK_BYTES as i64, "{table}");
    drop(kept);
}

#[test]
fn the_json() {
    let (kept, report) = capture(|| black_box(workload()));
    let v: Value = serde_json::from_str(&report.to_json()).unwrap();
    let s = v["sites"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == WORKLOAD)
        .unwrap();
    let inclusive = &s["inclusive"];
    for (key, expected) in [
        ("allocs", Value::from(ALLOCS)),
        ("reallocs", Value::from(REALLOCS)),
        ("frees", Value::from(FREES)),
        ("bytes_allocated", Value::from(BYTES_ALLOCATED)),
        ("bytes_freed", Value::from(BYTES_FREED)),
        ("net_bytes", Value::from(NET_BYTES)),
        ("peak_bytes", Value::from(PEAK_BYTES)),
    ] {
        assert_eq!(inclusive[key], expected, "sites[].inclusive.{key}");
    }
    assert_eq!(s["exclusive"]["allocs"], ALLOCS);
    assert_eq!(s["calls"], 1);
    assert_eq!(s["max_allocs_per_call"], ALLOCS);
    assert_eq!(s["allocs_per_call"], ALLOCS as f64);
    assert_eq!(s["net_bytes_per_call"], NET_BYTES as f64);
    assert_eq!(s["excl_share"], 1.0);
    for key in ["totals", "in_tracked"] {
        let counts = &v[key];
        assert_eq!(
            (
                &counts["allocs"],
                &counts["reallocs"],
                &counts["frees"],
                &counts["net_bytes"]
            ),
            (
                &Value::from(ALLOCS),
                &Value::from(REALLOCS),
                &Value::from(FREES),
                &Value::from(NET_BYTES)
            ),
            "{key}"
        );
    }
    assert_eq!(v["outside_tracked"]["allocs"], 0);
    assert_eq!(v["peak_bytes"], PEAK_BYTES);
    assert_eq!(v["paths"][0]["path"], WORKLOAD);
    assert_eq!(v["paths"][0]["exclusive"]["allocs"], ALLOCS);
    assert_eq!(v["paths"][0]["exclusive"]["frees"], FREES);
    drop(kept);
}

#[test]
fn the_assertion() {
    let (v, s) = assert_allocs!(
        workload(),
        allocs == ALLOCS,
        reallocs == REALLOCS,
        frees == FREES,
        bytes_allocated == BYTES_ALLOCATED,
        bytes_freed == BYTES_FREED,
        net_bytes == NET_BYTES,
        peak_bytes == PEAK_BYTES,
    );
    assert_eq!((v.len(), s.len()), (5, 30));

    let m = expect_panic(|| drop(assert_allocs!(workload(), allocs == ALLOCS - 1)));
    assert!(
        m.contains(&format!(
            "\n    allocs == ALLOCS - 1  expected == {}, actual {ALLOCS}  <- FAILED\n",
            ALLOCS - 1
        )),
        "{m}"
    );
    assert!(
        m.contains(&format!(
            "\n  stats: {ALLOCS} allocs ({REALLOCS} reallocs), {FREES} frees; {BYTES_ALLOCATED} B \
             allocated, {BYTES_FREED} B freed, net {NET_BYTES} B, peak {PEAK_BYTES} B\n"
        )),
        "{m}"
    );
    let m = expect_panic(|| drop(assert_allocs!(workload(), frees == FREES + 1)));
    assert!(
        m.contains(&format!(
            "\n    frees == FREES + 1  expected == {}, actual {FREES}  <- FAILED\n",
            FREES + 1
        )),
        "{m}"
    );
}

#[test]
fn the_budget_passes_at_allocs_and_fails_one_below() {
    // `max_allocs = 7`: the call makes exactly 7 allocs, reallocs included.
    let ((v, s), stats) = measure(at_budget);
    assert_eq!((v.len(), s.len()), (5, 30));
    assert_eq!(stats, EXPECTED);

    let message = panic_message(|| drop(over_budget()));
    if !BUDGETS_ON {
        assert_eq!(message, None);
        return;
    }
    let file = file!();
    let expected = format!(
        "alloc-trace: `vocabulary::over_budget` ({file}:{over}) exceeded its allocation budget \
         (max_allocs = 6): {ALLOCS} allocs ({REALLOCS} reallocs), {FREES} frees; \
         {BYTES_ALLOCATED} B allocated, {BYTES_FREED} B freed, net {NET_BYTES} B, peak {PEAK_BYTES} B\n\
         \x20 max_allocs = 6: the call made {ALLOCS} allocs (reallocs included, nested calls included)  <- OVER\n\
         \x20 the function itself: 0 allocs (0 reallocs), 0 bytes allocated (nested tracked calls excluded)\n\
         \x20 nested tracked calls during this call:\n\
         \x20   {WORKLOAD} ({file}:{workload}): 1 call, {ALLOCS} allocs ({REALLOCS} reallocs), \
         {BYTES_ALLOCATED} bytes allocated\n",
        over = site_line("vocabulary::over_budget"),
        workload = site_line(WORKLOAD),
    );
    assert_eq!(message.as_deref(), Some(&*expected));
}

#[test]
fn folded_weights_and_allocs_per_run() {
    let (kept, report) = capture(|| black_box(workload()));
    assert_eq!(
        report.folded(FoldedWeight::Allocs),
        format!("{WORKLOAD} {ALLOCS}\n")
    );
    assert_eq!(
        report.folded(FoldedWeight::Bytes),
        format!("{WORKLOAD} {BYTES_ALLOCATED}\n")
    );
    drop(kept);
    assert_eq!(
        alloc_trace::allocs_per_run(10, || drop(black_box(workload()))),
        ALLOCS as f64
    );
}
