//! The report as a table for people: `impl Display for Report` and [`Table`], a sorted and
//! trimmed view of it.
//!
//! PERF: formatting never allocates. Column widths come from a first pass that adds up
//! the cells' lengths arithmetically (see `cell`), and the only allocation a non-default
//! order needs (a list of row indices) is made when the view is built, not when it is
//! printed. So a table can be printed while counting, by code that asserts it allocates
//! nothing, and the cost is linear in the number of sites.

use core::fmt::{self, Write as _};

use super::cell::{Cell, Line, Num};
use super::{Report, Scope};
use crate::report::SiteStats;

/// The column that orders a [`Table`], largest first. Ties keep the report's order
/// (most allocations, then most bytes, then most calls, then name).
///
/// `ALLOC_TRACE=table,sort=COLUMN` picks one for the exit report, by the lowercase name
/// of the variant (`allocs`, `bytes`, `net`, `peak`, `calls`).
///
/// ```
/// use alloc_trace::report::SortBy;
/// # #[global_allocator]
/// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
///
/// let (_, report) = alloc_trace::capture(|| std::hint::black_box(vec![0u8; 8]));
/// let table = report.table().sort_by(SortBy::Peak).to_string();
/// assert!(table.contains("tracked functions by peak"));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SortBy {
    /// `allocs`, nested calls included: the allocation *rate*. The default, and the
    /// report's own order.
    #[default]
    Allocs,
    /// Bytes allocated, nested calls included.
    Bytes,
    /// `net_bytes` over all calls (allocated minus freed, nested calls included).
    Net,
    /// The most live bytes one call reached above its starting level.
    Peak,
    /// Completed calls.
    Calls,
}

impl SortBy {
    /// Every column, in the order the docs list them.
    pub(crate) const ALL: [SortBy; 5] = [
        SortBy::Allocs,
        SortBy::Bytes,
        SortBy::Net,
        SortBy::Peak,
        SortBy::Calls,
    ];

    /// The word the table's title uses (and `ALLOC_TRACE`'s `sort=`).
    pub(crate) const fn name(self) -> &'static str {
        match self {
            SortBy::Allocs => "allocs",
            SortBy::Bytes => "bytes",
            SortBy::Net => "net",
            SortBy::Peak => "peak",
            SortBy::Calls => "calls",
        }
    }

    fn key(self, s: &SiteStats) -> i128 {
        match self {
            SortBy::Allocs => i128::from(s.inclusive.allocs),
            SortBy::Bytes => i128::from(s.inclusive.bytes_allocated),
            SortBy::Net => i128::from(s.inclusive.net_bytes()),
            SortBy::Peak => i128::from(s.inclusive.peak_bytes),
            SortBy::Calls => i128::from(s.calls),
        }
    }
}

