//! Gathering the numbers of a [`Report`]: from every thread ([`report()`](crate::report()), [`process_stats`])
//! or from one closure on the calling thread ([`capture`]).
//!
//! The numbers are read first, into `System` memory (so reading them is not counted and
//! changes nothing), then the report's rows are built, as ordinary counted memory.
//!
//! Threads book each allocation to one call path (see `frame`); here a function's
//! exclusive numbers are the sum over the paths that end at it, and its inclusive numbers
//! the sum over the paths it is on (once per path, so recursion counts each allocation
//! once).

// No panic path (see the crate docs, "No panic path"): a report reads the threads under
// the registry's lock, which a thread's first allocation also takes.
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]
#![cfg_attr(not(test), deny(clippy::indexing_slicing, clippy::panic))]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#![cfg_attr(not(test), deny(clippy::unreachable, clippy::todo))]

use core::sync::atomic::{Ordering, fence};

use crate::counters::Raw;
use crate::installed::assert_installed;
use crate::paths;
use crate::per_thread::{self, PerThread};
use crate::record::{Journal, Keyed, Touched};
use crate::registry::{self, Everything};
use crate::report::{Naming, PathStats, Report, Scope, SiteStats, Threads};
use crate::site::{self, Site};
use crate::slots::SiteValues;
use crate::stats::Totals;
use crate::stats::{AllocCounts, AllocStats};
use crate::sys::SysVec;

/// Every site's numbers, summed over all threads, since the program started.
///
/// Exact at the moment it is built, for every thread, running or exited: a running
/// thread's counters are read as they are, and the calls it has finished and those it is
/// in (marked in [`SiteStats::in_flight`]) with it. Sites never called are listed with
/// zeros. Building the report allocates on the calling thread like any other code; the
/// numbers in it are read before that.
///
/// What a reader can see of a thread that is running meanwhile:
/// - a request it is counting at that instant may be in some of the counts and not yet in
///   others (its `allocs` but not its bytes, say): at most one request per thread;
/// - what it did inside a tracked call since that call (or a nested one) last booked its
///   allocations is in [`Report::unattributed`] until the call ends;
/// - if it kept booking while being read, its rows may be off by what it did during the
///   read, and the printed report says how many threads were read so.
///
/// # Panics
///
/// If [`CountingAlloc`](crate::CountingAlloc) is not the global allocator (the message
/// shows the lines to add), like every function that returns numbers.
///
/// ```
/// # #[global_allocator]
/// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
/// #[alloc_trace::track_allocs]
/// fn work() -> Vec<u8> {
///     vec![0; 64]
/// }
///
/// std::thread::spawn(|| drop(work())).join().unwrap();
/// let report = alloc_trace::report();
/// assert_eq!(report.site("work").unwrap().calls, 1);
/// assert_eq!(report.site("work").unwrap().inclusive.bytes_allocated, 64);
/// ```
#[must_use]
#[track_caller]
pub fn report() -> Report {
    assert_installed();
    let mut g = Gathered::new(false);
    match registry::everything() {
        Some(all) => g.add_everything(&all),
        // A report from a signal handler that interrupted a report on its own thread: the
        // other threads cannot be read; this one can.
        None => {
            let _ = per_thread::with(|t| g.add_thread(t));
        }
    }
    let sites = site_list_all();
    g.build(
        Scope::Process,
        None,
        paths::ROOT,
        sites.as_slice().iter().copied(),
    )
}

/// What every thread of the process has done so far: exact at the moment it is read for
/// every thread, running or exited (a running thread's request being counted at that
/// instant may be in some counts and not yet in others). It allocates nothing.
///
/// # Panics
///
/// If [`CountingAlloc`](crate::CountingAlloc) is not the global allocator.
///
/// ```
/// # #[global_allocator]
/// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
/// let before = alloc_trace::process_stats();
/// std::thread::spawn(|| drop(std::hint::black_box(vec![0u8; 100]))).join().unwrap();
/// let after = alloc_trace::process_stats();
/// assert!(after.bytes_allocated - before.bytes_allocated >= 100);
/// ```
#[must_use]
#[track_caller]
pub fn process_stats() -> AllocCounts {
    assert_installed();
    let totals = match registry::everything() {
        Some(all) => all.threads().fold(all.retired.totals, |sum, t| {
            sum.plus(t.counters.read_raw().totals())
        }),
        None => per_thread::with(|t| t.counters.raw().totals()).unwrap_or(Totals::ZERO),
    };
    totals.counts()
}

