//! The report and the ways to show it: [`Report`] (re-exported at the crate root), its
//! rows ([`SiteStats`], [`PathStats`]), the table's options ([`Table`], [`SortBy`]), the
//! folded stacks ([`FoldedWeight`]) and JSON (feature `json`). The report printed at exit
//! is one layer up, in [`exit_report`](crate::exit_report).
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

use crate::stats::Totals;
use crate::stats::{AllocCounts, AllocStats};

#[cfg(feature = "json")]
pub mod baseline;
mod cell;
#[cfg(feature = "json")]
mod dhat;
mod diff;
#[cfg(feature = "json")]
mod diff_files;
mod folded;
mod frames;
#[cfg(feature = "json")]
mod json;
mod ownership;
#[cfg(feature = "pprof")]
pub mod pprof;
#[cfg(feature = "json")]
mod read;
mod rows;
mod table;

pub use diff::{ReportDiff, SiteDiff, SiteRates};
pub use folded::{FoldedWeight, OUTSIDE_FRAME};
pub use frames::UNATTRIBUTED_FRAME;
#[cfg(feature = "json")]
pub use json::JSON_SCHEMA_VERSION;
pub use ownership::{Held, Live, Ownership, SiteOwnership};
#[cfg(feature = "json")]
pub use read::{Problem, ReadError};
pub use table::{SortBy, Table};

#[cfg(feature = "json")]
pub(crate) use rows::display_names;
pub(crate) use rows::{Naming, name_sites};
pub use rows::{PathStats, SiteStats};

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
///
/// ```
/// # #[global_allocator]
/// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
/// #[alloc_trace::track_allocs(name = "app::load")]
/// fn load() -> Vec<u8> {
///     vec![0; 64]
/// }
///
/// let (_, report) = alloc_trace::capture(|| std::hint::black_box(load()));
/// assert_eq!(report.site("load").unwrap().inclusive.bytes_allocated, 64);
/// assert!(report.to_string().contains("  app::load\n"));
/// ```
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
    /// Allocations of threads inside tracked calls in flight that cannot be given to a
    /// function yet (see [`Report::unattributed`]).
    pub(crate) unattributed: AllocCounts,
    pub(crate) sites: Vec<SiteStats>,
    pub(crate) paths: Vec<PathStats>,
    pub(crate) threads: Threads,
    /// Whether alloc-trace was built with its `tracking` feature.
    pub(crate) tracking: bool,
    /// The ownership view's process-wide numbers (feature `ownership`, process-wide
    /// reports only).
    pub(crate) ownership: Option<Ownership>,
}

/// How many threads a report covers, and how well.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "json", derive(serde::Serialize, serde::Deserialize))]
pub(crate) struct Threads {
    /// Threads running when the report was built (for a capture: 1).
    pub live: u64,
    /// Threads that had exited.
    pub exited: u64,
    /// Live threads whose attributed numbers kept changing while they were read: their
    /// per-function rows may be off by what they did during the read.
    pub busy: u64,
    /// For a capture: the sites and call paths its closure touched that it could not
    /// record (a signal handler's tracked call while the capture wrote its list, or
    /// `System` out of memory). Their rows are missing; totals are exact. Absent in
    /// reports written before it existed.
    #[cfg_attr(feature = "json", serde(default))]
    pub unrecorded: u64,
}

/// What a [`Report`] covers.
///
/// ```
/// # #[global_allocator]
/// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
/// use alloc_trace::report::Scope;
///
/// assert_eq!(alloc_trace::capture(|| ()).1.scope(), Scope::Capture);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "json", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "json", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum Scope {
    /// Every thread since the program started ([`report()`](crate::report())).
    Process,
    /// One closure on the calling thread ([`capture`](crate::capture)).
    Capture,
}

/// The text of the path that collects calls once the call-path table is full, and the
/// rare call of a signal handler that needs a new path while its thread is adding one (see
/// [`Report::folded`]).
///
/// ```
/// assert_eq!(alloc_trace::report::OVERFLOW_PATH, "[alloc-trace: call-path table full]");
/// ```
pub const OVERFLOW_PATH: &str = "[alloc-trace: call-path table full]";

impl Report {
    /// Every site, hottest first (sites never called come last).
    ///
    /// ```
    /// # #[global_allocator]
    /// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
    /// #[alloc_trace::track_allocs(name = "one")]
    /// fn one() -> Box<u8> {
    ///     Box::new(1)
    /// }
    ///
    /// let (_, report) = alloc_trace::capture(|| std::hint::black_box(one()));
    /// let names: Vec<&str> = report.sites().iter().map(|s| s.name.as_str()).collect();
    /// assert_eq!(names, ["one"]);
    /// ```
    #[must_use]
    pub fn sites(&self) -> &[SiteStats] {
        &self.sites
    }

