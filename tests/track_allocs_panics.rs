//! A tracked call that panics is still recorded, with exact numbers, and the thread's
//! state is consistent afterwards: panics caught inside tracked functions, propagated
//! through several, caught at each level, and `-> !` functions.
//!
//! Unwinding itself allocates (the unwinder boxes the exception: allocated when the panic
//! starts, inside the call, and freed where it is caught). That cost is measured here with
//! `measure` on untracked code, and the tracked numbers are derived from it.

use std::cell::Cell;
use std::hint::black_box;
use std::panic::{catch_unwind, resume_unwind};
use std::sync::Once;

use alloc_trace::{AllocStats, capture, measure, track_allocs};

#[global_allocator]
static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();

#[path = "support/sites.rs"]
mod sites;
use sites::site;

/// A zero-sized panic payload: boxing it allocates nothing.
struct Payload;

/// Starts unwinding without the panic hook (so no message and no hook allocations).
fn unwind() -> ! {
    resume_unwind(Box::new(Payload))
}

/// What starting an unwind costs: allocated when it starts, freed where it is caught.
fn unwind_cost() -> AllocStats {
    let (caught, cost) = measure(|| catch_unwind(|| unwind()).is_err());
    assert!(caught);
    assert_eq!(cost.allocs, cost.frees, "freed by the catch");
    assert_eq!(cost.bytes_allocated, cost.bytes_freed, "freed by the catch");
    cost
}

fn stats(allocs: u64, bytes: u64, frees: u64, freed: u64, peak: u64) -> AllocStats {
    AllocStats {
        allocs,
        reallocs: 0,
        frees,
        bytes_allocated: bytes,
        bytes_freed: freed,
        peak_bytes: peak,
    }
}

#[track_allocs]
fn panics_at_once() -> ! {
    unwind()
}

/// Holds 10 bytes, then panics: unwinding frees them inside the call.
#[track_allocs]
fn alloc_then_panic() -> ! {
    let _held = black_box(vec![0u8; 10]);
    unwind()
}

#[test]
fn a_panicking_call_is_recorded() {
    let u = unwind_cost();
    let ((), report) = capture(|| {
        assert!(catch_unwind(|| panics_at_once()).is_err());
        assert!(catch_unwind(|| alloc_then_panic()).is_err());
    });
    let p = site(&report, "track_allocs_panics::panics_at_once");
    assert_eq!(p.calls, 1);
    // The exception is allocated inside the call and freed by the catch, outside it.
    let exception_only = stats(u.allocs, u.bytes_allocated, 0, 0, u.bytes_allocated);
    assert_eq!(p.inclusive, exception_only);
    let a = site(&report, "track_allocs_panics::alloc_then_panic");
    assert_eq!(a.calls, 1);
    let expected = stats(
        u.allocs + 1,
        u.bytes_allocated + 10,
        1,
        10,
        u.bytes_allocated + 10,
    );
    assert_eq!(a.inclusive, expected);
    assert_eq!(a.max_allocs_per_call, u.allocs + 1);
}

/// Holds 20 bytes, catches `alloc_then_panic`, then holds 30 bytes more.
#[track_allocs]
fn catches_inside() -> usize {
    let a = black_box(vec![0u8; 20]);
    let caught = catch_unwind(|| {
        alloc_then_panic();
    })
    .is_err();
    let b = black_box(vec![0u8; 30]);
    usize::from(caught) + a.len() + b.len()
}

/// `after` at the root: recorded at the root call path, not under a frame a panic left
/// behind.
#[track_allocs]
fn after() -> usize {
    black_box(vec![0u8; 3]).len()
}

#[test]
fn a_panic_caught_inside_a_tracked_call() {
    let u = unwind_cost();
    let (n, report) = capture(|| catches_inside() + catches_inside() + after());
    assert_eq!(n, 2 * 51 + 3);
    let inner = site(&report, "track_allocs_panics::alloc_then_panic");
    assert_eq!(
        inner.calls, 2,
        "each call is outermost: no frame was left open"
    );
    let one_inner = stats(u.allocs + 1, u.bytes_allocated + 10, 1, 10, 0);
    assert_eq!(inner.inclusive.with_peak_zero(), one_inner.times(2));
    let c = site(&report, "track_allocs_panics::catches_inside");
    assert_eq!(c.calls, 2);
    // Its own two vectors, and the exception it freed when it caught the panic.
    let own = stats(2, 50, 2 + u.frees, 50 + u.bytes_freed, 0);
    assert_eq!(c.exclusive, (own.times(2)).counts());
    assert_eq!(c.inclusive.with_peak_zero(), own.plus(one_inner).times(2));
    // 20 held, plus the inner call's 10 and the exception; later 20 + 30.
    assert_eq!(
        c.inclusive.peak_bytes,
        (20 + 10 + u.bytes_allocated).max(50)
    );
    let a = site(&report, "track_allocs_panics::after");
    assert_eq!(a.inclusive, stats(1, 3, 1, 3, 3));
    let root_paths: Vec<&str> = report
        .paths()
        .iter()
        .filter(|p| p.path.ends_with("::after"))
        .map(|p| p.path.as_str())
        .collect();
    assert_eq!(root_paths, ["track_allocs_panics::after"]);
}

