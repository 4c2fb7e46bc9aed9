//! `CountingAlloc` over a custom inner allocator: every request is forwarded unchanged,
//! `alloc_zeroed` is counted like `alloc`, and a failed (null) request is not counted.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::hint::black_box;

use alloc_trace::{AllocStats, CountingAlloc, measure};

/// Forwards to `System`, counts `alloc_zeroed` calls, and fails on request.
struct Flaky;

thread_local! {
    static FAIL: Cell<bool> = const { Cell::new(false) };
    /// Per thread: libtest's own threads also zero memory (its result channel's first
    /// block) while a test runs.
    static ZEROED_CALLS: Cell<u64> = const { Cell::new(0) };
}

fn failing<R>(f: impl FnOnce() -> R) -> R {
    FAIL.with(|x| x.set(true));
    let r = f();
    FAIL.with(|x| x.set(false));
    r
}

fn should_fail() -> bool {
    FAIL.try_with(Cell::get).unwrap_or(false)
}

// SAFETY: forwards to `System` or returns null, which `GlobalAlloc` permits for failure.
unsafe impl GlobalAlloc for Flaky {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if should_fail() {
            return std::ptr::null_mut();
        }
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if should_fail() {
            return std::ptr::null_mut();
        }
        let _ = ZEROED_CALLS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: same contract as ours.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if should_fail() {
            return std::ptr::null_mut();
        }
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: CountingAlloc<Flaky> = CountingAlloc::new(Flaky);

#[test]
fn zeroed_allocations_go_through_alloc_zeroed_and_are_counted() {
    let before = ZEROED_CALLS.with(Cell::get);
    let ((), stats) = measure(|| drop(black_box(vec![0u64; 100])));
    assert_eq!(
        ZEROED_CALLS.with(Cell::get) - before,
        1,
        "vec![0; n] uses alloc_zeroed"
    );
    assert_eq!(
        (
            stats.allocs,
            stats.bytes_allocated,
            stats.frees,
            stats.bytes_freed
        ),
        (1, 800, 1, 800)
    );
}

#[test]
fn failed_requests_are_not_counted() {
    let layout = Layout::from_size_align(64, 8).unwrap();
    let (ptrs, stats) = measure(|| {
        failing(|| {
            // SAFETY: non-zero size; the results are null and never used. Through
            // `black_box`: in release, LLVM may drop an allocation whose result is only
            // compared with null, and assume it succeeded.
            unsafe {
                [
                    black_box(std::alloc::alloc(black_box(layout))),
                    black_box(std::alloc::alloc_zeroed(black_box(layout))),
                ]
            }
        })
    });
    assert!(ptrs.iter().all(|p| p.is_null()));
    assert_eq!(stats, AllocStats::default());
}

#[test]
fn a_failed_realloc_is_not_counted_and_keeps_the_block() {
    let layout = Layout::from_size_align(16, 8).unwrap();
    // SAFETY: non-zero size.
    let block = unsafe { std::alloc::alloc(layout) };
    assert!(!block.is_null());
    let (grown, stats) = measure(|| {
        // SAFETY: `block` is live with `layout`; 1024 is a valid new size.
        failing(|| black_box(unsafe { std::alloc::realloc(block, layout, 1024) }))
    });
    assert!(grown.is_null());
    assert_eq!(stats, AllocStats::default());
    let ((), freed) = measure(|| {
        // SAFETY: the failed realloc left `block` live with `layout`.
        unsafe { std::alloc::dealloc(block, layout) }
    });
    assert_eq!((freed.frees, freed.bytes_freed), (1, 16));
}

#[test]
fn the_inner_allocator_is_reachable() {
    let _: &Flaky = ALLOC.inner();
}
