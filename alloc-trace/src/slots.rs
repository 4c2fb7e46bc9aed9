//! The entries of a thread's tables: one per site ([`SiteSlot`]) and one per call path
//! ([`PathSlot`]), and the numbers a finished call or poll hands to its site.
//!
//! Only the owning thread writes an entry ([`Owned`] values); reports on other threads
//! read them atomically. All-zero is a valid, empty entry, so tables start as zeroed
//! memory, which large tables get lazily from the system.

// No panic path (see the crate docs, "No panic path"): this code runs inside the global
// allocator, under the crate's locks, or on every tracked call.
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]
#![cfg_attr(not(test), deny(clippy::indexing_slicing, clippy::panic))]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#![cfg_attr(not(test), deny(clippy::unreachable, clippy::todo))]

use core::sync::atomic::{AtomicU32, Ordering::Relaxed};

use crate::counters::{Counters, Owned, Raw, SharedRaw};
use crate::site::SLOT_SHIFT;
use crate::stats::Totals;

/// What a site's calls did on one thread, beyond the allocations themselves (those are in
/// the path entries, by call path).
#[derive(Debug)]
#[repr(C, align(64))]
pub(crate) struct SiteSlot {
    /// Completed calls.
    pub(crate) calls: Owned,
    /// The most `allocs` (public sense: reallocs included) one call made.
    pub(crate) max_allocs: Owned,
    /// The most live bytes one call reached above its start.
    pub(crate) peak: Owned,
    /// Calls of an `async fn` polled for the first time on this thread (their completion
    /// may be counted on another): `started - calls` over all threads is what is in flight.
    pub(crate) started: Owned,
    /// One-entry cache of the call path this site gets under a parent path: the parent
    /// plus one (0: empty), and the path.
    pub(crate) cached_parent: AtomicU32,
    pub(crate) cached_path: AtomicU32,
    /// The journal (see `record`) that last recorded this entry.
    pub(crate) epoch: AtomicU32,
}

const _: () = assert!(size_of::<SiteSlot>() == 1 << SLOT_SHIFT);

/// What a call path's frames did themselves, on one thread: the exclusive numbers of the
/// innermost function of the path when called along it.
#[derive(Debug)]
#[repr(C, align(64))]
pub(crate) struct PathSlot {
    /// Differences of raw counters (see [`Raw::since`]), added up.
    allocs: Owned,
    reallocs: Owned,
    deallocs: Owned,
    bytes_allocated: Owned,
    bytes_freed: Owned,
    /// One-entry cache of the child path last interned under this path: its site id plus
    /// one (0: empty), and the path. (For recursion, which the site's cache cannot hold.)
    pub(crate) child_site: AtomicU32,
    pub(crate) child_path: AtomicU32,
    /// The journal that last recorded this entry.
    pub(crate) epoch: AtomicU32,
}

const _: () = assert!(size_of::<PathSlot>() == 64);

impl PathSlot {
    /// Adds what happened between two snapshots of the owner's counters.
    #[inline(always)]
    pub(crate) fn add_between(&self, from: &Raw, to: &Raw) {
        self.add(to.since(from));
    }

    #[inline(always)]
    pub(crate) fn add(&self, t: Totals) {
        self.allocs.add(t.allocs);
        self.reallocs.add(t.reallocs);
        self.deallocs.add(t.deallocs);
        self.bytes_allocated.add(t.bytes_allocated);
        self.bytes_freed.add(t.bytes_freed);
    }

    /// Adds what the counters moved since `mark`, and moves `mark` to them.
    #[inline(always)]
    pub(crate) fn add_since_and_advance(&self, counters: &Counters, mark: &SharedRaw) {
        let mine = [
            &self.allocs,
            &self.reallocs,
            &self.deallocs,
            &self.bytes_allocated,
            &self.bytes_freed,
        ];
        for ((total, counter), marked) in mine.into_iter().zip(counters.fields()).zip(mark.fields())
        {
            let now = counter.get();
            total.add(now.wrapping_sub(marked.get()));
            marked.set(now);
        }
    }

    /// Read by the owner.
    pub(crate) fn get(&self) -> Totals {
        Totals {
            allocs: self.allocs.get(),
            reallocs: self.reallocs.get(),
            deallocs: self.deallocs.get(),
            bytes_allocated: self.bytes_allocated.get(),
            bytes_freed: self.bytes_freed.get(),
        }
    }

