//! Edge cases of tracked calls: panics through nested tracked calls caught at every level
//! (numbers exact, frames unlinked, state consistent afterwards), recursion far deeper
//! than any fixed capacity (100,000 nested tracked calls), and peaks on a thread that has
//! freed more than it allocated.

use std::hint::black_box;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Once;

use alloc_trace::report::FoldedWeight;
use alloc_trace::{AllocStats, CountingAlloc, Report, capture, measure, track_allocs};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc::system();

#[path = "support/sites.rs"]
mod sites;
use sites::site;

/// Panics in this binary print nothing, so that what a panic allocates is only the
/// payload and the unwinder's exception (no message formatting, no captured output).
fn silence_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| std::panic::set_hook(Box::new(|_| {})));
}

/// `(allocs, bytes)` a `panic!("...")` with a literal message costs from the panic to the
/// end of the `catch_unwind` that drops its payload: all freed by then.
fn cost_of_a_caught_panic() -> AllocStats {
    // The first panic of a thread may initialise things; measure a later one.
    let _ = catch_unwind(|| panic!("edge: reference"));
    let (caught, stats) = measure(|| catch_unwind(|| panic!("edge: reference")).is_err());
    assert!(caught);
    assert_eq!(stats.allocs, stats.frees);
    assert_eq!(stats.bytes_allocated, stats.bytes_freed);
    stats
}

#[track_allocs]
fn edge_panic_inner() {
    let _held = black_box(vec![0u8; 50]);
    panic!("edge: inner");
}

/// Catches the inner panic, frees its own buffer, then panics itself.
#[track_allocs]
fn edge_panic_outer() {
    let held = black_box(vec![0u8; 100]);
    let caught = catch_unwind(edge_panic_inner);
    assert!(caught.is_err());
    drop(caught);
    drop(held);
    panic!("edge: outer");
}

#[track_allocs]
fn edge_after_panics() -> Box<u64> {
    black_box(Box::new(1))
}

fn stats(allocs: u64, frees: u64, allocated: u64, freed: u64, peak: u64) -> AllocStats {
    AllocStats {
        allocs,
        reallocs: 0,
        frees,
        bytes_allocated: allocated,
        bytes_freed: freed,
        peak_bytes: peak,
    }
}

#[test]
fn panics_caught_at_every_level_of_nested_tracked_calls_are_exact() {
    silence_panics();
    let panic = cost_of_a_caught_panic();
    let (pa, pb) = (panic.allocs, panic.bytes_allocated);

    let (caught, report) = capture(|| catch_unwind(edge_panic_outer).is_err());
    assert!(caught);

    // inner: its buffer (freed while unwinding, inside the call) and its panic's
    // allocations (freed later, by the catch in outer). Its peak: the buffer plus the
    // panic's live blocks.
    let inner = report.site("edge_panic_inner").unwrap();
    assert_eq!(inner.calls, 1);
    assert_eq!(
        inner.inclusive,
        stats(1 + pa, 1, 50 + pb, 50, 50 + panic.peak_bytes)
    );
    assert_eq!(inner.exclusive, (stats(1 + pa, 1, 50 + pb, 50, 0)).counts());
    // outer: its buffer, inner's call, the frees of inner's panic, its own panic's
    // allocations (freed by the outermost catch, outside every tracked call).
    let outer = report.site("edge_panic_outer").unwrap();
    assert_eq!(outer.calls, 1);
    assert_eq!(
        (outer.inclusive.allocs, outer.inclusive.frees),
        (2 + 2 * pa, 2 + pa)
    );
    assert_eq!(
        (outer.inclusive.bytes_allocated, outer.inclusive.bytes_freed),
        (150 + 2 * pb, 150 + pb)
    );
    assert_eq!(
        outer.exclusive,
        (stats(1 + pa, 1 + pa, 100 + pb, 100 + pb, 0)).counts()
    );
    assert_eq!(outer.max_allocs_per_call, 2 + 2 * pa);
    // The whole capture: everything was freed in the end.
    assert_eq!(
        report.totals(),
        stats(2 + 2 * pa, 2 + 2 * pa, 150 + 2 * pb, 150 + 2 * pb, 0).counts()
    );
    assert_eq!(
        report.outside_tracked(),
        stats(0, pa, 0, pb, 0).counts(),
        "outer's panic is freed outside"
    );
    assert_eq!(
        report.folded(FoldedWeight::Allocs),
        format!(
            "edge_frames::edge_panic_outer {}\nedge_frames::edge_panic_outer;edge_frames::edge_panic_inner {}\n",
            1 + pa,
            1 + pa
        )
    );

    // Afterwards no frame is left linked: a new call is at the root again, and the
    // thread's peak windows were restored.
    let (boxed, after) = capture(edge_after_panics);
    drop(boxed);
    assert_eq!(paths(&after), ["edge_frames::edge_after_panics"]);
    let ((), m) = measure(|| drop(black_box(vec![0u8; 10])));
    assert_eq!(m, stats(1, 1, 10, 10, 10));
}

