//! Allocation snapshots with [insta](https://insta.rs) (feature `insta`): what an
//! expression did, per function, as a snapshot that `cargo insta review` shows as a diff.
//!
//! [`assert_allocs_snapshot!`](crate::assert_allocs_snapshot) runs an expression under a
//! [`capture`](crate::capture), writes what it did as [`Snapshot`] text and hands that to
//! `insta::assert_snapshot!`, so the snapshot is insta's own: stored in `snapshots/` beside
//! the test (or inline), named as insta names it, compared, reviewed and accepted with
//! `cargo insta test` / `cargo insta review`, and subject to insta's settings
//! (`insta::with_settings!`) and environment (`INSTA_UPDATE`, `INSTA_FORCE_PASS`).
//!
//! ```
//! # #[global_allocator]
//! # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
//! #[alloc_trace::track_allocs(name = "app::split")]
//! fn split(line: &str) -> Vec<String> {
//!     line.split(',').map(str::to_owned).collect()
//! }
//!
//! let fields = alloc_trace::assert_allocs_snapshot!(split("a,b,c"), @r"
//! total: allocs 4, reallocs 0, frees 0
//! outside tracked functions: allocs 0, reallocs 0, frees 0
//! functions (nested calls included):
//!   app::split: calls 1, allocs 4, reallocs 0, frees 0
//! ");
//! assert_eq!(fields, ["a", "b", "c"]);
//! ```
//!
//! # The text
//!
//! One line for the totals, one for what happened outside tracked functions, then one per
//! tracked function that ran, sorted by name (its
//! [`display_name`](crate::report::SiteStats::display_name): `name (file:line)` only when
//! two functions share a name). A function's numbers include its nested calls, as the
//! report's table does. Each line is `key value` pairs in the crate's words (`calls`,
//! `allocs`, `reallocs`, `frees`, then optionally `bytes_allocated`, `bytes_freed`,
//! `peak_bytes`), so a diff shows exactly the lines that changed. A call still in flight
//! when the expression returned (an `async fn` polled and not finished) adds
//! `in_flight N` to its function's line.
//!
//! # Bytes
//!
//! Counts are the same on every target; sizes are not (a `String` is 24 bytes on 64-bit
//! targets and 12 on 32-bit ones, and std's growth strategies may change between
//! releases). So the snapshot leaves bytes out by default: it is portable, and any change
//! in how often code allocates fails it. Two ways to include them:
//!
//! - `bytes` (`assert_allocs_snapshot!(expr, bytes)`) adds exact bytes to every line,
//!   for snapshots made and checked on one target; give each pointer width its own file
//!   with insta's `snapshot_suffix` setting when tests run on several:
//!   `insta::with_settings!({ snapshot_suffix => format!("{}bit", usize::BITS) }, { ... })`.
//! - A *tolerance* cannot be a snapshot (insta compares text exactly): rounding is not one
//!   either, since a value near a rounding edge flips. For "bytes may grow by at most
//!   10%", use [`report::baseline::check`](mod@crate::report) (feature `json`), which compares
//!   with a tolerance against a committed file.
//!
//! # What is counted
//!
//! Only the expression, on the calling thread, exactly as [`capture`](crate::capture)
//! counts it. What insta does afterwards (reading and writing snapshot files) is ordinary
//! code: a [`measure`](crate::measure) around the assertion counts it too.
//!
//! In `--release` builds the optimiser may remove allocations whose results are unused:
//! return the value, or pass it through [`std::hint::black_box`], so that one snapshot
//! holds in both profiles.

use core::fmt;

#[doc(hidden)]
pub use ::insta as __insta;

use crate::report::{Report, SiteStats};
use crate::stats::AllocCounts;

