//! A CI gate against a committed baseline (feature `json`): [`check`] compares a report
//! with a baseline file and fails with the diff table when a site's allocs/call rises,
//! or its bytes/call rises past a tolerance; `ALLOC_TRACE_BASELINE=update` rewrites the
//! file instead, as snapshot tools do.
//!
//! ```
//! # #[global_allocator]
//! # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
//! #[alloc_trace::track_allocs]
//! fn parse(line: &str) -> Vec<&str> {
//!     line.split(',').collect()
//! }
//!
//! let (_, report) = alloc_trace::capture(|| std::hint::black_box(parse("a,b,c")));
//! # let dir = std::env::temp_dir().join(format!("baseline-mod-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir).unwrap();
//! # let file = dir.join("allocs.baseline.json");
//! # alloc_trace::report::baseline::Baseline::from_report(&report).save(&file).unwrap();
//! // In a test: `tests/allocs.baseline.json` is committed; the first time, or after an
//! // intended change, run `ALLOC_TRACE_BASELINE=update cargo test` to write it.
//! alloc_trace::report::baseline::check(&report, &file);
//! # std::fs::remove_dir_all(&dir).unwrap();
//! ```
//!
//! # The file
//!
//! Pretty JSON, one entry per site that ran, sorted by name so that a change to it reads
//! well in a code review. Only the exact totals are read back; the per-call fields are
//! for the reader.
//!
//! ```text
//! {
//!   "alloc_trace_baseline": 1,
//!   "sites": {
//!     "app::parse": {
//!       "calls": 10, "allocs": 20, "bytes_allocated": 960, "net_bytes": 640,
//!       "allocs_per_call": 2.0, "bytes_per_call": 96.0, "net_bytes_per_call": 64.0
//!     }
//!   }
//! }
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::diff::rates_of;
use super::read::{self, ReadError};
use super::{Report, ReportDiff, SiteDiff, SiteRates};

/// The environment variable that turns [`check`] into an update: `update` writes the
/// baseline from the report and passes; unset, empty or `check` compares.
///
/// ```
/// assert_eq!(alloc_trace::report::baseline::ENV_VAR, "ALLOC_TRACE_BASELINE");
/// ```
pub const ENV_VAR: &str = "ALLOC_TRACE_BASELINE";

pub use super::read::BASELINE_VERSION;

/// How much a site's bytes/call may rise before [`check`] fails: 10%.
///
/// Allocation counts are the same on every target, so allocs/call has no tolerance. Bytes
/// depend on layouts, which differ between targets a baseline is shared by: pointer-sized
/// fields, types whose size depends on the OS (handles, std's `Mutex` and `Condvar` on
/// some platforms), hashbrown's control bytes (a group of 16 per table with SSE2, 8
/// elsewhere). 10% absorbs that between the 64-bit targets a project usually tests on
/// while still catching a buffer that doubles or an element type that grows; a project
/// that compares on one target only can set 0 ([`Check::bytes_tolerance`]), since on one
/// target the bytes are exact too.
///
/// ```
/// assert_eq!(alloc_trace::report::baseline::DEFAULT_BYTES_TOLERANCE, 0.10);
/// ```
pub const DEFAULT_BYTES_TOLERANCE: f64 = 0.10;

/// Compares `report` with the baseline file at `path` (relative paths are relative to the
/// current directory: the package's root under `cargo test`) with the default tolerance,
/// or writes the file when `ALLOC_TRACE_BASELINE=update`. See [`Check::run`].
///
/// # Panics
///
/// When a site regressed (with the diff table and what failed), when the file cannot be
/// read (saying which file and why, and how to create it), or when the baseline cannot
/// be written on update.
///
/// ```
/// # #[global_allocator]
/// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
/// # let dir = std::env::temp_dir().join(format!("baseline-check-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir).unwrap();
/// # let file = dir.join("allocs.baseline.json");
/// let (_, report) = alloc_trace::capture(|| std::hint::black_box(vec![0u8; 32]));
/// # alloc_trace::report::baseline::Baseline::from_report(&report).save(&file).unwrap();
/// alloc_trace::report::baseline::check(&report, &file);
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
#[track_caller]
pub fn check(report: &Report, path: impl AsRef<Path>) {
    Check::new(path).run(report);
}

