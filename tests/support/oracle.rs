//! An independent count of what the whole process asks of the global allocator, to check
//! alloc-trace's process-wide numbers against, and a tiny runner for test binaries built
//! with `harness = false`.
//!
//! # The oracle
//!
//! [`Oracle`] is the global allocator of the test binary and wraps `CountingAlloc`:
//! every request goes through the oracle, then alloc-trace, then `System`. The oracle
//! counts every successful request in global atomics, in alloc-trace's vocabulary
//! (`allocs` = alloc + alloc_zeroed + realloc, `frees` = dealloc + realloc, bytes
//! requested and given back). It shares no code or state with alloc-trace.
//!
//! # Comparing at one moment
//!
//! The numbers are compared while other threads may be running (tokio workers finishing
//! a task, a thread in its thread-local destructors), so each comparison needs one moment
//! at which neither count is moving. The oracle brackets every request of every thread
//! except the *observer* (the test's main thread) between two counters, `STARTED` and
//! `FINISHED`, and [`quiet`] reads the oracle and runs the read of alloc-trace's numbers
//! only between a moment at which no request was in flight (`STARTED == FINISHED`) and a
//! later one at which none had started since (`STARTED` unchanged); otherwise it tries
//! again. Both reads then see the same, complete state, without any sleep. The
//! observer's own requests need no bracket: it makes them itself, in program order.
//!
//! # What the oracle sees that alloc-trace does not
//!
//! alloc-trace's own bookkeeping (thread records and their tables, the first check that
//! it is installed, the gathering of a report) allocates inside a section that hides it
//! from alloc-trace's counts, by design; the oracle counts it. So comparisons are made
//! over *windows* (`Window::open` .. `Window::close`) in which no bookkeeping runs:
//! - every thread that makes tracked calls in the window made one (that allocated)
//!   before it opened (its record and tables exist);
//! - `report()` is not called inside a window (its gathering is hidden): a window is
//!   closed with the report taken at the same quiet moment, and a new one opened after;
//! - `process_stats()` must not allocate at all (checked by every `Window::close`).

#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;
use std::fmt::{Debug, Write as _};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed, Ordering::SeqCst};

use alloc_trace::{AllocCounts, CountingAlloc, Report};

/// The test binaries' global allocator: counts, then forwards to alloc-trace's
/// `CountingAlloc` (which counts on its own, then forwards to `System`).
pub struct Oracle(CountingAlloc);

impl Oracle {
    pub const fn new() -> Self {
        Self(CountingAlloc::system())
    }
}

static ALLOCS: AtomicU64 = AtomicU64::new(0);
static REALLOCS: AtomicU64 = AtomicU64::new(0);
static DEALLOCS: AtomicU64 = AtomicU64::new(0);
static BYTES_ALLOCATED: AtomicU64 = AtomicU64::new(0);
static BYTES_FREED: AtomicU64 = AtomicU64::new(0);
/// Requests begun and ended by threads other than the observer.
static STARTED: AtomicU64 = AtomicU64::new(0);
static FINISHED: AtomicU64 = AtomicU64::new(0);

thread_local! {
    // `const` and without `Drop`: usable from the allocator at any time, never allocates.
    static OBSERVER: Cell<bool> = const { Cell::new(false) };
}

/// Brackets one request of a thread other than the observer.
struct InFlight(bool);

impl InFlight {
    #[inline]
    fn begin() -> Self {
        let bracketed = !OBSERVER.try_with(Cell::get).unwrap_or(false);
        if bracketed {
            STARTED.fetch_add(1, SeqCst);
        }
        Self(bracketed)
    }
}

impl Drop for InFlight {
    #[inline]
    fn drop(&mut self) {
        if self.0 {
            FINISHED.fetch_add(1, SeqCst);
        }
    }
}

fn add(counter: &AtomicU64, by: usize) {
    counter.fetch_add(by as u64, Relaxed);
}

