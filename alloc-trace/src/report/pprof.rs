//! The report as a pprof profile (feature `pprof`): a gzipped `perftools.profiles.Profile`
//! (google/pprof's `profile.proto`), which `go tool pprof`, Grafana Pyroscope, Parca and
//! speedscope open.
//!
//! One `Function` and one `Location` per tracked function, one `Sample` per call path
//! (leaf first) with the path's exclusive numbers, plus one sample for what happened
//! outside every tracked function, so the samples add up to [`Report::totals`].
//!
//! ```
//! # #[global_allocator]
//! # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
//! #[alloc_trace::track_allocs]
//! fn work() -> Vec<u8> {
//!     vec![0; 64]
//! }
//!
//! let (_, report) = alloc_trace::capture(|| std::hint::black_box(work()));
//! let path = std::env::temp_dir().join(format!("doc-{}.pb.gz", std::process::id()));
//! alloc_trace::report::pprof::write(&report, &path).unwrap();
//! // Then: go tool pprof -top FILE
//! # std::fs::remove_file(&path).unwrap();
//! ```

use std::collections::HashMap;
use std::io::{self, Write};
use std::path::Path;

use super::{Held, Live, OUTSIDE_FRAME, Report, Scope, SiteStats, UNATTRIBUTED_FRAME};
use crate::stats::AllocCounts;

/// Each sample value: its type, its unit, and how it is read from a path's counts. The
/// one place that sets the order of [`SAMPLE_TYPES`] and of the values.
#[allow(clippy::type_complexity)]
const COLUMNS: [(&str, &str, fn(&AllocCounts) -> i64); 6] = [
    ("alloc_objects", "count", |c| saturate(c.allocs)),
    ("alloc_space", "bytes", |c| saturate(c.bytes_allocated)),
    // With the ownership view, `inuse_objects/count` and `inuse_space/bytes` go here (see
    // `SAMPLE_TYPES_WITH_OWNERSHIP`).
    ("reallocs", "count", |c| saturate(c.reallocs)),
    ("frees", "count", |c| saturate(c.frees)),
    ("bytes_freed", "bytes", |c| saturate(c.bytes_freed)),
    // `bytes_allocated - bytes_freed` at the path: frees are booked where they happen,
    // so a block allocated at one path and freed at another is +n at the first and -n at
    // the second. Values can be negative (the format allows it).
    ("net_bytes", "bytes", AllocCounts::net_bytes),
];

/// The `(type, unit)` of each sample value, in order.
///
/// Go's heap-profile names first, so tools that know Go heap profiles (pprof's
/// `-sample_index=alloc_space`, Pyroscope's memory views) find them: `alloc_objects` is
/// the crate's `allocs` (reallocs included) and `alloc_space` its `bytes_allocated`.
/// Then alloc-trace's own words, as everywhere in the crate: `reallocs`, `frees`,
/// `bytes_freed`, and `net_bytes` (`bytes_allocated - bytes_freed` at the path, negative
/// where a path frees more than it allocates, as frees are counted where they happen).
///
/// Go's `inuse_objects` and `inuse_space` are not there: they need the ownership view
/// (which call path allocated each block still live). A report that has it (feature
/// `ownership`, process-wide reports) has [`SAMPLE_TYPES_WITH_OWNERSHIP`] instead: the
/// same, with those two right after `alloc_space`, as in Go's order.
///
/// No per-path peak: a peak is the highest level of live bytes during a call, kept per
/// function (`SiteStats::inclusive.peak_bytes`). pprof adds sample values up whenever it
/// merges samples (by function, by file, in a flamegraph's parent boxes), and peaks do not
/// add up, so a peak value would be wrong in every view but the flattest. Calls are not
/// there either: the report counts them per function, not per path.
///
/// ```
/// use alloc_trace::report::pprof::SAMPLE_TYPES;
/// assert_eq!(SAMPLE_TYPES[0], ("alloc_objects", "count"));
/// assert_eq!(SAMPLE_TYPES[1], ("alloc_space", "bytes"));
/// ```
pub const SAMPLE_TYPES: [(&str, &str); 6] = {
    let mut out = [("", ""); 6];
    let mut i = 0;
    while i < COLUMNS.len() {
        out[i] = (COLUMNS[i].0, COLUMNS[i].1);
        i += 1;
    }
    out
};