/// A view of a [`Report`] as a table: which column orders it, how many rows it keeps, and
/// whether functions never called are listed. Printing it (`Display`) never allocates.
///
/// `Display` for [`Report`] prints [`Report::table`] with its defaults: ordered by
/// allocations, every function that was called, none that was not.
///
/// # The columns
///
/// | column | meaning |
/// |---|---|
/// | `calls` | completed calls |
/// | `allocs` | [`AllocStats::allocs`](crate::AllocStats::allocs): requests for a block (`alloc`, `alloc_zeroed`, `realloc`; Go's allocs/op), nested tracked calls included. Counted where the request is made, so a `realloc` counts for the function that grows the block (dhat books it where the block was first allocated) |
/// | `allocs/call` | `allocs` per call: the allocation rate |
/// | `reallocs` | how many of the `allocs` were `realloc` calls (a `Vec` or `String` growing) |
/// | `bytes`, `bytes/call` | bytes requested, in total and per call (Go's B/op) |
/// | `net`, `net/call` | [`net_bytes`](crate::AllocStats::net_bytes): bytes allocated minus bytes freed during the calls. About 0 for churn; positive when the calls left memory behind, which includes a value they returned (freed later by the caller) as well as a cache or a leak |
/// | `peak` | the most live bytes any one call reached above its starting level: residency |
/// | `excl%` | this function's exclusive `allocs` (nested tracked calls excluded) as a share of every allocation counted by the report. The rows plus the outside line add up to 100% |
///
/// Two more lines follow the rows: the report's totals (process-wide for
/// [`report()`](crate::report()), the closure's for [`capture`](crate::capture)) and what
/// happened outside every tracked function. Then, where they apply, a line each for: the
/// rows `top` left out, the functions never called, the functions shown as
/// `name (file:line)` because they share a name, a negative `net` outside tracked
/// functions (memory they allocated and untracked code freed), and threads read while
/// they kept booking. A build without the `tracking` feature says so instead of listing
/// functions.
///
/// # Examples
///
/// ```
/// use alloc_trace::report::SortBy;
/// # #[global_allocator]
/// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
///
/// #[alloc_trace::track_allocs]
/// fn squares(n: u64) -> Vec<u64> {
///     (0..n).map(|i| i * i).collect()
/// }
///
/// let (_, report) = alloc_trace::capture(|| squares(1000));
/// let table = report.table().sort_by(SortBy::Bytes).top(10).show_uncalled(false);
/// let text = table.to_string();
/// assert!(text.contains("squares"));
/// assert!(text.contains("7.8 KiB")); // 1000 × 8 bytes, allocated once (exact size hint)
/// ```
#[derive(Clone, Debug)]
pub struct Table<'a> {
    report: &'a Report,
    sort: SortBy,
    /// Row indices into `report.sites` in display order; `None`: the report's own order,
    /// which is [`SortBy::Allocs`].
    order: Option<Vec<u32>>,
    top: Option<usize>,
    show_uncalled: bool,
    locations: bool,
}

impl Report {
    /// This report as a [`Table`] with the default options (the same text `Display`
    /// prints); chain [`Table::sort_by`], [`Table::top`], [`Table::show_uncalled`] and
    /// [`Table::locations`] to change them.
    ///
    /// ```
    /// # #[global_allocator]
    /// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
    /// let (_, report) = alloc_trace::capture(|| ());
    /// assert_eq!(report.table().to_string(), report.to_string());
    /// ```
    #[must_use]
    pub fn table(&self) -> Table<'_> {
        Table {
            report: self,
            sort: SortBy::Allocs,
            order: None,
            top: None,
            show_uncalled: false,
            locations: false,
        }
    }
}

impl<'a> Table<'a> {
    /// Orders the rows by `column`, largest first (default: [`SortBy::Allocs`]).
    ///
    /// Sorting happens here (O(n log n), one list of indices), so that printing allocates
    /// nothing.
    ///
    /// ```
    /// use alloc_trace::report::SortBy;
    /// # #[global_allocator]
    /// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
    ///
    /// #[alloc_trace::track_allocs(name = "few_big")]
    /// fn few_big() -> usize {
    ///     std::hint::black_box(vec![0u8; 1000]).len()
    /// }
    ///
    /// #[alloc_trace::track_allocs(name = "many_small")]
    /// fn many_small() -> usize {
    ///     (0..3).map(|_| std::hint::black_box(vec![0u8; 1]).len()).sum()
    /// }
    ///
    /// let (_, report) = alloc_trace::capture(|| few_big() + many_small());
    /// let by_bytes = report.table().sort_by(SortBy::Bytes).to_string();
    /// assert!(by_bytes.find("  few_big").unwrap() < by_bytes.find("  many_small").unwrap());
    /// let by_allocs = report.to_string();
    /// assert!(by_allocs.find("  many_small").unwrap() < by_allocs.find("  few_big").unwrap());
    /// ```
    #[must_use]
    pub fn sort_by(mut self, column: SortBy) -> Self {
        self.sort = column;
        self.order = (column != SortBy::Allocs).then(|| {
            let sites = &self.report.sites;
            let mut order: Vec<u32> = (0..sites.len() as u32).collect();
            // Stable: ties keep the report's order.
            order.sort_by_key(|&i| core::cmp::Reverse(column.key(&sites[i as usize])));
            order
        });
        self
    }

