//! Reentrancy: the crate's own allocating code (building reports and captures, the exit
//! hook's fold, budget panics) never recurses into counting and never deadlocks, wherever
//! it is called from: inside tracked calls, inside a panic hook while a tracked call
//! unwinds, inside thread-local destructors, and from many threads at once while others
//! start and exit. Like tracking-allocator's reentrancy test, but for every entry point.
//!
//! What a report's own building costs is counted like any other code on the calling
//! thread (as `report` documents), and never inside the numbers it reports: checked
//! exactly below. (The exit report is the exception, invisible: see `teardown_exit.rs`.)

use std::cell::Cell;
use std::hint::black_box;
use std::panic::catch_unwind;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, Once, mpsc};
use std::thread;
use std::time::Duration;

use alloc_trace::{
    AllocCounts, AllocStats, CountingAlloc, capture, measure, process_stats, report, track_allocs,
};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc::system();

const BOX: AllocStats = AllocStats {
    allocs: 1,
    reallocs: 0,
    frees: 1,
    bytes_allocated: 64,
    bytes_freed: 64,
    peak_bytes: 64,
};

/// One 64-byte box, freed.
#[track_allocs]
fn reent_leaf() {
    drop(black_box(Box::new([0u8; 64])));
}

/// Adds two measurements' counts (peaks are not added: the result's is 0).
fn plus(a: AllocStats, b: AllocStats) -> AllocStats {
    AllocStats {
        allocs: a.allocs + b.allocs,
        reallocs: a.reallocs + b.reallocs,
        frees: a.frees + b.frees,
        bytes_allocated: a.bytes_allocated + b.bytes_allocated,
        bytes_freed: a.bytes_freed + b.bytes_freed,
        peak_bytes: 0,
    }
}

/// Builds a process-wide report and a capture in the middle of a tracked call, and
/// returns what everything except its first leaf call cost, measured piece by piece.
#[track_allocs]
fn reent_reporter() -> AllocStats {
    reent_leaf();
    let (report, building) = measure(report);
    // The report is taken before it is built: this call has not ended yet.
    assert_eq!(
        report.site("reent_reporter").map(|s| s.calls),
        Some(PRIOR_REPORTER_CALLS.with(Cell::get))
    );
    let (((), inner), capturing) = measure(|| capture(reent_leaf));
    let site = inner.site("reent_leaf").unwrap();
    assert_eq!((site.calls, site.inclusive), (1, BOX));
    // A capture's numbers are what its closure did, not what building it cost.
    assert_eq!(inner.totals(), BOX.counts());
    assert_eq!(inner.peak_bytes(), Some(BOX.peak_bytes));
    let ((), dropping) = measure(|| {
        drop(inner);
        drop(report);
    });
    plus(plus(building, capturing), dropping)
}

thread_local! {
    static PRIOR_REPORTER_CALLS: Cell<u64> = const { Cell::new(0) };
}

#[test]
fn reports_and_captures_inside_a_tracked_call_are_counted_on_it_exactly() {
    // Only this test calls `reent_reporter`, on this thread.
    PRIOR_REPORTER_CALLS.with(|c| c.set(report().site("reent_reporter").unwrap().calls));
    let (measured, outer) = capture(reent_reporter);
    // Building a report allocates on the calling thread (at least its `Vec` of sites),
    // and dropping it frees that: ordinary, counted memory.
    assert!(measured.allocs >= 1, "building a report allocated nothing");
    assert_eq!(measured.allocs, measured.frees);
    let reporter = outer.site("reent_reporter").unwrap();
    assert_eq!(reporter.calls, 1);
    // The reporter's own numbers are exactly the report's and the capture's building
    // and dropping; nested in it, two leaf calls (one inside the inner capture).
    let two_leaves = plus(BOX, BOX);
    let own = AllocStats {
        allocs: measured.allocs - 1,
        frees: measured.frees - 1,
        bytes_allocated: measured.bytes_allocated - 64,
        bytes_freed: measured.bytes_freed - 64,
        ..measured
    };
    assert_eq!(reporter.exclusive, (own).counts());
    assert_eq!(
        AllocStats {
            peak_bytes: 0,
            ..reporter.inclusive
        },
        plus(own, two_leaves)
    );
    let leaf = outer.site("reent_leaf").unwrap();
    assert_eq!((leaf.calls, leaf.inclusive.allocs), (2, 2));
    // Nothing happened outside the call.
    assert_eq!(outer.outside_tracked(), AllocCounts::default());
}

