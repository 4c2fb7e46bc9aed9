//! Unit tests of the crate's unsafe code paths under the conditions that stress them,
//! small enough to run under Miri (`scripts/check-ub.sh`): frames linked across threads'
//! lifetimes, records registered, grown and freed at thread exit while other threads
//! read them for reports, futures polled on several threads, panics unwinding through
//! frames and capture boundaries, and nesting deeper than the path limit.
//!
//! Frames are driven by hand, as the generated code does (the macro's paths name
//! `::alloc_trace`, which this crate cannot).

use core::future::Future;
use core::hint::black_box;
use core::pin::{Pin, pin};
use core::task::{Context, Poll, Waker};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::thread;

use crate::__private::{CallGuard, Site, SiteRegistration, track_future};
use crate::test_calls::tracked;
use crate::{AllocStats, capture, measure, process_stats, report};

static WORKER: Site = Site::new("reliability_tests::worker", file!(), 1);
static LEAF: Site = Site::new("reliability_tests::leaf", file!(), 2);
static PANICS: Site = Site::new("reliability_tests::panics", file!(), 3);
static DEEP: Site = Site::new("reliability_tests::deep", file!(), 4);
static HOP: Site = Site::new("reliability_tests::hop", file!(), 5);
/// The panic test's call after the panics: a site of its own, as the threads test counts
/// `LEAF`'s calls process-wide while the tests run side by side.
static AFTER_PANICS: Site = Site::new("reliability_tests::after_panics", file!(), 8);
inventory::submit! { SiteRegistration(&WORKER) }
inventory::submit! { SiteRegistration(&LEAF) }
inventory::submit! { SiteRegistration(&PANICS) }
inventory::submit! { SiteRegistration(&DEEP) }
inventory::submit! { SiteRegistration(&HOP) }
inventory::submit! { SiteRegistration(&AFTER_PANICS) }

fn leaf() {
    tracked(&LEAF, || drop(black_box(vec![0u8; 24])));
}

fn worker(calls: u32) {
    tracked(&WORKER, || {
        for _ in 0..calls {
            leaf();
        }
    });
}

#[test]
fn threads_register_grow_and_fold_their_records_while_others_report() {
    const THREADS: u64 = 4;
    const CALLS: u32 = 3;
    let before = report();
    let leaf_before = before.site("reliability_tests::leaf").unwrap().calls;
    thread::scope(|s| {
        for _ in 0..THREADS {
            s.spawn(|| worker(CALLS));
        }
        // Reports read the live threads' tables (under the registry lock) while they are
        // registered, grown and freed.
        for _ in 0..3 {
            drop(black_box(report()));
            let _ = black_box(process_stats());
        }
    });
    let after = report();
    let leaf = after.site("reliability_tests::leaf").unwrap();
    assert_eq!(leaf.calls - leaf_before, THREADS * u64::from(CALLS));
}

#[test]
fn memory_freed_on_another_thread_counts_there() {
    let buffer = black_box(vec![0u8; 40]);
    let ((), freeing) = thread::spawn(move || measure(move || drop(buffer)))
        .join()
        .unwrap();
    assert_eq!(
        freeing,
        AllocStats {
            frees: 1,
            bytes_freed: 40,
            ..AllocStats::default()
        }
    );
}

#[test]
fn panics_unwind_through_frames_and_capture_boundaries() {
    let (caught, report) = capture(|| {
        catch_unwind(|| {
            tracked(&PANICS, || {
                let _held = black_box(vec![0u8; 8]);
                let inner = catch_unwind(AssertUnwindSafe(|| {
                    capture(|| tracked(&PANICS, || panic!("reliability: inner")))
                }));
                assert!(inner.is_err());
                panic!("reliability: outer");
            })
        })
        .is_err()
    });
    assert!(caught);
    assert_eq!(report.site("reliability_tests::panics").unwrap().calls, 2);
    // Nothing is left linked: a new call is at the root.
    let ((), after) = capture(|| tracked(&AFTER_PANICS, || drop(black_box(vec![0u8; 24]))));
    let paths: Vec<&str> = after.paths().iter().map(|p| p.path.as_str()).collect();
    assert_eq!(paths, ["reliability_tests::after_panics"]);
}

fn deep(depth: u32) {
    tracked(&DEEP, || {
        let _held = black_box(Box::new(depth));
        if depth > 0 {
            deep(depth - 1);
        }
    });
}