/// The `(type, unit)` of each sample value of a report with the ownership view
/// ([`Report::ownership`] is `Some`): [`SAMPLE_TYPES`] with Go's `inuse_objects` and
/// `inuse_space` after `alloc_space`, the blocks and bytes each call path allocated that
/// were alive when the report was built (at exit: never freed), wherever they are freed.
///
/// ```
/// use alloc_trace::report::pprof::{SAMPLE_TYPES, SAMPLE_TYPES_WITH_OWNERSHIP};
/// assert_eq!(SAMPLE_TYPES_WITH_OWNERSHIP[2], ("inuse_objects", "count"));
/// assert_eq!(SAMPLE_TYPES_WITH_OWNERSHIP[3], ("inuse_space", "bytes"));
/// assert_eq!(SAMPLE_TYPES_WITH_OWNERSHIP[4..], SAMPLE_TYPES[2..]);
/// ```
pub const SAMPLE_TYPES_WITH_OWNERSHIP: [(&str, &str); 8] = {
    let mut out = [("", ""); 8];
    let mut i = 0;
    while i < COLUMNS.len() {
        out[if i < INUSE_AT { i } else { i + 2 }] = (COLUMNS[i].0, COLUMNS[i].1);
        i += 1;
    }
    out[INUSE_AT] = ("inuse_objects", "count");
    out[INUSE_AT + 1] = ("inuse_space", "bytes");
    out
};

/// Where the ownership view's two values go among [`COLUMNS`]' (after `alloc_space`).
const INUSE_AT: usize = 2;

/// The sample type the viewers show first: `alloc_objects`.
///
/// Allocations, not bytes: the count is the crate's headline number (the table's sort
/// order, [`FoldedWeight`](super::FoldedWeight)'s default), it is what makes code slow,
/// and it is the same on every target, while bytes depend on layouts.
///
/// ```
/// assert_eq!(alloc_trace::report::pprof::DEFAULT_SAMPLE_TYPE, "alloc_objects");
/// ```
pub const DEFAULT_SAMPLE_TYPE: &str = SAMPLE_TYPES[0].0;

/// Writes `report` as a gzipped pprof profile to the file `path` (created or truncated).
/// This is what `ALLOC_TRACE=pprof:FILE` writes at exit.
///
/// # Errors
///
/// If the file cannot be created or written; the message names the file.
///
/// ```
/// # #[global_allocator]
/// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
/// let (_, report) = alloc_trace::capture(|| std::hint::black_box(vec![1u8; 8]));
/// let err = alloc_trace::report::pprof::write(&report, "/nonexistent/dir/a.pb.gz".as_ref());
/// assert!(err.unwrap_err().to_string().contains("/nonexistent/dir/a.pb.gz"));
/// ```
pub fn write(report: &Report, path: &Path) -> io::Result<()> {
    let named = |e: io::Error| {
        io::Error::new(
            e.kind(),
            format!(
                "alloc-trace: could not write the pprof profile to {}: {e}",
                path.display()
            ),
        )
    };
    let file = std::fs::File::create(path).map_err(named)?;
    let mut out = io::BufWriter::new(file);
    report.write_pprof(&mut out).map_err(named)?;
    out.flush().map_err(named)
}

impl Report {
    /// The report as a gzipped pprof profile (`perftools.profiles.Profile`, the format of
    /// `go tool pprof`, Pyroscope, Parca and speedscope), feature `pprof`.
    ///
    /// - Sample values: [`SAMPLE_TYPES`], each sample a call path's exclusive numbers
    ///   ([`Report::paths`]), leaf first; one more sample at a
    ///   [`OUTSIDE_FRAME`] location for what happened outside
    ///   tracked functions, and one at
    ///   [`UNATTRIBUTED_FRAME`] if
    ///   [`Report::unattributed`] is not zero, so the samples add up to
    ///   [`Report::totals`].
    /// - One function and one location per tracked function (its name, file and the line
    ///   of its name). There are no addresses and no mappings: nothing is left to
    ///   symbolize.
    /// - `period_type` `alloc_objects/count` with `period` 1, and a comment, say that every
    ///   allocation was counted: nothing is sampled, values are exact.
    /// - [`DEFAULT_SAMPLE_TYPE`] is `alloc_objects`.
    /// - No thread label: a process-wide report adds up every thread, and a capture is one
    ///   thread; neither has per-thread samples to tell apart.
    ///
    /// ```
    /// # #[global_allocator]
    /// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
    /// let (_, report) = alloc_trace::capture(|| std::hint::black_box(vec![1u8; 8]));
    /// let gz = report.to_pprof();
    /// assert_eq!(gz[..2], [0x1f, 0x8b]); // gzip
    /// ```
    #[must_use]
    pub fn to_pprof(&self) -> Vec<u8> {
        let mut out = Vec::new();
        // Writing to a Vec cannot fail.
        let _ = self.write_pprof(&mut out);
        out
    }