// ---- a panic hook that builds reports while tracked calls unwind -----------------------

static HOOK_REPORTS: AtomicU64 = AtomicU64::new(0);

/// Installs (once for the binary) a panic hook that builds a report, a capture and the
/// process totals, on the panicking thread, while the panicking tracked call's frame is
/// still linked.
fn install_reporting_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let report = report();
            let ((), captured) = capture(reent_leaf);
            assert_eq!(captured.site("reent_leaf").unwrap().calls, 1);
            let _ = process_stats();
            drop(black_box(report));
            HOOK_REPORTS.fetch_add(1, Ordering::Relaxed);
            // Then the usual message (captured by the test harness).
            default(info);
        }));
    });
}

#[track_allocs]
fn reent_panics() {
    let _held = black_box(vec![0u8; 10]);
    panic!("reent: panicking");
}

/// Over its budget of one allocation: in builds with budgets, it panics at the end of
/// the call with a message that the crate formats.
#[track_allocs(max_allocs = 1)]
fn reent_over_budget() {
    drop(black_box(Box::new(1u8)));
    drop(black_box(Box::new(2u8)));
}

const BUDGETS_ON: bool = cfg!(debug_assertions) || alloc_trace::__private::BUDGETS_IN_RELEASE;

#[test]
fn reports_inside_a_panic_hook_while_tracked_calls_unwind() {
    install_reporting_panic_hook();
    let hooks_before = HOOK_REPORTS.load(Ordering::Relaxed);
    let (caught, outer) = capture(|| catch_unwind(reent_panics).is_err());
    assert!(caught);
    let site = outer.site("reent_panics").unwrap();
    assert_eq!(site.calls, 1);
    // The hook ran inside the panicking call, its frame still linked: the hook's leaf
    // call is nested in it, at the path below it.
    let leaf = outer.site("reent_leaf").unwrap();
    assert_eq!((leaf.calls, leaf.inclusive), (1, BOX));
    assert_eq!(site.inclusive.allocs - site.exclusive.allocs, 1);
    let nested = outer
        .paths()
        .iter()
        .find(|p| p.path == "reentrancy::reent_panics;reentrancy::reent_leaf")
        .map(|p| p.exclusive);
    assert_eq!(nested, Some(BOX.counts()));

    // A budget's panic message is built by the crate while the call has just ended.
    let (result, outer) = capture(|| catch_unwind(reent_over_budget));
    let site = outer.site("reent_over_budget").unwrap();
    assert_eq!(site.calls, 1);
    assert_eq!(
        site.inclusive,
        AllocStats {
            allocs: 2,
            reallocs: 0,
            frees: 2,
            bytes_allocated: 2,
            bytes_freed: 2,
            peak_bytes: 1,
        }
    );
    if BUDGETS_ON {
        let message = result.unwrap_err();
        let message = message
            .downcast_ref::<String>()
            .expect("a formatted message");
        assert!(message.starts_with("alloc-trace: "), "{message}");
        assert_eq!(HOOK_REPORTS.load(Ordering::Relaxed), hooks_before + 2);
    } else {
        assert!(result.is_ok());
        assert_eq!(HOOK_REPORTS.load(Ordering::Relaxed), hooks_before + 1);
    }
}

// ---- reports inside thread-local destructors -------------------------------------------

/// What a destructor saw: `(capture's leaf calls, capture's totals, report built)`.
static FROM_DESTRUCTOR: Mutex<Vec<(u64, AllocCounts, bool)>> = Mutex::new(Vec::new());

struct ReportsOnDrop;

