//! Every call of alloc-trace's functions, macros and report types by the bench binaries,
//! in one place: when the public API is renamed, this file is what changes (the
//! `#[track_allocs]` attributes and `CountingAlloc` aside). Included with `#[path]` by
//! `contender_alloc_trace` and the binaries with many sites; each uses part of it.
#![allow(dead_code)]

use std::hint::black_box;

/// Allocations `f` made on this thread (the counting check of the harness).
pub fn allocs_of(f: &dyn Fn()) -> u64 {
    alloc_trace::measure(f).1.allocs
}

/// `f()` under `alloc_trace::measure`; the numbers go to `black_box`.
#[inline(always)]
pub fn measured<R>(f: impl FnOnce() -> R) -> R {
    let (out, stats) = alloc_trace::measure(f);
    black_box(stats);
    out
}

/// `f()` under `alloc_trace::capture`; the report goes to `black_box` and is dropped.
#[inline(always)]
pub fn captured<R>(f: impl FnOnce() -> R) -> R {
    let (out, report) = alloc_trace::capture(f);
    black_box(&report);
    out
}

/// `f()` under `assert_allocs!(.., allocs == 1)`: `f` makes exactly one allocation.
#[inline(always)]
pub fn asserted_one_alloc<R>(f: impl FnOnce() -> R) -> R {
    alloc_trace::assert_allocs!(f(), allocs == 1)
}

/// Tracked sites linked into this binary.
pub fn site_count() -> usize {
    alloc_trace::report().sites().len()
}

/// Sites whose name contains `part` and that were called exactly once so far.
pub fn sites_called_once(part: &str) -> usize {
    alloc_trace::report()
        .sites()
        .iter()
        .filter(|s| s.name.contains(part) && s.calls == 1)
        .count()
}

/// `reports` times: `alloc_trace::report()` and its `Display`.
pub fn report_and_format(reports: u64) {
    for _ in 0..reports {
        let report = alloc_trace::report();
        black_box(report.to_string());
    }
}

/// The handoff of the calling thread's tracked call (`Handoff::current()`).
#[inline(always)]
pub fn handoff_here() -> alloc_trace::Handoff {
    alloc_trace::Handoff::current()
}

/// `f()` as work handed off under `here` (`Handoff::run`).
#[inline(always)]
pub fn run_handed_off<R>(here: alloc_trace::Handoff, f: impl FnOnce() -> R) -> R {
    here.run(f)
}

/// `future`, handed off from the calling thread's tracked call (`in_current_site()`).
#[inline(always)]
pub fn in_current_site<F: std::future::Future>(
    future: F,
) -> impl std::future::Future<Output = F::Output> {
    alloc_trace::InCurrentSite::in_current_site(future)
}