    /// The one site called `name`, or `None` if no site is, or several are: it never
    /// guesses between two functions.
    ///
    /// `name` is matched, in this order, against:
    /// 1. each site's [`display_name`](SiteStats::display_name): the full name
    ///    (`module::path::function`) of a function whose name is unique in the report, or
    ///    `name (file:line)`, which picks one of several functions that share a name;
    /// 2. the sites of [`sites_named`](Self::sites_named)`(name)` (full name, else the
    ///    last segments: `"parse"` or `"Parser::parse"`), if there is exactly one.
    ///
    /// So with two nested `fn helper`s in `app`, `site("helper")` and
    /// `site("app::helper")` are `None`, `site("app::helper (src/app.rs:12)")` is one of
    /// them and `sites_named("helper")` lists both.
    ///
    /// ```
    /// # #[global_allocator]
    /// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
    /// fn first() -> Vec<u8> {
    ///     #[alloc_trace::track_allocs(name = "helper")]
    ///     fn helper() -> Vec<u8> {
    ///         vec![1]
    ///     }
    ///     helper()
    /// }
    ///
    /// fn second() -> Vec<u8> {
    ///     #[alloc_trace::track_allocs(name = "helper")]
    ///     fn helper() -> Vec<u8> {
    ///         vec![1, 2]
    ///     }
    ///     helper()
    /// }
    ///
    /// #[alloc_trace::track_allocs(name = "app::unique")]
    /// fn unique() {}
    ///
    /// let (_, report) = alloc_trace::capture(|| (first(), second(), unique()));
    /// assert!(report.site("helper").is_none(), "two functions are called `helper`");
    /// assert_eq!(report.sites_named("helper").count(), 2);
    /// let shown = &report.sites_named("helper").next().unwrap().display_name;
    /// assert!(shown.starts_with("helper (") && shown.ends_with(')'), "{shown}");
    /// assert_eq!(report.site(shown).unwrap().display_name, *shown);
    /// assert_eq!(report.site("unique").unwrap().name, "app::unique");
    /// ```
    #[must_use]
    pub fn site(&self, name: &str) -> Option<&SiteStats> {
        if let Some(shown) = self.sites.iter().find(|s| s.display_name == name) {
            return Some(shown);
        }
        let mut matches = self.sites_named(name);
        let first = matches.next()?;
        matches.next().is_none().then_some(first)
    }