    /// Keeps only the first `n` rows (default: all). A line under the table says how many
    /// were left out. `top(0)` keeps only the totals.
    ///
    /// ```
    /// # #[global_allocator]
    /// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
    /// #[alloc_trace::track_allocs]
    /// fn a() -> Box<u8> {
    ///     Box::new(1)
    /// }
    ///
    /// #[alloc_trace::track_allocs]
    /// fn b() -> Box<u8> {
    ///     Box::new(2)
    /// }
    ///
    /// let (_, report) = alloc_trace::capture(|| (std::hint::black_box(a()), b()));
    /// let text = report.table().top(1).to_string();
    /// assert!(text.contains("\n... 1 more tracked function not shown (top 1)\n"), "{text}");
    /// ```
    #[must_use]
    pub fn top(mut self, n: usize) -> Self {
        self.top = Some(n);
        self
    }

    /// Whether to list tracked functions that were never called (default: `false`; a line
    /// under the table counts them). Every `#[track_allocs]` function linked into the
    /// program is known, so "never called" is real information: code you expected to run
    /// did not.
    ///
    /// ```
    /// # #[global_allocator]
    /// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
    /// #[alloc_trace::track_allocs(name = "doc::never_called")]
    /// fn never_called() {}
    ///
    /// let report = alloc_trace::report();
    /// assert!(report.table().show_uncalled(true).to_string().contains("  doc::never_called\n"));
    /// assert!(!report.to_string().contains("  doc::never_called\n"));
    /// ```
    #[must_use]
    pub fn show_uncalled(mut self, show: bool) -> Self {
        self.show_uncalled = show;
        self
    }

    /// Whether to show every function's source location after its name, as
    /// `name (file:line)` (default: `false`, which shows it only for functions that share
    /// their name with another; see [`SiteStats::display_name`]).
    ///
    /// ```
    /// # #[global_allocator]
    /// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
    /// #[alloc_trace::track_allocs(name = "app::parse")]
    /// fn parse() -> Box<u8> {
    ///     Box::new(1)
    /// }
    ///
    /// let (_, report) = alloc_trace::capture(parse);
    /// let site = report.site("app::parse").unwrap();
    /// let table = report.table().locations(true).to_string();
    /// assert!(table.contains(&format!("  app::parse ({}:{})\n", site.file, site.line)));
    /// ```
    #[must_use]
    pub fn locations(mut self, show: bool) -> Self {
        self.locations = show;
        self
    }

    /// The sites in display order, before `top`.
    fn ordered(&self) -> impl Iterator<Item = &'a SiteStats> + '_ {
        let sites: &'a [SiteStats] = &self.report.sites;
        let order = self.order.as_deref();
        (0..sites.len())
            .map(move |k| order.map_or(&sites[k], |order| &sites[order[k] as usize]))
            .filter(|s| self.show_uncalled || s.ran())
    }

    /// The rows shown.
    fn rows(&self) -> impl Iterator<Item = &'a SiteStats> + '_ {
        self.ordered().take(self.top.unwrap_or(usize::MAX))
    }
}

impl fmt::Display for Report {
    /// The report as a table; see [`Table`] for the columns and the options.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.table().fmt(f)
    }
}

/// Number of numeric columns (the function's name comes last and is not padded).
const COLUMNS: usize = 12;

const HEADERS: [&str; COLUMNS] = [
    "calls",
    "allocs",
    "allocs/call",
    "reallocs",
    "bytes",
    "bytes/call",
    "net",
    "net/call",
    "peak",
    "live@peak",
    "live@end",
    "excl%",
];

/// The columns of the ownership view, shown only when the report has it.
const LIVE_AT_PEAK: usize = 9;
const LIVE_AT_END: usize = 10;

/// Which columns a table shows.
type Shown = [bool; COLUMNS];

fn shown(report: &Report) -> Shown {
    let mut shown = [true; COLUMNS];
    let ownership = report.ownership.is_some();
    shown[LIVE_AT_PEAK] = ownership;
    shown[LIVE_AT_END] = ownership;
    shown
}