/// Runs `f` and returns its result with the per-site numbers of what it did **on the
/// calling thread**: which tracked functions it called, how often, and what they
/// allocated. Parallel tests can assert per-function numbers without seeing each other.
///
/// `totals()` of the report equals what [`measure`](crate::measure) gives for `f`. It
/// costs in proportion to what `f` did, not to the number of tracked functions in the
/// program: while `f` runs, each tracked call records the entries it touches.
///
/// # Panics
///
/// If `CountingAlloc` is not the global allocator, or if `f` panics (the thread's numbers
/// stay consistent: the capture is closed as it unwinds).
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
    let (result, gathered, totals) = run_captured(f);
    let report = gathered.build_capture(totals);
    (result, report)
}

/// [`capture`] for the crate's own assertions: what `f` did, with its report left
/// unbuilt: a passing assertion only needs the totals, and building a report (its names,
/// rows and their strings) is most of a capture's cost.
#[track_caller]
pub(crate) fn capture_deferred<R>(f: impl FnOnce() -> R) -> (R, AllocStats, Deferred) {
    let (result, captured, totals) = run_captured(f);
    (result, totals, Deferred { captured, totals })
}

/// A capture's report, not built yet (see [`capture_deferred`]). Its tables are the
/// crate's own memory, never counted: dropping it unbuilt costs nothing to measure.
pub(crate) struct Deferred {
    captured: Captured,
    totals: AllocStats,
}

impl Deferred {
    /// Builds the report without counting, so that a measurement around the assertion
    /// sees only what `f` did.
    ///
    /// WARNING: the caller must drop the report inside `per_thread::uncounted` too.
    pub(crate) fn build_hidden(self) -> Report {
        per_thread::uncounted(|| self.captured.build_capture(self.totals))
    }
}

/// A closed capture, before its rows are built.
struct Captured {
    touched: Touched,
    base: u32,
}

#[track_caller]
fn run_captured<R>(f: impl FnOnce() -> R) -> (R, Captured, AllocStats) {
    assert_installed();
    /// Closes the journal if `f` unwinds.
    struct Open<'a>(core::pin::Pin<&'a Journal>);
    impl Drop for Open<'_> {
        fn drop(&mut self) {
            let _ = per_thread::with(|t| drop(t.tables.close_journal(&self.0)));
        }
    }
    let journal = core::pin::pin!(Journal::new());
    let journal = journal.into_ref();
    // The journal's window inside the measurement's: a signal handler's tracked call at
    // either edge is then in the totals and not in a row (so counted outside tracked
    // functions), never in a row and not in the totals. Opening and closing the journal
    // allocate nothing counted.
    let ((result, touched), totals) = crate::measure::measured(|| {
        let _ = per_thread::with(|t| t.tables.open(journal));
        let open = Open(journal);
        let result = f();
        let touched = per_thread::with(|t| t.tables.close_journal(&journal)).unwrap_or_default();
        drop(open);
        (result, touched)
    });
    // The capture's own paths are those below the innermost frame it ran in.
    let base = per_thread::with(crate::frame::current_path).unwrap_or(paths::ROOT);
    (result, Captured { touched, base }, totals)
}

impl Captured {
    fn build_capture(self, totals: AllocStats) -> Report {
        let Touched {
            sites,
            paths,
            unrecorded,
        } = self.touched;
        let mut g = Gathered::new(true);
        g.totals = Totals::from(totals);
        g.threads.live = 1;
        g.threads.unrecorded = unrecorded.into();
        g.sites = ById::sparse_from(sites, SiteValues::merge, |_| true);
        g.paths = ById::sparse_from(paths, |a, b| *a = a.plus(*b), |t| *t != Totals::ZERO);
        let listed = match &g.sites {
            ById::Sparse(v) => v.as_slice(),
            ById::Dense(_) => &[],
        };
        g.build(
            Scope::Capture,
            Some(totals.peak_bytes),
            self.base,
            listed.iter().filter_map(|e| site::by_id(e.id)),
        )
    }
}

/// A site's numbers derived from the paths it is on.
#[derive(Clone, Copy)]
struct Derived {
    exclusive: Totals,
    inclusive: Totals,
    /// The last path that added to `inclusive`.
    stamp: u32,
    /// Threads inside a call of the site.
    in_flight: u64,
}

impl Derived {
    const ZERO: Self = Self {
        exclusive: Totals::ZERO,
        inclusive: Totals::ZERO,
        stamp: 0,
        in_flight: 0,
    };
}