#[track_allocs]
fn level2() -> ! {
    let _x = black_box(vec![0u8; 5]);
    unwind()
}

#[track_allocs]
fn level1() -> ! {
    let _y = black_box(vec![0u8; 7]);
    level2()
}

/// Catches `level1`'s panic (which started in `level2`), then panics itself.
#[track_allocs]
fn level0() -> ! {
    let _z = black_box(vec![0u8; 9]);
    assert!(
        catch_unwind(|| {
            level1();
        })
        .is_err()
    );
    unwind()
}

#[test]
fn panics_through_nested_calls_caught_at_each_level() {
    let u = unwind_cost();
    let (e_allocs, e_bytes) = (u.allocs, u.bytes_allocated);
    let ((), report) = capture(|| {
        assert!(
            catch_unwind(|| {
                level0();
            })
            .is_err()
        );
        after();
    });
    let (l0, l1, l2) = (
        site(&report, "track_allocs_panics::level0"),
        site(&report, "track_allocs_panics::level1"),
        site(&report, "track_allocs_panics::level2"),
    );
    assert_eq!((l0.calls, l1.calls, l2.calls), (1, 1, 1));
    assert_eq!(
        l2.inclusive,
        stats(1 + e_allocs, 5 + e_bytes, 1, 5, 5 + e_bytes)
    );
    assert_eq!(
        l1.inclusive,
        stats(2 + e_allocs, 12 + e_bytes, 2, 12, 12 + e_bytes)
    );
    assert_eq!(l1.exclusive, (stats(1, 7, 1, 7, 0)).counts());
    // Its own 9 bytes, the exception it freed when it caught, the one it started.
    let own = stats(1 + e_allocs, 9 + e_bytes, 1 + e_allocs, 9 + e_bytes, 0);
    assert_eq!(l0.exclusive, (own).counts());
    assert_eq!(
        l0.inclusive.with_peak_zero(),
        own.plus(l1.inclusive.with_peak_zero())
    );
    assert_eq!(l0.inclusive.peak_bytes, 9 + 12 + e_bytes);
    let a = site(&report, "track_allocs_panics::after");
    assert_eq!(a.inclusive, stats(1, 3, 1, 3, 3));
    assert!(
        report
            .paths()
            .iter()
            .any(|p| p.path == "track_allocs_panics::after")
    );
}

thread_local! {
    static QUIET: Cell<bool> = const { Cell::new(false) };
}

/// A panic hook that is silent (and allocates nothing) while `QUIET` is set on the
/// panicking thread, and the default hook otherwise, so failing tests still explain.
fn quiet_hook() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.get() {
                default(info);
            }
        }));
    });
}

#[track_allocs]
fn panics_with_message() -> ! {
    panic!("boom")
}

/// `panic!` itself: what it costs is measured the same way as a resumed unwind.
#[test]
fn a_panic_macro_in_a_tracked_call() {
    quiet_hook();
    QUIET.set(true);
    let (caught, cost) = measure(|| catch_unwind(|| panic!("boom")).is_err());
    let ((), report) = capture(|| assert!(catch_unwind(|| panics_with_message()).is_err()));
    QUIET.set(false);
    assert!(caught);
    let s = site(&report, "track_allocs_panics::panics_with_message");
    assert_eq!(s.calls, 1);
    // Payload and exception are allocated in the call; both are freed by the catcher.
    let expected = stats(
        cost.allocs,
        cost.bytes_allocated,
        0,
        0,
        cost.bytes_allocated,
    );
    assert_eq!(s.inclusive, expected);
}

/// Arithmetic on expected numbers.
trait Arith: Sized {
    fn plus(self, o: Self) -> Self;
    fn times(self, n: u64) -> Self;
    fn with_peak_zero(self) -> Self;
}

impl Arith for AllocStats {
    fn plus(self, o: Self) -> Self {
        AllocStats {
            allocs: self.allocs + o.allocs,
            reallocs: self.reallocs + o.reallocs,
            frees: self.frees + o.frees,
            bytes_allocated: self.bytes_allocated + o.bytes_allocated,
            bytes_freed: self.bytes_freed + o.bytes_freed,
            peak_bytes: 0,
        }
    }

    fn times(self, n: u64) -> Self {
        AllocStats {
            allocs: self.allocs * n,
            reallocs: self.reallocs * n,
            frees: self.frees * n,
            bytes_allocated: self.bytes_allocated * n,
            bytes_freed: self.bytes_freed * n,
            peak_bytes: 0,
        }
    }

    fn with_peak_zero(self) -> Self {
        AllocStats {
            peak_bytes: 0,
            ..self
        }
    }
}
