//! The floor: the least a counting allocator can do and still be useful. One `const`
//! thread-local of `Cell`s (no lazy init, no destructor), counting allocations, live bytes
//! and the peak of live bytes. Anything that counts costs at least this much.
//!
//! Two variants, because where the count happens decides what the compiler can emit:
//!
//! - [`FloorAlloc`] counts an allocation *after* the inner allocator returned a non-null
//!   pointer, as `CountingAlloc` must (a failed request is not an allocation). The call to
//!   `malloc` is then a real call: a stack frame, a saved register and a null test.
//! - [`PreCountFloorAlloc`] counts *before* forwarding, so `malloc` is a tail call (`jmp`),
//!   at the price of counting failed requests too.
//!
//! Both count a free before forwarding it (a free cannot fail), so `free` is a tail call.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// Counts successful allocations only (the semantics of `CountingAlloc`).
pub type FloorAlloc = Floor<false>;

/// Counts every allocation request before forwarding it, failed ones included.
pub type PreCountFloorAlloc = Floor<true>;

/// A `System` wrapper that counts allocations and keeps live bytes and their peak on a
/// thread-local, nothing else. `COUNT_FIRST`: count before forwarding an allocation.
#[derive(Debug, Default, Clone, Copy)]
pub struct Floor<const COUNT_FIRST: bool>;

struct Counters {
    allocs: Cell<u64>,
    live: Cell<i64>,
    peak: Cell<i64>,
}

thread_local! {
    static COUNTERS: Counters = const {
        Counters { allocs: Cell::new(0), live: Cell::new(0), peak: Cell::new(0) }
    };
}

#[inline(always)]
fn grow(bytes: i64) {
    let _ = COUNTERS.try_with(|c| {
        c.allocs.set(c.allocs.get().wrapping_add(1));
        let live = c.live.get().wrapping_add(bytes);
        c.live.set(live);
        if live > c.peak.get() {
            c.peak.set(live);
        }
    });
}

/// Allocations (including reallocations) this thread has made so far.
#[must_use]
pub fn allocs() -> u64 {
    COUNTERS.try_with(|c| c.allocs.get()).unwrap_or(0)
}

impl<const COUNT_FIRST: bool> Floor<COUNT_FIRST> {
    #[inline(always)]
    fn counted(ptr: *mut u8, bytes: i64) -> *mut u8 {
        if !COUNT_FIRST && !ptr.is_null() {
            grow(bytes);
        }
        ptr
    }
}

// SAFETY: every method forwards to `System` with the caller's arguments and returns its
// result unchanged; the counting touches only this thread's `Cell`s and never allocates.
unsafe impl<const COUNT_FIRST: bool> GlobalAlloc for Floor<COUNT_FIRST> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNT_FIRST {
            grow(layout.size() as i64);
        }
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract.
        Self::counted(unsafe { System.alloc(layout) }, layout.size() as i64)
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if COUNT_FIRST {
            grow(layout.size() as i64);
        }
        // SAFETY: the caller upholds `GlobalAlloc::alloc_zeroed`'s contract.
        Self::counted(unsafe { System.alloc_zeroed(layout) }, layout.size() as i64)
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let _ = COUNTERS.try_with(|c| c.live.set(c.live.get().wrapping_sub(layout.size() as i64)));
        // SAFETY: the caller upholds `GlobalAlloc::dealloc`'s contract; `ptr` came from
        // `System` through this wrapper.
        unsafe { System.dealloc(ptr, layout) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let delta = new_size as i64 - layout.size() as i64;
        if COUNT_FIRST {
            grow(delta);
        }
        // SAFETY: the caller upholds `GlobalAlloc::realloc`'s contract, as above.
        Self::counted(unsafe { System.realloc(ptr, layout, new_size) }, delta)
    }
}
