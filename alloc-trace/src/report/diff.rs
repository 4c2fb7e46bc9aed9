//! Two reports compared: per site, how calls, allocs/call, bytes/call and net/call
//! changed ([`Report::diff`], [`ReportDiff`]), as a table or markdown, and the folded
//! lines of a differential flamegraph ([`Report::folded_diff`]).

use core::cmp::Ordering;
use core::fmt::{self, Write as _};
use std::collections::BTreeMap;

use super::cell::{Cell, Num};
use super::{FoldedWeight, OUTSIDE_FRAME, Report, SiteStats};
use crate::stats::Bytes;

/// What a diff compares of one site, and what a baseline keeps: exact totals over the
/// site's calls, nested tracked calls included, from which the per-call rates follow.
///
/// ```
/// # #[global_allocator]
/// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
/// #[alloc_trace::track_allocs]
/// fn two() -> (Box<u8>, Box<u8>) {
///     (Box::new(1), Box::new(2))
/// }
///
/// let (_, report) = alloc_trace::capture(|| std::hint::black_box(two()));
/// let rates = alloc_trace::report::SiteRates::of(report.site("two").unwrap());
/// assert_eq!((rates.calls, rates.allocs, rates.bytes_allocated, rates.net_bytes), (1, 2, 2, 2));
/// assert_eq!(rates.allocs_per_call(), 2.0);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct SiteRates {
    /// Completed calls.
    pub calls: u64,
    /// `allocs` of the calls (reallocs included), nested tracked calls included.
    pub allocs: u64,
    /// Bytes the calls requested.
    pub bytes_allocated: u64,
    /// Bytes the calls allocated minus bytes they freed: what they left behind.
    pub net_bytes: i64,
}

impl SiteRates {
    /// The rates of a report's row (its inclusive numbers).
    ///
    /// ```
    /// # #[global_allocator]
    /// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
    /// # #[alloc_trace::track_allocs]
    /// # fn f() -> Vec<u8> { vec![0; 10] }
    /// let (_, report) = alloc_trace::capture(|| std::hint::black_box(f()));
    /// let site = report.site("f").unwrap();
    /// assert_eq!(alloc_trace::report::SiteRates::of(site).bytes_allocated, 10);
    /// ```
    #[must_use]
    pub fn of(site: &SiteStats) -> Self {
        Self {
            calls: site.calls,
            allocs: site.inclusive.allocs,
            bytes_allocated: site.inclusive.bytes_allocated,
            net_bytes: site.inclusive.net_bytes(),
        }
    }

    /// A site's rates from its totals.
    ///
    /// ```
    /// let r = alloc_trace::report::SiteRates::new(4, 8, 1024, 0);
    /// assert_eq!((r.allocs_per_call(), r.bytes_per_call()), (2.0, 256.0));
    /// ```
    #[must_use]
    pub const fn new(calls: u64, allocs: u64, bytes_allocated: u64, net_bytes: i64) -> Self {
        Self {
            calls,
            allocs,
            bytes_allocated,
            net_bytes,
        }
    }

    /// `allocs / calls` (0 with no call), as [`SiteStats::allocs_per_call`].
    ///
    /// ```
    /// assert_eq!(alloc_trace::report::SiteRates::new(3, 1, 0, 0).allocs_per_call(), 1.0 / 3.0);
    /// ```
    #[must_use]
    pub fn allocs_per_call(&self) -> f64 {
        mean(self.allocs as f64, self.calls)
    }

    /// `bytes_allocated / calls` (0 with no call).
    ///
    /// ```
    /// assert_eq!(alloc_trace::report::SiteRates::new(2, 2, 100, 0).bytes_per_call(), 50.0);
    /// ```
    #[must_use]
    pub fn bytes_per_call(&self) -> f64 {
        mean(self.bytes_allocated as f64, self.calls)
    }

