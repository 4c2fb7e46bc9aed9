//! A diff of two files, each a report or a baseline (feature `json`): read as whichever
//! kind each one is.

use std::collections::BTreeMap;
use std::path::Path;

use super::baseline::Baseline;
use super::diff::rates_of;
use super::read::Problem;
use super::read::{BASELINE, REPORT, ReadError, check_kind, read_json};
use super::{Report, ReportDiff, SiteRates};

/// The site numbers of a report or baseline file, whichever it is.
fn rates_in_file(path: &Path) -> Result<BTreeMap<String, SiteRates>, ReadError> {
    let error = |problem| ReadError {
        path: path.to_owned(),
        problem,
    };
    let value = read_json(path).map_err(error)?;
    if value.get(BASELINE.key).is_some() {
        check_kind(&value, BASELINE).map_err(error)?;
        let baseline = Baseline::from_value(value).map_err(|e| error(Problem::Malformed(e)))?;
        return Ok(baseline.sites().clone());
    }
    check_kind(&value, REPORT).map_err(error)?;
    let report: Report =
        serde_json::from_value(value).map_err(|e| error(Problem::Malformed(e.to_string())))?;
    Ok(rates_of(&report))
}

impl ReportDiff {
    /// The diff of two files (feature `json`), each a report ([`Report::to_json`]) or a
    /// baseline ([`baseline`](super::baseline)): per site, what changed from `before` to
    /// `after`, as [`Report::diff`].
    ///
    /// # Errors
    ///
    /// A [`ReadError`] naming the first file that cannot be read, and why.
    ///
    /// ```
    /// # #[global_allocator]
    /// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
    /// # #[alloc_trace::track_allocs]
    /// # fn f(n: usize) -> Vec<u8> { vec![0; n] }
    /// let dir = std::env::temp_dir().join(format!("diff-files-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir).unwrap();
    /// let (_, before) = alloc_trace::capture(|| std::hint::black_box(f(10)));
    /// let (_, after) = alloc_trace::capture(|| std::hint::black_box(f(20)));
    /// std::fs::write(dir.join("before.json"), before.to_json()).unwrap();
    /// std::fs::write(dir.join("after.json"), after.to_json()).unwrap();
    /// let diff = alloc_trace::report::ReportDiff::from_json_files(
    ///     dir.join("before.json"),
    ///     dir.join("after.json"),
    /// )
    /// .unwrap();
    /// assert_eq!(diff, after.diff(&before));
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// ```
    pub fn from_json_files(
        before: impl AsRef<Path>,
        after: impl AsRef<Path>,
    ) -> Result<ReportDiff, ReadError> {
        let before = rates_in_file(before.as_ref())?;
        let after = rates_in_file(after.as_ref())?;
        Ok(ReportDiff::between(&before, &after))
    }
}