    /// Writes [`Report::to_pprof`] to `out`.
    ///
    /// # Errors
    ///
    /// The errors of `out`.
    ///
    /// ```
    /// # #[global_allocator]
    /// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
    /// let (_, report) = alloc_trace::capture(|| std::hint::black_box(vec![1u8; 8]));
    /// let mut out = Vec::new();
    /// report.write_pprof(&mut out).unwrap();
    /// assert_eq!(out, report.to_pprof());
    /// ```
    pub fn write_pprof(&self, out: impl Write) -> io::Result<()> {
        use prost::Message as _;
        let bytes = build(self).encode_to_vec();
        let mut gz = flate2::write::GzEncoder::new(out, flate2::Compression::default());
        gz.write_all(&bytes)?;
        gz.finish()?.flush()
    }
}

fn saturate(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A sample's values: its counts, and with the ownership view what it holds (`inuse`).
fn values(c: &AllocCounts, inuse: Option<Live>) -> Vec<i64> {
    let mut out: Vec<i64> = COLUMNS.iter().map(|(_, _, value)| value(c)).collect();
    if let Some(live) = inuse {
        out.splice(
            INUSE_AT..INUSE_AT,
            [saturate(live.blocks), saturate(live.bytes)],
        );
    }
    out
}

/// The profile's tables as they are filled.
struct Builder<'r> {
    /// The report's sites by name (the first of several with one name).
    sites: HashMap<&'r str, &'r SiteStats>,
    profile: proto::Profile,
    strings: HashMap<String, i64>,
    /// Function (and location) ids by frame name.
    frames: HashMap<String, u64>,
}

impl Builder<'_> {
    fn string(&mut self, s: &str) -> i64 {
        if let Some(&i) = self.strings.get(s) {
            return i;
        }
        let i = self.profile.string_table.len() as i64;
        self.profile.string_table.push(s.to_owned());
        self.strings.insert(s.to_owned(), i);
        i
    }

    /// The location of the frame `name`, with its function: a tracked function's file and
    /// line, or none for the frames alloc-trace adds (`[...]`, outside, overflow).
    fn location(&mut self, name: &str) -> u64 {
        if let Some(&id) = self.frames.get(name) {
            return id;
        }
        let id = self.profile.function.len() as u64 + 1;
        let site = self.sites.get(name);
        let (file, line) = site.map_or(("", 0), |s| (s.file.as_str(), i64::from(s.line)));
        let name_index = self.string(name);
        let file_index = self.string(file);
        self.profile.function.push(proto::Function {
            id,
            name: name_index,
            system_name: name_index,
            filename: file_index,
            start_line: line,
        });
        self.profile.location.push(proto::Location {
            id,
            line: vec![proto::Line {
                function_id: id,
                line,
            }],
        });
        self.frames.insert(name.to_owned(), id);
        id
    }

    fn sample(&mut self, leaf_first: &[&str], counts: &AllocCounts, inuse: Option<Live>) {
        let location_id = leaf_first.iter().map(|f| self.location(f)).collect();
        self.profile.sample.push(proto::Sample {
            location_id,
            value: values(counts, inuse),
        });
    }
}

