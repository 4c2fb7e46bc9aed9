//! Report generation for 10,000 sites: `alloc_trace::report()` and its formatting, after
//! every one of 10,000 tracked functions (generated below) was called once and allocated
//! once, so each has numbers and a call path of its own.

use std::hint::black_box;

use alloc_trace::CountingAlloc;
use alloc_trace_benchmarks::harness::{self, Entry};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc::system();

/// Ten tracked functions `f0`..`f9` that allocate 8 bytes each, and `call_all` for them.
macro_rules! tracked_fns {
    ($($f:ident)*) => {
        $(
            #[alloc_trace::track_allocs]
            pub fn $f() -> usize {
                std::hint::black_box(vec![0u8; 8]).len()
            }
        )*
        pub fn call_all() -> usize {
            0 $(+ $f())*
        }
    };
}

/// Ten modules `m0`..`m9`, each filled by `$inner!()`, and `call_all` for them.
macro_rules! modules {
    ($inner:ident; $($m:ident)*) => {
        $(
            pub mod $m {
                $inner!();
            }
        )*
        pub fn call_all() -> usize {
            0 $(+ $m::call_all())*
        }
    };
}

macro_rules! level1 {
    () => {
        tracked_fns!(f0 f1 f2 f3 f4 f5 f6 f7 f8 f9);
    };
}
macro_rules! level2 {
    () => {
        modules!(level1; m0 m1 m2 m3 m4 m5 m6 m7 m8 m9);
    };
}
macro_rules! level3 {
    () => {
        modules!(level2; m0 m1 m2 m3 m4 m5 m6 m7 m8 m9);
    };
}

/// 10 x 10 x 10 x 10 = 10,000 tracked functions, `sites::m3::m1::m4::f1` and so on.
mod sites {
    modules!(level3; m0 m1 m2 m3 m4 m5 m6 m7 m8 m9);
}

fn report_and_format(reports: u64) {
    for _ in 0..reports {
        let report = alloc_trace::report();
        black_box(report.to_string());
    }
}

fn main() {
    let called = sites::call_all();
    assert_eq!(
        called,
        10_000 * 8,
        "alloc-trace-benchmarks: every site ran once"
    );
    let report = alloc_trace::report();
    let with_calls = report
        .sites()
        .iter()
        .filter(|s| s.name.contains("sites::m") && s.calls == 1)
        .count();
    assert_eq!(
        with_calls, 10_000,
        "alloc-trace-benchmarks: the report lists all 10,000 sites"
    );
    let entries = vec![
        Entry::new(
            "alloc-trace",
            "report-10k",
            "report+format",
            report_and_format,
        )
        .count_iters(2),
    ];
    harness::main(entries, None);
}