// SAFETY: every method forwards to `CountingAlloc` with the caller's arguments and
// returns its result unchanged; the counting touches only atomics and a const
// thread-local without destructor: it never allocates, never unwinds and never touches
// the memory.
unsafe impl GlobalAlloc for Oracle {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _in_flight = InFlight::begin();
        // SAFETY: the caller upholds `alloc`'s contract.
        let p = unsafe { self.0.alloc(layout) };
        if !p.is_null() {
            add(&ALLOCS, 1);
            add(&BYTES_ALLOCATED, layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let _in_flight = InFlight::begin();
        // SAFETY: the caller upholds `alloc_zeroed`'s contract.
        let p = unsafe { self.0.alloc_zeroed(layout) };
        if !p.is_null() {
            add(&ALLOCS, 1);
            add(&BYTES_ALLOCATED, layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let _in_flight = InFlight::begin();
        // SAFETY: the caller upholds `dealloc`'s contract; `ptr` came from `self.0`.
        unsafe { self.0.dealloc(ptr, layout) };
        add(&DEALLOCS, 1);
        add(&BYTES_FREED, layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _in_flight = InFlight::begin();
        // SAFETY: the caller upholds `realloc`'s contract; `ptr` came from `self.0`.
        let p = unsafe { self.0.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            add(&REALLOCS, 1);
            add(&BYTES_ALLOCATED, new_size);
            add(&BYTES_FREED, layout.size());
        }
        p
    }
}

/// The oracle's counts now, in alloc-trace's vocabulary. Consistent only at a quiet
/// moment (see [`quiet`]).
pub fn counts() -> AllocCounts {
    let reallocs = REALLOCS.load(SeqCst);
    AllocCounts {
        allocs: ALLOCS.load(SeqCst) + reallocs,
        reallocs,
        frees: DEALLOCS.load(SeqCst) + reallocs,
        bytes_allocated: BYTES_ALLOCATED.load(SeqCst),
        bytes_freed: BYTES_FREED.load(SeqCst),
    }
}

/// Makes the calling thread the observer and gets alloc-trace's one-time work (the check
/// that it is installed, which allocates, hidden) out of the way. Call first in `main`.
pub fn start() {
    OBSERVER.with(|o| o.set(true));
    let _ = alloc_trace::process_stats();
}

/// Attempts [`quiet`] makes before it gives up.
const QUIET_ATTEMPTS: u32 = 1_000_000;

/// The oracle's counts and `read()`'s result, both taken at one moment when no other
/// thread was asking the allocator for anything (see the module docs). `read` may
/// allocate on the observer (after it has read its numbers, as `report()` does) and may
/// run more than once.
///
/// # Panics
///
/// If called from another thread than the observer, or if the other threads never stop
/// allocating for a moment.
pub fn quiet<T>(mut read: impl FnMut() -> T) -> (AllocCounts, T) {
    assert!(
        OBSERVER.with(Cell::get),
        "quiet() is for the observer thread"
    );
    for _ in 0..QUIET_ATTEMPTS {
        let started = STARTED.load(SeqCst);
        if FINISHED.load(SeqCst) == started {
            let oracle = counts();
            let value = read();
            if STARTED.load(SeqCst) == started {
                return (oracle, value);
            }
        }
        std::thread::yield_now();
    }
    panic!("the other threads never stopped allocating for {QUIET_ATTEMPTS} attempts");
}

/// `a - b`, field by field (wrapping, so that a shortfall shows as a huge number rather
/// than a panic; [`signed`] shows it readably).
pub fn minus(a: AllocCounts, b: AllocCounts) -> AllocCounts {
    AllocCounts {
        allocs: a.allocs.wrapping_sub(b.allocs),
        reallocs: a.reallocs.wrapping_sub(b.reallocs),
        frees: a.frees.wrapping_sub(b.frees),
        bytes_allocated: a.bytes_allocated.wrapping_sub(b.bytes_allocated),
        bytes_freed: a.bytes_freed.wrapping_sub(b.bytes_freed),
    }
}

/// `got - want` per field, signed: `allocs -3, frees -2, bytes_allocated -24, ...`.
pub fn signed(got: AllocCounts, want: AllocCounts) -> String {
    let d = |g: u64, w: u64| g as i128 - w as i128;
    format!(
        "allocs {:+}, reallocs {:+}, frees {:+}, bytes_allocated {:+}, bytes_freed {:+}",
        d(got.allocs, want.allocs),
        d(got.reallocs, want.reallocs),
        d(got.frees, want.frees),
        d(got.bytes_allocated, want.bytes_allocated),
        d(got.bytes_freed, want.bytes_freed),
    )
}

/// Both counts at the quiet moment a window opened.
#[derive(Clone, Copy, Debug)]
pub struct Window {
    oracle: AllocCounts,
    stats: AllocCounts,
}

/// What happened in a window, counted by both.
#[derive(Clone, Debug)]
pub struct Closed {
    /// The oracle's count of the window.
    pub oracle: AllocCounts,
    /// `process_stats()`'s.
    pub stats: AllocCounts,
    /// What `process_stats()` itself allocated (must be nothing).
    pub stats_call: AllocCounts,
    /// `report().totals()` minus the window's start, if a report was taken.
    pub report: Option<AllocCounts>,
    /// The report taken at the closing moment.
    pub full_report: Option<Report>,
}

impl Window {
    /// Opens a window at a quiet moment.
    pub fn open() -> Self {
        let (oracle, stats) = quiet(alloc_trace::process_stats);
        Self { oracle, stats }
    }

    /// Closes the window at a quiet moment: `process_stats()` there, and what it
    /// allocated itself.
    pub fn close(&self) -> Closed {
        let (oracle, (stats, after)) = quiet(|| (alloc_trace::process_stats(), counts()));
        Closed {
            oracle: minus(oracle, self.oracle),
            stats: minus(stats, self.stats),
            stats_call: minus(after, oracle),
            report: None,
            full_report: None,
        }
    }

    /// Closes the window at a quiet moment with `process_stats()` and then `report()`
    /// (nothing allocates between the two). Open a new window afterwards: the report's
    /// gathering is bookkeeping the oracle sees.
    pub fn close_with_report(&self) -> Closed {
        let (oracle, (stats, after, report)) = quiet(|| {
            let stats = alloc_trace::process_stats();
            let after = counts();
            (stats, after, alloc_trace::report())
        });
        Closed {
            oracle: minus(oracle, self.oracle),
            stats: minus(stats, self.stats),
            stats_call: minus(after, oracle),
            report: Some(minus(report.totals(), self.stats)),
            full_report: Some(report),
        }
    }
}

/// The checks of one case: every one is printed with its numbers, failed or not.
#[derive(Default)]
pub struct Checks {
    lines: Vec<String>,
    failed: usize,
}

impl Checks {
    pub fn new() -> Self {
        Self::default()
    }

    /// `got == want`.
    pub fn eq<T: PartialEq + Debug>(&mut self, what: &str, got: T, want: T) {
        if got == want {
            self.lines.push(format!("  ok    {what}: {got:?}"));
        } else {
            self.failed += 1;
            self.lines
                .push(format!("  FAIL  {what}: got {got:?}, expected {want:?}"));
        }
    }

    /// `got == want` for counts, with the difference per field on failure.
    pub fn counts(&mut self, what: &str, got: AllocCounts, want: AllocCounts) {
        if got == want {
            self.lines.push(format!("  ok    {what}: {}", brief(got)));
        } else {
            self.failed += 1;
            self.lines.push(format!(
                "  FAIL  {what}:\n          got      {}\n          expected {}\n          diff     {}",
                brief(got),
                brief(want),
                signed(got, want)
            ));
        }
    }

    /// The checks every closed window must pass: `process_stats()` (and the report's
    /// totals, if taken) equal the oracle's count, and `process_stats()` allocated
    /// nothing.
    pub fn window(&mut self, what: &str, w: &Closed) {
        self.counts(
            &format!("{what}: process_stats() == oracle"),
            w.stats,
            w.oracle,
        );
        if let Some(report) = w.report {
            self.counts(
                &format!("{what}: report().totals() == oracle"),
                report,
                w.oracle,
            );
        }
        self.counts(
            &format!("{what}: process_stats() allocates nothing"),
            w.stats_call,
            AllocCounts::default(),
        );
    }

    /// A check whose outcome is not a comparison.
    pub fn truth(&mut self, what: &str, ok: bool, detail: &str) {
        if ok {
            self.lines.push(format!("  ok    {what}"));
        } else {
            self.failed += 1;
            self.lines.push(format!("  FAIL  {what}: {detail}"));
        }
    }

    /// A line of context, printed with the checks.
    pub fn note(&mut self, line: &str) {
        self.lines.push(format!("  note  {line}"));
    }
}

/// `allocs 12 (reallocs 3), frees 9, bytes 1200 allocated / 1000 freed`
pub fn brief(c: AllocCounts) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "allocs {} (reallocs {}), frees {}, bytes {} allocated / {} freed",
        c.allocs, c.reallocs, c.frees, c.bytes_allocated, c.bytes_freed
    );
    s
}

/// The sum of every site's exclusive numbers plus what was outside tracked functions:
/// the whole, if every allocation is in exactly one row.
pub fn rows_sum(report: &Report) -> (u64, u64) {
    let outside = report.outside_tracked();
    let pending = report.unattributed();
    report.sites().iter().fold(
        (
            outside.allocs + pending.allocs,
            outside.bytes_allocated + pending.bytes_allocated,
        ),
        |(allocs, bytes), s| {
            (
                allocs + s.exclusive.allocs,
                bytes + s.exclusive.bytes_allocated,
            )
        },
    )
}

/// A named case of a test binary.
pub type Case<'a> = (&'a str, fn() -> Checks);

/// Runs the cases of a `harness = false` test binary one after another on the main
/// thread (the observer), prints every check, and exits with status 1 if one failed.
pub fn run(binary: &str, cases: &[Case<'_>]) {
    start();
    let mut failed = Vec::new();
    for (name, case) in cases {
        let checks = case();
        println!("{binary}: {name}");
        for line in &checks.lines {
            println!("{line}");
        }
        if checks.failed > 0 {
            failed.push(*name);
        }
    }
    if failed.is_empty() {
        println!("{binary}: all {} cases passed", cases.len());
    } else {
        println!(
            "{binary}: {} of {} cases FAILED: {}",
            failed.len(),
            cases.len(),
            failed.join(", ")
        );
        std::process::exit(1);
    }
}
