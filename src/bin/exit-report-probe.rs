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
//!   tracked calls that allocate when `main` returns;
//! - `total-guard` / `total-env`: as `guard` / `env`, and the last thing before the exit
//!   report is a line on stderr with the process totals at that moment
//!   (`BEFORE-EXIT-REPORT allocs=.. reallocs=.. frees=.. bytes_allocated=.. bytes_freed=..`),
//!   written without allocating, and the same line again after writing it (`AFTER-LINE`)
//!   to show that it did not. With the guard, that is just before the guard is dropped;
//!   without, in an `atexit` hook registered in `main`, which runs just before the exit
//!   report's (registered before `main`: hooks run in reverse order).
//! - `leak-env`: as `env`, and then `probe::keep` is called twice and leaks its 64 bytes
//!   each time, and `probe::big` holds 1 MiB for a moment (the process's peak of live
//!   bytes, with both leaks alive), for the ownership view's exit forms.

use std::hint::black_box;
use std::io::Write as _;
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

/// 64 bytes, never freed.
#[track_allocs(name = "probe::keep")]
fn keep() -> &'static mut [u8] {
    Box::leak(black_box(vec![7u8; 64]).into_boxed_slice())
}

/// 1 MiB, freed before it returns.
#[track_allocs(name = "probe::big")]
fn big() -> usize {
    black_box(vec![0u8; 1 << 20]).len()
}

/// `LABEL allocs=.. reallocs=.. frees=.. bytes_allocated=.. bytes_freed=..` on stderr,
/// formatted on the stack and written unbuffered: nothing allocates.
fn say_totals(label: &str) {
    let s = alloc_trace::process_stats();
    let mut buf = [0u8; 256];
    let mut line = std::io::Cursor::new(&mut buf[..]);
    let _ = writeln!(
        line,
        "{label} allocs={} reallocs={} frees={} bytes_allocated={} bytes_freed={}",
        s.allocs, s.reallocs, s.frees, s.bytes_allocated, s.bytes_freed
    );
    let len = line.position() as usize;
    let _ = std::io::stderr().write_all(&buf[..len]);
}

fn main() {
    let mode = std::env::args().nth(1).unwrap_or_default();
    let guard = matches!(
        mode.as_str(),
        "guard" | "exit" | "panic" | "threads-guard" | "total-guard"
    )
    .then(alloc_trace::report_on_exit);
    for _ in 0..3 {
        work();
    }
    match mode.as_str() {
        "exit" => std::process::exit(3),
        "panic" => panic!("the probe panics"),
        "threads-guard" | "threads-env" => {
            // Each thread says when its first call of `spin` has ended, so that the
            // report has the row however slow the machine (a sleep alone was a race).
            let (started, first_done) = std::sync::mpsc::channel();
            for _ in 0..2 {
                let started = started.clone();
                std::thread::spawn(move || {
                    spin();
                    let _ = started.send(());
                    loop {
                        spin();
                    }
                });
            }
            for _ in 0..2 {
                first_done.recv().expect("a spinning thread");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        "guard" | "env" => {}
        "leak-env" => {
            black_box(keep());
            black_box(keep());
            black_box(big());
        }
        "total-guard" | "total-env" => {}
        other => panic!("exit-report-probe: unknown mode {other:?}"),
    }
    if mode == "total-env" {
        unsafe extern "C" {
            fn atexit(hook: extern "C" fn()) -> core::ffi::c_int;
        }
        extern "C" fn just_before_the_exit_report() {
            say_totals("BEFORE-EXIT-REPORT");
            say_totals("AFTER-LINE");
        }
        // SAFETY: the C library's `atexit`; the hook is an `extern "C" fn()` that does not
        // unwind (writing to stderr ignores errors).
        assert_eq!(unsafe { atexit(just_before_the_exit_report) }, 0);
    }
    if mode == "total-guard" {
        say_totals("BEFORE-EXIT-REPORT");
        say_totals("AFTER-LINE");
    }
    drop(guard);
}
