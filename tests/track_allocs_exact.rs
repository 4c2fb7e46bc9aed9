//! What the runtime records through `#[track_allocs]`, exactly: inclusive against
//! exclusive numbers under nesting, recursion (inclusive counts each allocation once, at
//! the outermost call; `calls` counts every call), nesting 10 000 calls deep, the most
//! allocations of one call, and per-site peaks.

use std::hint::black_box;

use alloc_trace::{AllocStats, Report, capture, track_allocs};

#[global_allocator]
static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();

#[path = "support/sites.rs"]
mod sites;
use sites::site;

/// `allocs` allocations of `bytes` bytes in total, all freed, with the given peak.
const fn freed(allocs: u64, bytes: u64, peak_bytes: u64) -> AllocStats {
    AllocStats {
        allocs,
        reallocs: 0,
        frees: allocs,
        bytes_allocated: bytes,
        bytes_freed: bytes,
        peak_bytes,
    }
}

// ---------------------------------------------------------------------------------------
// Nesting: exclusive = inclusive minus nested tracked calls.

/// 1 allocation of its own (10 B, held while `inner` runs), then `inner`.
#[track_allocs]
fn outer() -> usize {
    let own = black_box(vec![0u8; 10]);
    own.len() + inner()
}

/// 2 allocations (20 B and 30 B), both live at once.
#[track_allocs]
fn inner() -> usize {
    let a = black_box(vec![0u8; 20]);
    let b = black_box(vec![0u8; 30]);
    a.len() + b.len()
}

#[test]
fn nested_call_inclusive_and_exclusive() {
    let (n, report) = capture(outer);
    assert_eq!(n, 60);
    let (o, i) = (
        site(&report, "track_allocs_exact::outer"),
        site(&report, "track_allocs_exact::inner"),
    );
    assert_eq!((o.calls, i.calls), (1, 1));
    // Peak of `outer`: its own 10 B plus `inner`'s 50 B.
    assert_eq!(o.inclusive, freed(3, 60, 60));
    assert_eq!(o.exclusive, (freed(1, 10, 0)).counts());
    assert_eq!(i.inclusive, freed(2, 50, 50));
    assert_eq!(i.exclusive, (freed(2, 50, 0)).counts());
    assert_eq!((o.max_allocs_per_call, i.max_allocs_per_call), (3, 2));
    // Everything happened inside `outer`.
    assert_eq!(report.outside_tracked(), freed(0, 0, 0).counts());
    assert_eq!(report.totals(), freed(3, 60, 60).counts());
    assert_eq!(report.peak_bytes(), Some(60));
}

/// A tracked function defined inside another one's body is a site of its own.
#[track_allocs]
fn with_local_fn() -> usize {
    #[track_allocs]
    fn local() -> usize {
        black_box(vec![0u8; 7]).len()
    }
    local() + local()
}

#[test]
fn tracked_fn_inside_a_tracked_fn() {
    let (n, report) = capture(with_local_fn);
    assert_eq!(n, 14);
    let (w, l) = (
        site(&report, "track_allocs_exact::with_local_fn"),
        site(&report, "track_allocs_exact::local"),
    );
    assert_eq!((w.calls, l.calls), (1, 2));
    assert_eq!(w.inclusive, freed(2, 14, 7));
    assert_eq!(w.exclusive, (freed(0, 0, 0)).counts());
    assert_eq!(l.exclusive, (freed(2, 14, 0)).counts());
}

// ---------------------------------------------------------------------------------------
// Recursion.

/// One 8-byte box per level, held while the deeper levels run.
#[track_allocs]
fn recurse(depth: u64) -> u64 {
    let level = black_box(Box::new(depth));
    if depth <= 1 {
        *level
    } else {
        *level + recurse(depth - 1)
    }
}

#[test]
fn recursion_counts_each_allocation_once() {
    let (sum, report) = capture(|| recurse(5));
    assert_eq!(sum, 15);
    let s = site(&report, "track_allocs_exact::recurse");
    assert_eq!(s.calls, 5, "every call counts");
    // Not 5 + 4 + 3 + 2 + 1 = 15: nested calls of the same site are inside the outermost.
    assert_eq!(s.inclusive, freed(5, 40, 40));
    assert_eq!(s.exclusive, (freed(5, 40, 0)).counts());
    assert_eq!(s.max_allocs_per_call, 5, "the outermost call made all five");
}

/// `ping` and `pong` call each other: each allocates a 4-byte box per call and holds it
/// while the deeper calls run.
#[track_allocs]
fn ping(depth: u32) -> u32 {
    let level = black_box(Box::new(depth));
    if depth <= 1 {
        *level
    } else {
        *level % 2 + pong(depth - 1)
    }
}

#[track_allocs]
fn pong(depth: u32) -> u32 {
    let level = black_box(Box::new(depth));
    if depth <= 1 {
        *level
    } else {
        *level % 2 + ping(depth - 1)
    }
}

/// What `ping(DEEP)` must record: 10 000 nested tracked calls, far past any fixed-size
/// stack, alternating between two sites (so each site is also recursive).
const DEEP: u32 = 10_000;

