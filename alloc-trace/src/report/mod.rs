//! `Report`: per-site numbers as data, gathered from every thread (`report`) or from one
//! closure on the calling thread (`capture`).

use crate::AllocStats;
use crate::counters::{self, Totals};
use crate::frame;
use crate::installed::{assert_installed, is_installed};
use crate::measure::Measurement;
use crate::paths;
use crate::site::{self, Site, SiteStats};
use crate::slots::SiteValues;
use crate::threads;

mod cell;
mod folded;
#[cfg(feature = "json")]
mod json;
mod table;

pub use folded::{FoldedWeight, OUTSIDE_FRAME};
#[cfg(feature = "json")]
pub use json::JSON_SCHEMA_VERSION;
pub use table::{SortBy, Table};

/// Per-site allocation numbers: a mini heap profile.
///
/// Get one with [`report`] (every site, every thread, since the program started) or
/// [`capture`] (what one closure did on the calling thread). Sites are ordered hottest
/// first: most allocations (allocs + reallocs, nested calls included), then most bytes.
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
    pub(crate) installed: bool,
    pub(crate) totals: AllocStats,
    pub(crate) in_sites: AllocStats,
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
    pub exclusive: AllocStats,
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

    /// Everything that was allocated, inside tracked sites or not: process-wide for
    /// [`report`], the closure's for [`capture`].
    #[must_use]
    pub const fn totals(&self) -> AllocStats {
        self.totals
    }

    /// What happened outside any tracked site (`peak_bytes` is 0).
    #[must_use]
    pub fn outside_sites(&self) -> AllocStats {
        Totals::from(self.totals)
            .minus(Totals::from(self.in_sites))
            .with_peak(0)
    }

    /// Allocations per call path of tracked sites, most allocations first.
    #[must_use]
    pub fn paths(&self) -> &[PathStats] {
        &self.paths
    }

    /// What the report covers.
    #[must_use]
    pub const fn scope(&self) -> Scope {
        self.scope
    }

    /// False if `CountingAlloc` was not the global allocator: every number is then 0.
    #[must_use]
    pub const fn is_counting(&self) -> bool {
        self.installed
    }
}

/// Every site's numbers, summed over all threads, since the program started.
///
/// Exact for exited threads and the calling thread; a thread that is still running
/// counts as of its last tracked call that allocated (see
/// [`process_stats`](crate::process_stats)). Sites never called are listed with zeros.
/// Building the report allocates on the calling thread like any other code; the numbers
/// in it are taken before that.
///
/// If `CountingAlloc` is not the global allocator, the report says so when printed
/// ([`Report::is_counting`] is false) instead of showing zeros as if they were real.
#[must_use]
pub fn report() -> Report {
    let installed = is_installed();
    let (own, own_tracked) = (counters::totals(), frame::tracked_totals());
    let gathered = counters::untracked(|| {
        let all = threads::everything();
        let (totals, tracked) = threads::process_totals(&all, own, own_tracked);
        let mut sites: Vec<SiteValues> = all.retired.sites.clone();
        let mut path_totals: Vec<Totals> = all.retired.paths.clone();
        for record in all.live.iter() {
            // SAFETY: the registry lock is held (`all.live`).
            let (slots, path_slots) =
                unsafe { (record.0.sites.as_slice(), record.0.paths.as_slice()) };
            merge_into(
                &mut sites,
                slots.iter().map(|s| s.load()),
                SiteValues::merge,
            );
            merge_into(
                &mut path_totals,
                path_slots.iter().map(|p| p.load()),
                |a, b| *a = a.plus(*b),
            );
        }
        Gathered {
            totals,
            tracked,
            sites,
            paths: path_totals,
        }
    });
    let report = gathered.build(Scope::Process, installed, None);
    counters::untracked(|| drop(gathered));
    report
}

/// Runs `f` and returns its result with the per-site numbers of what it did **on the
/// calling thread**: which tracked functions it called, how often, and what they
/// allocated. Parallel tests can assert per-function numbers without seeing each other.
///
/// `totals()` of the report equals what [`measure`](crate::measure) gives for `f`.
///
/// # Panics
///
/// If `CountingAlloc` is not the global allocator, or if `f` panics.
///
/// ```
/// # #[global_allocator]
/// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
/// #[alloc_trace::track_allocs]
/// fn parse(s: &str) -> Vec<&str> {
///     s.split(',').collect()
/// }
///
/// let (_, report) = alloc_trace::capture(|| parse("a,b,c"));
/// let site = report.site("parse").unwrap();
/// assert_eq!(site.calls, 1);
/// assert_eq!(site.inclusive.allocs, 1);
/// ```
#[track_caller]
pub fn capture<R>(f: impl FnOnce() -> R) -> (R, Report) {
    run_captured(f, false)
}

/// [`capture`] for the crate's own assertions: the report is built inside
/// `counters::untracked`, so a measurement around the assertion sees only what `f` did.
///
/// WARNING: the caller must drop the report inside `counters::untracked` too.
#[track_caller]
pub(crate) fn capture_hidden<R>(f: impl FnOnce() -> R) -> (R, Report) {
    run_captured(f, true)
}