    /// `net_bytes / calls` (0 with no call): residency per call.
    ///
    /// ```
    /// assert_eq!(alloc_trace::report::SiteRates::new(2, 2, 100, -40).net_bytes_per_call(), -20.0);
    /// ```
    #[must_use]
    pub fn net_bytes_per_call(&self) -> f64 {
        mean(self.net_bytes as f64, self.calls)
    }
}

fn mean(total: f64, calls: u64) -> f64 {
    if calls == 0 {
        0.0
    } else {
        total / calls as f64
    }
}

/// `a / ca` compared with `b / cb`, exactly (a mean with no call is 0).
fn cmp_means(a: i128, ca: u64, b: i128, cb: u64) -> Ordering {
    let (a, ca) = if ca == 0 { (0, 1) } else { (a, ca) };
    let (b, cb) = if cb == 0 { (0, 1) } else { (b, cb) };
    (a * i128::from(cb)).cmp(&(b * i128::from(ca)))
}

/// One site before and after.
///
/// ```
/// use alloc_trace::report::{ReportDiff, SiteRates};
///
/// let diff = ReportDiff::from_rates(
///     [("parse", SiteRates::new(10, 20, 640, 0))],
///     [("parse", SiteRates::new(10, 30, 960, 0))],
/// );
/// let parse = diff.site("parse").unwrap();
/// assert_eq!(parse.allocs_per_call_change(), 1.0);
/// assert_eq!(parse.bytes_per_call_change(), 32.0);
/// assert!(parse.allocs_per_call_rose());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SiteDiff {
    /// The site's name.
    pub name: String,
    /// Its numbers before; `None` for a site that did not run before (new).
    pub before: Option<SiteRates>,
    /// Its numbers after; `None` for a site that did not run after (gone).
    pub after: Option<SiteRates>,
}

impl SiteDiff {
    fn before_or_zero(&self) -> SiteRates {
        self.before.unwrap_or_default()
    }

    fn after_or_zero(&self) -> SiteRates {
        self.after.unwrap_or_default()
    }

    /// Calls after minus calls before.
    ///
    /// ```
    /// # use alloc_trace::report::{ReportDiff, SiteRates};
    /// let diff = ReportDiff::from_rates([("f", SiteRates::new(5, 0, 0, 0))], [("f", SiteRates::new(7, 0, 0, 0))]);
    /// assert_eq!(diff.site("f").unwrap().calls_change(), 2);
    /// ```
    #[must_use]
    pub fn calls_change(&self) -> i128 {
        i128::from(self.after_or_zero().calls) - i128::from(self.before_or_zero().calls)
    }

    /// The change in allocs per call (after minus before; a missing side counts as 0).
    ///
    /// ```
    /// # use alloc_trace::report::{ReportDiff, SiteRates};
    /// let diff = ReportDiff::from_rates([("f", SiteRates::new(2, 4, 0, 0))], [("f", SiteRates::new(2, 3, 0, 0))]);
    /// assert_eq!(diff.site("f").unwrap().allocs_per_call_change(), -0.5);
    /// ```
    #[must_use]
    pub fn allocs_per_call_change(&self) -> f64 {
        self.after_or_zero().allocs_per_call() - self.before_or_zero().allocs_per_call()
    }

    /// The change in bytes allocated per call.
    ///
    /// ```
    /// # use alloc_trace::report::{ReportDiff, SiteRates};
    /// let diff = ReportDiff::from_rates([], [("f", SiteRates::new(2, 2, 64, 64))]);
    /// assert_eq!(diff.site("f").unwrap().bytes_per_call_change(), 32.0); // new: from 0
    /// ```
    #[must_use]
    pub fn bytes_per_call_change(&self) -> f64 {
        self.after_or_zero().bytes_per_call() - self.before_or_zero().bytes_per_call()
    }

    /// The change in net bytes per call (residency).
    ///
    /// ```
    /// # use alloc_trace::report::{ReportDiff, SiteRates};
    /// let diff = ReportDiff::from_rates([("f", SiteRates::new(1, 1, 8, 0))], [("f", SiteRates::new(1, 1, 8, 8))]);
    /// assert_eq!(diff.site("f").unwrap().net_bytes_per_call_change(), 8.0);
    /// ```
    #[must_use]
    pub fn net_bytes_per_call_change(&self) -> f64 {
        self.after_or_zero().net_bytes_per_call() - self.before_or_zero().net_bytes_per_call()
    }

