//! 100,000 tracked sites (generated in `common/sites.rs`), every one called once at start
//! on the main thread, in order (ids 1 to 100,000):
//!
//! - `thread-last-100k`: a new thread making one tracked call of the last site (id
//!   100,000), against a new thread making the call untracked;
//! - memory: heap bytes a new thread holds after calling only the last site, or every
//!   site once.

#[path = "common/alloc_trace_api.rs"]
mod api;
#[macro_use]
#[path = "common/sites.rs"]
mod site_gen;

use std::hint::black_box;

use alloc_trace::CountingAlloc;
use alloc_trace_benchmarks::harness::Bench;

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc::system();

/// 10^5 tracked functions, `sites::m3::m1::m4::m1::f5` and so on.
mod sites {
    modules!(level4; m0 m1 m2 m3 m4 m5 m6 m7 m8 m9);
}

fn main() {
    assert_eq!(sites::call_all(), 100_000 * 8);
    let entries = site_gen::new_thread_rows("thread-last-100k", sites::m9::m9::m9::m9::f9, 8)
        .into_iter()
        .collect();
    Bench::new(entries)
        .memory(site_gen::table_rows(
            "tables-last-100k",
            || {
                black_box(sites::m9::m9::m9::m9::f9());
            },
            || {
                black_box(site_gen::plain_site());
            },
        ))
        .memory(site_gen::table_rows(
            "tables-every-100k",
            || {
                black_box(sites::call_all());
            },
            || {
                for _ in 0..100_000 {
                    black_box(site_gen::plain_site());
                }
            },
        ))
        .info("sites:sites_100k", api::site_count())
        .run();
}
