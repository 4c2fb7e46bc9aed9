//! `CountingAlloc`: the global allocator wrapper.

// No panic path (see the crate docs, "No panic path"): this code runs inside the global
// allocator, under the crate's locks, or on every tracked call.
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]
#![cfg_attr(not(test), deny(clippy::indexing_slicing, clippy::panic))]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#![cfg_attr(not(test), deny(clippy::unreachable, clippy::todo))]

use core::alloc::{GlobalAlloc, Layout};
use std::alloc::System;

#[cfg(not(feature = "ownership"))]
use crate::per_thread::{self, PerThread};
#[cfg(not(feature = "ownership"))]
use crate::thread_exit;

/// A global allocator that counts every request on the calling thread, then forwards it to
/// an inner allocator (`System` by default).
///
/// Install it once per binary:
///
/// ```
/// use alloc_trace::CountingAlloc;
///
/// #[global_allocator]
/// static ALLOC: CountingAlloc = CountingAlloc::system();
/// # fn main() {}
/// ```
///
/// Or wrap another allocator: `CountingAlloc::new(MyAlloc)`.
///
/// # Implementation
///
/// Counting touches only a `const`-initialised thread-local with no destructor: five
/// counters and a peak in `Cell`s. No lock, no atomic read-modify-write, no allocation and
/// no panic path; a failed (null) request is forwarded but not counted. Per call, the
/// added cost is a handful of instructions (see `BENCHMARKS.md`). A report on another
/// thread reads the counters as they are when it is built; a thread's first allocation
/// lists it where reports find it, and its exit folds it into the process-wide totals.
#[derive(Debug, Default, Clone, Copy)]
pub struct CountingAlloc<A = System> {
    inner: A,
}

impl CountingAlloc<System> {
    /// A counting wrapper around the system allocator, for `#[global_allocator]`.
    #[must_use]
    pub const fn system() -> Self {
        Self { inner: System }
    }
}

impl<A> CountingAlloc<A> {
    /// A counting wrapper around `inner`.
    #[must_use]
    pub const fn new(inner: A) -> Self {
        Self { inner }
    }

    /// The wrapped allocator.
    #[must_use]
    pub const fn inner(&self) -> &A {
        &self.inner
    }
}

/// Counts an allocation on this thread; arms its exit hook on its first one.
#[cfg(not(feature = "ownership"))]
#[inline(always)]
fn count_alloc(size: usize) {
    let _ = per_thread::with(|t| {
        if t.counters.on_alloc(size) {
            thread_exit::arm(t);
        }
    });
}

/// The end of a thread's first free (see `CountingAlloc::dealloc`).
///
/// # Safety
///
/// As `GlobalAlloc::dealloc` on `inner`.
#[cfg(not(feature = "ownership"))]
#[cold]
#[inline(never)]
unsafe fn first_dealloc<A: GlobalAlloc>(ptr: *mut u8, layout: Layout, inner: &A) {
    let _ = per_thread::with(thread_exit::arm);
    // SAFETY: the caller upholds `GlobalAlloc::dealloc`'s contract for `inner`.
    unsafe { inner.dealloc(ptr, layout) }
}

/// Counts a free; true on the thread's first.
#[cfg(not(feature = "ownership"))]
#[inline(always)]
fn count_dealloc(size: usize) -> bool {
    per_thread::with(|t: &PerThread| t.counters.on_dealloc(size)).unwrap_or(false)
}

// SAFETY: every method forwards to `inner` with the caller's arguments unchanged and
// returns its result unchanged, so `inner`'s guarantees hold for callers. The counting
// around each call touches only this thread's `Cell`s, never allocates, never unwinds and
// never reads or writes the memory it is handed.
#[cfg(not(feature = "ownership"))]
unsafe impl<A: GlobalAlloc> GlobalAlloc for CountingAlloc<A> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract for `layout`.
        let ptr = unsafe { self.inner.alloc(layout) };
        if !ptr.is_null() {
            count_alloc(layout.size());
        }
        ptr
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::alloc_zeroed`'s contract for `layout`.
        let ptr = unsafe { self.inner.alloc_zeroed(layout) };
        if !ptr.is_null() {
            count_alloc(layout.size());
        }
        ptr
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // PERF: counted before forwarding (a free cannot fail), and the thread's first
        // free finished in a cold function that forwards too, so that both forwarding
        // calls are tail calls: no stack frame, no register kept across a call.
        if count_dealloc(layout.size()) {
            // SAFETY: as below.
            // PERF: `inner` last, so that `ptr` and `layout` stay in the registers the
            // forwarding call takes them in.
            return unsafe { first_dealloc(ptr, layout, &self.inner) };
        }
        // SAFETY: the caller guarantees `ptr` came from this allocator with `layout`, and
        // every block this allocator hands out came from `inner`.
        unsafe { self.inner.dealloc(ptr, layout) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::realloc`'s contract; `ptr` came from
        // `inner` as above.
        let new = unsafe { self.inner.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            let _ = per_thread::with(|t| {
                if t.counters.on_realloc(layout.size(), new_size) {
                    thread_exit::arm(t);
                }
            });
        }
        new
    }
}

// SAFETY: with the ownership view, every method asks `inner` for the caller's block plus a
// header in front of it, at an alignment that is at least the caller's (see `header`):
// the caller gets a pointer aligned as asked, to at least the bytes asked for, that stays
// valid until freed, as `GlobalAlloc` requires; frees and reallocs give `inner` back
// exactly the block and layout it handed out. The header is written only inside the block
// `inner` returned, below the caller's bytes, and the rest of the block is never touched
// (`alloc_zeroed`'s bytes stay zero). The counting touches only this thread's state, never
// allocates and never unwinds.
#[cfg(feature = "ownership")]
unsafe impl<A: GlobalAlloc> GlobalAlloc for CountingAlloc<A> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { crate::ownership::alloc(&self.inner, layout, false) }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::alloc_zeroed`'s contract.
        unsafe { crate::ownership::alloc(&self.inner, layout, true) }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller guarantees `ptr` came from this allocator with `layout`.
        unsafe { crate::ownership::dealloc(&self.inner, ptr, layout) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::realloc`'s contract.
        unsafe { crate::ownership::realloc(&self.inner, ptr, layout, new_size) }
    }
}