/// A baseline check with its options: `Check::new(path).bytes_tolerance(0.0).run(&report)`.
///
/// ```
/// # #[global_allocator]
/// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
/// use alloc_trace::report::baseline::{Baseline, Check};
/// # let dir = std::env::temp_dir().join(format!("baseline-builder-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir).unwrap();
/// # let file = dir.join("allocs.baseline.json");
/// let (_, report) = alloc_trace::capture(|| std::hint::black_box(vec![0u8; 32]));
/// Baseline::from_report(&report).save(&file).unwrap();
/// let verdict = Check::new(&file).bytes_tolerance(0.0).compare(&report).unwrap();
/// assert!(verdict.passed());
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
#[derive(Clone, Debug)]
pub struct Check {
    path: PathBuf,
    bytes_tolerance: f64,
}

impl Check {
    /// A check against the baseline file at `path`, with [`DEFAULT_BYTES_TOLERANCE`].
    ///
    /// ```
    /// let check = alloc_trace::report::baseline::Check::new("tests/allocs.baseline.json");
    /// assert_eq!(check.path(), std::path::Path::new("tests/allocs.baseline.json"));
    /// ```
    pub fn new(path: impl AsRef<Path>) -> Self {
        Self {
            path: path.as_ref().to_owned(),
            bytes_tolerance: DEFAULT_BYTES_TOLERANCE,
        }
    }

    /// How much bytes/call may rise, as a fraction of the baseline's (0.1 is 10%; 0 fails
    /// on any rise). Negative values count as 0.
    ///
    /// ```
    /// let check = alloc_trace::report::baseline::Check::new("b.json").bytes_tolerance(0.0);
    /// # let _ = check;
    /// ```
    #[must_use]
    pub fn bytes_tolerance(mut self, fraction: f64) -> Self {
        self.bytes_tolerance = fraction.max(0.0);
        self
    }

    /// The baseline file.
    ///
    /// ```
    /// # let check = alloc_trace::report::baseline::Check::new("b.json");
    /// assert_eq!(check.path().to_str(), Some("b.json"));
    /// ```
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Compares `report` with the baseline, without looking at `ALLOC_TRACE_BASELINE` and
    /// without panicking.
    ///
    /// # Errors
    ///
    /// If the baseline file cannot be read: missing, empty, truncated, not JSON, from
    /// another program, an alloc-trace report rather than a baseline, another version.
    ///
    /// ```
    /// # #[global_allocator]
    /// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
    /// let (_, report) = alloc_trace::capture(|| ());
    /// let err = alloc_trace::report::baseline::Check::new("missing.json").compare(&report);
    /// assert!(err.unwrap_err().to_string().contains("missing.json: the file does not exist"));
    /// ```
    pub fn compare(&self, report: &Report) -> Result<Verdict, ReadError> {
        let baseline = Baseline::load(&self.path)?;
        Ok(Verdict::new(baseline.diff(report), self.bytes_tolerance))
    }

    /// Checks `report` against the baseline, as `ALLOC_TRACE_BASELINE` says:
    ///
    /// | `ALLOC_TRACE_BASELINE` | does |
    /// |---|---|
    /// | unset, empty, `check` | compares; panics with the diff table if a site regressed, and with the file's problem if it cannot be read |
    /// | `update` | writes the baseline from `report` (creating its directory) and passes |
    ///
    /// A regression is a site whose allocs/call rose (compared exactly), or whose
    /// bytes/call rose past the tolerance, or a new site that allocates. Improvements and
    /// sites gone are shown, and pass: update the baseline to hold the gain.
    ///
    /// # Panics
    ///
    /// As said above, and for any other value of `ALLOC_TRACE_BASELINE`.
    ///
    /// ```
    /// # #[global_allocator]
    /// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
    /// use alloc_trace::report::baseline::Check;
    /// # let dir = std::env::temp_dir().join(format!("baseline-run-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir).unwrap();
    /// # let file = dir.join("allocs.baseline.json");
    /// let (_, report) = alloc_trace::capture(|| std::hint::black_box(vec![0u8; 32]));
    /// # alloc_trace::report::baseline::Baseline::from_report(&report).save(&file).unwrap();
    /// Check::new(&file).bytes_tolerance(0.0).run(&report);
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// ```
    #[track_caller]
    pub fn run(&self, report: &Report) {
        let mode = std::env::var(ENV_VAR).unwrap_or_default();
        match mode.trim() {
            "update" => {
                if let Err(e) = Baseline::from_report(report).save(&self.path) {
                    panic!("{e}");
                }
                eprintln!(
                    "alloc-trace: {}: baseline written ({ENV_VAR}=update)",
                    self.path.display()
                );
            }
            "" | "check" => match self.compare(report) {
                Ok(verdict) if verdict.passed() => {}
                Ok(verdict) => panic!(
                    "alloc-trace: allocations regressed against the baseline {}\n{verdict}\
                     if this is intended, update the baseline: {ENV_VAR}=update cargo test",
                    self.path.display()
                ),
                Err(e) => {
                    panic!("{e}\nto write the baseline from this run: {ENV_VAR}=update cargo test")
                }
            },
            other => panic!(
                "alloc-trace: {ENV_VAR}={other:?} is not understood (expected `update`, or `check` or unset to compare)"
            ),
        }
    }
}

