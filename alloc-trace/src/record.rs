//! `ThreadRecord`: a thread's site and call-path tables, shared with reports.
//!
//! A record is created by a thread's first tracked call, listed in the registry (see
//! `threads`) so reports can read it, and folded into the process-wide numbers and freed
//! when the thread exits. Only the owning thread writes it or replaces its tables; other
//! threads read it only while holding the registry lock, which table replacement also
//! takes, so a reader never sees a freed table.

use core::ptr;
use core::sync::atomic::{AtomicPtr, AtomicUsize, Ordering::Relaxed};

use crate::slots::{AtomicTotals, PathSlot, SiteSlot};

/// A growable array whose pointer readers may load under the registry lock.
#[derive(Debug)]
pub(crate) struct Table<T> {
    ptr: AtomicPtr<T>,
    len: AtomicUsize,
}

impl<T> Table<T> {
    const fn empty() -> Self {
        Self {
            ptr: AtomicPtr::new(ptr::null_mut()),
            len: AtomicUsize::new(0),
        }
    }

    /// The current slots.
    ///
    /// # Safety
    ///
    /// The caller is the owning thread, or holds the registry lock (so the owner cannot
    /// replace and free the table meanwhile).
    pub(crate) unsafe fn as_slice(&self) -> &[T] {
        let (ptr, len) = (self.ptr.load(Relaxed), self.len.load(Relaxed));
        if ptr.is_null() {
            return &[];
        }
        // SAFETY: `ptr`/`len` describe the live boxed slice last installed by `replace`,
        // which stays allocated until the next `replace` or drop; the caller's contract
        // excludes both for the lifetime of the returned borrow.
        unsafe { &*ptr::slice_from_raw_parts(ptr, len) }
    }

    /// Installs `new`; returns a pointer to its first slot (for the owner's cache: it is
    /// derived from the installed box, so it stays valid until the next `replace`) and the
    /// previous table, for the caller to free.
    ///
    /// The caller holds the registry lock (or no other thread can see this table yet).
    pub(crate) fn replace(&self, new: Box<[T]>) -> (*const T, Option<Box<[T]>>) {
        let len = new.len();
        let new = Box::into_raw(new).cast::<T>();
        let old = self.ptr.swap(new, Relaxed);
        let old_len = self.len.swap(len, Relaxed);
        let old = (!old.is_null()).then(|| {
            // SAFETY: `old`/`old_len` came from `Box::into_raw` of a boxed slice in an
            // earlier `replace`, and the swap above made this the only owner.
            unsafe { Box::from_raw(ptr::slice_from_raw_parts_mut(old, old_len)) }
        });
        (new, old)
    }
}

impl<T> Drop for Table<T> {
    fn drop(&mut self) {
        drop(self.replace(Box::new([])).1);
    }
}

/// One thread's tables plus the totals it last published.
#[derive(Debug)]
pub(crate) struct ThreadRecord {
    /// The thread's counters as of its last tracked call that allocated.
    pub published: AtomicTotals,
    /// Its root-level tracked totals at that time (what was inside tracked code).
    pub published_tracked: AtomicTotals,
    pub sites: Table<SiteSlot>,
    pub paths: Table<PathSlot>,
}

impl ThreadRecord {
    pub(crate) const fn new() -> Self {
        Self {
            published: AtomicTotals::new(),
            published_tracked: AtomicTotals::new(),
            sites: Table::empty(),
            paths: Table::empty(),
        }
    }
}
