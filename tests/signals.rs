//! A signal handler that makes a tracked call that allocates, while the interrupted thread
//! is making tracked calls that allocate: nothing crashes and no count is lost.
//!
//! The inner allocator is a bump allocator (one atomic add, no lock), so allocating in a
//! signal handler is allowed. Another thread sends the signals at random moments; the
//! handler counts what it did in atomics of its own. Totals must then be exactly what the
//! main loop and the handlers did: a handler may run in the middle of the allocator's
//! counting, of a frame's entry or exit, or of a booking of allocations to call paths.

#![cfg(unix)]

use std::alloc::{GlobalAlloc, Layout};
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use alloc_trace::{CountingAlloc, track_allocs};

/// Hands out memory from one static arena and never frees it: async-signal-safe. It also
/// counts the requests it serves: the independent count the totals are checked against.
struct Bump;

thread_local! {
    /// Requests served on this thread (a signal handler runs on the thread it interrupts).
    static SERVED: AtomicU64 = const { AtomicU64::new(0) };
}

fn served_here() -> u64 {
    SERVED.with(|s| s.load(Ordering::Relaxed))
}

const ARENA: usize = 256 << 20;
static NEXT: AtomicUsize = AtomicUsize::new(0);

struct Arena(std::cell::UnsafeCell<[u8; ARENA]>);
// SAFETY: disjoint ranges are handed out by an atomic cursor; nothing else touches it.
unsafe impl Sync for Arena {}
static MEMORY: Arena = Arena(std::cell::UnsafeCell::new([0; ARENA]));

// SAFETY: every block is a distinct, suitably aligned range of the arena, never reused.
unsafe impl GlobalAlloc for Bump {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let align = layout.align().max(16);
        let size = layout.size().next_multiple_of(align);
        SERVED.with(|s| s.fetch_add(1, Ordering::Relaxed));
        let start = NEXT.fetch_add(size + align, Ordering::Relaxed);
        if start + size + align > ARENA {
            return std::ptr::null_mut();
        }
        let base = MEMORY.0.get().cast::<u8>();
        // SAFETY: `start + align + size` is within the arena.
        let p = unsafe { base.add(start) };
        let offset = p.align_offset(align);
        // SAFETY: `offset < align`, so the block stays within the range handed out.
        unsafe { p.add(offset) }
    }

    unsafe fn dealloc(&self, _: *mut u8, _: Layout) {}
}

#[global_allocator]
static ALLOC: CountingAlloc<Bump> = CountingAlloc::new(Bump);

/// What the handlers did, counted apart from alloc-trace.
static HANDLED: AtomicU64 = AtomicU64::new(0);

#[track_allocs]
fn in_handler() -> u64 {
    *black_box(Box::new(7u64))
}

#[track_allocs]
fn nested(i: u64) -> u64 {
    let v = black_box(vec![i; 3]);
    v.iter().sum()
}

/// Two allocations of its own and one nested call of one allocation: three per call.
#[track_allocs]
fn work(i: u64) -> u64 {
    let a = black_box(Box::new(i));
    let b = black_box(Box::new(i + 1));
    *a + *b + nested(i)
}

/// `work` for the captures' test, so that the other test's counts of `work` stay its own.
#[track_allocs]
fn captured_work(i: u64) -> u64 {
    let a = black_box(Box::new(i));
    let b = black_box(Box::new(i + 1));
    *a + *b + captured_nested(i)
}

#[track_allocs]
fn captured_nested(i: u64) -> u64 {
    let v = black_box(vec![i; 3]);
    v.iter().sum()
}

/// The tests run one at a time: each counts every handler's call as its own.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

extern "C" fn on_signal(_: libc::c_int) {
    black_box(in_handler());
    HANDLED.fetch_add(1, Ordering::Relaxed);
}

fn install_handler() {
    // SAFETY: `on_signal` only allocates through an async-signal-safe allocator and
    // touches atomics; the handler is installed before any signal is sent.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction =
            on_signal as extern "C" fn(libc::c_int) as usize as libc::sighandler_t;
        action.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut action.sa_mask);
        assert_eq!(
            libc::sigaction(libc::SIGUSR1, &action, std::ptr::null_mut()),
            0
        );
    }
}