#[test]
fn a_panic_out_of_a_capture_unlinks_its_boundary() {
    silence_panics();
    let panic = cost_of_a_caught_panic();
    // A panic that escapes a capture (and the tracked calls in it) ...
    let ((), outer) = capture(|| {
        let escaped = catch_unwind(AssertUnwindSafe(|| capture(edge_panic_outer)));
        assert!(escaped.is_err());
    });
    // ... is still counted by the enclosing capture, through the boundary it unwound.
    let site = outer.site("edge_panic_outer").unwrap();
    assert_eq!(site.calls, 1);
    assert_eq!(site.inclusive.allocs, 2 + 2 * panic.allocs);
    let (boxed, after) = capture(edge_after_panics);
    drop(boxed);
    assert_eq!(paths(&after), ["edge_frames::edge_after_panics"]);
}

fn paths(report: &Report) -> Vec<&str> {
    report.paths().iter().map(|p| p.path.as_str()).collect()
}

/// Each level holds a 4-byte box while the deeper levels run.
#[track_allocs]
fn edge_deep(depth: u32) -> u32 {
    let held = black_box(Box::new(depth));
    let levels = if depth == 0 {
        1
    } else {
        1 + edge_deep(depth - 1)
    };
    drop(held);
    levels
}

#[test]
fn recursion_100_000_calls_deep_is_exact() {
    const DEPTH: u32 = 100_000;
    const CALLS: u64 = DEPTH as u64 + 1;
    // A debug build's frame of `edge_deep` takes a few hundred bytes: 1 GiB of (lazily
    // committed) stack is plenty.
    let (levels, report) = std::thread::Builder::new()
        .stack_size(1 << 30)
        .spawn(|| capture(|| edge_deep(DEPTH)))
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(levels, CALLS as u32);

    let site = report.site("edge_deep").unwrap();
    assert_eq!(site.calls, CALLS);
    // Inclusive: the outermost call only (deeper calls are inside it); all boxes live at
    // the deepest point.
    assert_eq!(
        site.inclusive,
        stats(CALLS, CALLS, 4 * CALLS, 4 * CALLS, 4 * CALLS)
    );
    assert_eq!(
        site.exclusive,
        (stats(CALLS, CALLS, 4 * CALLS, 4 * CALLS, 0)).counts()
    );
    assert_eq!(site.max_allocs_per_call, CALLS);

    // Call paths keep 128 frames: one path per depth 1..=128, then one more for every
    // deeper call, with the outermost 127 frames, a `[...]` for the cut and the innermost.
    const KEPT: usize = 128;
    let paths = report.paths();
    assert_eq!(paths.len(), KEPT + 1);
    let name = "edge_frames::edge_deep";
    for depth in 1..=KEPT {
        let path = vec![name; depth].join(";");
        let found = paths
            .iter()
            .find(|p| p.path == path)
            .unwrap_or_else(|| panic!("no path of depth {depth}"));
        assert_eq!(
            found.exclusive,
            stats(1, 1, 4, 4, 0).counts(),
            "depth {depth}"
        );
    }
    let deeper = CALLS - KEPT as u64;
    let cut = format!("{};[...];{name}", vec![name; KEPT - 1].join(";"));
    let found = paths.iter().find(|p| p.path == cut).expect("the cut path");
    assert_eq!(
        found.exclusive,
        stats(deeper, deeper, 4 * deeper, 4 * deeper, 0).counts()
    );
    let folded = report.folded(FoldedWeight::Allocs);
    assert_eq!(folded.lines().count(), KEPT + 1);
    let weights: u64 = folded
        .lines()
        .map(|l| l.rsplit_once(' ').unwrap().1.parse::<u64>().unwrap())
        .sum();
    assert_eq!(weights, CALLS);
    let deepest = folded.lines().max_by_key(|l| l.len()).unwrap();
    assert_eq!(deepest, format!("{cut} {deeper}"));
}

