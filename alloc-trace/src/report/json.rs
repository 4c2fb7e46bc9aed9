//! The report as JSON for programs (feature `json`): a documented, versioned schema that
//! `Report`'s serde impls go through, so `serde_json::to_string(&report)` and
//! [`Report::to_json`] agree.

use serde::{Deserialize, Serialize};

use super::{Held, Ownership, PathStats, Report, Scope, SiteOwnership, Threads};
use crate::report::SiteStats;
use crate::stats::{AllocCounts, AllocStats};

/// The version of the JSON schema [`Report::to_json`] writes. It changes whenever a field
/// is removed, renamed or changes meaning; adding a field does not change it.
///
/// ```
/// # #[global_allocator]
/// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
/// let json = alloc_trace::capture(|| ()).1.to_json();
/// let version = alloc_trace::report::JSON_SCHEMA_VERSION;
/// assert!(json.contains(&format!("\"schema_version\": {version}")));
/// ```
pub const JSON_SCHEMA_VERSION: u32 = 2;

impl Report {
    /// The report as pretty-printed JSON: every number of the table, per function and in
    /// total, plus the call paths.
    ///
    /// # Schema (version 2)
    ///
    /// ```text
    /// {
    ///   "schema_version": 2,             // JSON_SCHEMA_VERSION; readers should check it
    ///   "scope": "process" | "capture",  // report() or capture()
    ///   "totals": Counts,                // everything (process-wide, or the closure's)
    ///   "peak_bytes": 4096 | null,       // the closure's peak for a capture; null process-wide
    ///   "in_tracked": Counts,            // inside tracked functions
    ///   "unattributed": Counts,          // inside tracked calls in flight, function not known yet
    ///   "outside_tracked": Counts,       // totals - in_tracked
    ///   "outside_share": 0.042,          // outside allocs / total allocs (0..=1; 0 if none)
    ///   "tracking": true,                // false: built without the `tracking` feature, so
    ///                                    // no function is tracked (sites and paths empty)
    ///   "sites": [                       // every tracked function, report order (most
    ///     {                              // allocs first; never-called ones included)
    ///       "name": "app::handle", "file": "src/app.rs", "line": 12,
    ///       "display_name": "app::handle", // the name every output shows: `name`, or
    ///                                  // "name (file:line)" if another site in the
    ///                                  // report has the same name (SiteStats::display_name)
    ///       "calls": 1000,
    ///       "inclusive": Stats,          // nested tracked calls included
    ///       "exclusive": Counts,         // nested tracked calls excluded
    ///       "in_flight": 0,              // calls started and not finished
    ///       "max_allocs_per_call": 3,
    ///       "allocs_per_call": 3.0,      // inclusive.allocs / calls (0 if no call)
    ///       "bytes_per_call": 3072.0,    // inclusive.bytes_allocated / calls
    ///       "net_bytes_per_call": 0.0,   // inclusive.net_bytes / calls
    ///       "excl_share": 0.385          // exclusive.allocs / totals.allocs (the table's excl%)
    ///     }
    ///   ],
    ///   "paths": [                       // call paths, most allocs first
    ///     { "path": "app::main;app::handle",     // frames joined by `;`
    ///       "frames": ["app::main", "app::handle"], // display names, outermost first
    ///       "exclusive": Counts }
    ///   ],
    ///   "threads": { "live": 3, "exited": 12, "busy": 0, // busy: read while booking
    ///                "unrecorded": 0 }   // a capture's sites and paths it could not
    ///                                    // record: rows missing (see the table's note)
    ///   "ownership": Ownership           // only with the `ownership` feature (see below)
    /// }
    /// Counts = {
    ///   "allocs", "reallocs", "frees", "bytes_allocated", "bytes_freed",
    ///   "net_bytes"                      // bytes_allocated - bytes_freed (signed)
    /// }
    /// Stats = Counts + { "peak_bytes" }
    /// ```
    ///
    /// With the `ownership` feature, a process-wide report also has (absent otherwise,
    /// so that reports without it read as before):
    ///
    /// ```text
    /// "ownership": {                     // Report::ownership
    ///   "live": Live,                    // alive when the report was built (at exit: never freed)
    ///   "peak": Live,                    // alive at the peak of live bytes
    ///   "peak_request": 5120,            // the peak was reached by this allocation request
    ///   "outside": Held,                 // blocks allocated outside tracked functions
    ///   "exact": true,                   // false: threads allocated at once (see Ownership)
    ///   "stale_requests": 0, "torn_peaks": 0, "lost_updates": 0
    /// }
    /// each site:  "ownership": { "inclusive": Held, "exclusive": Held, "max_live_bytes": 4096 }
    /// each path:  "ownership": Held
    /// Live = { "blocks", "bytes" }
    /// Held = { "live": Live, "at_peak": Live }
    /// ```
    ///
    /// The words mean what they mean everywhere in the crate (see
    /// [`AllocStats`]). Integers are exact (u64, `net_bytes` i64);
    /// per-call means and shares are floats. The derived fields (`net_bytes`, `*_per_call`,
    /// `*_share`, `outside_tracked`) are for readers' convenience: [`Report::from_json`]
    /// ignores them and recomputes them from the rest.
    ///
    /// ```
    /// # #[global_allocator]
    /// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
    /// let (_, report) = alloc_trace::capture(|| std::hint::black_box(vec![1u8; 10]));
    /// let json = report.to_json();
    /// assert!(json.contains("\"schema_version\": 2"));
    /// assert_eq!(alloc_trace::Report::from_json(&json).unwrap(), report);
    /// ```
    #[must_use]
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| {
            // Serialising plain numbers and strings cannot fail; keep the output valid.
            format!("{{\"error\": \"alloc-trace: {e}\"}}")
        })
    }

    /// Reads a report written by [`Report::to_json`] (or any JSON of the same schema).
    ///
    /// # Errors
    ///
    /// If `json` is not valid JSON of this schema, or its `schema_version` is not
    /// [`JSON_SCHEMA_VERSION`].
    ///
    /// ```
    /// let err = alloc_trace::Report::from_json("{\"schema_version\": 1}").unwrap_err();
    /// assert!(err.to_string().contains("schema version 1"), "{err}");
    /// ```
    pub fn from_json(json: &str) -> Result<Report, serde_json::Error> {
        // The version first, so that another version's report is said to be one rather
        // than reported as a missing or unexpected field.
        #[derive(Deserialize)]
        struct Version {
            schema_version: Option<u32>,
        }
        let version: Version = serde_json::from_str(json)?;
        match version.schema_version {
            Some(JSON_SCHEMA_VERSION) => serde_json::from_str(json),
            Some(other) => Err(serde::de::Error::custom(format_args!(
                "alloc-trace: JSON schema version {other} is not supported (this build reads version {JSON_SCHEMA_VERSION})"
            ))),
            None => Err(serde::de::Error::custom(
                "alloc-trace: not an alloc-trace report (no `schema_version`)",
            )),
        }
    }
}