/// The sites a report lists.
type SiteList = SysVec<&'static Site>;

/// Numbers by site or path id while a report is built (`System` memory).
///
/// Dense (indexed by id) for a process-wide report, which lists every site anyway;
/// sparse (sorted by id) for a capture, so that a capture costs what its closure touched,
/// not what the highest site or path id in the program happens to be.
enum ById<T: Copy> {
    Dense(SysVec<T>),
    Sparse(SysVec<Keyed<T>>),
}

impl<T: Copy> ById<T> {
    fn new(sparse: bool) -> Self {
        if sparse {
            Self::Sparse(SysVec::new())
        } else {
            Self::Dense(SysVec::new())
        }
    }

    /// A dense map sized for ids `0..len` up front (a sparse one grows as entries come).
    fn with_len(sparse: bool, len: usize, zero: T) -> Self {
        let mut map = Self::new(sparse);
        if let Self::Dense(v) = &mut map {
            let _ = v.resize(len, zero);
        }
        map
    }

    fn get(&self, id: u32) -> Option<&T> {
        match self {
            Self::Dense(v) => v.as_slice().get(id as usize),
            Self::Sparse(v) => {
                let v = v.as_slice();
                let i = v.binary_search_by_key(&id, |e| e.id).ok()?;
                v.get(i).map(|e| &e.value)
            }
        }
    }

    /// The entry of `id`, made (as `zero`) if missing; `None` if memory ran out.
    fn entry(&mut self, id: u32, zero: T) -> Option<&mut T> {
        match self {
            Self::Dense(v) => {
                let i = id as usize;
                if v.len() <= i && !v.resize(i.saturating_add(1), zero) {
                    return None;
                }
                v.as_mut_slice().get_mut(i)
            }
            Self::Sparse(v) => {
                let at = match v.as_slice().binary_search_by_key(&id, |e| e.id) {
                    Ok(at) => at,
                    Err(at) => {
                        if !v.push(Keyed::new(id, zero)) {
                            return None;
                        }
                        // `at <= len` (where the id belongs), so the range is not empty.
                        if let Some(tail) = v.as_mut_slice().get_mut(at..) {
                            tail.rotate_right(1);
                        }
                        at
                    }
                };
                v.as_mut_slice().get_mut(at).map(|e| &mut e.value)
            }
        }
    }

    /// Every entry, by increasing id.
    fn for_each(&self, mut f: impl FnMut(u32, &T)) {
        match self {
            Self::Dense(v) => {
                for (id, t) in v.as_slice().iter().enumerate() {
                    f(id as u32, t);
                }
            }
            Self::Sparse(v) => {
                for e in v.as_slice() {
                    f(e.id, &e.value);
                }
            }
        }
    }

    /// A sparse map of `entries`, in any order: an id given twice is `merge`d, and the
    /// entries `keep` rejects (once merged) are left out. PERF: a capture's maps are its
    /// journal's memory, sorted in place, not copies.
    fn sparse_from(
        mut entries: SysVec<Keyed<T>>,
        merge: impl Fn(&mut T, &T),
        keep: impl Fn(&T) -> bool,
    ) -> Self {
        entries.as_mut_slice().sort_unstable_by_key(|e| e.id);
        let kept = merge_runs(
            entries.as_mut_slice(),
            |a, b| a.id == b.id,
            |prior, e| merge(&mut prior.value, &e.value),
        );
        entries.truncate(kept);
        entries.retain_mut(|e| keep(&e.value));
        Self::Sparse(entries)
    }

    fn is_sparse(&self) -> bool {
        matches!(self, Self::Sparse(_))
    }
}

/// Every site linked into the program (by `inventory`) and every other site that ran.
fn site_list_all() -> SiteList {
    let mut list: SiteList = SysVec::new();
    let mut seen: SysVec<bool> = SysVec::new();
    let _ = seen.resize((site::max_id() as usize).saturating_add(1), false);
    for site in site::all_sites() {
        if let Some(id) = site.assigned_id() {
            if let Some(s) = seen.as_mut_slice().get_mut(id as usize) {
                *s = true;
            }
        }
        let _ = list.push(site);
    }
    for id in 1..=site::max_id() {
        if !seen.as_slice().get(id as usize).copied().unwrap_or(true) {
            if let Some(site) = site::by_id(id) {
                let _ = list.push(site);
            }
        }
    }
    list
}