    /// Whether allocs per call rose, compared exactly (no rounding): the regression a
    /// baseline fails on whatever the tolerance.
    ///
    /// ```
    /// # use alloc_trace::report::{ReportDiff, SiteRates};
    /// let diff = ReportDiff::from_rates([("f", SiteRates::new(3, 1, 0, 0))], [("f", SiteRates::new(3_000_000, 1_000_001, 0, 0))]);
    /// assert!(diff.site("f").unwrap().allocs_per_call_rose());
    /// ```
    #[must_use]
    pub fn allocs_per_call_rose(&self) -> bool {
        let (b, a) = (self.before_or_zero(), self.after_or_zero());
        cmp_means(a.allocs.into(), a.calls, b.allocs.into(), b.calls) == Ordering::Greater
    }

    /// Whether bytes per call rose by more than `tolerance` (a fraction: 0.1 is 10%) of
    /// what it was, compared exactly for a tolerance of 0.
    ///
    /// ```
    /// # use alloc_trace::report::{ReportDiff, SiteRates};
    /// let diff = ReportDiff::from_rates([("f", SiteRates::new(1, 1, 100, 0))], [("f", SiteRates::new(1, 1, 110, 0))]);
    /// let f = diff.site("f").unwrap();
    /// assert!(f.bytes_per_call_rose_past(0.05));
    /// assert!(!f.bytes_per_call_rose_past(0.10));
    /// ```
    #[must_use]
    pub fn bytes_per_call_rose_past(&self, tolerance: f64) -> bool {
        let (b, a) = (self.before_or_zero(), self.after_or_zero());
        let rose = cmp_means(
            a.bytes_allocated.into(),
            a.calls,
            b.bytes_allocated.into(),
            b.calls,
        ) == Ordering::Greater;
        rose && a.bytes_per_call() > b.bytes_per_call() * (1.0 + tolerance.max(0.0))
    }

    /// Whether any of the compared numbers differs.
    ///
    /// ```
    /// # use alloc_trace::report::{ReportDiff, SiteRates};
    /// let same = SiteRates::new(1, 1, 8, 0);
    /// assert!(!ReportDiff::from_rates([("f", same)], [("f", same)]).site("f").unwrap().changed());
    /// ```
    #[must_use]
    pub fn changed(&self) -> bool {
        let (b, a) = (self.before_or_zero(), self.after_or_zero());
        self.before.is_none() != self.after.is_none()
            || a.calls != b.calls
            || cmp_means(a.allocs.into(), a.calls, b.allocs.into(), b.calls) != Ordering::Equal
            || cmp_means(
                a.bytes_allocated.into(),
                a.calls,
                b.bytes_allocated.into(),
                b.calls,
            ) != Ordering::Equal
            || cmp_means(a.net_bytes.into(), a.calls, b.net_bytes.into(), b.calls)
                != Ordering::Equal
    }

    /// Largest regression first: allocs per call (exact and target-independent), then
    /// bytes per call, then net bytes per call; ties by name.
    fn regression_order(&self, other: &Self) -> Ordering {
        let key = |d: &Self| {
            (
                d.allocs_per_call_change(),
                d.bytes_per_call_change(),
                d.net_bytes_per_call_change(),
            )
        };
        let (a, b) = (key(self), key(other));
        b.0.total_cmp(&a.0)
            .then(b.1.total_cmp(&a.1))
            .then(b.2.total_cmp(&a.2))
            .then_with(|| self.name.cmp(&other.name))
    }
}