/// The most signals one test sends. Each handler takes 48 bytes of the arena for good
/// (32 without the `ownership` feature's header): where handlers run fast beside the loop
/// (35 per capture on one machine, 700,000 in the capture test), the two tests used up
/// the 256 MiB arena and aborted. Capped, the handlers take at most 12 MiB per test.
const MAX_SIGNALS: u64 = 250_000;

/// Runs `main_loop` on this thread while another thread keeps signalling it, one signal
/// at a time: the next is sent once this one is handled, so that a loaded machine cannot
/// pile up handlers (each allocates from the arena, which never frees) faster than the
/// loop makes calls. At most [`MAX_SIGNALS`] are sent; the rest of the loop runs without.
/// Returns the loop's result and the signals sent.
fn under_signals<R: Send>(main_loop: impl FnOnce() -> R) -> (R, u64) {
    // SAFETY: `pthread_self` has no preconditions.
    let target = unsafe { libc::pthread_self() } as usize;
    let done = AtomicBool::new(false);
    std::thread::scope(|s| {
        let sender = s.spawn(|| {
            let mut sent = 0u64;
            while !done.load(Ordering::Relaxed) && sent < MAX_SIGNALS {
                let handled = HANDLED.load(Ordering::Relaxed);
                // SAFETY: `target` is the main test thread, alive until `done` is set.
                unsafe { libc::pthread_kill(target as libc::pthread_t, libc::SIGUSR1) };
                sent += 1;
                while HANDLED.load(Ordering::Relaxed) == handled && !done.load(Ordering::Relaxed) {
                    std::thread::yield_now();
                }
            }
            while !done.load(Ordering::Relaxed) {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            sent
        });
        /// Stops the sender also if the loop panics (the scope would wait for it forever).
        struct Stop<'a>(&'a AtomicBool);
        impl Drop for Stop<'_> {
            fn drop(&mut self) {
                self.0.store(true, Ordering::Relaxed);
            }
        }
        let stop = Stop(&done);
        let result = main_loop();
        drop(stop);
        (result, sender.join().unwrap())
    })
}

#[test]
fn tracked_calls_in_signal_handlers_never_crash_or_lose_counts() {
    const CALLS: u64 = 200_000;
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    install_handler();
    // Warm the thread's tables and paths, so that the counted window has no first calls.
    for i in 0..10 {
        black_box(work(i));
        black_box(in_handler());
    }
    let handled_before = HANDLED.load(Ordering::Relaxed);
    let served_before = served_here();
    let ((_, sent), stats) = alloc_trace::measure(|| {
        under_signals(|| {
            let mut sum = 0;
            for i in 0..CALLS {
                sum += work(black_box(i));
            }
            black_box(sum)
        })
    });
    let served = served_here() - served_before;
    let handled = HANDLED.load(Ordering::Relaxed) - handled_before;
    eprintln!("{sent} signals sent, {handled} handled during {CALLS} calls");
    assert!(handled > 0, "no signal arrived: the test tested nothing");

    // No count is lost: every request the inner allocator served on this thread (the main
    // loop's, the handlers', the scope's) is counted (`Bump` serves no reallocs: a realloc
    // is an alloc, a copy and a no-op free through `GlobalAlloc`'s default).
    assert_eq!(stats.allocs, served);

    // Every call is counted, each once.
    let report = alloc_trace::report();
    let site = |name: &str| report.site(name).unwrap_or_else(|| panic!("{name}"));
    assert_eq!(site("signals::work").calls, CALLS + 10);
    assert_eq!(site("signals::nested").calls, CALLS + 10);
    assert_eq!(
        site("signals::in_handler").calls,
        handled + handled_before + 10
    );
    // Every tracked allocation is in the tracked rows, once: `work` made 3 per call and
    // each handler 1, booked to `in_handler` unless the handler interrupted its thread
    // while it was booking allocations (see the crate docs), then to the frame booking
    // next. The rows and the outside line add up to the totals.
    let rows: u64 = report.sites().iter().map(|s| s.exclusive.allocs).sum();
    assert_eq!(
        rows + report.outside_tracked().allocs + report.unattributed().allocs,
        report.totals().allocs
    );
    let tracked_by_main = site("signals::work").inclusive.allocs
        + site("signals::in_handler").inclusive.allocs
        - handlers_inside(&report);
    let made = 3 * (CALLS + 10) + handled + handled_before + 10;
    assert!(
        tracked_by_main <= made && made - tracked_by_main <= handled,
        "{tracked_by_main} tracked allocations booked of {made} made"
    );
}

