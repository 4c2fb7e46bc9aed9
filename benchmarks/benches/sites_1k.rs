//! 1,000 tracked sites (generated in `common/sites.rs`), every one called once at start,
//! in order (ids 1 to 1,000, so this thread's site table has 1,024 entries):
//!
//! - `capture-1k`, `assert-1k`: `capture()` / `assert_allocs!` of a closure that makes
//!   one tracked call (the last site), against the call alone;
//! - `budget-1k`: a call with an allocation budget (`max_allocs`), against the same call
//!   tracked without one, with the 1,024-entry table.

#[path = "common/alloc_trace_api.rs"]
mod api;
#[macro_use]
#[path = "common/sites.rs"]
mod site_gen;

use std::hint::black_box;

use alloc_trace::CountingAlloc;
use alloc_trace_benchmarks::harness::{self, Bench, Entry};
use alloc_trace_benchmarks::workloads::{Input, alloc_pairs, call_loop};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc::system();

/// 10 x 10 x 10 = 1,000 tracked functions, `sites::m3::m1::f4` and so on.
mod sites {
    modules!(level2; m0 m1 m2 m3 m4 m5 m6 m7 m8 m9);
}

/// One alloc + free, with a budget it keeps (checked in release builds: the package turns
/// on alloc-trace's `budgets-in-release`).
#[alloc_trace::track_allocs(max_allocs = 4)]
#[inline(never)]
fn budgeted(input: &Input) -> u64 {
    alloc_pairs(1);
    black_box(input)[0]
}

#[alloc_trace::track_allocs]
#[inline(never)]
fn unbudgeted(input: &Input) -> u64 {
    alloc_pairs(1);
    black_box(input)[0]
}

fn main() {
    assert_eq!(sites::call_all(), 1_000 * 8);
    assert_eq!(api::sites_called_once("sites::m"), 1_000);
    let mut entries: Vec<Entry> =
        site_gen::capture_rows("capture-1k", "assert-1k", sites::m9::m9::f9, 100);
    entries.extend(
        harness::per_call(
            "alloc-trace #[track_allocs(max_allocs)]",
            "budget-1k",
            "call",
            |n| call_loop(n, budgeted),
            |n| call_loop(n, unbudgeted),
        )
        .map(|e| e.count_iters(2_000)),
    );
    Bench::new(entries)
        .info("sites:sites_1k", api::site_count())
        .run();
}