/// The ownership cells of a row: bytes held at the peak and now.
fn held_cells<'s>(held: Option<super::Held>) -> [Cell<'s>; 2] {
    held.map_or([Cell::Blank, Cell::Blank], |h| {
        [
            Cell::Num(Num::bytes(h.at_peak.bytes.into(), 1)),
            Cell::Num(Num::bytes(h.live.bytes.into(), 1)),
        ]
    })
}

/// The cells of one row: a site, the totals or the outside line.
struct Row<'s> {
    cells: [Cell<'s>; COLUMNS],
    name: &'s str,
    /// `file:line`, said after the name.
    location: Option<(&'s str, u32)>,
    /// Calls in flight, said after the name.
    in_flight: u64,
}

impl<'s> Row<'s> {
    fn header() -> Self {
        Row {
            cells: HEADERS.map(Cell::Text),
            name: "function",
            location: None,
            in_flight: 0,
        }
    }

    /// A site's row; `locations`: say its `file:line` even if its name is unique.
    fn site(s: &'s SiteStats, all_allocs: u64, locations: bool) -> Self {
        let (calls, i) = (s.calls, &s.inclusive);
        let per_call = u128::from(calls);
        let [at_peak, at_end] = held_cells(s.ownership.map(|o| o.inclusive));
        Row {
            cells: [
                Cell::Num(Num::count(calls)),
                Cell::Num(Num::count(i.allocs)),
                Num::per_call(i.allocs, calls),
                Cell::Num(Num::count(i.reallocs)),
                Cell::Num(Num::bytes(i.bytes_allocated.into(), 1)),
                Cell::Num(Num::bytes(i.bytes_allocated.into(), per_call)),
                Cell::Num(Num::signed_bytes(i.net_bytes().into(), 1)),
                Cell::Num(Num::signed_bytes(i.net_bytes().into(), per_call)),
                Cell::Num(Num::bytes(i.peak_bytes.into(), 1)),
                at_peak,
                at_end,
                Num::percent(s.exclusive.allocs, all_allocs),
            ],
            name: &s.display_name,
            // An ambiguous name already carries it.
            location: (locations && s.display_name == s.name).then_some((&*s.file, s.line)),
            in_flight: s.in_flight,
        }
    }

    /// The totals line (`share` is `None`) or the outside line.
    fn summary(
        stats: crate::stats::AllocCounts,
        peak: Option<u64>,
        held: Option<super::Held>,
        share: Option<Cell<'s>>,
        name: &'s str,
    ) -> Self {
        let blank = Cell::Blank;
        let [at_peak, at_end] = held_cells(held);
        Row {
            cells: [
                blank,
                Cell::Num(Num::count(stats.allocs)),
                blank,
                Cell::Num(Num::count(stats.reallocs)),
                Cell::Num(Num::bytes(stats.bytes_allocated.into(), 1)),
                blank,
                Cell::Num(Num::signed_bytes(stats.net_bytes().into(), 1)),
                blank,
                peak.map_or(blank, |p| Cell::Num(Num::bytes(p.into(), 1))),
                at_peak,
                at_end,
                share.unwrap_or(blank),
            ],
            name,
            location: None,
            in_flight: 0,
        }
    }

    fn widen(&self, widths: &mut [usize; COLUMNS]) {
        for (width, cell) in widths.iter_mut().zip(&self.cells) {
            *width = (*width).max(cell.len());
        }
    }

    /// Writes the row to `f`, put together first (see [`Line`]).
    fn write(
        &self,
        f: &mut fmt::Formatter<'_>,
        widths: &[usize; COLUMNS],
        shown: &Shown,
    ) -> fmt::Result {
        let mut line = Line::new(f);
        for ((&width, cell), _) in widths
            .iter()
            .zip(&self.cells)
            .zip(shown)
            .filter(|(_, shown)| **shown)
        {
            cell.push_right(&mut line, width)?;
            line.push_str("  ")?;
        }
        line.push_str(self.name)?;
        if let Some((file, number)) = self.location {
            line.push_str(" (")?;
            line.push_str(file)?;
            line.push_ascii(b':')?;
            Num::count(number.into()).push_right(&mut line, 0)?;
            line.push_ascii(b')')?;
        }
        if self.in_flight > 0 {
            line.push_str("  (")?;
            Num::count(self.in_flight).push_right(&mut line, 0)?;
            line.push_str(" in flight)")?;
        }
        line.push_ascii(b'\n')?;
        line.flush()
    }
}

const fn functions(n: usize) -> &'static str {
    if n == 1 { "function" } else { "functions" }
}

