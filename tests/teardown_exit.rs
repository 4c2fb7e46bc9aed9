//! Teardown of the whole process: code that runs from `atexit` hooks after `main`
//! returns, `std::process::exit` called inside nested tracked calls (from the main test
//! thread or another thread) while other threads keep allocating, starting and exiting,
//! and the exit report's own allocations.
//!
//! Each scenario runs in a child process: this test binary re-run with
//! `ALLOC_TRACE_TEARDOWN_CHILD=<scenario>`, which makes `child_process_entry_point` play
//! it. The parent checks the exit status (no crash, no abort) and the exact numbers the
//! child printed, and kills the child if it has not finished in 60 seconds (a deadlock).

use std::ffi::c_int;
use std::hint::black_box;
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use alloc_trace::{
    AllocStats, CountingAlloc, capture, measure, process_stats, report, track_allocs,
};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc::system();

const CHILD: &str = "ALLOC_TRACE_TEARDOWN_CHILD";

unsafe extern "C" {
    fn atexit(callback: extern "C" fn()) -> c_int;
}

/// Registers `f` to run when the process exits (after `main` returns, or in
/// `std::process::exit`), in reverse order of registration.
fn at_exit(f: extern "C" fn()) {
    // SAFETY: `f` is a plain `extern "C" fn()`; every hook below catches panics so none
    // unwinds into libc.
    assert_eq!(unsafe { atexit(f) }, 0, "atexit");
}

/// Runs `body` in an `atexit` hook: a panic there is reported and turned into exit
/// status 101 (unwinding into libc is not allowed).
fn hook(body: fn()) {
    if std::panic::catch_unwind(body).is_err() {
        eprintln!("HOOK-PANICKED");
        // SAFETY: `_exit` ends the process at once; nothing runs after it.
        unsafe { libc_exit(101) };
    }
}

unsafe extern "C" {
    #[link_name = "_exit"]
    fn libc_exit(status: c_int) -> !;
}

#[track_allocs]
fn teardown_exit_outer(f: fn()) {
    let held = black_box(vec![1u8; 40]);
    teardown_exit_inner(f);
    drop(held);
}

#[track_allocs]
fn teardown_exit_inner(f: fn()) {
    let held = black_box(vec![2u8; 60]);
    f();
    drop(held);
}

/// The tracked function the hooks call: one 300-byte buffer, freed.
#[track_allocs]
fn teardown_at_exit() {
    drop(black_box(vec![0u8; 300]));
}

/// Work for background threads: one 20-byte box per call.
#[track_allocs]
fn teardown_background() {
    drop(black_box(Box::new([0u8; 20])));
}

/// Exact checks any hook can make, wherever it runs; prints one line.
fn checks_at_exit(label: &str) {
    let ((), stats) = measure(teardown_at_exit);
    assert_eq!(
        stats,
        AllocStats {
            allocs: 1,
            reallocs: 0,
            frees: 1,
            bytes_allocated: 300,
            bytes_freed: 300,
            peak_bytes: 300,
        }
    );
    let ((), captured) = capture(teardown_at_exit);
    let site = captured.site("teardown_at_exit").expect("site in capture");
    assert_eq!((site.calls, site.inclusive.allocs), (1, 1));
    if label == "AFTER-MAIN" {
        // No other thread is left: process-wide numbers move by exactly what this one
        // does.
        let before = process_stats();
        drop(black_box(vec![0u8; 77]));
        let after = process_stats();
        assert_eq!(
            (
                after.allocs - before.allocs,
                after.frees - before.frees,
                after.bytes_allocated - before.bytes_allocated
            ),
            (1, 1, 77)
        );
    }
    let paths: Vec<String> = captured.paths().iter().map(|p| p.path.clone()).collect();
    let report = report();
    let calls = report.site("teardown_at_exit").map_or(0, |s| s.calls);
    eprintln!("{label}-OK capture-paths={paths:?} report-calls={calls}");
}

#[test]
fn child_process_entry_point() {
    let Ok(scenario) = std::env::var(CHILD) else {
        return; // Not a child: nothing to do.
    };
    match scenario.as_str() {
        "return" => child_return(),
        "exit-in-tracked" => child_exit_in_tracked(),
        "exit-from-thread" => child_exit_from_thread(),
        "exit-report" => child_exit_report(),
        other => panic!("unknown scenario {other:?}"),
    }
}