    /// Every site called `name`, in report order: those whose full name is `name`, or if
    /// there are none, those whose name ends with `::name`. More than one means several
    /// functions share the name; their [`display_name`](SiteStats::display_name)s tell
    /// them apart.
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
    /// let names: Vec<&str> = report.sites_named("parse").map(|s| s.name.as_str()).collect();
    /// assert_eq!(names, ["app::parse"]);
    /// assert_eq!(report.sites_named("nothing").count(), 0);
    /// ```
    pub fn sites_named<'r, 'n>(
        &'r self,
        name: &'n str,
    ) -> impl Iterator<Item = &'r SiteStats> + use<'r, 'n> {
        let exact = self.sites.iter().any(|s| s.name == name);
        self.sites.iter().filter(move |s| {
            if exact {
                s.name == name
            } else {
                s.name
                    .strip_suffix(name)
                    .is_some_and(|head| head.ends_with("::"))
            }
        })
    }

    /// Everything that was allocated, inside tracked functions or not: process-wide for
    /// [`report()`](crate::report()), the closure's for [`capture`](crate::capture).
    ///
    /// ```
    /// # #[global_allocator]
    /// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
    /// let (_, report) = alloc_trace::capture(|| std::hint::black_box(vec![0u8; 10]));
    /// assert_eq!((report.totals().allocs, report.totals().bytes_allocated), (1, 10));
    /// ```
    #[must_use]
    pub const fn totals(&self) -> AllocCounts {
        self.totals
    }

    /// The peak of live bytes above the start, for a [`capture`](crate::capture) (the same as
    /// [`measure`](crate::measure) gives); `None` for a process-wide [`report()`](crate::report()), whose
    /// threads' peaks cannot be added up.
    ///
    /// ```
    /// # #[global_allocator]
    /// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
    /// let (_, report) = alloc_trace::capture(|| drop(std::hint::black_box(vec![0u8; 10])));
    /// assert_eq!(report.peak_bytes(), Some(10));
    /// assert_eq!(alloc_trace::report().peak_bytes(), None);
    /// ```
    #[must_use]
    pub const fn peak_bytes(&self) -> Option<u64> {
        self.peak
    }

    /// What happened inside tracked functions (the sum of every site's exclusive counts).
    ///
    /// ```
    /// # #[global_allocator]
    /// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
    /// #[alloc_trace::track_allocs]
    /// fn inside() -> Box<u8> {
    ///     Box::new(1)
    /// }
    ///
    /// let (_, report) = alloc_trace::capture(|| (std::hint::black_box(inside()), Box::new(2u8)));
    /// assert_eq!(report.in_tracked().allocs, 1);
    /// assert_eq!(report.totals().allocs, 2);
    /// ```
    #[must_use]
    pub const fn in_tracked(&self) -> AllocCounts {
        self.in_tracked
    }

    /// What happened outside every tracked function: [`totals`](Self::totals) minus
    /// [`in_tracked`](Self::in_tracked) and [`unattributed`](Self::unattributed).
    ///
    /// Its `net_bytes` can be negative: memory allocated inside tracked functions and
    /// freed outside them (a value a tracked function returned, dropped by its untracked
    /// caller), or, in a capture, memory that existed before it. The table says so under
    /// its outside line.
    ///
    /// ```
    /// # #[global_allocator]
    /// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
    /// #[alloc_trace::track_allocs]
    /// fn make() -> Vec<u8> {
    ///     vec![0; 100]
    /// }
    ///
    /// let (_, report) = alloc_trace::capture(|| drop(std::hint::black_box(make())));
    /// assert_eq!(report.outside_tracked().allocs, 0);
    /// assert_eq!(report.outside_tracked().net_bytes(), -100); // freed outside `make`
    /// assert!(report.to_string().contains("\nnote: net is negative outside tracked functions"));
    /// ```
    #[must_use]
    pub fn outside_tracked(&self) -> AllocCounts {
        Totals::from(self.totals)
            .minus(Totals::from(self.in_tracked))
            .minus(Totals::from(self.unattributed))
            .counts()
    }

    /// What threads did inside tracked calls in flight that the report cannot give to a
    /// function yet: a running tracked call's allocations are booked to its function when
    /// it ends or calls a tracked function that allocates; before that, a report on another
    /// thread sees them only as this. 0 once every thread has left its tracked calls, and
    /// always 0 for a [`capture`](crate::capture).
    ///
    /// ```
    /// # #[global_allocator]
    /// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
    /// let (_, report) = alloc_trace::capture(|| std::hint::black_box(vec![1u8]));
    /// assert_eq!(report.unattributed(), alloc_trace::AllocCounts::default());
    /// ```
    #[must_use]
    pub const fn unattributed(&self) -> AllocCounts {
        self.unattributed
    }

    /// For a [`capture`](crate::capture): how many sites and call paths its closure
    /// touched that it could not record, so that their rows are missing (the table says
    /// so in a note). Not 0 only if a signal handler's tracked call interrupted the
    /// capture while it wrote its list of what the closure touched, or `System` ran out
    /// of memory for that list; the totals are exact either way. Always 0 for a
    /// process-wide [`report()`](crate::report()).
    ///
    /// ```
    /// # #[global_allocator]
    /// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
    /// #[alloc_trace::track_allocs]
    /// fn make() -> Vec<u8> {
    ///     vec![0; 100]
    /// }
    ///
    /// let (_, report) = alloc_trace::capture(|| std::hint::black_box(make()));
    /// assert_eq!(report.unrecorded(), 0);
    /// assert_eq!(report.in_tracked(), report.totals()); // every allocation is in a row
    /// ```
    #[must_use]
    pub const fn unrecorded(&self) -> u64 {
        self.threads.unrecorded
    }

    /// Allocations per call path of tracked sites, most allocations first.
    ///
    /// ```
    /// # #[global_allocator]
    /// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
    /// #[alloc_trace::track_allocs(name = "outer")]
    /// fn outer() -> Box<u8> {
    ///     inner()
    /// }
    ///
    /// #[alloc_trace::track_allocs(name = "inner")]
    /// fn inner() -> Box<u8> {
    ///     Box::new(1)
    /// }
    ///
    /// let (_, report) = alloc_trace::capture(|| std::hint::black_box(outer()));
    /// let paths: Vec<&str> = report.paths().iter().map(|p| p.path.as_str()).collect();
    /// assert_eq!(paths, ["outer;inner"]);
    /// ```
    #[must_use]
    pub fn paths(&self) -> &[PathStats] {
        &self.paths
    }

    /// The ownership view's process-wide numbers: live bytes now and at their peak, and
    /// when the peak happened (see [`Ownership`]). `Some` for a process-wide
    /// [`report()`](crate::report()) of a build with the `ownership` feature; `None` for a
    /// [`capture`](crate::capture) and without the feature.
    ///
    /// ```
    /// # #[global_allocator]
    /// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
    /// let big = std::hint::black_box(vec![0u8; 1 << 20]);
    /// drop(big);
    /// let report = alloc_trace::report();
    /// assert_eq!(report.ownership().is_some(), cfg!(feature = "ownership"));
    /// if let Some(o) = report.ownership() {
    ///     assert!(o.peak.bytes >= 1 << 20, "the 1 MiB block was alive at some point");
    /// }
    /// assert!(alloc_trace::capture(|| ()).1.ownership().is_none());
    /// ```
    #[must_use]
    pub const fn ownership(&self) -> Option<&Ownership> {
        self.ownership.as_ref()
    }

    /// The totals with the capture's peak (0 if none), for the crate's assertions.
    pub(crate) fn capture_stats(&self) -> AllocStats {
        self.totals.with_peak(self.peak.unwrap_or(0))
    }

    /// What the report covers.
    ///
    /// ```
    /// # #[global_allocator]
    /// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
    /// use alloc_trace::report::Scope;
    ///
    /// assert_eq!(alloc_trace::report().scope(), Scope::Process);
    /// assert_eq!(alloc_trace::capture(|| ()).1.scope(), Scope::Capture);
    /// ```
    #[must_use]
    pub const fn scope(&self) -> Scope {
        self.scope
    }

    /// Whether functions were tracked at all: `false` when alloc-trace was built without
    /// its `tracking` feature (on by default). Then `#[track_allocs]` tracks nothing, the
    /// report has no sites and no paths, everything counted is outside tracked functions,
    /// and every output says so (the table in its first lines, JSON as
    /// `"tracking": false`).
    ///
    /// ```
    /// # #[global_allocator]
    /// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
    /// let report = alloc_trace::report();
    /// assert_eq!(report.tracking(), cfg!(feature = "tracking"));
    /// if !report.tracking() {
    ///     assert!(report.sites().is_empty());
    ///     assert!(report.to_string().contains("tracking is off"));
    /// }
    /// ```
    #[must_use]
    pub const fn tracking(&self) -> bool {
        self.tracking
    }
}