/// Runs an expression, returns its value, and asserts an insta snapshot of what it asked
/// of the allocator on the calling thread: totals, and calls, `allocs`, `reallocs` and
/// `frees` per tracked function (see [`snapshot`](crate::snapshot) for the text).
///
/// ```text
/// assert_allocs_snapshot!(expr)                 // file snapshot named after the test
/// assert_allocs_snapshot!("name", expr)         // file snapshot `<module>__name.snap`
/// assert_allocs_snapshot!(expr, @"...")         // inline snapshot
/// assert_allocs_snapshot!(expr, bytes)          // any form, with `, bytes` after expr:
/// assert_allocs_snapshot!("name", expr, bytes)  //   exact bytes too (one target only)
/// assert_allocs_snapshot!(expr, bytes, @"...")
/// ```
///
/// The snapshot's header describes it with the expression's text (insta's `description`),
/// so `cargo insta review` shows what was measured. A new or changed snapshot fails the
/// test as any insta snapshot does (`INSTA_UPDATE`, `INSTA_FORCE_PASS` and
/// `insta::with_settings!` apply); `cargo insta review` shows the diff and accepts it.
///
/// # Panics
///
/// If the snapshot does not match (insta prints the diff), if
/// [`CountingAlloc`](crate::CountingAlloc) is not the global allocator, or if the
/// expression panics.
///
/// # Examples
///
/// In a test file (the snapshot goes to `tests/snapshots/<file>__parse_allocs.snap`; run
/// `cargo insta test --review` or `INSTA_UPDATE=always cargo test` to write it, then
/// commit it):
///
/// ```
/// # #[global_allocator]
/// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
/// #[alloc_trace::track_allocs(name = "app::parse")]
/// fn parse(line: &str) -> Vec<&str> {
///     line.split(',').collect()
/// }
///
/// #[test]
/// fn parse_allocs() {
///     alloc_trace::assert_allocs_snapshot!("parse_allocs", parse("a,b,c"));
/// }
/// ```
///
/// Inline, with bytes (this doctest runs on 64-bit targets, where a `&str` is 16 bytes):
///
/// ```
/// # #[global_allocator]
/// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
/// # #[alloc_trace::track_allocs(name = "app::parse")]
/// # fn parse(line: &str) -> Vec<&str> {
/// #     line.split(',').collect()
/// # }
/// # #[cfg(target_pointer_width = "64")]
/// let fields = alloc_trace::assert_allocs_snapshot!(parse("a,b,c"), bytes, @r"
/// total: allocs 1, reallocs 0, frees 0, bytes_allocated 64, bytes_freed 0, peak_bytes 64
/// outside tracked functions: allocs 0, reallocs 0, frees 0, bytes_allocated 0, bytes_freed 0
/// functions (nested calls included):
///   app::parse: calls 1, allocs 1, reallocs 0, frees 0, bytes_allocated 64, bytes_freed 0, peak_bytes 64
/// ");
/// ```
///
/// Misuse is a compile error:
///
/// ```compile_fail
/// alloc_trace::assert_allocs_snapshot!(vec![1], byte); // `bytes` or `@"..."` after the expression
/// ```
// The first example is a test file as written; the second one runs.
#[allow(clippy::test_attr_in_doctest)]
#[macro_export]
macro_rules! assert_allocs_snapshot {
    ($name:literal, $expr:expr, bytes $(,)?) => {
        $crate::__alloc_trace_snapshot!([$name], $expr, true, [])
    };
    ($name:literal, $expr:expr $(,)?) => {
        $crate::__alloc_trace_snapshot!([$name], $expr, false, [])
    };
    ($expr:expr, bytes, @$inline:literal $(,)?) => {
        $crate::__alloc_trace_snapshot!([], $expr, true, [@$inline])
    };
    ($expr:expr, @$inline:literal $(,)?) => {
        $crate::__alloc_trace_snapshot!([], $expr, false, [@$inline])
    };
    ($expr:expr, bytes $(,)?) => {
        $crate::__alloc_trace_snapshot!([], $expr, true, [])
    };
    ($expr:expr $(,)?) => {
        $crate::__alloc_trace_snapshot!([], $expr, false, [])
    };
    ($($rest:tt)*) => {
        ::core::compile_error!(
            "`assert_allocs_snapshot!` takes an expression, optionally a snapshot name before \
             it, and after it optionally `bytes` and an inline snapshot `@\"...\"`, e.g. \
             `assert_allocs_snapshot!(f())`, `assert_allocs_snapshot!(\"name\", f(), bytes)` \
             or `assert_allocs_snapshot!(f(), @\"...\")`"
        )
    };
}

/// The expansion of [`assert_allocs_snapshot!`]. Not public API.
#[doc(hidden)]
#[macro_export]
macro_rules! __alloc_trace_snapshot {
    ([$($name:literal)?], $expr:expr, $bytes:expr, [$(@$inline:literal)?]) => {{
        let (value, text) = $crate::snapshot::__capture($bytes, || $expr);
        $crate::snapshot::__bind(::core::stringify!($expr), || {
            $crate::snapshot::__insta::assert_snapshot!($($name,)? text $(, @$inline)?);
        });
        value
    }};
}

/// Runs `f` under a capture and renders what it did. Not public API.
#[doc(hidden)]
#[track_caller]
pub fn __capture<R>(bytes: bool, f: impl FnOnce() -> R) -> (R, String) {
    let (value, report) = crate::capture(f);
    let snapshot = Snapshot::new(&report);
    let snapshot = if bytes {
        snapshot.with_bytes()
    } else {
        snapshot
    };
    (value, snapshot.to_string())
}