/// Runs the scenario in a child process; returns its status and standard error.
fn run_child(scenario: &str, env: &[(&str, &str)]) -> (ExitStatus, String) {
    let err_path: PathBuf = std::env::temp_dir().join(format!(
        "alloc-trace-teardown-{}-{scenario}.stderr",
        std::process::id()
    ));
    let err_file = std::fs::File::create(&err_path).unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_process_entry_point",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, scenario)
        .env_remove("ALLOC_TRACE")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(err_file)
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "child {scenario:?} still running after 60 s (deadlock?); stderr:\n{}",
                std::fs::read_to_string(&err_path).unwrap_or_default()
            );
        }
        thread::sleep(Duration::from_millis(10));
    };
    let stderr = std::fs::read_to_string(&err_path).unwrap();
    let _ = std::fs::remove_file(&err_path);
    (status, stderr)
}

// ---- after `main` returns --------------------------------------------------------------

fn child_return() {
    extern "C" fn after_main() {
        hook(|| checks_at_exit("AFTER-MAIN"));
    }
    at_exit(after_main);
    // Two calls here and four on a thread that has exited by then.
    teardown_at_exit();
    teardown_at_exit();
    thread::spawn(|| (0..4).for_each(|_| teardown_at_exit()))
        .join()
        .unwrap();
}

#[test]
fn hooks_after_main_returns_measure_capture_and_report_exactly() {
    let (status, stderr) = run_child("return", &[]);
    assert!(status.success(), "{status}; stderr:\n{stderr}");
    // 6 calls before exit, then the hook's measured and captured ones.
    assert!(
        stderr.contains(
            "AFTER-MAIN-OK capture-paths=[\"teardown_exit::teardown_at_exit\"] report-calls=8"
        ),
        "stderr:\n{stderr}"
    );
}

// ---- std::process::exit inside tracked calls -------------------------------------------

/// Keeps threads busy until the process ends: one allocating in tracked calls and
/// building reports, one starting and joining short-lived threads.
fn start_background_threads() {
    thread::spawn(|| {
        loop {
            teardown_background();
            BACKGROUND_CALLS.fetch_add(1, Ordering::Relaxed);
            if BACKGROUND_CALLS.load(Ordering::Relaxed) % 64 == 0 {
                drop(black_box(report()));
            }
        }
    });
    thread::spawn(|| {
        loop {
            thread::spawn(teardown_background).join().unwrap();
        }
    });
    // Let them get going.
    while BACKGROUND_CALLS.load(Ordering::Relaxed) < 1_000 {
        thread::yield_now();
    }
}

static BACKGROUND_CALLS: AtomicU64 = AtomicU64::new(0);

/// A thread-local whose destructor allocates and makes a tracked call: `exit` runs the
/// calling thread's thread-local destructors before the `atexit` hooks.
struct AllocatesOnDrop;

impl Drop for AllocatesOnDrop {
    fn drop(&mut self) {
        let ((), stats) = measure(teardown_at_exit);
        eprintln!(
            "TLS-DTOR allocs={} bytes={}",
            stats.allocs, stats.bytes_allocated
        );
    }
}

thread_local! {
    static ALLOCATES_ON_DROP: AllocatesOnDrop = const { AllocatesOnDrop };
}

fn child_exit_in_tracked() {
    extern "C" fn in_exit() {
        hook(|| checks_at_exit("IN-EXIT"));
    }
    at_exit(in_exit);
    ALLOCATES_ON_DROP.with(|_| ());
    start_background_threads();
    teardown_exit_outer(|| std::process::exit(7));
    unreachable!("process::exit returned");
}

#[test]
fn process_exit_inside_nested_tracked_calls_with_busy_threads_is_clean() {
    let (status, stderr) = run_child("exit-in-tracked", &[]);
    assert_eq!(status.code(), Some(7), "stderr:\n{stderr}");
    assert!(
        stderr.contains("TLS-DTOR allocs=1 bytes=300"),
        "stderr:\n{stderr}"
    );
    // The hook runs on the exiting thread, still inside `outer` and `inner` (their frames
    // are never unwound): its tracked call's path says so. The report saw the
    // thread-local destructor's call and the hook's measured and captured calls.
    assert!(
        stderr.contains(
            "IN-EXIT-OK capture-paths=[\"teardown_exit::teardown_exit_outer;teardown_exit::teardown_exit_inner;teardown_exit::teardown_at_exit\"] report-calls=3"
        ),
        "stderr:\n{stderr}"
    );
}

