//! What a report's call paths hold below a given path: for the tests of handed-off work,
//! which is found by where its paths are.

#![allow(dead_code)] // Each test binary uses a part of it.

use alloc_trace::Report;

/// (allocs, bytes allocated) of some paths.
pub type Pair = (u64, u64);

/// The paths whose frames start with `prefix` (each frame given by its whole display
/// name or its last `::` segments, `"[task]"` as is): what they hold together, and what
/// the path that is exactly `prefix` holds itself.
#[must_use]
pub fn below(report: &Report, prefix: &[&str]) -> (Pair, Pair) {
    let mut all = (0, 0);
    let mut exact = (0, 0);
    for p in report.paths() {
        let matches = p.frames.len() >= prefix.len()
            && p.frames
                .iter()
                .zip(prefix)
                .all(|(f, want)| f == want || f.ends_with(&format!("::{want}")));
        if matches {
            all.0 += p.exclusive.allocs;
            all.1 += p.exclusive.bytes_allocated;
            if p.frames.len() == prefix.len() {
                exact = (p.exclusive.allocs, p.exclusive.bytes_allocated);
            }
        }
    }
    (all, exact)
}
