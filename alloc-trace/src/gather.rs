//! Gathering the numbers of a [`Report`]: from every thread ([`report`]) or from one
//! closure on the calling thread ([`capture`]).

use crate::AllocStats;
use crate::counters::{self, Totals};
use crate::frame;
use crate::installed::assert_installed;
use crate::measure::Measurement;
use crate::report::{PathStats, Report, Scope, path_name, site_stats};
use crate::site::{self, Site, SiteStats};
use crate::slots::SiteValues;
use crate::threads;

/// Every site's numbers, summed over all threads, since the program started.
///
/// Exact for exited threads and the calling thread; a thread that is still running
/// counts as of its last tracked call that allocated (see
/// [`process_stats`](crate::process_stats)). Sites never called are listed with zeros.
/// Building the report allocates on the calling thread like any other code; the numbers
/// in it are taken before that.
///
/// # Panics
///
/// If [`CountingAlloc`](crate::CountingAlloc) is not the global allocator (the message
/// shows the lines to add), like every function that returns numbers.
#[must_use]
#[track_caller]
pub fn report() -> Report {
    assert_installed();
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
    let report = gathered.build(Scope::Process, None);
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
    let build = || gathered.build(Scope::Capture, Some(totals.peak_bytes));
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
    fn build(&self, scope: Scope, peak: Option<u64>) -> Report {
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
            (b.inclusive.allocs, b.inclusive.bytes_allocated, b.calls)
                .cmp(&(a.inclusive.allocs, a.inclusive.bytes_allocated, a.calls))
                .then_with(|| a.name.cmp(&b.name))
        });
        let mut paths: Vec<PathStats> = self
            .paths
            .iter()
            .enumerate()
            .filter(|(_, t)| **t != Totals::ZERO)
            .map(|(id, t)| PathStats {
                path: path_name(id as u32, &by_id),
                exclusive: t.counts(),
            })
            .collect();
        paths.sort_by(|a, b| {
            (b.exclusive.allocs, b.exclusive.bytes_allocated)
                .cmp(&(a.exclusive.allocs, a.exclusive.bytes_allocated))
                .then_with(|| a.path.cmp(&b.path))
        });
        Report {
            scope,
            totals: self.totals.counts(),
            peak,
            in_tracked: self.tracked.counts(),
            sites,
            paths,
        }
    }
}