/// What a [`Check`] found: the diff, and which sites regressed and how.
///
/// `Display` prints the diff table, then one line per regression.
///
/// ```
/// use alloc_trace::report::baseline::Verdict;
/// use alloc_trace::report::{ReportDiff, SiteRates};
///
/// let diff = ReportDiff::from_rates(
///     [("parse", SiteRates::new(10, 20, 640, 0))],
///     [("parse", SiteRates::new(10, 30, 960, 0))],
/// );
/// let verdict = Verdict::new(diff, 0.10);
/// assert!(!verdict.passed());
/// assert_eq!(verdict.regressions()[0].site.name, "parse");
/// ```
#[derive(Clone, Debug)]
pub struct Verdict {
    diff: ReportDiff,
    regressions: Vec<Regression>,
}

/// One site that failed a [`Check`], and why.
///
/// ```
/// # use alloc_trace::report::baseline::Verdict;
/// # use alloc_trace::report::{ReportDiff, SiteRates};
/// let diff = ReportDiff::from_rates([], [("f", SiteRates::new(1, 1, 8, 8))]);
/// let verdict = Verdict::new(diff, 0.10);
/// assert!(verdict.regressions()[0].why.contains("new site"));
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Regression {
    /// The site, before and after.
    pub site: SiteDiff,
    /// What rose, in words.
    pub why: String,
}

impl Verdict {
    /// Judges a diff (before: the baseline) with a bytes/call tolerance (a fraction).
    ///
    /// ```
    /// # use alloc_trace::report::{baseline::Verdict, ReportDiff, SiteRates};
    /// let diff = ReportDiff::from_rates([("f", SiteRates::new(1, 1, 100, 0))], [("f", SiteRates::new(1, 1, 105, 0))]);
    /// assert!(Verdict::new(diff.clone(), 0.10).passed());
    /// assert!(!Verdict::new(diff, 0.0).passed());
    /// ```
    #[must_use]
    pub fn new(diff: ReportDiff, bytes_tolerance: f64) -> Self {
        let mut regressions = Vec::new();
        for row in diff.rows() {
            let after = row.after.unwrap_or_default();
            let why = match row.before {
                None if after.allocs > 0 => Some(format!(
                    "new site (not in the baseline) with {} allocs/call",
                    after_text(after.allocs_per_call())
                )),
                None => None,
                Some(before) if row.allocs_per_call_rose() => Some(format!(
                    "allocs/call rose from {} to {}",
                    after_text(before.allocs_per_call()),
                    after_text(after.allocs_per_call())
                )),
                Some(before) if row.bytes_per_call_rose_past(bytes_tolerance) => Some(format!(
                    "bytes/call rose from {} to {} (more than the tolerance of {}%)",
                    after_text(before.bytes_per_call()),
                    after_text(after.bytes_per_call()),
                    after_text(bytes_tolerance * 100.0)
                )),
                Some(_) => None,
            };
            if let Some(why) = why {
                regressions.push(Regression {
                    site: row.clone(),
                    why,
                });
            }
        }
        Self { diff, regressions }
    }

    /// Whether no site regressed.
    ///
    /// ```
    /// # use alloc_trace::report::{baseline::Verdict, ReportDiff};
    /// assert!(Verdict::new(ReportDiff::from_rates::<&str>([], []), 0.1).passed());
    /// ```
    #[must_use]
    pub fn passed(&self) -> bool {
        self.regressions.is_empty()
    }