/// Per site, what changed between two reports (or a baseline and a report): calls,
/// allocs/call, bytes/call and net bytes/call, largest regression first.
///
/// `Display` prints a table of the sites that changed; [`ReportDiff::to_markdown`] the
/// same as a markdown table (for a CI step summary). [`ReportDiff::rows`] has every site,
/// changed or not.
///
/// ```
/// # #[global_allocator]
/// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
/// #[alloc_trace::track_allocs]
/// fn build(n: usize) -> Vec<u64> {
///     (0..n as u64).collect()
/// }
///
/// let (_, before) = alloc_trace::capture(|| std::hint::black_box(build(4)));
/// let (_, after) = alloc_trace::capture(|| {
///     let mut v = Vec::new(); // grows instead of allocating once
///     for i in 0..4 {
///         v.push(i);
///     }
///     std::hint::black_box((v, build(8)))
/// });
/// let diff = after.diff(&before);
/// let build = diff.site("build").unwrap();
/// assert_eq!(build.bytes_per_call_change(), 32.0);
/// println!("{diff}");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportDiff {
    rows: Vec<SiteDiff>,
}

/// The rates of every site of a report that ran, by name (sites of the same name add up).
pub(crate) fn rates_of(report: &Report) -> BTreeMap<String, SiteRates> {
    let mut rates: BTreeMap<String, SiteRates> = BTreeMap::new();
    for site in report.sites().iter().filter(|s| s.ran()) {
        let r = rates.entry(site.name.clone()).or_default();
        let s = SiteRates::of(site);
        r.calls += s.calls;
        r.allocs += s.allocs;
        r.bytes_allocated += s.bytes_allocated;
        r.net_bytes += s.net_bytes;
    }
    rates
}

impl ReportDiff {
    /// The diff of two sets of site numbers, by site name.
    ///
    /// ```
    /// use alloc_trace::report::{ReportDiff, SiteRates};
    ///
    /// let diff = ReportDiff::from_rates(
    ///     [("old", SiteRates::new(1, 1, 8, 0))],
    ///     [("new", SiteRates::new(1, 2, 16, 0))],
    /// );
    /// assert_eq!(diff.rows()[0].name, "new"); // a new site is a regression
    /// assert_eq!(diff.rows()[1].after, None); // gone
    /// ```
    #[must_use]
    pub fn from_rates<S: Into<String>>(
        before: impl IntoIterator<Item = (S, SiteRates)>,
        after: impl IntoIterator<Item = (S, SiteRates)>,
    ) -> Self {
        let before: BTreeMap<String, SiteRates> =
            before.into_iter().map(|(n, r)| (n.into(), r)).collect();
        let after: BTreeMap<String, SiteRates> =
            after.into_iter().map(|(n, r)| (n.into(), r)).collect();
        Self::between(&before, &after)
    }

    pub(crate) fn between(
        before: &BTreeMap<String, SiteRates>,
        after: &BTreeMap<String, SiteRates>,
    ) -> Self {
        let mut rows: Vec<SiteDiff> = before
            .iter()
            .map(|(name, b)| SiteDiff {
                name: name.clone(),
                before: Some(*b),
                after: after.get(name).copied(),
            })
            .collect();
        rows.extend(
            after
                .iter()
                .filter(|(name, _)| !before.contains_key(*name))
                .map(|(name, a)| SiteDiff {
                    name: name.clone(),
                    before: None,
                    after: Some(*a),
                }),
        );
        rows.sort_by(SiteDiff::regression_order);
        Self { rows }
    }

    /// Every site of either side, largest regression first (see [`ReportDiff`]).
    ///
    /// ```
    /// # use alloc_trace::report::{ReportDiff, SiteRates};
    /// let diff = ReportDiff::from_rates([("f", SiteRates::new(1, 1, 8, 0))], [("f", SiteRates::new(1, 1, 8, 0))]);
    /// assert_eq!(diff.rows().len(), 1);
    /// ```
    #[must_use]
    pub fn rows(&self) -> &[SiteDiff] {
        &self.rows
    }