/// Runs the insta assertion with the expression as the snapshot's description. Not public
/// API.
#[doc(hidden)]
pub fn __bind(expression: &str, assert: impl FnOnce()) {
    let mut settings = ::insta::Settings::clone_current();
    // NOTE: insta's own `expression` would be the macro's internal variable; the user's
    // expression goes in the description instead, which `cargo insta review` shows.
    settings.set_omit_expression(true);
    settings.set_description(expression);
    settings.bind(assert);
}

/// The text of an allocation snapshot: what a report says, in lines that stay the same
/// until the code's allocations change (see [`snapshot`](crate::snapshot) for the form).
///
/// [`assert_allocs_snapshot!`](crate::assert_allocs_snapshot) makes one from a capture;
/// build one yourself to snapshot a report with any insta assertion or setting:
///
/// ```
/// # #[global_allocator]
/// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
/// use alloc_trace::snapshot::Snapshot;
///
/// #[alloc_trace::track_allocs(name = "app::grow")]
/// fn grow() -> Vec<u32> {
///     let mut v = Vec::new();
///     v.extend(0..5); // room for exactly 5
///     v.push(5); // one realloc
///     v
/// }
///
/// let (v, report) = alloc_trace::capture(|| {
///     let v = grow();
///     drop(std::hint::black_box(vec![0u8; 8]));
///     v
/// });
/// assert_eq!(v.len(), 6);
/// let text = Snapshot::new(&report).to_string();
/// assert_eq!(
///     text,
///     "total: allocs 3, reallocs 1, frees 2
/// outside tracked functions: allocs 1, reallocs 0, frees 1
/// functions (nested calls included):
///   app::grow: calls 1, allocs 2, reallocs 1, frees 1
/// "
/// );
/// insta::assert_snapshot!(Snapshot::new(&report), @r"
/// total: allocs 3, reallocs 1, frees 2
/// outside tracked functions: allocs 1, reallocs 0, frees 1
/// functions (nested calls included):
///   app::grow: calls 1, allocs 2, reallocs 1, frees 1
/// ");
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Snapshot<'r> {
    report: &'r Report,
    bytes: bool,
}

impl<'r> Snapshot<'r> {
    /// The snapshot of `report`, without bytes. Made for a [`capture`](crate::capture):
    /// a process-wide [`report()`](crate::report()) has numbers from every thread, which
    /// differ from run to run.
    ///
    /// ```
    /// # #[global_allocator]
    /// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
    /// let (_, report) = alloc_trace::capture(|| ());
    /// assert_eq!(
    ///     alloc_trace::snapshot::Snapshot::new(&report).to_string(),
    ///     "total: allocs 0, reallocs 0, frees 0
    /// outside tracked functions: allocs 0, reallocs 0, frees 0
    /// functions (nested calls included): none
    /// "
    /// );
    /// ```
    #[must_use]
    pub const fn new(report: &'r Report) -> Self {
        Self {
            report,
            bytes: false,
        }
    }

    /// The same snapshot with exact bytes on every line: `bytes_allocated`,
    /// `bytes_freed`, and `peak_bytes` where a peak is known. Sizes differ between
    /// targets (see [Bytes](crate::snapshot#bytes)).
    ///
    /// ```
    /// # #[global_allocator]
    /// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
    /// let (_, report) = alloc_trace::capture(|| drop(std::hint::black_box(vec![0u8; 100])));
    /// let text = alloc_trace::snapshot::Snapshot::new(&report).with_bytes().to_string();
    /// assert!(text.starts_with(
    ///     "total: allocs 1, reallocs 0, frees 1, bytes_allocated 100, bytes_freed 100, peak_bytes 100\n"
    /// ));
    /// ```
    #[must_use]
    pub const fn with_bytes(self) -> Self {
        Self {
            bytes: true,
            ..self
        }
    }

    fn counts(&self, f: &mut fmt::Formatter<'_>, c: &AllocCounts) -> fmt::Result {
        write!(
            f,
            "allocs {}, reallocs {}, frees {}",
            c.allocs, c.reallocs, c.frees
        )?;
        if self.bytes {
            write!(
                f,
                ", bytes_allocated {}, bytes_freed {}",
                c.bytes_allocated, c.bytes_freed
            )?;
        }
        Ok(())
    }

    fn peak(&self, f: &mut fmt::Formatter<'_>, peak: Option<u64>) -> fmt::Result {
        match peak {
            Some(peak) if self.bytes => write!(f, ", peak_bytes {peak}"),
            _ => Ok(()),
        }
    }