fn check_deep(report: &Report) {
    let deep = u64::from(DEEP);
    let (pi, po) = (
        site(report, "track_allocs_exact::ping"),
        site(report, "track_allocs_exact::pong"),
    );
    assert_eq!((pi.calls, po.calls), (deep / 2, deep / 2));
    // `ping`'s outermost call is the root and holds all 10 000 boxes; `pong`'s outermost
    // call is one level down and holds 9 999 of them.
    assert_eq!(pi.inclusive, freed(deep, 4 * deep, 4 * deep));
    assert_eq!(
        po.inclusive,
        freed(deep - 1, 4 * (deep - 1), 4 * (deep - 1))
    );
    assert_eq!(pi.exclusive, (freed(deep / 2, 4 * deep / 2, 0)).counts());
    assert_eq!(po.exclusive, (freed(deep / 2, 4 * deep / 2, 0)).counts());
    assert_eq!(
        (pi.max_allocs_per_call, po.max_allocs_per_call),
        (deep, deep - 1)
    );
    assert_eq!(report.outside_tracked(), freed(0, 0, 0).counts());
    // Every frame's own allocation is on some call path (deep ones share an overflow
    // path), and nothing is counted twice.
    let on_paths: u64 = report.paths().iter().map(|p| p.exclusive.allocs).sum();
    assert_eq!(on_paths, deep);
}

#[test]
fn nesting_ten_thousand_deep() {
    // Debug builds need a few hundred bytes of stack per level.
    let report = std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(|| {
            let (odd, report) = capture(|| ping(DEEP));
            assert_eq!(odd, DEEP / 2);
            report
        })
        .unwrap()
        .join()
        .unwrap();
    check_deep(&report);
    // The thread's state is consistent afterwards: the same calls again on this thread.
    let report = std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(|| {
            let first = capture(|| ping(DEEP)).1;
            let second = capture(|| ping(DEEP)).1;
            assert_eq!(first, second);
            second
        })
        .unwrap()
        .join()
        .unwrap();
    check_deep(&report);
}

// ---------------------------------------------------------------------------------------
// Per-call maximum and per-site peak.

/// `n` separate boxes, each freed before the next: n allocations, peak 8 B.
#[track_allocs]
fn n_boxes(n: u64) -> u64 {
    (0..n).map(|i| *black_box(Box::new(i))).sum()
}

#[test]
fn max_allocs_per_call_is_the_largest_call() {
    let (_, report) = capture(|| n_boxes(1) + n_boxes(3) + n_boxes(2) + n_boxes(0));
    let s = site(&report, "track_allocs_exact::n_boxes");
    assert_eq!(s.calls, 4);
    assert_eq!(s.inclusive, freed(6, 48, 8));
    assert_eq!(s.max_allocs_per_call, 3);
}

/// Holds `n` bytes, frees them, then holds `n / 2`: the call's peak is `n`.
#[track_allocs]
fn up_and_down(n: usize) -> usize {
    let big = black_box(vec![0u8; n]);
    drop(big);
    black_box(vec![0u8; n / 2]).len()
}

/// Keeps 100 bytes, then calls `up_and_down(n)` while holding them.
#[track_allocs]
fn holds_then_calls(n: usize) -> usize {
    let held = black_box(vec![0u8; 100]);
    held.len() + up_and_down(n)
}

#[test]
fn peak_is_the_highest_call_not_a_sum() {
    let (_, report) = capture(|| up_and_down(200) + up_and_down(100) + up_and_down(300));
    let s = site(&report, "track_allocs_exact::up_and_down");
    assert_eq!(s.inclusive, freed(6, 200 + 100 + 100 + 50 + 300 + 150, 300));
    // The whole closure's peak is the same: nothing was held between calls.
    assert_eq!(report.peak_bytes(), Some(300));
}

#[test]
fn peak_of_a_caller_includes_what_it_holds() {
    let (_, report) = capture(|| holds_then_calls(40));
    let (h, u) = (
        site(&report, "track_allocs_exact::holds_then_calls"),
        site(&report, "track_allocs_exact::up_and_down"),
    );
    assert_eq!(u.inclusive, freed(2, 60, 40));
    assert_eq!(h.inclusive, freed(3, 160, 140));
    assert_eq!(h.exclusive, (freed(1, 100, 0)).counts());
}

/// A call that keeps what it allocates: its peak is above its entry level, and what it
/// left allocated shows as `net_bytes`.
#[track_allocs]
fn keeps(n: usize) -> Vec<u8> {
    black_box(vec![1u8; n])
}

#[test]
fn net_bytes_and_peak_of_a_leaking_call() {
    let (kept, report) = capture(|| (0..3).map(|_| keeps(16)).collect::<Vec<_>>());
    let s = site(&report, "track_allocs_exact::keeps");
    assert_eq!(s.calls, 3);
    let expected = AllocStats {
        allocs: 3,
        reallocs: 0,
        frees: 0,
        bytes_allocated: 48,
        bytes_freed: 0,
        peak_bytes: 16,
    };
    assert_eq!(s.inclusive, expected);
    assert_eq!(s.inclusive.net_bytes(), 48);
    drop(kept);
}