/// The on-the-wire shape of a [`Report`].
#[derive(Serialize, Deserialize)]
pub(crate) struct ReportJson {
    schema_version: u32,
    scope: Scope,
    totals: CountsJson,
    peak_bytes: Option<u64>,
    in_tracked: CountsJson,
    unattributed: CountsJson,
    #[serde(default, skip_deserializing)]
    outside_tracked: CountsJson,
    #[serde(default, skip_deserializing)]
    outside_share: f64,
    /// Absent in reports written before it existed, which all tracked.
    #[serde(default = "tracking_on")]
    tracking: bool,
    sites: Vec<SiteJson>,
    paths: Vec<PathJson>,
    threads: Threads,
    /// Only with the `ownership` feature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ownership: Option<Ownership>,
}

const fn tracking_on() -> bool {
    true
}

#[derive(Serialize, Deserialize)]
struct SiteJson {
    name: String,
    /// Absent in reports written before it existed: recomputed from the names.
    #[serde(default)]
    display_name: Option<String>,
    file: String,
    line: u32,
    calls: u64,
    inclusive: StatsJson,
    exclusive: CountsJson,
    max_allocs_per_call: u64,
    #[serde(default)]
    in_flight: u64,
    #[serde(default, skip_deserializing)]
    allocs_per_call: f64,
    #[serde(default, skip_deserializing)]
    bytes_per_call: f64,
    #[serde(default, skip_deserializing)]
    net_bytes_per_call: f64,
    #[serde(default, skip_deserializing)]
    excl_share: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ownership: Option<SiteOwnership>,
}

#[derive(Serialize, Deserialize)]
struct PathJson {
    path: String,
    /// Absent in reports written before it existed: `path` split at `;`.
    #[serde(default)]
    frames: Option<Vec<String>>,
    exclusive: CountsJson,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ownership: Option<Held>,
}