fn build(report: &Report) -> proto::Profile {
    let mut sites = HashMap::new();
    for s in &report.sites {
        sites.entry(s.name.as_str()).or_insert(s);
    }
    let mut b = Builder {
        sites,
        profile: proto::Profile::default(),
        strings: HashMap::new(),
        frames: HashMap::new(),
    };
    // The string table starts with "" (index 0), by the format's rule.
    b.string("");
    // With the ownership view, every sample has its two values (0 where nothing is held).
    let view = report.ownership();
    let inuse = |held: Option<Held>| view.map(|_| held.map(|h| h.live).unwrap_or_default());
    let types: &[(&str, &str)] = if view.is_some() {
        &SAMPLE_TYPES_WITH_OWNERSHIP
    } else {
        &SAMPLE_TYPES
    };
    for &(ty, unit) in types {
        let value_type = proto::ValueType {
            r#type: b.string(ty),
            unit: b.string(unit),
        };
        b.profile.sample_type.push(value_type);
    }
    b.profile.period_type = Some(proto::ValueType {
        r#type: b.string(SAMPLE_TYPES[0].0),
        unit: b.string(SAMPLE_TYPES[0].1),
    });
    b.profile.period = 1;
    b.profile.default_sample_type = b.string(DEFAULT_SAMPLE_TYPE);
    let scope = match report.scope {
        Scope::Process => "every thread, since the program started (alloc_trace::report)",
        Scope::Capture => "one closure on the calling thread (alloc_trace::capture)",
    };
    let mut comments = vec![
        "alloc-trace: exact counts, nothing sampled: every allocation is in a value \
         (period 1 = one event per allocation)"
            .to_owned(),
        format!("alloc-trace: scope: {scope}"),
        "alloc-trace: a sample is what calls at exactly that call path of #[track_allocs] \
         functions did themselves (exclusive); alloc_objects = allocs (reallocs included), \
         alloc_space = bytes_allocated; frees are counted where they happen"
            .to_owned(),
    ];
    if view.is_some() {
        comments.push(
            "alloc-trace: inuse_objects, inuse_space = blocks a path allocated that were alive \
             when the report was built (the ownership view), wherever they are freed"
                .to_owned(),
        );
    }
    if let Some(peak) = report.peak {
        comments.push(format!(
            "alloc-trace: peak_bytes of the capture: {peak} (not per sample: peaks do not add up)"
        ));
    }
    for c in comments {
        let i = b.string(&c);
        b.profile.comment.push(i);
    }
    for p in &report.paths {
        let mut frames: Vec<&str> = p.path.split(';').collect();
        frames.reverse();
        b.sample(&frames, &p.exclusive, inuse(p.ownership));
    }
    let zero = AllocCounts::default();
    if report.unattributed != zero {
        b.sample(&[UNATTRIBUTED_FRAME], &report.unattributed, inuse(None));
    }
    let outside = report.outside_tracked();
    let outside_held = view.map(|o| o.outside);
    if outside != zero || outside_held.is_some_and(|h| h.live.blocks > 0) {
        b.sample(&[OUTSIDE_FRAME], &outside, inuse(outside_held));
    }
    b.profile
}

/// The messages of google/pprof's `proto/profile.proto` that the export writes, with the
/// field numbers of that file. Fields the export does not write (mappings, labels,
/// addresses, drop/keep frames, times) are left out; prost writes nothing for them, which
/// is what the format's defaults mean.
mod proto {
    #[derive(Clone, PartialEq, prost::Message)]
    pub(super) struct Profile {
        #[prost(message, repeated, tag = "1")]
        pub sample_type: Vec<ValueType>,
        #[prost(message, repeated, tag = "2")]
        pub sample: Vec<Sample>,
        #[prost(message, repeated, tag = "4")]
        pub location: Vec<Location>,
        #[prost(message, repeated, tag = "5")]
        pub function: Vec<Function>,
        #[prost(string, repeated, tag = "6")]
        pub string_table: Vec<String>,
        #[prost(message, optional, tag = "11")]
        pub period_type: Option<ValueType>,
        #[prost(int64, tag = "12")]
        pub period: i64,
        #[prost(int64, repeated, tag = "13")]
        pub comment: Vec<i64>,
        #[prost(int64, tag = "14")]
        pub default_sample_type: i64,
    }

    #[derive(Clone, Copy, PartialEq, prost::Message)]
    pub(super) struct ValueType {
        #[prost(int64, tag = "1")]
        pub r#type: i64,
        #[prost(int64, tag = "2")]
        pub unit: i64,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub(super) struct Sample {
        /// Leaf first.
        #[prost(uint64, repeated, tag = "1")]
        pub location_id: Vec<u64>,
        #[prost(int64, repeated, tag = "2")]
        pub value: Vec<i64>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub(super) struct Location {
        #[prost(uint64, tag = "1")]
        pub id: u64,
        #[prost(message, repeated, tag = "4")]
        pub line: Vec<Line>,
    }

    #[derive(Clone, Copy, PartialEq, prost::Message)]
    pub(super) struct Line {
        #[prost(uint64, tag = "1")]
        pub function_id: u64,
        #[prost(int64, tag = "2")]
        pub line: i64,
    }

    #[derive(Clone, Copy, PartialEq, prost::Message)]
    pub(super) struct Function {
        #[prost(uint64, tag = "1")]
        pub id: u64,
        #[prost(int64, tag = "2")]
        pub name: i64,
        #[prost(int64, tag = "3")]
        pub system_name: i64,
        #[prost(int64, tag = "4")]
        pub filename: i64,
        #[prost(int64, tag = "5")]
        pub start_line: i64,
    }
}