    /// The row of the site called `name`: its full name, or else the one site whose name
    /// ends with `::name`, as [`Report::site`].
    ///
    /// ```
    /// # use alloc_trace::report::{ReportDiff, SiteRates};
    /// let diff = ReportDiff::from_rates([("app::parse", SiteRates::new(1, 1, 8, 0))], []);
    /// assert!(diff.site("parse").is_some());
    /// ```
    #[must_use]
    pub fn site(&self, name: &str) -> Option<&SiteDiff> {
        if let Some(exact) = self.rows.iter().find(|r| r.name == name) {
            return Some(exact);
        }
        let mut matches = self.rows.iter().filter(|r| {
            r.name
                .strip_suffix(name)
                .is_some_and(|head| head.ends_with("::"))
        });
        let first = matches.next()?;
        matches.next().is_none().then_some(first)
    }

    /// The rows whose numbers changed, largest regression first.
    ///
    /// ```
    /// # use alloc_trace::report::{ReportDiff, SiteRates};
    /// let diff = ReportDiff::from_rates([("f", SiteRates::new(1, 1, 8, 0))], [("f", SiteRates::new(1, 2, 8, 0))]);
    /// assert_eq!(diff.changed().count(), 1);
    /// ```
    pub fn changed(&self) -> impl Iterator<Item = &SiteDiff> {
        self.rows.iter().filter(|r| r.changed())
    }

    /// The diff as a markdown table, for a pull request or a CI step summary (e.g.
    /// appended to `$GITHUB_STEP_SUMMARY`): the sites that changed, largest regression
    /// first, with their calls, allocs/call, bytes/call and net/call before → after and
    /// the changes.
    ///
    /// ```
    /// # use alloc_trace::report::{ReportDiff, SiteRates};
    /// let diff = ReportDiff::from_rates([("f", SiteRates::new(1, 1, 8, 0))], [("f", SiteRates::new(1, 2, 24, 0))]);
    /// let md = diff.to_markdown();
    /// assert!(md.contains("| `f` | 1 → 1 | 1 → 2 | +1 (+100.0%) | 8 B → 24 B | +16 B (+200.0%) | 0 B → 0 B | 0 B |"), "{md}");
    /// ```
    #[must_use]
    pub fn to_markdown(&self) -> String {
        let mut out = String::new();
        let changed: Vec<&SiteDiff> = self.changed().collect();
        let _ = writeln!(
            out,
            "### alloc-trace: allocations per call, before → after\n"
        );
        if changed.is_empty() {
            let _ = writeln!(
                out,
                "No change in {} sites (calls, allocs/call, bytes/call, net/call).",
                self.rows.len()
            );
            return out;
        }
        out.push_str(
            "| function | calls | allocs/call | change | bytes/call | change | net/call | change |\n\
             |---|--:|--:|--:|--:|--:|--:|--:|\n",
        );
        for row in &changed {
            let c = cells(row);
            let _ = writeln!(
                out,
                "| `{}` | {} → {} | {} → {} | {} | {} → {} | {} | {} → {} | {} |",
                row.name.replace('|', "\\|"),
                c.calls.0,
                c.calls.1,
                c.allocs.0,
                c.allocs.1,
                c.allocs.2,
                c.bytes.0,
                c.bytes.1,
                c.bytes.2,
                c.net.0,
                c.net.1,
                c.net.2,
            );
        }
        let unchanged = self.rows.len() - changed.len();
        if unchanged > 0 {
            let _ = writeln!(out, "\n{unchanged} sites unchanged.");
        }
        out
    }
}

/// The text of one row: `(before, after, change)` for each number.
struct RowCells {
    calls: (String, String),
    allocs: (String, String, String),
    bytes: (String, String, String),
    net: (String, String, String),
}

fn text(cell: Cell<'_>) -> String {
    let mut s = String::new();
    let _ = cell.write_right(&mut s, 0);
    s
}

/// A side's text, `-` for a side where the site did not run.
fn side(r: Option<SiteRates>, show: impl FnOnce(SiteRates) -> String) -> String {
    r.map_or_else(|| "-".to_owned(), show)
}