/// The report of a build without the `tracking` feature, whose tracked calls (driven by
/// hand here, as generated code would) must not show up. Run by `.ci/run` with
/// `cargo test -p alloc-trace --no-default-features --lib tracking_off`.
#[cfg(all(test, not(feature = "tracking")))]
mod tracking_off_tests {
    use core::hint::black_box;
    use core::pin::pin;

    use crate::__private::{CallGuard, Site, SiteRegistration};

    static OFF: Site = Site::new("report_tests::off", file!(), 1);
    inventory::submit! { SiteRegistration(&OFF) }

    fn call() {
        let guard = pin!(CallGuard::new(&OFF));
        let _end = CallGuard::enter(guard);
        drop(black_box(vec![0u8; 8]));
    }

    #[test]
    fn tracking_off_reports_no_function() {
        call();
        let (_, capture) = crate::capture(call);
        assert_eq!(capture.outside_tracked(), capture.totals());
        assert_eq!(capture.totals().allocs, 1);
        for report in [capture, crate::report()] {
            assert!(!report.tracking());
            assert!(report.sites().is_empty() && report.paths().is_empty());
            assert_eq!(report.in_tracked(), crate::AllocCounts::default());
            let text = report.to_string();
            assert!(
                text.contains(
                    "\n  tracking is off (alloc-trace built without its `tracking` feature): \
                     no function is tracked\n"
                ),
                "{text}"
            );
            assert!(!text.contains("never called"), "{text}");
            assert!(!text.contains("no tracked function was called"), "{text}");
            #[cfg(feature = "json")]
            {
                let json = report.to_json();
                assert!(json.contains("\"tracking\": false"), "{json}");
                assert_eq!(crate::Report::from_json(&json).unwrap(), report);
            }
        }
    }
}
