//! The report and the ways to show it: [`Report`] (re-exported at the crate root), its
//! rows ([`SiteStats`], [`PathStats`]), the table's options ([`Table`], [`SortBy`]), the
//! folded stacks ([`FoldedWeight`]), JSON (feature `json`) and the exit report
//! ([`ExitReport`], [`ENV_VAR`]).
//!
//! Get a report with [`crate::report()`] or [`crate::capture`].
//!
//! ```
//! use alloc_trace::report::SortBy;
//! # #[global_allocator]
//! # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
//!
//! #[alloc_trace::track_allocs]
//! fn squares(n: u64) -> Vec<u64> {
//!     (0..n).map(|i| i * i).collect()
//! }
//!
//! let (_, report) = alloc_trace::capture(|| squares(10));
//! println!("{}", report.table().sort_by(SortBy::Bytes).top(5));
//! ```

use crate::counters::Totals;
use crate::paths;
use crate::site::Site;
use crate::slots::SiteValues;
use crate::{AllocCounts, AllocStats};

mod cell;
mod folded;
#[cfg(feature = "json")]
mod json;
mod table;

pub use folded::{FoldedWeight, OUTSIDE_FRAME};
#[cfg(feature = "json")]
pub use json::JSON_SCHEMA_VERSION;
pub use table::{SortBy, Table};

pub use crate::exit_report::{ENV_VAR, ExitReport};
pub use crate::site::SiteStats;

/// Per-site allocation numbers: a mini heap profile.
///
/// Get one with [`report()`](crate::report()) (every site, every thread, since the program
/// started) or [`capture`](crate::capture) (what one closure did on the calling thread). Sites are ordered hottest
/// first: most `allocs` (nested calls included), then most bytes.
///
/// # Showing it
///
/// - For people: `Display` prints an aligned table (see [`Table`] for the columns);
///   [`Report::table`] sorts it by another column, keeps the top N, or lists functions
///   never called. Printing allocates nothing.
/// - For programs: `Report::to_json` (feature `json`), a versioned schema.
/// - For flamegraphs: [`Report::folded`], the folded-stack lines inferno reads.
/// - At exit, without code: [`report_on_exit`](crate::report_on_exit) and the
///   `ALLOC_TRACE` environment variable.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "json", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "json",
    serde(into = "json::ReportJson", try_from = "json::ReportJson")
)]
pub struct Report {
    pub(crate) scope: Scope,
    pub(crate) totals: AllocCounts,
    /// The closure's peak for a capture; none process-wide (peaks of threads cannot be
    /// added up).
    pub(crate) peak: Option<u64>,
    pub(crate) in_tracked: AllocCounts,
    pub(crate) sites: Vec<SiteStats>,
    pub(crate) paths: Vec<PathStats>,
}

/// What a [`Report`] covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "json", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "json", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum Scope {
    /// Every thread since the program started ([`report`]).
    Process,
    /// One closure on the calling thread ([`capture`]).
    Capture,
}

/// Allocations made by frames at one call path, e.g. `main;handle;parse`: what the last
/// function of the path did itself (exclusive numbers) when called along that path.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "json", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct PathStats {
    /// Site names from the outermost tracked call to the innermost, joined by `;`.
    pub path: String,
    /// What calls at exactly this path did, nested tracked calls excluded.
    pub exclusive: AllocCounts,
}

/// The text of the path that collects calls once the call-path table is full.
pub const OVERFLOW_PATH: &str = "[alloc-trace: call-path table full]";

impl Report {
    /// Every site, hottest first (sites never called come last).
    #[must_use]
    pub fn sites(&self) -> &[SiteStats] {
        &self.sites
    }

    /// The site called `name`: its full name (`module::path::function`), or else the one
    /// site whose name ends with `::name` (so `"parse"` or `"Parser::parse"` work when
    /// unambiguous).
    #[must_use]
    pub fn site(&self, name: &str) -> Option<&SiteStats> {
        if let Some(exact) = self.sites.iter().find(|s| s.name == name) {
            return Some(exact);
        }
        let mut matches = self.sites.iter().filter(|s| {
            s.name
                .strip_suffix(name)
                .is_some_and(|head| head.ends_with("::"))
        });
        let first = matches.next()?;
        matches.next().is_none().then_some(first)
    }

    /// Everything that was allocated, inside tracked functions or not: process-wide for
    /// [`report`], the closure's for [`capture`].
    #[must_use]
    pub const fn totals(&self) -> AllocCounts {
        self.totals
    }

    /// The peak of live bytes above the start, for a [`capture`] (the same as
    /// [`measure`](crate::measure) gives); `None` for a process-wide [`report`], whose
    /// threads' peaks cannot be added up.
    #[must_use]
    pub const fn peak_bytes(&self) -> Option<u64> {
        self.peak
    }

    /// What happened inside tracked functions (the sum of every site's exclusive counts).
    #[must_use]
    pub const fn in_tracked(&self) -> AllocCounts {
        self.in_tracked
    }

    /// What happened outside every tracked function: [`totals`](Self::totals) minus
    /// [`in_tracked`](Self::in_tracked).
    #[must_use]
    pub fn outside_tracked(&self) -> AllocCounts {
        Totals::from(self.totals)
            .minus(Totals::from(self.in_tracked))
            .counts()
    }

    /// Allocations per call path of tracked sites, most allocations first.
    #[must_use]
    pub fn paths(&self) -> &[PathStats] {
        &self.paths
    }

    /// The totals with the capture's peak (0 if none), for the crate's assertions.
    pub(crate) fn capture_stats(&self) -> AllocStats {
        self.totals.with_peak(self.peak.unwrap_or(0))
    }

    /// What the report covers.
    #[must_use]
    pub const fn scope(&self) -> Scope {
        self.scope
    }
}

pub(crate) fn site_stats(site: &'static Site, v: &SiteValues) -> SiteStats {
    SiteStats {
        name: site.name.to_owned(),
        file: site.file.to_owned(),
        line: site.line,
        calls: v.calls,
        inclusive: v.inclusive.with_peak(v.peak),
        exclusive: v.exclusive.with_peak(0),
        max_allocs_per_call: v.max_allocs_per_call,
    }
}

pub(crate) fn path_name(mut id: u32, by_id: &[Option<&'static Site>]) -> String {
    if id == paths::OVERFLOW {
        return OVERFLOW_PATH.to_owned();
    }
    // Paths are at most MAX_DEPTH frames deep: collect them on the stack, then build the
    // string with one allocation.
    let mut frames = [""; paths::MAX_DEPTH as usize];
    let mut depth = 0;
    while let Some((parent, site)) = paths::parent_and_site(id) {
        if depth == frames.len() {
            break;
        }
        frames[depth] = by_id
            .get(site as usize)
            .copied()
            .flatten()
            .map_or("?", |s| s.name);
        depth += 1;
        id = parent;
    }
    let frames = &frames[..depth];
    let mut name = String::with_capacity(frames.iter().map(|f| f.len() + 1).sum());
    for (i, frame) in frames.iter().rev().enumerate() {
        if i > 0 {
            name.push(';');
        }
        name.push_str(frame);
    }
    name
}