#[test]
fn nesting_deeper_than_the_path_limit() {
    const DEPTH: u32 = 200;
    let ((), report) = capture(|| deep(DEPTH - 1));
    let site = report.site("reliability_tests::deep").unwrap();
    assert_eq!(site.calls, u64::from(DEPTH));
    assert_eq!(site.inclusive.allocs, u64::from(DEPTH));
    // Paths of 1 to MAX_DEPTH frames, then one more for every deeper frame: the outermost
    // MAX_DEPTH - 1 frames and the innermost one, with the middle cut.
    let max = crate::paths::MAX_DEPTH;
    assert_eq!(report.paths().len(), max as usize + 1);
    let cut = report
        .paths()
        .iter()
        .find(|p| p.path.contains("[...]"))
        .unwrap();
    assert_eq!(cut.exclusive.allocs, u64::from(DEPTH - max));
    assert_eq!(cut.path.matches(';').count() as u32, max);
}

/// Pending once, waking nobody (the test polls by hand).
struct PendingOnce(bool);

impl Future for PendingOnce {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            Poll::Pending
        }
    }
}

#[test]
fn a_tracked_future_polled_on_two_threads() {
    let mut future = Box::pin(track_future(&HOP, async {
        let held = black_box(vec![0u8; 16]);
        PendingOnce(false).await;
        drop(held);
    }));
    let mut poll = || {
        thread::scope(|s| {
            s.spawn(|| {
                let mut cx = Context::from_waker(Waker::noop());
                future.as_mut().poll(&mut cx).is_ready()
            })
            .join()
            .unwrap()
        })
    };
    assert!(!poll());
    assert!(poll());
    drop(future);
    let hop = report();
    let hop = hop.site("reliability_tests::hop").unwrap();
    assert_eq!(
        (hop.calls, hop.inclusive.allocs, hop.inclusive.frees),
        (1, 1, 1)
    );
}

static SPAWNER: Site = Site::new("reliability_tests::spawner", file!(), 6);
static HANDED_OFF: Site = Site::new("reliability_tests::handed_off", file!(), 7);
inventory::submit! { SiteRegistration(&SPAWNER) }
inventory::submit! { SiteRegistration(&HANDED_OFF) }

/// A frame entered under a path captured on another thread, as work a tracked call hands
/// off: it counts in the handing call's inclusive numbers, not in its exclusive ones.
struct HandedOff(crate::frame::Frame);

impl crate::frame::Ending for HandedOff {
    fn untouched(&self, t: &crate::per_thread::PerThread, site: &'static Site) {
        if let Some(slot) = t.tables.site_slot_cold(site) {
            slot.calls.add(1);
        }
    }

    fn allocated(
        &self,
        t: &crate::per_thread::PerThread,
        site: &'static Site,
        n: &crate::slots::CallNumbers,
    ) {
        if let Some(slot) = t.tables.site_slot_cold(site) {
            slot.finish_call(&n.summary());
        }
    }
}

#[test]
fn work_entered_under_another_threads_call_counts_for_that_call() {
    let ((), captured) = capture(|| {
        let guard = pin!(CallGuard::new(&SPAWNER));
        let _end = CallGuard::enter(guard);
        drop(black_box(vec![0u8; 8]));
        let path = crate::per_thread::with(crate::frame::current_path).unwrap();
        thread::scope(|s| {
            s.spawn(move || {
                let work = pin!(HandedOff(crate::frame::Frame::new(&HANDED_OFF)));
                let work = work.into_ref();
                // SAFETY: the frame is structurally pinned inside the pinned `HandedOff`.
                let frame = unsafe { work.map_unchecked(|w| &w.0) };
                frame.enter_under(path);
                drop(black_box(vec![0u8; 100]));
                drop(black_box(vec![0u8; 100]));
                frame.exit_under(work.get_ref());
            });
        });
    });
    // The capture sees this thread only; the report sees both.
    assert_eq!(
        captured.site("reliability_tests::spawner").unwrap().calls,
        1
    );
    let all = report();
    let spawner = all.site("reliability_tests::spawner").unwrap();
    let handed = all.site("reliability_tests::handed_off").unwrap();
    assert_eq!(
        (
            handed.calls,
            handed.inclusive.allocs,
            handed.exclusive.allocs
        ),
        (1, 2, 2)
    );
    // The spawner's own allocations (its vector, and spawning the thread) are exactly
    // what the capture of this thread saw; the handed-off work's two count for it too.
    let own = captured
        .site("reliability_tests::spawner")
        .unwrap()
        .exclusive
        .allocs;
    assert_eq!(spawner.exclusive.allocs, own);
    assert_eq!(spawner.inclusive.allocs, own + 2);
    let path = all
        .paths()
        .iter()
        .find(|p| p.path == "reliability_tests::spawner;reliability_tests::handed_off")
        .expect("the handed-off work's path is below the spawner's");
    assert_eq!(path.exclusive.allocs, 2);
}
