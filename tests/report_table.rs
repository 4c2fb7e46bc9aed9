//! The report as a table: the exact text for a known capture, the options, and that
//! printing it allocates nothing.

use std::fmt::{self, Write as _};

use alloc_trace::report::SortBy;

#[path = "support/report_fixture.rs"]
mod fixture;

#[global_allocator]
static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();

fn captured() -> alloc_trace::Report {
    alloc_trace::capture(fixture::run).1
}

/// The rows of the functions, in order.
fn rows(table: &str) -> Vec<&str> {
    table
        .lines()
        .filter(|l| l.contains("report_table::fixture::"))
        .collect()
}

#[test]
fn golden_table() {
    let report = captured();
    println!("{report}");
    // Numbers derived in support/report_fixture.rs: handle 30 allocs (10 of them reallocs),
    // 1960 bytes, peak 164, excl% 10/34; parse 20 allocs (10 reallocs), 960 bytes, a net
    // 64 bytes returned per call, excl% 20/34; remember 3 allocs of 1000 bytes, all left
    // allocated, excl% 3/34; outside 1/34.
    let expected = "\
alloc-trace report (one closure, on the calling thread); tracked functions by allocs, largest first
  allocs = requests for a block (alloc, alloc_zeroed, realloc: Go's allocs/op), nested tracked calls included
  a realloc counts in the function that makes it (dhat books it where the block was first allocated)
  bytes = bytes requested; net = allocated minus freed during the calls (a returned value counts)
  peak = most live bytes one call reached above its start; excl% = own share of all allocs

calls  allocs  allocs/call  reallocs    bytes  bytes/call       net  net/call     peak  excl%  function
   10      30            3        10  1.9 KiB       196 B       0 B       0 B    164 B  29.4%  report_table::fixture::handle
   10      20            2        10    960 B        96 B     640 B      64 B     64 B  58.8%  report_table::fixture::parse
    3       3            1         0  2.9 KiB      1000 B   2.9 KiB    1000 B   1000 B   8.8%  report_table::fixture::remember
-------------------------------------------------------------------------------------------------------
           34                     10  4.9 KiB                   0 B            3.0 KiB         TOTAL (this capture)
            1                      0     32 B              -2.9 KiB                      2.9%  (outside tracked functions)
note: net is negative outside tracked functions: code there freed memory that tracked functions allocated (e.g. a value one returned, dropped by an untracked caller) or that existed before the capture
".to_owned();
    assert_eq!(report.to_string(), expected);
    assert_eq!(
        report.table().to_string(),
        expected,
        "Display of Report is the default table"
    );
}

#[test]
fn sort_orders() {
    let report = captured();
    let order = |column| {
        let table = report.table().sort_by(column).to_string();
        assert!(
            table.contains(&format!("tracked functions by {column:?}").to_lowercase()),
            "{table}"
        );
        rows(&table)
            .iter()
            .map(|r| r.rsplit("::").next().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(order(SortBy::Allocs), ["handle", "parse", "remember"]); // 30, 20, 3
    assert_eq!(order(SortBy::Bytes), ["remember", "handle", "parse"]); // 3000, 1960, 960
    assert_eq!(order(SortBy::Net), ["remember", "parse", "handle"]); // 3000, 640, 0
    assert_eq!(order(SortBy::Peak), ["remember", "handle", "parse"]); // 1000, 164, 64
    assert_eq!(order(SortBy::Calls), ["handle", "parse", "remember"]); // 10, 10 (tie: report order), 3
}

#[test]
fn top_n_and_uncalled_sites() {
    let report = captured();
    let top = report.table().top(1).to_string();
    assert_eq!(rows(&top).len(), 1, "{top}");
    assert!(rows(&top)[0].ends_with("::handle"));
    assert!(
        top.contains("\n... 2 more tracked functions not shown (top 1)\n"),
        "{top}"
    );

    // Every function linked in is known to a process-wide report: `never_called` too.
    let process = alloc_trace::report();
    let uncalled = process.sites().iter().filter(|s| s.calls == 0).count();
    assert!(uncalled >= 1, "never_called is linked in");
    let listed = process.table().to_string();
    assert!(
        listed.contains(&format!("\n{uncalled} tracked function")),
        "{listed}"
    );
    let all = process.table().show_uncalled(true).to_string();
    let never = rows(&all)
        .into_iter()
        .find(|r| r.ends_with("::never_called"))
        .expect("listed");
    // With the ownership view the table has two more columns of bytes (held at the peak
    // and now).
    let expected = if cfg!(feature = "ownership") {
        "0 0 0 0 0 B 0 B 0 B 0 B 0 B 0 B 0 B 0.0% report_table::fixture::never_called"
    } else {
        "0 0 0 0 0 B 0 B 0 B 0 B 0 B 0.0% report_table::fixture::never_called"
    };
    assert_eq!(
        never.split_whitespace().collect::<Vec<_>>().join(" "),
        expected
    );
    assert!(!all.contains("never called (not shown)"), "{all}");

    let sorted_top = report.table().sort_by(SortBy::Bytes).top(2).to_string();
    let names: Vec<_> = rows(&sorted_top)
        .iter()
        .map(|r| r.rsplit("::").next().unwrap())
        .collect();
    assert_eq!(names, ["remember", "handle"]);
    assert!(
        sorted_top.contains("... 1 more tracked function not shown (top 2)"),
        "{sorted_top}"
    );
}

/// A writer that keeps only a length: formatting into it reveals any allocation the
/// formatting code itself makes.
struct Discard(usize);

impl fmt::Write for Discard {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0 += s.len();
        Ok(())
    }
}

#[test]
fn printing_allocates_nothing() {
    let report = captured();
    let expected_len = report.to_string().len();
    let ((), stats) = alloc_trace::measure(|| {
        let mut out = Discard(0);
        write!(out, "{report}").unwrap();
        assert_eq!(out.0, expected_len);
    });
    assert_eq!(stats.allocs, 0, "{stats}");

    let table = report
        .table()
        .sort_by(SortBy::Peak)
        .top(2)
        .show_uncalled(true);
    let ((), stats) = alloc_trace::measure(|| write!(Discard(0), "{table}").unwrap());
    assert_eq!(stats.allocs, 0, "{stats}");
}

#[test]
fn top_zero_says_how_many_it_hid() {
    let report = captured();
    let text = report.table().top(0).to_string();
    assert!(rows(&text).is_empty(), "{text}");
    assert!(!text.contains("no tracked function was called"), "{text}");
    assert!(
        text.contains("\n... 3 more tracked functions not shown (top 0)\n"),
        "{text}"
    );
}

#[test]
fn a_capture_with_no_tracked_call_says_so() {
    let (_, report) = alloc_trace::capture(|| std::hint::black_box(Box::new(5u32)));
    let text = report.to_string();
    assert!(
        text.contains("\n  (no tracked function was called)\n"),
        "{text}"
    );
    assert!(
        text.contains("100.0%  (outside tracked functions)"),
        "{text}"
    );
}