fn per_call_text(r: SiteRates, total: u64) -> String {
    text(Num::per_call(total, r.calls))
}

fn bytes_text(r: SiteRates, total: u64) -> String {
    text(Cell::Num(Num::bytes(total.into(), r.calls.max(1).into())))
}

fn net_text(r: SiteRates) -> String {
    text(Cell::Num(Num::signed_bytes(
        r.net_bytes.into(),
        r.calls.max(1).into(),
    )))
}

/// `+1.5`, `-2`, `0`: a change in a count per call.
fn signed_count(x: f64) -> String {
    let rounded = (x * 100.0).round() / 100.0;
    if rounded == 0.0 {
        "0".to_owned()
    } else if rounded.fract() == 0.0 {
        format!("{rounded:+.0}")
    } else {
        format!("{rounded:+.2}")
    }
}

/// `+32 B`, `-1.5 KiB`, `0 B`: a change in bytes per call.
fn signed_bytes(x: f64) -> String {
    let shown = Bytes(x.abs()).to_string();
    if shown == "0 B" || shown == "0.0 B" {
        "0 B".to_owned()
    } else if x < 0.0 {
        format!("-{shown}")
    } else {
        format!("+{shown}")
    }
}

/// ` (+12.5%)` after a change, when there was something before to compare with.
fn percent(change: f64, before: f64) -> String {
    if before == 0.0 || change == 0.0 {
        String::new()
    } else {
        format!(" ({:+.1}%)", change / before.abs() * 100.0)
    }
}

fn cells(row: &SiteDiff) -> RowCells {
    let (b, a) = (row.before, row.after);
    let change = |count: String| match (b, a) {
        (None, _) => "new".to_owned(),
        (_, None) => "gone".to_owned(),
        _ => count,
    };
    let calls = |r: SiteRates| r.calls.to_string();
    let before = row.before_or_zero();
    RowCells {
        calls: (side(b, calls), side(a, calls)),
        allocs: (
            side(b, |r| per_call_text(r, r.allocs)),
            side(a, |r| per_call_text(r, r.allocs)),
            change(format!(
                "{}{}",
                signed_count(row.allocs_per_call_change()),
                percent(row.allocs_per_call_change(), before.allocs_per_call())
            )),
        ),
        bytes: (
            side(b, |r| bytes_text(r, r.bytes_allocated)),
            side(a, |r| bytes_text(r, r.bytes_allocated)),
            change(format!(
                "{}{}",
                signed_bytes(row.bytes_per_call_change()),
                percent(row.bytes_per_call_change(), before.bytes_per_call())
            )),
        ),
        net: (
            side(b, net_text),
            side(a, net_text),
            change(signed_bytes(row.net_bytes_per_call_change())),
        ),
    }
}

impl fmt::Display for ReportDiff {
    /// The sites that changed, largest regression first, one line each:
    ///
    /// ```text
    /// alloc-trace diff: 1 of 3 sites changed, largest regression first (before -> after)
    ///    calls  allocs/call        change   bytes/call            change  net/call  change  function
    ///  10 -> 10      3 -> 4  +1 (+33.3%)  196 B -> 228 B  +32 B (+16.3%)  0 B -> 0 B     0 B  app::handle
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let changed: Vec<&SiteDiff> = self.changed().collect();
        writeln!(
            f,
            "alloc-trace diff: {} of {} sites changed, largest regression first (before -> after)",
            changed.len(),
            self.rows.len()
        )?;
        if changed.is_empty() {
            return Ok(());
        }
        const HEADERS: [&str; 7] = [
            "calls",
            "allocs/call",
            "change",
            "bytes/call",
            "change",
            "net/call",
            "change",
        ];
        let table: Vec<[String; 7]> = changed
            .iter()
            .map(|row| {
                let c = cells(row);
                [
                    format!("{} -> {}", c.calls.0, c.calls.1),
                    format!("{} -> {}", c.allocs.0, c.allocs.1),
                    c.allocs.2,
                    format!("{} -> {}", c.bytes.0, c.bytes.1),
                    c.bytes.2,
                    format!("{} -> {}", c.net.0, c.net.1),
                    c.net.2,
                ]
            })
            .collect();
        let mut widths = HEADERS.map(str::len);
        for cells in &table {
            for (w, c) in widths.iter_mut().zip(cells) {
                *w = (*w).max(c.chars().count());
            }
        }
        for (w, h) in widths.iter().zip(HEADERS) {
            write!(f, "{h:>w$}  ")?;
        }
        writeln!(f, "function")?;
        for (cells, row) in table.iter().zip(&changed) {
            for (w, c) in widths.iter().zip(cells) {
                write!(f, "{c:>w$}  ")?;
            }
            writeln!(f, "{}", row.name)?;
        }
        let unchanged = self.rows.len() - changed.len();
        if unchanged > 0 {
            writeln!(f, "{unchanged} sites unchanged (not shown)")?;
        }
        Ok(())
    }
}