#[track_caller]
fn run_captured<R>(f: impl FnOnce() -> R, hidden: bool) -> (R, Report) {
    assert_installed();
    let before = counters::untracked(Snapshot::take_and_reset_maxima);
    let boundary = core::pin::pin!(frame::Boundary::new());
    let boundary = boundary.into_ref();
    boundary.enter();
    let measurement = Measurement::start();
    let result = f();
    let totals = measurement.finish();
    let tracked = boundary.finish();
    let gathered = counters::untracked(|| before.finish(totals, tracked));
    let build = || gathered.build(Scope::Capture, true, Some(totals.peak_bytes));
    let report = if hidden {
        counters::untracked(build)
    } else {
        build()
    };
    counters::untracked(|| drop(gathered));
    (result, report)
}

/// This thread's tables at the start of a `capture`.
struct Snapshot {
    sites: Vec<SiteValues>,
    paths: Vec<Totals>,
    maxima: Vec<(u64, u64)>,
}

impl Snapshot {
    fn take_and_reset_maxima() -> Self {
        frame::with_own_tables(|sites, paths| Snapshot {
            sites: sites.iter().map(|s| s.load()).collect(),
            paths: paths.iter().map(|p| p.load()).collect(),
            maxima: sites.iter().map(|s| s.reset_maxima()).collect(),
        })
    }

    /// What happened since; restores the maxima the snapshot reset.
    fn finish(self, totals: AllocStats, tracked: Totals) -> Gathered {
        frame::with_own_tables(|sites, paths| {
            let site_diff = sites
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    s.load()
                        .since(self.sites.get(i).unwrap_or(&SiteValues::default()))
                })
                .collect();
            for (slot, saved) in sites.iter().zip(&self.maxima) {
                slot.restore_maxima(*saved);
            }
            let path_diff = paths
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    p.load()
                        .minus(self.paths.get(i).copied().unwrap_or_default())
                })
                .collect();
            Gathered {
                totals: Totals::from(totals),
                tracked,
                sites: site_diff,
                paths: path_diff,
            }
        })
    }
}

fn merge_into<T: Default>(
    sum: &mut Vec<T>,
    items: impl ExactSizeIterator<Item = T>,
    add: impl Fn(&mut T, &T),
) {
    if sum.len() < items.len() {
        sum.resize_with(items.len(), T::default);
    }
    for (total, item) in sum.iter_mut().zip(items) {
        add(total, &item);
    }
}

/// Raw numbers indexed by site and path id, before names are attached.
struct Gathered {
    totals: Totals,
    tracked: Totals,
    sites: Vec<SiteValues>,
    paths: Vec<Totals>,
}

impl Gathered {
    fn build(&self, scope: Scope, installed: bool, peak: Option<u64>) -> Report {
        let all: Vec<&'static Site> = site::all_sites().collect();
        // PERF: ids are dense, so a table indexed by id beats a hash map (10,000 sites).
        let mut by_id: Vec<Option<&'static Site>> = Vec::new();
        for &site in &all {
            if let Some(id) = site.assigned_id() {
                let id = id as usize;
                if by_id.len() <= id {
                    by_id.resize(id + 1, None);
                }
                by_id[id] = Some(site);
            }
        }
        let mut sites: Vec<SiteStats> = all
            .iter()
            .map(|&site| {
                let values = site
                    .assigned_id()
                    .and_then(|id| self.sites.get(id as usize))
                    .copied()
                    .unwrap_or_default();
                site_stats(site, &values)
            })
            .collect();
        sites.sort_by(|a, b| {
            (
                b.inclusive.total_allocs(),
                b.inclusive.bytes_allocated,
                b.calls,
            )
                .cmp(&(
                    a.inclusive.total_allocs(),
                    a.inclusive.bytes_allocated,
                    a.calls,
                ))
                .then_with(|| a.name.cmp(&b.name))
        });
        let mut paths: Vec<PathStats> = self
            .paths
            .iter()
            .enumerate()
            .filter(|(_, t)| **t != Totals::ZERO)
            .map(|(id, t)| PathStats {
                path: path_name(id as u32, &by_id),
                exclusive: t.with_peak(0),
            })
            .collect();
        paths.sort_by(|a, b| {
            (b.exclusive.total_allocs(), b.exclusive.bytes_allocated)
                .cmp(&(a.exclusive.total_allocs(), a.exclusive.bytes_allocated))
                .then_with(|| a.path.cmp(&b.path))
        });
        Report {
            scope,
            installed,
            totals: self.totals.with_peak(peak.unwrap_or(0)),
            in_sites: self.tracked.with_peak(0),
            sites,
            paths,
        }
    }
}

fn site_stats(site: &'static Site, v: &SiteValues) -> SiteStats {
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

fn path_name(mut id: u32, by_id: &[Option<&'static Site>]) -> String {
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