/// Holds 300 + 200 bytes at its highest, inside a nested tracked call.
#[track_allocs]
fn edge_peak_outer() {
    let a = black_box(vec![0u8; 300]);
    edge_peak_inner();
    drop(a);
    drop(black_box(vec![0u8; 100]));
}

#[track_allocs]
fn edge_peak_inner() {
    drop(black_box(vec![0u8; 200]));
}

#[test]
fn peaks_are_exact_on_a_thread_whose_live_bytes_are_negative() {
    let received = black_box(vec![0u8; 10_000]);
    let (live_before, report) = std::thread::spawn(move || {
        // Freeing memory another thread allocated: this thread's live bytes go to -10,000,
        // and every level its calls reach below their entry level is negative too.
        let (_, freed) = measure(move || drop(received));
        (freed.net_bytes(), capture(edge_peak_outer).1)
    })
    .join()
    .unwrap();
    assert_eq!(live_before, -10_000);
    let outer = site(&report, "edge_frames::edge_peak_outer");
    let inner = site(&report, "edge_frames::edge_peak_inner");
    assert_eq!(
        (outer.inclusive.peak_bytes, inner.inclusive.peak_bytes),
        (500, 200)
    );
    assert_eq!(report.peak_bytes(), Some(500));
}

/// Allocates 30 bytes in its first poll, then panics in its second.
#[track_allocs]
async fn edge_async_panics() {
    let buffer = black_box(vec![0u8; 30]);
    YieldOnce(false).await;
    drop(buffer);
    panic!("edge: async");
}

/// Pending once, then ready.
struct YieldOnce(bool);

impl std::future::Future for YieldOnce {
    type Output = ();
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        if self.0 {
            return std::task::Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    }
}

#[test]
fn a_panic_inside_a_poll_ends_the_polls_frame() {
    silence_panics();
    let panic = cost_of_a_caught_panic();
    let (unwound, report) = capture(|| {
        let mut future = std::pin::pin!(edge_async_panics());
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        assert!(future.as_mut().poll(&mut cx).is_pending());
        catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(&mut cx))).is_err()
    });
    assert!(unwound);
    // The call was polled and then dropped unfinished (by `pin!`'s end): counted once,
    // with its buffer and what its panic allocated inside the second poll.
    let site = report.site("edge_async_panics").unwrap();
    assert_eq!(site.calls, 1);
    assert_eq!(
        (site.inclusive.allocs, site.inclusive.bytes_allocated),
        (1 + panic.allocs, 30 + panic.bytes_allocated)
    );
    // No frame is left linked: a new call is at the root again.
    let (boxed, after) = capture(edge_after_panics);
    drop(boxed);
    assert_eq!(paths(&after), ["edge_frames::edge_after_panics"]);
}