/// What the rows area says when it has no row: the line for a report that tracked
/// nothing, or nothing that ran.
const TRACKING_OFF: &str =
    "  tracking is off (alloc-trace built without its `tracking` feature): no function is tracked";
const NONE_CALLED: &str = "  (no tracked function was called)";

impl Table<'_> {
    fn write_title(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let report = self.report;
        let scope = match report.scope {
            Scope::Process => "all threads, since the program started",
            Scope::Capture => "one closure, on the calling thread",
        };
        writeln!(
            f,
            "alloc-trace report ({scope}); tracked functions by {}, largest first",
            self.sort.name()
        )?;
        writeln!(
            f,
            "  allocs = requests for a block (alloc, alloc_zeroed, realloc: Go's allocs/op), nested tracked calls included"
        )?;
        writeln!(
            f,
            "  a realloc counts in the function that makes it (dhat books it where the block was first allocated)"
        )?;
        writeln!(
            f,
            "  bytes = bytes requested; net = allocated minus freed during the calls (a returned value counts)"
        )?;
        writeln!(
            f,
            "  peak = most live bytes one call reached above its start; excl% = own share of all allocs"
        )?;
        if let Some(o) = &report.ownership {
            writeln!(
                f,
                "  live@peak = bytes of blocks the function and its tracked callees allocated, alive at the process's peak ({}, reached by allocation #{})",
                crate::stats::Bytes(o.peak.bytes as f64),
                o.peak_request
            )?;
            writeln!(
                f,
                "  live@end = the same, alive when the report was built (at exit: never freed)"
            )?;
        }
        writeln!(f)
    }

    /// The lines under the totals that explain them.
    fn write_notes(
        &self,
        f: &mut fmt::Formatter<'_>,
        shown: usize,
        shared_names: usize,
    ) -> fmt::Result {
        let report = self.report;
        let listed = self.ordered().count();
        if listed > shown {
            let more = listed - shown;
            writeln!(
                f,
                "... {more} more tracked {} not shown (top {shown})",
                functions(more)
            )?;
        }
        // A capture lists only the functions its closure ran.
        if report.tracking && !self.show_uncalled && report.scope == Scope::Process {
            let uncalled = report.sites.iter().filter(|s| !s.ran()).count();
            if uncalled > 0 {
                writeln!(
                    f,
                    "{uncalled} tracked {} never called (not shown)",
                    functions(uncalled)
                )?;
            }
        }
        if shared_names > 0 {
            writeln!(
                f,
                "note: {shared_names} {} shown share{} a name with another function (a nested \
                 `fn` in two functions, a method of several impls): each is named `name (file:line)`",
                functions(shared_names),
                if shared_names == 1 { "s" } else { "" },
            )?;
        }
        if report.outside_tracked().net_bytes() < 0 {
            writeln!(
                f,
                "note: net is negative outside tracked functions: code there freed memory that \
                 tracked functions allocated (e.g. a value one returned, dropped by an untracked caller){}",
                match report.scope {
                    Scope::Process => "",
                    Scope::Capture => " or that existed before the capture",
                }
            )?;
        }
        if let Some(o) = report.ownership.filter(|o| !o.exact) {
            writeln!(
                f,
                "note: the peak may be approximate: threads allocated at the same time \
                 ({} requests counted against a stale view, {} peaks recorded while others counted, \
                 {} updates lost)",
                o.stale_requests, o.torn_peaks, o.lost_updates
            )?;
        }
        let busy = report.threads.busy;
        if busy > 0 {
            writeln!(
                f,
                "note: {busy} thread{} kept booking allocations while the report read {}: \
                 its rows may be off by what it did meanwhile (totals are exact)",
                if busy == 1 { "" } else { "s" },
                if busy == 1 { "it" } else { "them" },
            )?;
        }
        let unrecorded = report.threads.unrecorded;
        if unrecorded > 0 {
            writeln!(
                f,
                "note: {unrecorded} function{} or call path{} the capture touched could not be \
                 recorded (a signal handler's tracked call interrupted the capture's bookkeeping, \
                 or memory ran out): rows are missing for {} (totals are exact)",
                if unrecorded == 1 { "" } else { "s" },
                if unrecorded == 1 { "" } else { "s" },
                if unrecorded == 1 { "it" } else { "them" },
            )?;
        }
        Ok(())
    }
}