    fn site(&self, f: &mut fmt::Formatter<'_>, site: &SiteStats) -> fmt::Result {
        write!(f, "  {}: calls {}, ", site.display_name, site.calls)?;
        self.counts(f, &site.inclusive.counts())?;
        self.peak(f, Some(site.inclusive.peak_bytes))?;
        if site.in_flight > 0 {
            write!(f, ", in_flight {}", site.in_flight)?;
        }
        writeln!(f)
    }
}

impl fmt::Display for Snapshot<'_> {
    /// The snapshot's lines, each ending in a newline.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let report = self.report;
        f.write_str("total: ")?;
        self.counts(f, &report.totals())?;
        self.peak(f, report.peak_bytes())?;
        f.write_str("\noutside tracked functions: ")?;
        self.counts(f, &report.outside_tracked())?;
        f.write_str("\n")?;
        if !report.tracking() {
            return f.write_str(
                "functions: not tracked (alloc-trace was built without its `tracking` feature)\n",
            );
        }
        let mut sites: Vec<&SiteStats> = report.sites().iter().filter(|s| s.ran()).collect();
        if sites.is_empty() {
            return f.write_str("functions (nested calls included): none\n");
        }
        sites.sort_by(|a, b| a.display_name.cmp(&b.display_name));
        f.write_str("functions (nested calls included):\n")?;
        for site in sites {
            self.site(f, site)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::AllocStats;

    fn site(name: &str, calls: u64, allocs: u64) -> SiteStats {
        SiteStats {
            name: name.to_owned(),
            display_name: name.to_owned(),
            file: "src/lib.rs".to_owned(),
            line: 1,
            calls,
            inclusive: AllocStats {
                allocs,
                frees: allocs,
                bytes_allocated: 8 * allocs,
                bytes_freed: 8 * allocs,
                peak_bytes: 8,
                ..AllocStats::default()
            },
            exclusive: AllocCounts::default(),
            max_allocs_per_call: allocs,
            in_flight: 0,
            ownership: None,
        }
    }

    fn report(sites: Vec<SiteStats>) -> Report {
        let (_, mut report) = crate::capture(|| ());
        report.sites = sites;
        report
    }

    #[test]
    fn functions_that_ran_are_sorted_by_name() {
        let mut never = site("app::c", 0, 0);
        never.line = 3;
        let report = report(vec![site("app::b", 1, 5), never, site("app::a", 2, 1)]);
        assert_eq!(
            Snapshot::new(&report).to_string(),
            "total: allocs 0, reallocs 0, frees 0
outside tracked functions: allocs 0, reallocs 0, frees 0
functions (nested calls included):
  app::a: calls 2, allocs 1, reallocs 0, frees 1
  app::b: calls 1, allocs 5, reallocs 0, frees 5
"
        );
    }

    #[test]
    fn shared_names_are_told_apart_and_calls_in_flight_said() {
        let mut first = site("app::helper", 1, 1);
        first.display_name = "app::helper (src/a.rs:3)".to_owned();
        let mut second = site("app::helper", 0, 2);
        second.display_name = "app::helper (src/b.rs:9)".to_owned();
        second.in_flight = 1;
        let report = report(vec![second, first]);
        let text = Snapshot::new(&report).to_string();
        assert!(
            text.ends_with(
                "  app::helper (src/a.rs:3): calls 1, allocs 1, reallocs 0, frees 1
  app::helper (src/b.rs:9): calls 0, allocs 2, reallocs 0, frees 2, in_flight 1
"
            ),
            "{text}"
        );
    }

    #[test]
    fn bytes_on_every_line_and_a_peak_where_one_is_known() {
        let mut process = crate::report();
        process.sites = vec![site("app::a", 1, 2)];
        let text = Snapshot::new(&process).with_bytes().to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("total: allocs "), "{text}");
        assert!(lines[0].contains(", bytes_allocated "), "{text}");
        assert!(!lines[0].contains("peak_bytes"), "{text}"); // no process-wide peak
        assert!(lines[1].contains(", bytes_freed "), "{text}");
        assert_eq!(
            lines[3],
            "  app::a: calls 1, allocs 2, reallocs 0, frees 2, bytes_allocated 16, bytes_freed 16, peak_bytes 8"
        );
    }

    #[test]
    fn tracking_off_is_said() {
        let mut report = report(Vec::new());
        report.tracking = false;
        assert!(Snapshot::new(&report).to_string().ends_with(
            "\nfunctions: not tracked (alloc-trace was built without its `tracking` feature)\n"
        ));
    }
}