/// Raw numbers indexed by site and path id, before names are attached (`System` memory).
struct Gathered {
    totals: Totals,
    sites: ById<SiteValues>,
    paths: ById<Totals>,
    unattributed: Totals,
    /// The innermost known paths of threads inside tracked calls, each with its thread's
    /// handed-off frame: the sites on the path, up to that frame, are in flight.
    in_flight_paths: SysVec<(u32, u32)>,
    threads: Threads,
    /// The ownership view, read with the rest (process-wide reports only).
    #[cfg(feature = "ownership")]
    held: Option<crate::ownership::Read>,
}

/// One live thread's numbers, read consistently.
struct ThreadRead {
    raw: Raw,
    mark: Raw,
    in_frame: bool,
    published: u32,
    /// See `FrameState::handed_off`.
    handed_off: u32,
    /// The ids of `sites[0]` and `paths[0]` (see `record::Window`).
    sites_first: u32,
    paths_first: u32,
    sites: SysVec<SiteValues>,
    paths: SysVec<Totals>,
}

impl Gathered {
    /// `sparse`: for a capture (see [`ById`]).
    fn new(sparse: bool) -> Self {
        Self {
            totals: Totals::ZERO,
            sites: ById::new(sparse),
            paths: ById::new(sparse),
            unattributed: Totals::ZERO,
            in_flight_paths: SysVec::new(),
            threads: Threads::default(),
            #[cfg(feature = "ownership")]
            held: None,
        }
    }

    fn add_everything(&mut self, all: &Everything<'_>) {
        let retired = all.retired;
        self.totals = self.totals.plus(retired.totals);
        self.threads.exited = retired.threads;
        for (id, v) in retired.sites.as_slice().iter().enumerate() {
            self.add_site(id as u32, v);
        }
        for (id, t) in retired.paths.as_slice().iter().enumerate() {
            self.add_path(id as u32, *t);
        }
        for t in all.threads() {
            self.add_thread(t);
        }
        #[cfg(feature = "ownership")]
        {
            self.held = Some(crate::ownership::read(all));
        }
    }

    /// Adds a live thread, read as it is now.
    fn add_thread(&mut self, t: &PerThread) {
        let mut read = ThreadRead {
            raw: Raw::START,
            mark: Raw::START,
            in_frame: false,
            published: paths::ROOT,
            handed_off: paths::ROOT,
            sites_first: 0,
            paths_first: 0,
            sites: SysVec::new(),
            paths: SysVec::new(),
        };
        if !read_thread(t, &mut read) {
            self.threads.busy = self.threads.busy.saturating_add(1);
        }
        self.threads.live = self.threads.live.saturating_add(1);
        self.totals = self.totals.plus(read.raw.totals());
        for (i, v) in read.sites.as_slice().iter().enumerate() {
            self.add_site(read.sites_first.wrapping_add(i as u32), v);
        }
        for (i, p) in read.paths.as_slice().iter().enumerate() {
            self.add_path(read.paths_first.wrapping_add(i as u32), *p);
        }
        // What happened since the thread last booked belongs to the frames active since:
        // to the innermost one whose path is known, or, if none is, to no function yet.
        // Outside every frame it is outside tracked code, which needs no booking.
        if read.in_frame {
            let pending = read.raw.since(&read.mark);
            if read.published == paths::ROOT {
                self.unattributed = self.unattributed.plus(pending);
            } else {
                self.add_path(read.published, pending);
                let _ = self.in_flight_paths.push((read.published, read.handed_off));
            }
        }
    }

    fn add_site(&mut self, id: u32, v: &SiteValues) {
        if let Some(values) = self.sites.entry(id, SiteValues::default()) {
            values.merge(v);
        }
    }

    fn add_path(&mut self, id: u32, t: Totals) {
        if t == Totals::ZERO {
            return;
        }
        if let Some(p) = self.paths.entry(id, Totals::ZERO) {
            *p = p.plus(t);
        }
    }