/// Handler allocations that are counted in `work`'s inclusive numbers too (a handler
/// that ran inside a `work` call is nested in it): those on a path through `work`.
fn handlers_inside(report: &alloc_trace::Report) -> u64 {
    report
        .paths()
        .iter()
        .filter(|p| p.path.contains("signals::work") && p.path.ends_with("signals::in_handler"))
        .map(|p| p.exclusive.allocs)
        .sum()
}

/// Captures of tracked calls while signal handlers make tracked calls of their own: a
/// handler that interrupts a capture writing its list of sites and paths leaves that
/// capture unable to record the handler's site or path. Such a capture says so. None
/// shows more in its rows than in its totals (a handler at the capture's very start or
/// end once was in a row and not in the totals: a negative "outside" line), and one that
/// says nothing misses at most the handlers that ran at its edges.
#[test]
fn a_capture_interrupted_by_a_handlers_tracked_call_says_so_or_is_complete() {
    const CAPTURES: u64 = 20_000;
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    install_handler();
    // Warm the thread's tables and paths, as above: a handler that interrupts the
    // interning of a new call path books the frames it interrupted to the overflow path.
    for i in 0..10 {
        black_box(alloc_trace::capture(|| black_box(captured_work(i))));
    }
    let handled_before = HANDLED.load(Ordering::Relaxed);
    let ((complete, flagged), sent) = under_signals(|| {
        let (mut complete, mut flagged) = (0u64, 0u64);
        for i in 0..CAPTURES {
            let handled_before = HANDLED.load(Ordering::Relaxed);
            let (_, report) = alloc_trace::capture(|| black_box(captured_work(black_box(i))));
            let handlers = HANDLED.load(Ordering::Relaxed) - handled_before;
            // Formatted only when a check fails: the arena never frees.
            let table = || format!("{report}\n{handlers} handlers ran in capture {i}");
            let (in_rows, totals) = (report.in_tracked().allocs, report.totals().allocs);
            assert!(
                in_rows <= totals,
                "more in rows than in totals:\n{}",
                table()
            );
            if report.unrecorded() > 0 {
                flagged += 1;
                let note = format!("\nnote: {} function", report.unrecorded());
                assert!(table().contains(&note), "{}", table());
            } else {
                complete += 1;
                // Every allocation of the capture is made in a tracked call (`work`'s 3,
                // a handler's 1): only a handler at the very start or end of the capture
                // can be in the totals and not in a row.
                assert!(
                    totals - in_rows <= handlers,
                    "rows miss allocations:\n{}",
                    table()
                );
                // Each function's row is there, with its one call. (What they allocated
                // can move between a handler's row and the frame it interrupted, when the
                // handler ran in the middle of a booking or of the allocator's counting.)
                for name in ["signals::captured_work", "signals::captured_nested"] {
                    let calls = report.site(name).map(|s| s.calls);
                    assert_eq!(calls, Some(1), "{name}:\n{}", table());
                }
            }
            // Handlers that ran while the report was built are in neither.
            assert!((3..=3 + handlers).contains(&totals), "{}", table());
        }
        (complete, flagged)
    });
    let handled = HANDLED.load(Ordering::Relaxed) - handled_before;
    eprintln!(
        "{sent} signals sent, {handled} handled during {CAPTURES} captures: \
         {complete} complete, {flagged} said what they could not record"
    );
    assert!(handled > 0, "no signal arrived: the test tested nothing");
}
