//! 10,000 tracked sites (generated in `common/sites.rs`), every one called once at start,
//! in order, so each has numbers, a call path of its own and ids 1 to 10,000:
//!
//! - `report-10k`: `alloc_trace::report()` and its formatting;
//! - `capture-10k`, `assert-10k`: `capture()` / `assert_allocs!` of a closure that makes
//!   one tracked call (the last site), against the call alone;
//! - `thread-site1-10k`, `thread-site10k-10k`: a new thread making one tracked call of
//!   site 1 or site 10,000, against a new thread making the call untracked;
//! - memory: heap bytes such a thread holds after its call (its tables).

#[path = "common/alloc_trace_api.rs"]
mod api;
#[macro_use]
#[path = "common/sites.rs"]
mod site_gen;

use std::hint::black_box;

use alloc_trace::CountingAlloc;
use alloc_trace_benchmarks::harness::{Bench, Entry};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc::system();

/// 10 x 10 x 10 x 10 = 10,000 tracked functions, `sites::m3::m1::m4::f1` and so on.
mod sites {
    modules!(level3; m0 m1 m2 m3 m4 m5 m6 m7 m8 m9);
}

fn main() {
    let called = sites::call_all();
    assert_eq!(
        called,
        10_000 * 8,
        "alloc-trace-benchmarks: every site ran once"
    );
    assert_eq!(
        api::sites_called_once("sites::m"),
        10_000,
        "alloc-trace-benchmarks: the report lists all 10,000 sites"
    );
    let mut entries = vec![
        Entry::new(
            "alloc-trace",
            "report-10k",
            "report+format",
            api::report_and_format,
        )
        .count_iters(2),
    ];
    entries.extend(site_gen::capture_rows(
        "capture-10k",
        "assert-10k",
        sites::m9::m9::m9::f9,
        8,
    ));
    entries.extend(site_gen::new_thread_rows(
        "thread-site1-10k",
        sites::m0::m0::m0::f0,
        40,
    ));
    entries.extend(site_gen::new_thread_rows(
        "thread-site10k-10k",
        sites::m9::m9::m9::f9,
        20,
    ));
    Bench::new(entries)
        .memory(site_gen::table_rows(
            "tables-site1-10k",
            || {
                black_box(sites::m0::m0::m0::f0());
            },
            || {
                black_box(site_gen::plain_site());
            },
        ))
        .memory(site_gen::table_rows(
            "tables-site10k-10k",
            || {
                black_box(sites::m9::m9::m9::f9());
            },
            || {
                black_box(site_gen::plain_site());
            },
        ))
        .info("sites:report_sites", api::site_count())
        .run();
}