    /// The report's rows. `base` is the path the report is relative to (a capture's
    /// enclosing frame): only paths below it count, and only their frames below it.
    fn build(
        &self,
        scope: Scope,
        peak: Option<u64>,
        base: u32,
        sites: impl Iterator<Item = &'static Site>,
    ) -> Report {
        if !cfg!(feature = "tracking") {
            // Off means off: no function is tracked, so none is listed (not even as never
            // called), and everything counted is outside tracked functions.
            return Report {
                scope,
                totals: self.totals.counts(),
                peak,
                in_tracked: AllocCounts::default(),
                unattributed: AllocCounts::default(),
                sites: Vec::new(),
                paths: Vec::new(),
                threads: self.threads,
                tracking: false,
                ownership: None,
            };
        }
        // Exclusive and inclusive numbers by site id, from the paths.
        let sparse = self.paths.is_sparse();
        let len = (site::max_id() as usize)
            .saturating_add(1)
            .max(match &self.sites {
                ById::Dense(v) => v.len(),
                ById::Sparse(_) => 0,
            });
        let mut by_site = ById::with_len(sparse, len, Derived::ZERO);
        let mut in_tracked = Totals::ZERO;
        // The paths shown: (id, exclusive numbers), named once the sites are. A capture's
        // are counted: room for all of them at once. A process-wide report's grows as it
        // fills (reserved at its size, a 10,000-site report took more time: BENCHMARKS.md).
        let mut shown_paths: Vec<(u32, Totals)> = match &self.paths {
            ById::Sparse(v) => Vec::with_capacity(v.len()),
            ById::Dense(_) => Vec::new(),
        };
        self.paths.for_each(|id, &t| {
            if t == Totals::ZERO || id == base || !is_below(id, base) {
                return;
            }
            in_tracked = in_tracked.plus(t);
            let mut cursor = id;
            let mut innermost = true;
            while cursor != base {
                let Some((parent, site_id, _)) = paths::parent_and_site(cursor) else {
                    break;
                };
                if let Some(d) = by_site.entry(site_id, Derived::ZERO) {
                    if innermost {
                        d.exclusive = d.exclusive.plus(t);
                    }
                    // Once per path, so that recursion counts each allocation once.
                    if d.stamp != id {
                        d.stamp = id;
                        d.inclusive = d.inclusive.plus(t);
                    }
                }
                innermost = false;
                cursor = parent;
            }
            shown_paths.push((id, t));
        });
        // The ownership view: process-wide reports only.
        #[cfg(feature = "ownership")]
        let held = self
            .held
            .as_ref()
            .filter(|_| scope == Scope::Process && base == paths::ROOT);
        #[cfg(feature = "ownership")]
        if let Some(read) = held {
            crate::ownership_rows::add_holding_paths(read, &mut shown_paths);
        }
        // Calls in flight: async calls started and not finished (their `started`, below),
        // and the synchronous calls on the known paths of threads inside tracked calls.
        // An async call's poll on a path is one of the started: not counted again.
        // Up to the thread's handed-off frame: the calls above it are on other threads.
        for &(path, handed_off) in self.in_flight_paths.as_slice() {
            let mut cursor = path;
            while let Some((parent, site_id, _)) = paths::parent_and_site(cursor) {
                if !site::by_id(site_id).is_some_and(Site::is_async)
                    && let Some(d) = by_site.entry(site_id, Derived::ZERO)
                {
                    d.in_flight = d.in_flight.saturating_add(1);
                }
                if cursor == handed_off {
                    break;
                }
                cursor = parent;
            }
        }
        // A capture's sites come filtered (so their lower bound is 0): room for all of
        // them, so that the rows are one allocation of the size they need.
        let (at_least, at_most) = sites.size_hint();
        // PERF, measured with glibc: rows built as (site, row) pairs and moved into place
        // at the end (a shrinking realloc), with their sites copied out for the names.
        // Built in place, their sites in a vector beside them, a report of 10,000 sites
        // ran 2.6 million fewer instructions and took 14.5 ms instead of 9.5: glibc gave
        // the heap's top back to the system when the report was dropped and grew it
        // again, page by page, on every report (536 `brk` calls in 16 reports, not 80).
        let mut rows: Vec<(&'static Site, SiteStats)> =
            Vec::with_capacity(at_most.unwrap_or(at_least));
        for site in sites {
            let id = site.assigned_id().unwrap_or(u32::MAX);
            let values = self.sites.get(id).copied().unwrap_or_default();
            let derived = by_site.get(id).copied().unwrap_or(Derived::ZERO);
            let (incl, excl) = (derived.inclusive, derived.exclusive);
            // `started` counts only `async fn` calls, which are counted in `calls` when
            // they finish.
            let in_flight = values
                .started
                .saturating_sub(values.calls)
                .saturating_add(derived.in_flight);
            if scope == Scope::Capture
                && values.calls == 0
                && incl == Totals::ZERO
                && in_flight == 0
            {
                continue;
            }
            rows.push((
                site,
                SiteStats {
                    name: String::new(),
                    display_name: String::new(),
                    file: site.file.to_owned(),
                    line: site.line,
                    calls: values.calls,
                    inclusive: incl.with_peak(values.peak),
                    exclusive: excl.counts(),
                    max_allocs_per_call: values.max_allocs,
                    in_flight,
                    ownership: None,
                },
            ));
        }
        #[cfg(feature = "ownership")]
        if let Some(read) = held {
            let by_site = crate::ownership_rows::sites(read, len);
            for (site, row) in &mut rows {
                let id = site.assigned_id().map_or(usize::MAX, |id| id as usize);
                row.ownership = Some(by_site.get(id).copied().unwrap_or_default());
            }
        }
        // The rows' sites, for their names: a capture's few on the stack (see `Names::of`).
        // PERF, measured with glibc: a process-wide report's go in a vector of their own,
        // though `Names::of` could read them from the rows; without that block, glibc
        // placed the 10,000-site report's so that its rows no longer shrank in place and
        // its text grew by copies (+0.77 million instructions per report).
        let mut few_sites: [Option<&'static Site>; MENTIONED_ON_STACK] = [None; MENTIONED_ON_STACK];
        let many_sites: Vec<Option<&'static Site>>;
        let row_sites: &[Option<&'static Site>] = match few_sites.get_mut(..rows.len()) {
            Some(few) => {
                for (slot, row) in few.iter_mut().zip(&rows) {
                    *slot = Some(row.0);
                }
                few
            }
            None => {
                many_sites = rows.iter().map(|r| Some(r.0)).collect();
                &many_sites
            }
        };
        let mut names = Names::of(row_sites, &shown_paths);
        let path_rows: Vec<PathStats> = shown_paths
            .iter()
            .map(|&(id, t)| {
                let frames = path_frames(id, &names);
                PathStats {
                    path: frames.join(";"),
                    frames,
                    exclusive: t.counts(),
                    #[cfg(feature = "ownership")]
                    ownership: held.map(|read| crate::ownership_rows::path(read, id)),
                    #[cfg(not(feature = "ownership"))]
                    ownership: None,
                }
            })
            .collect();
        // After the paths, which copy the names they show: each row takes its own.
        let rows: Vec<SiteStats> = rows
            .into_iter()
            .map(|(site, mut row)| {
                (row.name, row.display_name) = names.take_site(site);
                row
            })
            .collect();
        let rows = sorted(rows, |a, b| {
            (b.inclusive.allocs, b.inclusive.bytes_allocated, b.calls)
                .cmp(&(a.inclusive.allocs, a.inclusive.bytes_allocated, a.calls))
                .then_with(|| a.display_name.cmp(&b.display_name))
        });
        let path_rows = sorted(path_rows, |a, b| {
            (b.exclusive.allocs, b.exclusive.bytes_allocated)
                .cmp(&(a.exclusive.allocs, a.exclusive.bytes_allocated))
                .then_with(|| a.path.cmp(&b.path))
        });
        Report {
            scope,
            totals: self.totals.counts(),
            peak,
            in_tracked: in_tracked.counts(),
            unattributed: self.unattributed.counts(),
            sites: rows,
            paths: path_rows,
            threads: self.threads,
            tracking: true,
            #[cfg(feature = "ownership")]
            ownership: held.map(|read| crate::ownership_rows::process(read, self.totals)),
            #[cfg(not(feature = "ownership"))]
            ownership: None,
        }
    }
}

/// Up to this many rows, [`sorted`] sorts them in place.
const SORT_IN_PLACE: usize = 32;

/// `rows` in the order `cmp` gives (stable), sorted by index and moved once: a report's
/// rows are large, and a merge sort moves each of them many times. A few rows (a
/// capture's, typically) are sorted in place: the index and its two vectors would cost
/// more than the moves they save.
fn sorted<T>(mut rows: Vec<T>, cmp: impl Fn(&T, &T) -> core::cmp::Ordering) -> Vec<T> {
    if rows.len() <= SORT_IN_PLACE {
        rows.sort_by(cmp);
        return rows;
    }
    let mut order: Vec<usize> = (0..rows.len()).collect();
    // Every index is one of `rows`': the fallbacks are never taken.
    order.sort_by(|&a, &b| match (rows.get(a), rows.get(b)) {
        (Some(a), Some(b)) => cmp(a, b),
        _ => core::cmp::Ordering::Equal,
    });
    let mut slots: Vec<Option<T>> = rows.into_iter().map(Some).collect();
    order
        .into_iter()
        .filter_map(|i| slots.get_mut(i).and_then(Option::take))
        .collect()
}

/// Reads a live thread's numbers: a consistent view of what it had booked and of its
/// counters, unless it keeps booking while being read (false: the last read is kept).
fn read_thread(t: &PerThread, r: &mut ThreadRead) -> bool {
    for _ in 0..64 {
        let before = t.frames.seq.read();
        if before & 1 == 1 {
            core::hint::spin_loop();
            continue;
        }
        fence(Ordering::Acquire);
        if read_once(t, r) {
            fence(Ordering::Acquire);
            if t.frames.seq.read() == before {
                return true;
            }
        }
    }
    let _ = read_once(t, r);
    false
}

fn read_once(t: &PerThread, r: &mut ThreadRead) -> bool {
    r.mark = t.frames.mark.read();
    r.published = t.frames.published_path.load(Ordering::Relaxed);
    // After `published`: a path published below a handed-off frame is read with it (the
    // frame's exit books, so moves `seq`, before it restores the thread's `handed_off`).
    r.handed_off = t.frames.handed_off.load(Ordering::Relaxed);
    r.in_frame = !t.frames.current.load(Ordering::Relaxed).is_null();
    r.raw = t.counters.read_raw();
    r.sites.clear();
    r.paths.clear();
    // SAFETY: the caller holds the registry lock and `t` is listed (or is the caller).
    let (sites, paths) = unsafe { t.tables.shared() };
    r.sites_first = sites.first as u32;
    r.paths_first = paths.first as u32;
    sites.entries.iter().all(|s| r.sites.push(s.read()))
        && paths.entries.iter().all(|p| r.paths.push(p.read()))
}

/// Whether `path` is `base` or below it.
fn is_below(path: u32, base: u32) -> bool {
    if base == paths::ROOT {
        return true;
    }
    let mut cursor = path;
    loop {
        if cursor == base {
            return true;
        }
        match paths::parent_and_site(cursor) {
            Some((parent, _, _)) => cursor = parent,
            None => return false,
        }
    }
}

/// The names a report shows for its sites: each site's name, told apart by its location
/// where another site the report mentions (in its rows or on its paths) has the same one.
struct Names {
    /// Every site mentioned, sorted by address (distinct `Site` statics are distinct
    /// functions), with its name and display name.
    sites: Vec<Naming<'static, &'static Site>>,
}

impl Names {
    /// `rows`: the report's rows, by site.
    fn of(rows: &[Option<&'static Site>], shown_paths: &[(u32, Totals)]) -> Self {
        // Gives `f` every site of the rows, then every site on the paths, until `f` says
        // no more (false: then false).
        let each_mentioned = |f: &mut dyn FnMut(&'static Site) -> bool| {
            for &site in rows.iter().flatten() {
                if !f(site) {
                    return false;
                }
            }
            for &(id, _) in shown_paths {
                let mut cursor = id;
                while let Some((parent, site_id, _)) = paths::parent_and_site(cursor) {
                    if let Some(site) = site::by_id(site_id)
                        && !f(site)
                    {
                        return false;
                    }
                    cursor = parent;
                }
            }
            true
        };
        // PERF: a capture mentions a few sites: they are sorted on the stack, so that
        // naming them allocates only the names (and their vector).
        let mut few: [Option<&'static Site>; MENTIONED_ON_STACK] = [None; MENTIONED_ON_STACK];
        let mut n = 0usize;
        let mut many: Vec<Option<&'static Site>> = Vec::new();
        let fits = each_mentioned(&mut |site| match few.get_mut(n) {
            Some(slot) => {
                *slot = Some(site);
                n = n.saturating_add(1);
                true
            }
            None => false,
        });
        let mentioned: &mut [Option<&'static Site>] = if fits {
            few.get_mut(..n).unwrap_or_default()
        } else {
            many.reserve(rows.len().saturating_add(shown_paths.len()));
            each_mentioned(&mut |site| {
                many.push(Some(site));
                true
            });
            &mut many
        };
        // By address (every entry is `Some`: the key is the pointer itself).
        let address =
            |site: &Option<&'static Site>| site.map_or(core::ptr::null(), core::ptr::from_ref);
        mentioned.sort_unstable_by_key(address);
        let distinct = merge_runs(mentioned, |a, b| address(a) == address(b), |_, _| ());
        let distinct = mentioned.get(..distinct).unwrap_or_default();
        // Named once each, here: a method's name can change once (when a call on another
        // thread learns its type), and the row and the paths show the same one.
        // One allocation: `flatten` cannot tell `collect` how many there are.
        let mut sites: Vec<Naming<'static, &'static Site>> = Vec::with_capacity(distinct.len());
        for &site in distinct.iter().flatten() {
            sites.push(Naming::new(site.owned_name(), site.file, site.line, site));
        }
        crate::report::name_sites(&mut sites);
        Self { sites }
    }

    fn of_site(&self, site: &Site) -> &str {
        self.index(site)
            .and_then(|i| self.sites.get(i))
            .map_or("?", |n| n.display.as_str())
    }

    /// The name and display name of `site`, moved out: [`Names::of_site`] then has `""`
    /// for it.
    fn take_site(&mut self, site: &Site) -> (String, String) {
        match self.index(site).and_then(|i| self.sites.get_mut(i)) {
            Some(n) => (
                core::mem::take(&mut n.name),
                core::mem::take(&mut n.display),
            ),
            None => ("?".to_owned(), "?".to_owned()),
        }
    }

    fn index(&self, site: &Site) -> Option<usize> {
        let key = core::ptr::from_ref(site);
        self.sites
            .binary_search_by_key(&key, |n| core::ptr::from_ref(n.of))
            .ok()
    }
}

/// Up to this many sites mentioned, [`Names::of`] sorts them on the stack.
const MENTIONED_ON_STACK: usize = 32;

/// Merges each run of entries of `sorted` that are the `same` into its first (`merge`
/// adds the others to it) and moves those firsts to the front, in order: how many there
/// are. (`Vec::dedup_by` for a slice, which a capture's stack array is.)
fn merge_runs<T: Copy>(
    sorted: &mut [T],
    same: impl Fn(&T, &T) -> bool,
    mut merge: impl FnMut(&mut T, &T),
) -> usize {
    // `sorted[..kept]`: the distinct entries so far, merged.
    let mut kept = 0usize;
    for i in 0..sorted.len() {
        let Some(&e) = sorted.get(i) else {
            break;
        };
        let prior = kept.checked_sub(1).and_then(|k| sorted.get_mut(k));
        match prior {
            Some(prior) if same(prior, &e) => merge(prior, &e),
            _ => {
                if let Some(slot) = sorted.get_mut(kept) {
                    *slot = e;
                }
                // `kept <= i`, below `len`: it does not wrap.
                kept = kept.wrapping_add(1);
            }
        }
    }
    kept
}

/// The frames of a path: its sites' display names from the outermost, with `[...]` where
/// frames were left out.
fn path_frames(id: u32, names: &Names) -> Vec<String> {
    if id == paths::OVERFLOW {
        return vec![crate::report::OVERFLOW_PATH.to_owned()];
    }
    let steps = || {
        core::iter::successors(paths::parent_and_site(id), |&(parent, _, _)| {
            paths::parent_and_site(parent)
        })
    };
    // One allocation (a path is short: walking it twice costs less than growing the
    // vector), of at least the 4 a growing vector starts with. PERF, measured with glibc:
    // sized exactly (1, mostly), the frames of the 10,000-site report's paths moved the
    // heap so that its rows no longer shrank in place (+1.9 million instructions of
    // `realloc` copies per report).
    let len = steps()
        .map(|(_, _, cut)| if cut { 2 } else { 1 })
        .fold(0usize, usize::saturating_add);
    let mut frames: Vec<String> = Vec::with_capacity(len.max(4));
    for (_, site_id, cut) in steps() {
        frames.push(
            site::by_id(site_id)
                .map_or("?", |s| names.of_site(s))
                .to_owned(),
        );
        if cut {
            frames.push("[...]".to_owned());
        }
    }
    frames.reverse();
    frames
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sparse_map_of_entries_is_sorted_merged_and_filtered() {
        let mut entries = SysVec::new();
        for (id, n) in [(9, 1), (3, 2), (9, 4), (5, 0), (1, 8), (3, 16), (5, 0)] {
            assert!(entries.push(Keyed::new(id, n)));
        }
        let map = ById::sparse_from(entries, |a: &mut u64, b| *a += *b, |n| *n != 0);
        let mut seen = Vec::new();
        map.for_each(|id, n| seen.push((id, *n)));
        // Id 5 twice, 0 in all: left out once merged.
        assert_eq!(seen, [(1, 8), (3, 18), (9, 5)]);
        assert_eq!(map.get(3), Some(&18));
        assert_eq!(map.get(5), None);
    }
}