impl Report {
    /// Per site, what changed from `before` to this report: calls, allocs/call,
    /// bytes/call and net bytes/call (inclusive numbers, as the table's), largest
    /// regression first. Sites are matched by name; a site only on one side is new or
    /// gone. Sites that did not run on a side are not on it.
    ///
    /// ```
    /// # #[global_allocator]
    /// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
    /// #[alloc_trace::track_allocs]
    /// fn join(parts: &[&str]) -> String {
    ///     parts.concat()
    /// }
    ///
    /// let (_, before) = alloc_trace::capture(|| std::hint::black_box(join(&["a", "b"])));
    /// let (_, after) = alloc_trace::capture(|| std::hint::black_box(join(&["a", "b", "c"])));
    /// let diff = after.diff(&before);
    /// assert_eq!(diff.site("join").unwrap().bytes_per_call_change(), 1.0);
    /// assert!(!diff.site("join").unwrap().allocs_per_call_rose());
    /// ```
    #[must_use]
    pub fn diff(&self, before: &Report) -> ReportDiff {
        ReportDiff::between(&rates_of(before), &rates_of(self))
    }

    /// The call paths of `before` and this report as the folded lines of a differential
    /// flamegraph: `path BEFORE AFTER`, the format `inferno-diff-folded` writes from two
    /// [`Report::folded`] outputs (and `difffolded.pl` too). `inferno-flamegraph` (or
    /// `flamegraph.pl`) draws it with boxes the size of the after profile, red where a
    /// path grew and blue where it shrank.
    ///
    /// One line per path on either side (0 where it is missing), sorted by path, with the
    /// [`OUTSIDE_FRAME`] line of each side; lines 0 on both
    /// sides are left out.
    ///
    /// ```
    /// use alloc_trace::report::FoldedWeight;
    /// # #[global_allocator]
    /// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
    ///
    /// #[alloc_trace::track_allocs(name = "work")]
    /// fn work(n: usize) -> Vec<Box<u8>> {
    ///     (0..n).map(|_| Box::new(0)).collect()
    /// }
    ///
    /// let (_, before) = alloc_trace::capture(|| std::hint::black_box(work(2)));
    /// let (_, after) = alloc_trace::capture(|| std::hint::black_box(work(3)));
    /// assert_eq!(after.folded_diff(&before, FoldedWeight::Allocs), "work 3 4\n");
    /// ```
    #[must_use]
    pub fn folded_diff(&self, before: &Report, weight: FoldedWeight) -> String {
        let mut lines: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
        for p in &before.paths {
            lines.entry(&p.path).or_default().0 += weight.of_path(p);
        }
        for p in &self.paths {
            lines.entry(&p.path).or_default().1 += weight.of_path(p);
        }
        let outside = (weight.of_outside(before), weight.of_outside(self));
        let mut out = String::new();
        for (path, (b, a)) in lines.into_iter().chain([(OUTSIDE_FRAME, outside)]) {
            if (b, a) != (0, 0) {
                let _ = writeln!(out, "{path} {b} {a}");
            }
        }
        out
    }
}