impl fmt::Display for Table<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let report = self.report;
        let all_allocs = report.totals.allocs;
        let outside = report.outside_tracked();
        let total_name = match report.scope {
            Scope::Process => "TOTAL (all threads)",
            Scope::Capture => "TOTAL (this capture)",
        };
        let process_held = report.ownership.map(|o| super::Held {
            live: o.live,
            at_peak: o.peak,
        });
        let total = Row::summary(report.totals, report.peak, process_held, None, total_name);
        let outside = Row::summary(
            outside,
            None,
            report.ownership.map(|o| o.outside),
            Some(Num::percent(outside.allocs, all_allocs)),
            "(outside tracked functions)",
        );

        let pending = report.unattributed;
        let unattributed = (pending != crate::stats::AllocCounts::default()).then(|| {
            Row::summary(
                pending,
                None,
                None,
                Some(Num::percent(pending.allocs, all_allocs)),
                "(in tracked calls in flight, not yet given to a function)",
            )
        });

        let mut widths = [0; COLUMNS];
        Row::header().widen(&mut widths);
        total.widen(&mut widths);
        outside.widen(&mut widths);
        if let Some(row) = &unattributed {
            row.widen(&mut widths);
        }
        for site in self.rows() {
            Row::site(site, all_allocs, self.locations).widen(&mut widths);
        }

        let columns = shown(report);
        self.write_title(f)?;
        Row::header().write(f, &widths, &columns)?;
        let mut shown = 0;
        let mut shared_names = 0;
        for site in self.rows() {
            Row::site(site, all_allocs, self.locations).write(f, &widths, &columns)?;
            shown += 1;
            shared_names += usize::from(site.display_name != site.name);
        }
        if !report.tracking {
            writeln!(f, "{TRACKING_OFF}")?;
        } else if !report.sites.iter().any(SiteStats::ran) {
            // Not when `top` hid the rows of functions that ran: the notes say so.
            writeln!(f, "{NONE_CALLED}")?;
        }
        let rule: usize = widths
            .iter()
            .zip(&columns)
            .filter(|(_, shown)| **shown)
            .map(|(w, _)| w + 2)
            .sum::<usize>()
            + "function".len();
        for _ in 0..rule {
            f.write_char('-')?;
        }
        writeln!(f)?;
        total.write(f, &widths, &columns)?;
        outside.write(f, &widths, &columns)?;
        if let Some(row) = &unattributed {
            row.write(f, &widths, &columns)?;
        }
        self.write_notes(f, shown, shared_names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::AllocStats;

    fn stats(allocs: u64, reallocs: u64, bytes: u64, freed: u64, peak: u64) -> AllocStats {
        AllocStats {
            allocs,
            reallocs,
            frees: allocs,
            bytes_allocated: bytes,
            bytes_freed: freed,
            peak_bytes: peak,
        }
    }

    fn site(name: &str, calls: u64, inclusive: AllocStats, exclusive: AllocStats) -> SiteStats {
        SiteStats {
            name: name.to_owned(),
            display_name: name.to_owned(),
            file: "src/lib.rs".to_owned(),
            line: 1,
            calls,
            inclusive,
            exclusive: exclusive.counts(),
            max_allocs_per_call: 0,
            in_flight: 0,
            ownership: None,
        }
    }

    /// Three called sites and one never called, in the report's own order.
    pub(crate) fn sample() -> Report {
        let handle = stats(3000, 0, 3_072_000, 3_072_000, 1024);
        let parse = stats(1000, 1000, 2_048_000, 2_048_000, 2048);
        let leak = stats(10, 0, 10_240, 0, 1024);
        Report {
            scope: Scope::Process,
            totals: stats(4200, 1000, 5_200_000, 5_100_000, 0).counts(),
            peak: None,
            in_tracked: stats(4010, 1000, 5_130_240, 5_120_000, 0).counts(),
            unattributed: crate::stats::AllocCounts::default(),
            threads: super::super::Threads::default(),
            sites: vec![
                site(
                    "app::handle",
                    1000,
                    handle,
                    stats(2000, 0, 1_024_000, 1_024_000, 0),
                ),
                site("app::parse", 1000, parse, parse),
                site("app::remember", 10, leak, leak),
                site(
                    "app::unused",
                    0,
                    AllocStats::default(),
                    AllocStats::default(),
                ),
            ],
            paths: Vec::new(),
            tracking: true,
            ownership: None,
        }
    }

    #[test]
    fn default_table() {
        let text = sample().to_string();
        println!("{text}");
        let expected = "\
alloc-trace report (all threads, since the program started); tracked functions by allocs, largest first
";
        assert!(text.starts_with(expected), "{text}");
        assert!(
            text.contains("\n  a realloc counts in the function that makes it (dhat books it where the block was first allocated)\n"),
            "{text}"
        );
        assert!(!text.contains(NONE_CALLED), "{text}");
        assert!(!text.contains("tracking is off"), "{text}");
        assert!(
            text.ends_with("\n1 tracked function never called (not shown)\n"),
            "{text}"
        );
    }

    #[test]
    fn top_zero_hides_rows_not_calls() {
        let report = sample();
        let text = report.table().top(0).to_string();
        assert!(!text.contains(NONE_CALLED), "{text}");
        assert!(
            text.contains("\n... 3 more tracked functions not shown (top 0)\n"),
            "{text}"
        );
    }

    #[test]
    fn none_called_is_said_only_when_none_ran() {
        let mut report = sample();
        report.sites.retain(|s| !s.ran());
        for table in [report.table(), report.table().show_uncalled(true)] {
            let text = table.to_string();
            assert!(text.contains(&format!("\n{NONE_CALLED}\n")), "{text}");
        }
    }

    #[test]
    fn tracking_off_is_said_instead_of_never_called() {
        let mut report = sample();
        report.tracking = false;
        report.sites.clear();
        report.in_tracked = crate::stats::AllocCounts::default();
        let text = report.to_string();
        assert!(text.contains(&format!("\n{TRACKING_OFF}\n")), "{text}");
        assert_eq!(
            TRACKING_OFF,
            "  tracking is off (alloc-trace built without its `tracking` feature): no function is tracked"
        );
        assert!(!text.contains(NONE_CALLED), "{text}");
        assert!(!text.contains("never called"), "{text}");
        assert!(
            text.contains("100.0%  (outside tracked functions)"),
            "{text}"
        );
    }

    #[test]
    fn a_negative_net_outside_is_explained() {
        let mut report = sample();
        assert!(!report.to_string().contains("net is negative"));
        // Tracked functions left 1 MiB that untracked code freed.
        report.in_tracked.bytes_allocated += 1 << 20;
        report.totals.bytes_allocated += 1 << 20;
        report.totals.bytes_freed += 1 << 20;
        assert!(report.outside_tracked().net_bytes() < 0);
        let text = report.to_string();
        assert!(
            text.contains(
                "\nnote: net is negative outside tracked functions: code there freed memory that \
                 tracked functions allocated (e.g. a value one returned, dropped by an untracked caller)\n"
            ),
            "{text}"
        );
        report.scope = Scope::Capture;
        let text = report.to_string();
        assert!(
            text.contains("an untracked caller) or that existed before the capture\n"),
            "{text}"
        );
    }
}