    /// The sites that regressed, largest regression first.
    ///
    /// ```
    /// # use alloc_trace::report::{baseline::Verdict, ReportDiff};
    /// assert!(Verdict::new(ReportDiff::from_rates::<&str>([], []), 0.1).regressions().is_empty());
    /// ```
    #[must_use]
    pub fn regressions(&self) -> &[Regression] {
        &self.regressions
    }

    /// The diff of the baseline and the report.
    ///
    /// ```
    /// # use alloc_trace::report::{baseline::Verdict, ReportDiff};
    /// let verdict = Verdict::new(ReportDiff::from_rates::<&str>([], []), 0.1);
    /// assert!(verdict.diff().rows().is_empty());
    /// ```
    #[must_use]
    pub fn diff(&self) -> &ReportDiff {
        &self.diff
    }

    /// The verdict as markdown, for a CI step summary: the diff's table and the
    /// regressions.
    ///
    /// ```
    /// # use alloc_trace::report::{baseline::Verdict, ReportDiff, SiteRates};
    /// let diff = ReportDiff::from_rates([("f", SiteRates::new(1, 1, 8, 0))], [("f", SiteRates::new(1, 2, 8, 0))]);
    /// assert!(Verdict::new(diff, 0.1).to_markdown().contains("**Regressed**"));
    /// ```
    #[must_use]
    pub fn to_markdown(&self) -> String {
        let mut out = self.diff.to_markdown();
        if self.passed() {
            out.push_str("\nNo regression against the baseline.\n");
        } else {
            out.push_str("\n**Regressed** against the baseline:\n\n");
            for r in &self.regressions {
                out.push_str(&format!("- `{}`: {}\n", r.site.name, r.why));
            }
        }
        out
    }
}

/// A per-call mean as the messages show it: whole numbers whole, else two decimals.
fn after_text(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.2}")
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.diff)?;
        for r in &self.regressions {
            writeln!(f, "REGRESSED {}: {}", r.site.name, r.why)?;
        }
        Ok(())
    }
}

/// A baseline: per site that ran, its exact totals ([`SiteRates`]), by name.
///
/// ```
/// # #[global_allocator]
/// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
/// #[alloc_trace::track_allocs]
/// fn f() -> Box<u64> {
///     Box::new(1)
/// }
///
/// let (_, report) = alloc_trace::capture(|| std::hint::black_box(f()));
/// let baseline = alloc_trace::report::baseline::Baseline::from_report(&report);
/// let json = baseline.to_json();
/// assert!(json.contains("\"alloc_trace_baseline\": 1"));
/// assert_eq!(alloc_trace::report::baseline::Baseline::from_json(&json).unwrap(), baseline);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Baseline {
    sites: BTreeMap<String, SiteRates>,
}

#[derive(Serialize, Deserialize)]
struct BaselineJson {
    alloc_trace_baseline: u32,
    sites: BTreeMap<String, SiteJson>,
}

#[derive(Serialize, Deserialize)]
struct SiteJson {
    calls: u64,
    allocs: u64,
    bytes_allocated: u64,
    net_bytes: i64,
    #[serde(default, skip_deserializing)]
    allocs_per_call: f64,
    #[serde(default, skip_deserializing)]
    bytes_per_call: f64,
    #[serde(default, skip_deserializing)]
    net_bytes_per_call: f64,
}

impl Baseline {
    /// The baseline of a report: every site that ran.
    ///
    /// ```
    /// # #[global_allocator]
    /// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
    /// let (_, report) = alloc_trace::capture(|| ());
    /// assert!(alloc_trace::report::baseline::Baseline::from_report(&report).sites().is_empty());
    /// ```
    #[must_use]
    pub fn from_report(report: &Report) -> Self {
        Self {
            sites: rates_of(report),
        }
    }

    /// The sites, by name.
    ///
    /// ```
    /// # let baseline = alloc_trace::report::baseline::Baseline::default();
    /// assert_eq!(baseline.sites().len(), 0);
    /// ```
    #[must_use]
    pub fn sites(&self) -> &BTreeMap<String, SiteRates> {
        &self.sites
    }

    /// Per site, what changed from this baseline to `after`.
    ///
    /// ```
    /// # #[global_allocator]
    /// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
    /// let (_, report) = alloc_trace::capture(|| ());
    /// let baseline = alloc_trace::report::baseline::Baseline::from_report(&report);
    /// assert_eq!(baseline.diff(&report).changed().count(), 0);
    /// ```
    #[must_use]
    pub fn diff(&self, after: &Report) -> ReportDiff {
        ReportDiff::between(&self.sites, &rates_of(after))
    }