    /// Read by any thread.
    pub(crate) fn read(&self) -> Totals {
        Totals {
            allocs: self.allocs.read(),
            reallocs: self.reallocs.read(),
            deallocs: self.deallocs.read(),
            bytes_allocated: self.bytes_allocated.read(),
            bytes_freed: self.bytes_freed.read(),
        }
    }
}

/// One site's numbers on one thread (or summed over threads), without the allocations.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub(crate) struct SiteValues {
    pub calls: u64,
    pub max_allocs: u64,
    pub peak: u64,
    pub started: u64,
}

impl SiteValues {
    /// Adds another thread's (or period's) numbers: sums, and maxima of maxima.
    pub(crate) fn merge(&mut self, o: &Self) {
        self.calls = self.calls.wrapping_add(o.calls);
        self.max_allocs = self.max_allocs.max(o.max_allocs);
        self.peak = self.peak.max(o.peak);
        self.started = self.started.wrapping_add(o.started);
    }
}

impl SiteSlot {
    /// Read by any thread.
    pub(crate) fn read(&self) -> SiteValues {
        SiteValues {
            calls: self.calls.read(),
            max_allocs: self.max_allocs.read(),
            peak: self.peak.read(),
            started: self.started.read(),
        }
    }

    /// Read by the owner.
    pub(crate) fn get(&self) -> SiteValues {
        SiteValues {
            calls: self.calls.get(),
            max_allocs: self.max_allocs.get(),
            peak: self.peak.get(),
            started: self.started.get(),
        }
    }

    /// The end of one call: `n` is what the whole call did.
    #[inline]
    pub(crate) fn finish_call(&self, n: &CallSummary) {
        self.calls.add(1);
        self.max_allocs.raise(n.allocs);
        self.peak.raise(n.peak);
    }

    #[inline(always)]
    pub(crate) fn cached_path(&self, parent: u32) -> Option<u32> {
        (self.cached_parent.load(Relaxed) == parent.wrapping_add(1))
            .then(|| self.cached_path.load(Relaxed))
    }

    #[inline(always)]
    pub(crate) fn cache_path(&self, parent: u32, path: u32) {
        self.cached_parent.store(parent.wrapping_add(1), Relaxed);
        self.cached_path.store(path, Relaxed);
    }
}

impl PathSlot {
    #[inline(always)]
    pub(crate) fn cached_child(&self, site: u32) -> Option<u32> {
        (self.child_site.load(Relaxed) == site.wrapping_add(1))
            .then(|| self.child_path.load(Relaxed))
    }

    #[inline(always)]
    pub(crate) fn cache_child(&self, site: u32, path: u32) {
        self.child_site.store(site.wrapping_add(1), Relaxed);
        self.child_path.store(path, Relaxed);
    }
}

/// What a finished call (or one poll of an async call) did, nested calls included: what
/// its site keeps per call, and what budgets check.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct CallNumbers {
    pub done: Totals,
    /// The most live bytes above the call's start.
    pub peak: u64,
}

impl CallNumbers {
    /// `allocs` in the public sense (reallocs included).
    pub(crate) const fn allocs(&self) -> u64 {
        self.done.requests()
    }

    pub(crate) const fn bytes_allocated(&self) -> u64 {
        self.done.bytes_allocated
    }

    /// In the public vocabulary.
    pub(crate) const fn stats(&self) -> crate::stats::AllocStats {
        self.done.with_peak(self.peak)
    }

    /// What a site keeps of it.
    #[inline(always)]
    pub(crate) const fn summary(&self) -> CallSummary {
        CallSummary {
            allocs: self.allocs(),
            bytes_allocated: self.bytes_allocated(),
            peak: self.peak,
        }
    }
}

/// The part of a call's numbers that a site keeps and budgets check: small, so that an
/// `async fn`'s future can carry it across its polls.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct CallSummary {
    /// `allocs` in the public sense (reallocs included).
    pub allocs: u64,
    pub bytes_allocated: u64,
    /// The most live bytes above the call's start (for an async call: of one poll).
    pub peak: u64,
}

impl CallSummary {
    /// Adds one poll's numbers to an async call's running total.
    #[inline(always)]
    pub(crate) fn accumulate(&mut self, poll: &Self) {
        self.allocs = self.allocs.wrapping_add(poll.allocs);
        self.bytes_allocated = self.bytes_allocated.wrapping_add(poll.bytes_allocated);
        self.peak = self.peak.max(poll.peak);
    }
}
