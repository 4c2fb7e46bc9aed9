//! The report as JSON for programs (feature `json`): a documented, versioned schema that
//! `Report`'s serde impls go through, so `serde_json::to_string(&report)` and
//! [`Report::to_json`] agree.

use serde::{Deserialize, Serialize};

use super::{PathStats, Report, Scope};
use crate::AllocStats;
use crate::site::SiteStats;

/// The version of the JSON schema [`Report::to_json`] writes. It changes whenever a field
/// is removed, renamed or changes meaning; adding a field does not change it.
pub const JSON_SCHEMA_VERSION: u32 = 1;

impl Report {
    /// The report as pretty-printed JSON: every number of the table, per function and in
    /// total, plus the call paths.
    ///
    /// # Schema (version 1)
    ///
    /// ```text
    /// {
    ///   "schema_version": 1,             // JSON_SCHEMA_VERSION; readers should check it
    ///   "scope": "process" | "capture",  // report() or capture()
    ///   "counting": true,                // false: CountingAlloc was not installed, all 0
    ///   "totals": Stats,                 // everything (process-wide, or the closure's)
    ///   "in_sites": Stats,               // inside tracked functions
    ///   "outside_sites": Stats,          // totals - in_sites
    ///   "outside_share": 0.042,          // outside allocs / total allocs (0..=1; 0 if none)
    ///   "sites": [                       // every tracked function, report order (most
    ///     {                              // allocs first; never-called ones included)
    ///       "name": "app::handle", "file": "src/app.rs", "line": 12,
    ///       "calls": 1000,
    ///       "inclusive": Stats,          // nested tracked calls included
    ///       "exclusive": Stats,          // nested tracked calls excluded; peak_bytes 0
    ///       "max_allocs_per_call": 3,
    ///       "allocs_per_call": 3.0,      // inclusive.total_allocs / calls (0 if no call)
    ///       "bytes_per_call": 3072.0,    // inclusive.bytes_allocated / calls
    ///       "kept_per_call": 0.0,        // inclusive.net_bytes / calls
    ///       "self_share": 0.385          // exclusive.total_allocs / totals.total_allocs
    ///     }
    ///   ],
    ///   "paths": [                       // call paths, most allocs first
    ///     { "path": "app::main;app::handle", "exclusive": Stats }
    ///   ]
    /// }
    /// Stats = {
    ///   "allocs", "reallocs", "deallocs", "bytes_allocated", "bytes_freed", "peak_bytes",
    ///   "total_allocs",                  // allocs + reallocs: the table's `allocs`
    ///   "net_bytes"                      // bytes_allocated - bytes_freed (signed): `kept`
    /// }
    /// ```
    ///
    /// Integers are exact (u64, `net_bytes` i64); per-call means and shares are floats.
    /// The derived fields (`total_allocs`, `net_bytes`, `*_per_call`, `*_share`,
    /// `outside_sites`) are for readers' convenience: [`Report::from_json`] ignores them
    /// and recomputes them from the rest.
    ///
    /// ```
    /// # #[global_allocator]
    /// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
    /// let (_, report) = alloc_trace::capture(|| std::hint::black_box(vec![1u8; 10]));
    /// let json = report.to_json();
    /// assert!(json.contains("\"schema_version\": 1"));
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
    pub fn from_json(json: &str) -> Result<Report, serde_json::Error> {
        serde_json::from_str(json)
    }
}

/// The on-the-wire shape of a [`Report`].
#[derive(Serialize, Deserialize)]
pub(crate) struct ReportJson {
    schema_version: u32,
    scope: Scope,
    counting: bool,
    totals: StatsJson,
    in_sites: StatsJson,
    #[serde(default, skip_deserializing)]
    outside_sites: StatsJson,
    #[serde(default, skip_deserializing)]
    outside_share: f64,
    sites: Vec<SiteJson>,
    paths: Vec<PathJson>,
}

