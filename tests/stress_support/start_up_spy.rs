//! An inner allocator for tests of process-wide totals: `System`, plus a per-thread count
//! of what std allocates on a new thread before the thread's own code starts.

#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// The inner allocator: `System`, plus a count of what each thread allocates before its
/// own code starts.
///
/// std allocates on a new thread before running its closure: its stack-overflow handler
/// keeps a `BTreeMap` of live threads (`std::sys::pal::unix::stack_overflow::thread_info`),
/// whose nodes are allocated when it grows, which depends on how many threads are alive
/// at that moment. These allocations are real and `process_stats` counts them; nothing
/// inside the thread can measure them, so this spy does, per thread, for the thread to
/// report once its closure runs.
pub struct StartUpSpy;

thread_local! {
    static USER_CODE_STARTED: Cell<bool> = const { Cell::new(false) };
    static START_UP: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
}

impl StartUpSpy {
    /// Notes a block the inner allocator made for `outer`: the user's size, which with the
    /// ownership view is `outer` less its header (as large as the block's alignment, at
    /// least 16 bytes: see alloc-trace's `header`).
    fn note(outer: Layout) {
        let size = if cfg!(feature = "ownership") {
            outer.size() - outer.align()
        } else {
            outer.size()
        };
        Self::note_size(size);
    }

    fn note_size(size: usize) {
        let _ = USER_CODE_STARTED.try_with(|started| {
            if !started.get() {
                let _ = START_UP.try_with(|s| {
                    let (n, bytes) = s.get();
                    s.set((n + 1, bytes + size as u64));
                });
            }
        });
    }

    /// Marks the start of the calling thread's own code; returns `(allocs, bytes)` that
    /// the thread made before.
    pub fn user_code_starts() -> (u64, u64) {
        USER_CODE_STARTED.with(|s| s.set(true));
        START_UP.with(Cell::get)
    }
}

// SAFETY: forwards every call to `System` unchanged; the bookkeeping touches only this
// thread's `Cell`s (const thread-locals without destructors), never allocates or unwinds.
unsafe impl GlobalAlloc for StartUpSpy {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `alloc`'s contract.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            Self::note(layout);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `alloc_zeroed`'s contract.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            Self::note(layout);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller upholds `dealloc`'s contract.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // Not expected before a thread's code starts; `realloc` reaches here only through
        // `CountingAlloc`, which counts it as a reallocation.
        // SAFETY: the caller upholds `realloc`'s contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}