    /// The baseline file's text (see the [module docs](self)).
    ///
    /// ```
    /// let json = alloc_trace::report::baseline::Baseline::default().to_json();
    /// assert_eq!(json, "{\n  \"alloc_trace_baseline\": 1,\n  \"sites\": {}\n}\n");
    /// ```
    #[must_use]
    pub fn to_json(&self) -> String {
        let json = BaselineJson {
            alloc_trace_baseline: BASELINE_VERSION,
            sites: self
                .sites
                .iter()
                .map(|(name, r)| {
                    let site = SiteJson {
                        calls: r.calls,
                        allocs: r.allocs,
                        bytes_allocated: r.bytes_allocated,
                        net_bytes: r.net_bytes,
                        allocs_per_call: r.allocs_per_call(),
                        bytes_per_call: r.bytes_per_call(),
                        net_bytes_per_call: r.net_bytes_per_call(),
                    };
                    (name.clone(), site)
                })
                .collect(),
        };
        let mut text = serde_json::to_string_pretty(&json).unwrap_or_else(|e| {
            // Serialising plain numbers and strings cannot fail; keep the output valid.
            format!("{{\"error\": \"alloc-trace: {e}\"}}")
        });
        text.push('\n');
        text
    }

    /// Reads a baseline from its text.
    ///
    /// # Errors
    ///
    /// A [`Problem`](super::Problem) if `json` is not a baseline of this version.
    ///
    /// ```
    /// use alloc_trace::report::{baseline::Baseline, Problem};
    /// assert!(matches!(Baseline::from_json("{\"alloc_trace_baseline\": 9}"), Err(Problem::Version { .. })));
    /// ```
    pub fn from_json(json: &str) -> Result<Self, super::Problem> {
        let value = read::parse_json(json.as_bytes())?;
        read::check_kind(&value, read::BASELINE)?;
        Self::from_value(value).map_err(super::Problem::Malformed)
    }

    pub(crate) fn from_value(value: serde_json::Value) -> Result<Self, String> {
        let json: BaselineJson = serde_json::from_value(value).map_err(|e| e.to_string())?;
        Ok(Self {
            sites: json
                .sites
                .into_iter()
                .map(|(name, s)| {
                    let rates = SiteRates::new(s.calls, s.allocs, s.bytes_allocated, s.net_bytes);
                    (name, rates)
                })
                .collect(),
        })
    }

    /// Reads the baseline file at `path`.
    ///
    /// # Errors
    ///
    /// A [`ReadError`] naming the file and the problem (missing, empty, truncated, not
    /// JSON, another program's, a report rather than a baseline, another version,
    /// malformed).
    ///
    /// ```
    /// let err = alloc_trace::report::baseline::Baseline::load("nope.baseline.json").unwrap_err();
    /// assert_eq!(err.to_string(), "alloc-trace: nope.baseline.json: the file does not exist");
    /// ```
    pub fn load(path: impl AsRef<Path>) -> Result<Self, ReadError> {
        read::read(path.as_ref(), read::BASELINE, Self::from_value)
    }

    /// Writes the baseline file at `path`, creating its directory if needed. It writes a
    /// temporary file beside it and renames it, so an interrupted update never leaves a
    /// truncated baseline.
    ///
    /// # Errors
    ///
    /// If the directory or the file cannot be written; the message names the file.
    ///
    /// ```
    /// let dir = std::env::temp_dir().join(format!("baseline-save-{}", std::process::id()));
    /// let file = dir.join("sub/allocs.baseline.json");
    /// alloc_trace::report::baseline::Baseline::default().save(&file).unwrap();
    /// assert!(alloc_trace::report::baseline::Baseline::load(&file).is_ok());
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// ```
    pub fn save(&self, path: impl AsRef<Path>) -> std::io::Result<()> {
        let path = path.as_ref();
        let named = |e: std::io::Error| {
            std::io::Error::new(
                e.kind(),
                format!(
                    "alloc-trace: could not write the baseline {}: {e}",
                    path.display()
                ),
            )
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(named)?;
        }
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(format!(".tmp{}", std::process::id()));
        let tmp = PathBuf::from(tmp);
        std::fs::write(&tmp, self.to_json()).map_err(named)?;
        std::fs::rename(&tmp, path).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            named(e)
        })
    }
}