fn child_exit_from_thread() {
    extern "C" fn from_thread() {
        hook(|| checks_at_exit("FROM-THREAD"));
    }
    at_exit(from_thread);
    start_background_threads();
    thread::spawn(|| teardown_exit_outer(|| std::process::exit(3)));
    // Meanwhile this thread keeps making tracked calls until the process ends.
    loop {
        teardown_exit_outer(|| drop(black_box(vec![0u8; 8])));
    }
}

#[test]
fn process_exit_from_another_thread_while_this_one_allocates_is_clean() {
    let (status, stderr) = run_child("exit-from-thread", &[]);
    assert_eq!(status.code(), Some(3), "stderr:\n{stderr}");
    assert!(
        stderr.contains(
            "FROM-THREAD-OK capture-paths=[\"teardown_exit::teardown_exit_outer;teardown_exit::teardown_exit_inner;teardown_exit::teardown_at_exit\"] report-calls=2"
        ),
        "stderr:\n{stderr}"
    );
}

// ---- the exit report is not counted ----------------------------------------------------

static BEFORE_REPORT: [AtomicU64; 5] = [const { AtomicU64::new(0) }; 5];

fn totals_now() -> [u64; 5] {
    let s = process_stats();
    [
        s.allocs,
        s.reallocs,
        s.frees,
        s.bytes_allocated,
        s.bytes_freed,
    ]
}

/// Runs after every `atexit` hook, the exit report's included (which `ALLOC_TRACE` arms
/// before `main`): `.fini_array` entries run when the C library finishes, after them.
#[used]
#[unsafe(link_section = ".fini_array")]
static AFTER_REPORT: extern "C" fn() = after_report;

extern "C" fn after_report() {
    if BEFORE_REPORT_RAN.load(Ordering::Relaxed) {
        child_after_report();
    }
}

static BEFORE_REPORT_RAN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn child_after_report() {
    {
        hook(|| {
            // First thing after the exit report's hook.
            let after = totals_now();
            let before: Vec<u64> = BEFORE_REPORT
                .iter()
                .map(|a| a.load(Ordering::Relaxed))
                .collect();
            let moved: Vec<i128> = after
                .iter()
                .zip(&before)
                .map(|(a, b)| i128::from(*a) - i128::from(*b))
                .collect();
            eprintln!("AFTER-REPORT moved={moved:?}");
        });
    }
}

fn child_exit_report() {
    // Hooks run in reverse order of registration, and the exit report's was registered
    // before `main`: `before_report` runs just before it.
    extern "C" fn before_report() {
        hook(|| {
            BEFORE_REPORT_RAN.store(true, Ordering::Relaxed);
            eprintln!("BEFORE-REPORT");
            // Last thing before the exit report's hook runs.
            let now = totals_now();
            for (slot, v) in BEFORE_REPORT.iter().zip(now) {
                slot.store(v, Ordering::Relaxed);
            }
        });
    }
    teardown_at_exit();
    at_exit(before_report);
}

#[test]
fn the_exit_report_allocates_nothing_that_is_counted() {
    let (status, stderr) = run_child("exit-report", &[("ALLOC_TRACE", "folded:stderr")]);
    assert!(status.success(), "{status}; stderr:\n{stderr}");
    let before = stderr.find("BEFORE-REPORT").expect("before hook ran");
    let report = stderr
        .find("teardown_exit::teardown_at_exit 1")
        .unwrap_or_else(|| panic!("folded report with one allocation; stderr:\n{stderr}"));
    let after = stderr.find("AFTER-REPORT").expect("after hook ran");
    assert!(before < report && report < after, "stderr:\n{stderr}");
    // Between the two hooks only the exit report ran (building, formatting, writing and
    // freeing it): not one allocation or byte of it is counted.
    assert!(
        stderr.contains("AFTER-REPORT moved=[0, 0, 0, 0, 0]"),
        "stderr:\n{stderr}"
    );
}
