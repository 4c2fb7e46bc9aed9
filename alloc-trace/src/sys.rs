//! The crate's own memory: taken from `System` directly, never through the global
//! allocator, so that bookkeeping is never counted, never visible to a reader of a thread's
//! counters, and can be allocated from inside the counting allocator itself.
//!
//! Two shapes are needed: [`SysVec`], a growable array of plain values for data only one
//! thread touches at a time (the retired totals, under the registry lock; a report's scratch
//! space), and [`zeroed`]/[`free`] for the per-thread tables, which start zeroed (large ones
//! are then mapped lazily by the C library, so untouched entries cost no memory).

// No panic path (see the crate docs, "No panic path"): this code runs inside the global
// allocator, under the crate's locks, or on every tracked call.
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]
#![cfg_attr(not(test), deny(clippy::indexing_slicing, clippy::panic))]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#![cfg_attr(not(test), deny(clippy::unreachable, clippy::todo))]

use core::alloc::{GlobalAlloc, Layout};
use core::marker::PhantomData;
use core::ptr::{self, NonNull};
use std::alloc::System;

/// `len` zeroed values of `T` from `System`, or `None` if the request fails or overflows.
///
/// `T` must be valid when all-zero (the crate only uses it for atomics and integers).
pub(crate) fn zeroed<T>(len: usize) -> Option<NonNull<T>> {
    let layout = Layout::array::<T>(len).ok()?;
    if layout.size() == 0 {
        return Some(NonNull::dangling());
    }
    // SAFETY: the layout has a non-zero size.
    NonNull::new(unsafe { System.alloc_zeroed(layout) }.cast())
}

/// Frees what [`zeroed`] returned.
///
/// # Safety
///
/// `ptr` came from `zeroed::<T>(len)` with this `len`, and is not used afterwards.
pub(crate) unsafe fn free<T>(ptr: NonNull<T>, len: usize) {
    let Ok(layout) = Layout::array::<T>(len) else {
        return;
    };
    if layout.size() != 0 {
        // SAFETY: per the contract, `ptr` was allocated by `System` with this layout.
        unsafe { System.dealloc(ptr.as_ptr().cast(), layout) }
    }
}

/// `value`, moved into `System` memory (like a `Box` that the global allocator never
/// sees), or `None` if the request fails. Give it back with [`unbox`].
#[cfg(feature = "tracing")]
pub(crate) fn boxed<T>(value: T) -> Option<NonNull<T>> {
    let layout = Layout::new::<T>();
    let ptr = if layout.size() == 0 {
        NonNull::dangling()
    } else {
        // SAFETY: the layout has a non-zero size.
        NonNull::new(unsafe { System.alloc(layout) }.cast::<T>())?
    };
    // SAFETY: `ptr` is valid for writes of a `T` and suitably aligned (fresh from `System`
    // with `T`'s layout, or dangling for a zero-sized `T`).
    unsafe { ptr.as_ptr().write(value) };
    Some(ptr)
}

/// Moves the value out of what [`boxed`] returned, and frees its memory.
///
/// # Safety
///
/// `ptr` came from `boxed::<T>`, and is not used afterwards.
#[cfg(feature = "tracing")]
pub(crate) unsafe fn unbox<T>(ptr: NonNull<T>) -> T {
    // SAFETY: per the contract, `ptr` holds a `T` that nothing else reads again.
    let value = unsafe { ptr.as_ptr().read() };
    let layout = Layout::new::<T>();
    if layout.size() != 0 {
        // SAFETY: per the contract, `ptr` was allocated by `System` with this layout.
        unsafe { System.dealloc(ptr.as_ptr().cast(), layout) };
    }
    value
}

/// A growable array of `Copy` values in `System` memory. Growing it allocates from
/// `System`; a failed allocation leaves it as it was (the push is dropped, and
/// [`SysVec::push`] says so), never panics.
pub(crate) struct SysVec<T: Copy> {
    /// Null until the first allocation (so that a new one is all zeros: a budgeted call
    /// makes two on every call, see `record::Journal`).
    ptr: *mut T,
    len: usize,
    cap: usize,
    _owns: PhantomData<T>,
}

// SAFETY: a `SysVec` owns its values like a `Vec` does.
unsafe impl<T: Copy + Send> Send for SysVec<T> {}
// SAFETY: shared access only reads, like `&Vec<T>`.
unsafe impl<T: Copy + Sync> Sync for SysVec<T> {}

impl<T: Copy> SysVec<T> {
    pub(crate) const fn new() -> Self {
        Self {
            ptr: ptr::null_mut(),
            len: 0,
            cap: 0,
            _owns: PhantomData,
        }
    }