#[derive(Serialize, Deserialize)]
struct SiteJson {
    name: String,
    file: String,
    line: u32,
    calls: u64,
    inclusive: StatsJson,
    exclusive: StatsJson,
    max_allocs_per_call: u64,
    #[serde(default, skip_deserializing)]
    allocs_per_call: f64,
    #[serde(default, skip_deserializing)]
    bytes_per_call: f64,
    #[serde(default, skip_deserializing)]
    kept_per_call: f64,
    #[serde(default, skip_deserializing)]
    self_share: f64,
}

#[derive(Serialize, Deserialize)]
struct PathJson {
    path: String,
    exclusive: StatsJson,
}

#[derive(Default, Serialize, Deserialize)]
struct StatsJson {
    allocs: u64,
    reallocs: u64,
    deallocs: u64,
    bytes_allocated: u64,
    bytes_freed: u64,
    peak_bytes: u64,
    #[serde(default, skip_deserializing)]
    total_allocs: u64,
    #[serde(default, skip_deserializing)]
    net_bytes: i64,
}

impl From<AllocStats> for StatsJson {
    fn from(s: AllocStats) -> Self {
        Self {
            allocs: s.allocs,
            reallocs: s.reallocs,
            deallocs: s.deallocs,
            bytes_allocated: s.bytes_allocated,
            bytes_freed: s.bytes_freed,
            peak_bytes: s.peak_bytes,
            total_allocs: s.total_allocs(),
            net_bytes: s.net_bytes(),
        }
    }
}

impl From<StatsJson> for AllocStats {
    fn from(s: StatsJson) -> Self {
        Self {
            allocs: s.allocs,
            reallocs: s.reallocs,
            deallocs: s.deallocs,
            bytes_allocated: s.bytes_allocated,
            bytes_freed: s.bytes_freed,
            peak_bytes: s.peak_bytes,
        }
    }
}

fn ratio(part: f64, whole: f64) -> f64 {
    if whole == 0.0 { 0.0 } else { part / whole }
}

impl From<Report> for ReportJson {
    fn from(r: Report) -> Self {
        let all_allocs = r.totals.total_allocs() as f64;
        let outside = r.outside_sites();
        let sites = r
            .sites
            .into_iter()
            .map(|s| SiteJson {
                allocs_per_call: s.allocs_per_call(),
                bytes_per_call: s.bytes_per_call(),
                kept_per_call: s.kept_per_call(),
                self_share: ratio(s.exclusive.total_allocs() as f64, all_allocs),
                name: s.name,
                file: s.file,
                line: s.line,
                calls: s.calls,
                inclusive: s.inclusive.into(),
                exclusive: s.exclusive.into(),
                max_allocs_per_call: s.max_allocs_per_call,
            })
            .collect();
        let paths = r
            .paths
            .into_iter()
            .map(|p| PathJson {
                path: p.path,
                exclusive: p.exclusive.into(),
            })
            .collect();
        ReportJson {
            schema_version: JSON_SCHEMA_VERSION,
            scope: r.scope,
            counting: r.installed,
            totals: r.totals.into(),
            in_sites: r.in_sites.into(),
            outside_sites: outside.into(),
            outside_share: ratio(outside.total_allocs() as f64, all_allocs),
            sites,
            paths,
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
        let sites = j
            .sites
            .into_iter()
            .map(|s| SiteStats {
                name: s.name,
                file: s.file,
                line: s.line,
                calls: s.calls,
                inclusive: s.inclusive.into(),
                exclusive: s.exclusive.into(),
                max_allocs_per_call: s.max_allocs_per_call,
            })
            .collect();
        let paths = j
            .paths
            .into_iter()
            .map(|p| PathStats {
                path: p.path,
                exclusive: p.exclusive.into(),
            })
            .collect();
        Ok(Report {
            scope: j.scope,
            installed: j.counting,
            totals: j.totals.into(),
            in_sites: j.in_sites.into(),
            sites,
            paths,
        })
    }
}
