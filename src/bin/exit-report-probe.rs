//! A test-only program for `tests/report_exit.rs`: runs a known workload and leaves the
//! exit report to `report_on_exit()` and/or the `ALLOC_TRACE` variable. Not meant to be
//! run by hand.
//!
//! Usage: `exit-report-probe MODE`, MODE one of
//! - `guard`: holds the guard, returns from `main`;
//! - `env`: no guard (only `ALLOC_TRACE` can print the report);
//! - `exit`: holds the guard, ends with `std::process::exit(3)`;
//! - `panic`: holds the guard, panics in `main`;
//! - `threads-guard` / `threads-env`: as `guard` / `env`, with two threads still making
//!   tracked calls that allocate when `main` returns.

use std::hint::black_box;
use std::time::Duration;

use alloc_trace::track_allocs;

#[global_allocator]
static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();

/// 1 allocation of 100 bytes, freed.
#[track_allocs(name = "probe::work")]
fn work() -> usize {
    black_box(vec![0u8; 100]).len()
}

/// What the background threads keep calling.
#[track_allocs(name = "probe::spin")]
fn spin() -> usize {
    black_box(vec![1u8; 10]).len()
}

fn main() {
    let mode = std::env::args().nth(1).unwrap_or_default();
    let guard = matches!(mode.as_str(), "guard" | "exit" | "panic" | "threads-guard")
        .then(alloc_trace::report_on_exit);
    for _ in 0..3 {
        work();
    }
    match mode.as_str() {
        "exit" => std::process::exit(3),
        "panic" => panic!("the probe panics"),
        "threads-guard" | "threads-env" => {
            for _ in 0..2 {
                std::thread::spawn(|| {
                    loop {
                        spin();
                    }
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        "guard" | "env" => {}
        other => panic!("exit-report-probe: unknown mode {other:?}"),
    }
    drop(guard);
}