#[derive(Default, Serialize, Deserialize)]
struct CountsJson {
    #[serde(flatten)]
    counts: AllocCounts,
    #[serde(default, skip_deserializing)]
    net_bytes: i64,
}

#[derive(Default, Serialize, Deserialize)]
struct StatsJson {
    #[serde(flatten)]
    stats: AllocStats,
    #[serde(default, skip_deserializing)]
    net_bytes: i64,
}

impl From<AllocCounts> for CountsJson {
    fn from(counts: AllocCounts) -> Self {
        Self {
            counts,
            net_bytes: counts.net_bytes(),
        }
    }
}

impl From<AllocStats> for StatsJson {
    fn from(stats: AllocStats) -> Self {
        Self {
            stats,
            net_bytes: stats.net_bytes(),
        }
    }
}

fn ratio(part: f64, whole: f64) -> f64 {
    if whole == 0.0 { 0.0 } else { part / whole }
}

impl From<Report> for ReportJson {
    fn from(r: Report) -> Self {
        let all_allocs = r.totals.allocs as f64;
        let outside = r.outside_tracked();
        let sites = r
            .sites
            .into_iter()
            .map(|s| SiteJson {
                allocs_per_call: s.allocs_per_call(),
                bytes_per_call: s.bytes_per_call(),
                net_bytes_per_call: s.net_bytes_per_call(),
                excl_share: ratio(s.exclusive.allocs as f64, all_allocs),
                name: s.name,
                display_name: Some(s.display_name),
                file: s.file,
                line: s.line,
                calls: s.calls,
                inclusive: s.inclusive.into(),
                exclusive: s.exclusive.into(),
                max_allocs_per_call: s.max_allocs_per_call,
                in_flight: s.in_flight,
                ownership: s.ownership,
            })
            .collect();
        let paths = r
            .paths
            .into_iter()
            .map(|p| PathJson {
                path: p.path,
                frames: Some(p.frames),
                exclusive: p.exclusive.into(),
                ownership: p.ownership,
            })
            .collect();
        ReportJson {
            schema_version: JSON_SCHEMA_VERSION,
            scope: r.scope,
            totals: r.totals.into(),
            peak_bytes: r.peak,
            in_tracked: r.in_tracked.into(),
            unattributed: r.unattributed.into(),
            outside_tracked: outside.into(),
            outside_share: ratio(outside.allocs as f64, all_allocs),
            tracking: r.tracking,
            sites,
            paths,
            threads: r.threads,
            ownership: r.ownership,
        }
    }
}

impl TryFrom<ReportJson> for Report {
    type Error = String;

    fn try_from(j: ReportJson) -> Result<Self, String> {
        if j.schema_version != JSON_SCHEMA_VERSION {
            return Err(format!(
                "alloc-trace: JSON schema version {} is not supported (this build reads version {JSON_SCHEMA_VERSION})",
                j.schema_version
            ));
        }
        let computed = j.sites.iter().any(|s| s.display_name.is_none()).then(|| {
            let keys: Vec<(&str, &str, u32)> = j
                .sites
                .iter()
                .map(|s| (s.name.as_str(), s.file.as_str(), s.line))
                .collect();
            super::display_names(&keys)
        });
        let sites = j
            .sites
            .into_iter()
            .enumerate()
            .map(|(i, s)| SiteStats {
                display_name: s
                    .display_name
                    .or_else(|| computed.as_ref().map(|names| names[i].clone()))
                    .unwrap_or_else(|| s.name.clone()),
                name: s.name,
                file: s.file,
                line: s.line,
                calls: s.calls,
                inclusive: s.inclusive.stats,
                exclusive: s.exclusive.counts,
                max_allocs_per_call: s.max_allocs_per_call,
                in_flight: s.in_flight,
                ownership: s.ownership,
            })
            .collect();
        let paths = j
            .paths
            .into_iter()
            .map(|p| PathStats {
                frames: p
                    .frames
                    .unwrap_or_else(|| p.path.split(';').map(str::to_owned).collect()),
                path: p.path,
                exclusive: p.exclusive.counts,
                ownership: p.ownership,
            })
            .collect();
        Ok(Report {
            scope: j.scope,
            totals: j.totals.counts,
            peak: j.peak_bytes,
            in_tracked: j.in_tracked.counts,
            unattributed: j.unattributed.counts,
            sites,
            paths,
            threads: j.threads,
            tracking: j.tracking,
            ownership: j.ownership,
        })
    }
}
