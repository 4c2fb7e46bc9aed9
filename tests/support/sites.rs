//! A report's sites by their exact names.

#![allow(dead_code)] // Each test binary uses a part of it.

use alloc_trace::Report;
use alloc_trace::report::SiteStats;

/// The site called exactly `name` (`module::path::function`; unlike `Report::site`, no
/// suffix matching, so this checks the whole name). Panics listing the sites if there is
/// none.
#[track_caller]
pub fn site<'r>(report: &'r Report, name: &str) -> &'r SiteStats {
    report
        .sites()
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| {
            let names: Vec<&str> = report.sites().iter().map(|s| s.name.as_str()).collect();
            panic!("no site named {name:?}; sites: {names:?}")
        })
}

/// `(calls, allocs, reallocs, bytes_allocated)` of the site called exactly `name`, its
/// inclusive numbers.
#[track_caller]
pub fn site_counts(report: &Report, name: &str) -> (u64, u64, u64, u64) {
    let s = site(report, name);
    (
        s.calls,
        s.inclusive.allocs,
        s.inclusive.reallocs,
        s.inclusive.bytes_allocated,
    )
}

/// The line of the site called exactly `name` (the process-wide report lists every site
/// linked into the binary, called or not).
#[track_caller]
pub fn site_line(name: &str) -> u32 {
    site(&alloc_trace::report(), name).line
}