impl Drop for ReportsOnDrop {
    fn drop(&mut self) {
        let ((), captured) = capture(reent_leaf);
        let report = report();
        let stats = process_stats();
        let seen = (
            captured.site("reent_leaf").unwrap().calls,
            captured.totals(),
            report.site("reent_leaf").is_some() && stats.allocs > 0,
        );
        FROM_DESTRUCTOR.lock().unwrap().push(seen);
    }
}

thread_local! {
    static REPORTS_ON_DROP: ReportsOnDrop = const { ReportsOnDrop };
}

#[test]
fn reports_and_captures_inside_thread_local_destructors() {
    const THREADS: usize = 16;
    let handles: Vec<_> = (0..THREADS)
        .map(|_| {
            thread::spawn(|| {
                REPORTS_ON_DROP.with(|_| ());
                reent_leaf();
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let seen = std::mem::take(&mut *FROM_DESTRUCTOR.lock().unwrap());
    assert_eq!(seen, vec![(1, BOX.counts(), true); THREADS]);
}

// ---- many threads reporting while others start and exit --------------------------------

/// Two 16-byte boxes per call, freed.
#[track_allocs]
fn reent_churn() {
    drop(black_box(Box::new([0u8; 16])));
    drop(black_box(Box::new([1u8; 16])));
}

/// Sets its flag when dropped, also when unwinding.
struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

#[test]
fn concurrent_reports_captures_and_exiting_threads_never_deadlock_and_stay_exact() {
    const SPAWNERS: u64 = 4;
    const CALLS: u64 = 10;
    // Short-lived threads per spawner (fewer under valgrind, which runs one thread at a
    // time: see scripts/check-ub.sh).
    let short_threads: u64 = if std::env::var_os("UNDER_VALGRIND").is_some() {
        10
    } else {
        100
    };
    let before = report().site("reent_churn").unwrap().clone();
    let done = AtomicBool::new(false);
    let captured_calls = AtomicU64::new(0);
    let (finished_tx, finished_rx) = mpsc::channel();
    thread::scope(|s| {
        // A check that fails below must stop the loops, or the scope would wait for them
        // forever instead of reporting the failure.
        let _stop = StopOnDrop(&done);
        // Reporters: process-wide reports and totals, as fast as they can.
        for _ in 0..4 {
            s.spawn(|| {
                while !done.load(Ordering::Relaxed) {
                    drop(black_box(report()));
                    let _ = black_box(process_stats());
                }
            });
        }
        // Capturers: captures of tracked calls on their own threads, exact each time.
        for _ in 0..2 {
            s.spawn(|| {
                while !done.load(Ordering::Relaxed) {
                    let ((), r) = capture(reent_churn);
                    let site = r.site("reent_churn").unwrap();
                    assert_eq!((site.calls, site.inclusive.allocs), (1, 2));
                    captured_calls.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        // Spawners: short-lived threads whose exits fold them in while the others read.
        let spawners: Vec<_> = (0..SPAWNERS)
            .map(|_| {
                let finished_tx = finished_tx.clone();
                s.spawn(move || {
                    for _ in 0..short_threads {
                        thread::spawn(|| (0..CALLS).for_each(|_| reent_churn()))
                            .join()
                            .unwrap();
                    }
                    finished_tx.send(()).unwrap();
                })
            })
            .collect();
        for _ in 0..SPAWNERS {
            finished_rx
                .recv_timeout(Duration::from_secs(60))
                .expect("a spawner made no progress in 60 s: deadlock?");
        }
        done.store(true, Ordering::Relaxed);
        drop(spawners);
    });
    // Every thread has exited: the report has all their calls, exactly.
    let after = report().site("reent_churn").unwrap().clone();
    let calls = SPAWNERS * short_threads * CALLS + captured_calls.load(Ordering::Relaxed);
    assert_eq!(after.calls - before.calls, calls);
    assert_eq!(after.inclusive.allocs - before.inclusive.allocs, 2 * calls);
    assert_eq!(
        after.inclusive.bytes_freed - before.inclusive.bytes_freed,
        32 * calls
    );
}