    #[inline(always)]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn as_slice(&self) -> &[T] {
        if self.ptr.is_null() {
            return &[];
        }
        // SAFETY: the first `len` values are initialised, at a non-null pointer.
        unsafe { core::slice::from_raw_parts(self.ptr, self.len) }
    }

    pub(crate) fn as_mut_slice(&mut self) -> &mut [T] {
        if self.ptr.is_null() {
            return &mut [];
        }
        // SAFETY: as for `as_slice`, and `&mut self` is unique.
        unsafe { core::slice::from_raw_parts_mut(self.ptr, self.len) }
    }

    /// Room for at least `cap` values. False if `System` could not provide it.
    pub(crate) fn reserve_total(&mut self, cap: usize) -> bool {
        if cap <= self.cap {
            return true;
        }
        let cap = cap.max(self.cap.saturating_mul(2)).max(8);
        let Ok(layout) = Layout::array::<T>(cap) else {
            return false;
        };
        if layout.size() == 0 {
            self.ptr = NonNull::dangling().as_ptr();
            self.cap = usize::MAX;
            return true;
        }
        // SAFETY: non-zero size.
        let Some(new) = NonNull::new(unsafe { System.alloc(layout) }.cast::<T>()) else {
            return false;
        };
        if self.len > 0 {
            // SAFETY: both regions are valid for `len` values (so `ptr` is not null) and
            // do not overlap.
            unsafe { ptr::copy_nonoverlapping(self.ptr, new.as_ptr(), self.len) };
        }
        self.release();
        self.ptr = new.as_ptr();
        self.cap = cap;
        true
    }

    /// Appends `value`; false if memory ran out (the value is dropped).
    pub(crate) fn push(&mut self, value: T) -> bool {
        // `len <= cap`, and `cap` values fit in memory: plus one does not wrap.
        if self.len == self.cap && !self.reserve_total(self.len.wrapping_add(1)) {
            return false;
        }
        // SAFETY: `len < cap`, so the slot is inside the allocation.
        unsafe { self.ptr.add(self.len).write(value) };
        self.len = self.len.wrapping_add(1);
        true
    }

    /// Grows to `len` values, the new ones `fill`; false if memory ran out (unchanged).
    pub(crate) fn resize(&mut self, len: usize, fill: T) -> bool {
        if len <= self.len {
            self.len = len;
            return true;
        }
        if !self.reserve_total(len) {
            return false;
        }
        for i in self.len..len {
            // SAFETY: `i < cap`.
            unsafe { self.ptr.add(i).write(fill) };
        }
        self.len = len;
        true
    }

    pub(crate) fn clear(&mut self) {
        self.len = 0;
    }

    /// Keeps the first `len` values (all of them if there are fewer).
    pub(crate) fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }

    /// Keeps the values `f` returns true for, in order; `f` may change them first.
    pub(crate) fn retain_mut(&mut self, mut f: impl FnMut(&mut T) -> bool) {
        let values = self.as_mut_slice();
        let mut kept = 0;
        for i in 0..values.len() {
            let Some(value) = values.get_mut(i) else {
                break;
            };
            if f(value) {
                let value = *value;
                if let Some(slot) = values.get_mut(kept) {
                    *slot = value;
                }
                // `kept <= i`, below `len`: it does not wrap.
                kept = kept.wrapping_add(1);
            }
        }
        self.truncate(kept);
    }

    fn release(&mut self) {
        if self.cap != 0 && self.cap != usize::MAX {
            if let Ok(layout) = Layout::array::<T>(self.cap) {
                // SAFETY: `ptr` was allocated by `System` with this layout.
                unsafe { System.dealloc(self.ptr.cast(), layout) };
            }
        }
    }
}

impl<T: Copy> Default for SysVec<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Copy> Drop for SysVec<T> {
    fn drop(&mut self) {
        self.release();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_and_keeps_its_values_without_counting() {
        let ((), stats) = crate::measure(|| {
            let mut v = SysVec::new();
            for i in 0..1000u64 {
                assert!(v.push(i));
            }
            assert!(v.resize(1500, 7));
            assert_eq!(v.len(), 1500);
            assert_eq!(v.as_slice()[999], 999);
            assert_eq!(v.as_slice()[1499], 7);
            v.as_mut_slice()[0] = 5;
            assert_eq!(v.as_slice()[0], 5);
        });
        assert_eq!(
            stats,
            crate::stats::AllocStats::default(),
            "System memory is never counted"
        );
    }

    #[test]
    fn retain_keeps_the_changed_values_in_order() {
        let mut v = SysVec::new();
        for i in 0..20u64 {
            assert!(v.push(i));
        }
        v.retain_mut(|x| {
            *x *= 10;
            *x % 30 != 0
        });
        assert_eq!(
            v.as_slice(),
            [10, 20, 40, 50, 70, 80, 100, 110, 130, 140, 160, 170, 190]
        );
        v.truncate(2);
        assert_eq!(v.as_slice(), [10, 20]);
        v.truncate(5);
        assert_eq!(v.as_slice(), [10, 20]);
        v.retain_mut(|_| false);
        assert_eq!(v.len(), 0);
    }

    #[cfg(feature = "tracing")]
    #[test]
    fn boxed_values_are_not_counted() {
        let (value, stats) = crate::measure(|| {
            let p = boxed([7u64; 8]).unwrap();
            // SAFETY: from `boxed`, not used afterwards.
            unsafe { unbox(p) }
        });
        assert_eq!(value, [7; 8]);
        assert_eq!(stats, crate::stats::AllocStats::default());
        // SAFETY: as above (a zero-sized value).
        unsafe { unbox(boxed(()).unwrap()) };
    }

    #[test]
    fn zeroed_tables() {
        let p = zeroed::<u64>(4096).unwrap();
        // SAFETY: 4096 zeroed u64s were just allocated.
        let s = unsafe { core::slice::from_raw_parts(p.as_ptr(), 4096) };
        assert!(s.iter().all(|&x| x == 0));
        // SAFETY: from `zeroed` with the same length.
        unsafe { free(p, 4096) };
    }
}
