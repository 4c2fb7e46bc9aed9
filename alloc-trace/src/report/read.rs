//! Reading the crate's JSON files (reports and baselines, feature `json`), with one error,
//! [`ReadError`], that names the file and the problem: missing, empty, truncated, not
//! JSON, from another program, of another kind or schema version, or malformed.

use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{JSON_SCHEMA_VERSION, Report};

/// A report or baseline file that could not be read: which file, and what is wrong with
/// it. `Display` says both in one line, starting `alloc-trace: `.
///
/// ```
/// let err = alloc_trace::Report::from_json_file("no/such/report.json").unwrap_err();
/// assert_eq!(err.to_string(), "alloc-trace: no/such/report.json: the file does not exist");
/// assert!(matches!(err.problem, alloc_trace::report::Problem::Missing));
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub struct ReadError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong with it.
    pub problem: Problem,
}

/// What is wrong with a file (see [`ReadError`]).
///
/// ```
/// use alloc_trace::report::Problem;
/// let dir = std::env::temp_dir().join(format!("problem-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let file = dir.join("r.json");
/// std::fs::write(&file, r#"{"schema_version": 2, "sco"#).unwrap();
/// let err = alloc_trace::Report::from_json_file(&file).unwrap_err();
/// assert!(matches!(err.problem, Problem::Truncated { .. }), "{err}");
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Problem {
    /// The file does not exist.
    Missing,
    /// It could not be read (permissions, a directory, ...).
    Unreadable(std::io::Error),
    /// It is empty.
    Empty,
    /// The JSON ends early: a file cut short (an interrupted write, a full disk).
    Truncated {
        /// Line where it ends (from 1).
        line: usize,
        /// Column where it ends.
        column: usize,
    },
    /// It is not JSON (or not UTF-8).
    NotJson(String),
    /// It is JSON, but not written by alloc-trace: it lacks the key that says what it is.
    NotAllocTrace {
        /// The key an alloc-trace file of the expected kind starts with.
        expected_key: &'static str,
    },
    /// It is an alloc-trace file of another kind (a report where a baseline was expected,
    /// or the other way round).
    WrongKind {
        /// What the file is.
        found: &'static str,
        /// What was expected.
        expected: &'static str,
    },
    /// It was written with a schema version this build does not read.
    Version {
        /// The file's version.
        found: String,
        /// The version this build reads.
        supported: u32,
    },
    /// The schema's version, but not its shape (a missing field, a string for a number).
    Malformed(String),
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "alloc-trace: {}: ", self.path.display())?;
        match &self.problem {
            Problem::Missing => f.write_str("the file does not exist"),
            Problem::Unreadable(e) => write!(f, "the file cannot be read: {e}"),
            Problem::Empty => f.write_str("the file is empty"),
            Problem::Truncated { line, column } => write!(
                f,
                "the file is truncated: its JSON ends early, at line {line} column {column}"
            ),
            Problem::NotJson(e) => write!(f, "the file is not JSON: {e}"),
            Problem::NotAllocTrace { expected_key } => write!(
                f,
                "not a file of alloc-trace (it has no `{expected_key}` key): written by another program?"
            ),
            Problem::WrongKind { found, expected } => {
                write!(f, "this is an alloc-trace {found}, not a {expected}")
            }
            Problem::Version { found, supported } => write!(
                f,
                "schema version {found} is not supported (this build reads version {supported})"
            ),
            Problem::Malformed(e) => write!(f, "the file does not have the expected shape: {e}"),
        }
    }
}

impl std::error::Error for ReadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.problem {
            Problem::Unreadable(e) => Some(e),
            _ => None,
        }
    }
}

/// The kinds of file the crate writes: the key that says what a file is and holds its
/// schema version, the version this build reads, and the word for it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Kind {
    pub key: &'static str,
    pub version: u32,
    pub name: &'static str,
}

pub(crate) const REPORT: Kind = Kind {
    key: "schema_version",
    version: JSON_SCHEMA_VERSION,
    name: "report",
};

/// The version of the baseline file format (its `alloc_trace_baseline` key).
///
/// ```
/// assert_eq!(alloc_trace::report::baseline::BASELINE_VERSION, 1);
/// ```
pub const BASELINE_VERSION: u32 = 1;

pub(crate) const BASELINE: Kind = Kind {
    key: "alloc_trace_baseline",
    version: BASELINE_VERSION,
    name: "baseline",
};

const KINDS: [Kind; 2] = [REPORT, BASELINE];

/// Reads `path` as a JSON file of `kind`, checks what it is and its version, and gives
/// its value to `parse`.
pub(crate) fn read<T>(
    path: &Path,
    kind: Kind,
    parse: impl FnOnce(Value) -> Result<T, String>,
) -> Result<T, ReadError> {
    let error = |problem| ReadError {
        path: path.to_owned(),
        problem,
    };
    let value = read_json(path).map_err(error)?;
    check_kind(&value, kind).map_err(error)?;
    parse(value).map_err(|e| error(Problem::Malformed(e)))
}

pub(crate) fn read_json(path: &Path) -> Result<Value, Problem> {
    let bytes = std::fs::read(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Problem::Missing
        } else {
            Problem::Unreadable(e)
        }
    })?;
    parse_json(&bytes)
}

pub(crate) fn parse_json(bytes: &[u8]) -> Result<Value, Problem> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Problem::Empty);
    }
    serde_json::from_slice(bytes).map_err(|e| match e.classify() {
        serde_json::error::Category::Eof => Problem::Truncated {
            line: e.line(),
            column: e.column(),
        },
        _ => Problem::NotJson(e.to_string()),
    })
}

pub(crate) fn check_kind(value: &Value, kind: Kind) -> Result<(), Problem> {
    let version = value.as_object().and_then(|o| o.get(kind.key));
    let Some(version) = version else {
        let other = KINDS
            .iter()
            .find(|k| value.as_object().is_some_and(|o| o.contains_key(k.key)));
        return Err(match other {
            Some(other) => Problem::WrongKind {
                found: other.name,
                expected: kind.name,
            },
            None => Problem::NotAllocTrace {
                expected_key: kind.key,
            },
        });
    };
    if version.as_u64() != Some(u64::from(kind.version)) {
        return Err(Problem::Version {
            found: version.to_string(),
            supported: kind.version,
        });
    }
    Ok(())
}

impl Report {
    /// Reads a report that [`Report::to_json`] wrote to a file (feature `json`).
    ///
    /// # Errors
    ///
    /// A [`ReadError`] naming the file and the problem: missing, empty, truncated, not
    /// JSON, not an alloc-trace report (another program's JSON, or a baseline), another
    /// schema version, or malformed.
    ///
    /// ```
    /// # #[global_allocator]
    /// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
    /// let (_, report) = alloc_trace::capture(|| std::hint::black_box(vec![1u8; 10]));
    /// let path = std::env::temp_dir().join(format!("from-file-{}.json", std::process::id()));
    /// std::fs::write(&path, report.to_json()).unwrap();
    /// assert_eq!(alloc_trace::Report::from_json_file(&path).unwrap(), report);
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn from_json_file(path: impl AsRef<Path>) -> Result<Report, ReadError> {
        read(path.as_ref(), REPORT, |value| {
            serde_json::from_value(value).map_err(|e| e.to_string())
        })
    }
}
