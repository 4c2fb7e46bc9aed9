//! Per-thread accumulators for sites and call paths.
//!
//! A slot is written only by the thread that owns it, with relaxed atomic loads and
//! stores (plain moves on x86-64 and AArch64: no `lock` prefix, no contended cache line);
//! a report on another thread reads it under the registry lock. While the owner runs, a
//! reader may see one call's numbers half-added; once the thread has exited (and been
//! folded) or stopped making tracked calls, the numbers are exact.

use core::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};

use crate::counters::Totals;

/// `v += by` on a value only this thread writes.
#[inline]
fn bump(v: &AtomicU64, by: u64) {
    v.store(v.load(Relaxed).wrapping_add(by), Relaxed);
}

#[inline]
fn raise(v: &AtomicU64, to: u64) {
    if to > v.load(Relaxed) {
        v.store(to, Relaxed);
    }
}

/// A `u32` only the owning thread reads or writes (an atomic only so the slot is `Sync`).
#[derive(Debug)]
pub(crate) struct OwnerU32(AtomicU32);

impl OwnerU32 {
    pub(crate) fn get(&self) -> u32 {
        self.0.load(Relaxed)
    }

    pub(crate) fn set(&self, v: u32) {
        self.0.store(v, Relaxed);
    }
}

/// [`Totals`] in owner-written atomics.
#[derive(Debug, Default)]
pub(crate) struct AtomicTotals {
    allocs: AtomicU64,
    reallocs: AtomicU64,
    deallocs: AtomicU64,
    bytes_allocated: AtomicU64,
    bytes_freed: AtomicU64,
}

impl AtomicTotals {
    pub(crate) const fn new() -> Self {
        Self {
            allocs: AtomicU64::new(0),
            reallocs: AtomicU64::new(0),
            deallocs: AtomicU64::new(0),
            bytes_allocated: AtomicU64::new(0),
            bytes_freed: AtomicU64::new(0),
        }
    }

    #[inline]
    pub(crate) fn add(&self, t: Totals) {
        bump(&self.allocs, t.allocs);
        bump(&self.reallocs, t.reallocs);
        bump(&self.deallocs, t.deallocs);
        bump(&self.bytes_allocated, t.bytes_allocated);
        bump(&self.bytes_freed, t.bytes_freed);
    }

    pub(crate) fn store(&self, t: Totals) {
        self.allocs.store(t.allocs, Relaxed);
        self.reallocs.store(t.reallocs, Relaxed);
        self.deallocs.store(t.deallocs, Relaxed);
        self.bytes_allocated.store(t.bytes_allocated, Relaxed);
        self.bytes_freed.store(t.bytes_freed, Relaxed);
    }

    pub(crate) fn load(&self) -> Totals {
        Totals {
            allocs: self.allocs.load(Relaxed),
            reallocs: self.reallocs.load(Relaxed),
            deallocs: self.deallocs.load(Relaxed),
            bytes_allocated: self.bytes_allocated.load(Relaxed),
            bytes_freed: self.bytes_freed.load(Relaxed),
        }
    }
}

/// One site's numbers: a snapshot of a [`SiteSlot`], or a sum of several.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct SiteValues {
    pub calls: u64,
    pub inclusive: Totals,
    pub exclusive: Totals,
    pub max_allocs_per_call: u64,
    pub peak: u64,
}

impl SiteValues {
    /// Adds another thread's (or period's) numbers: sums, and maxima of maxima.
    pub(crate) fn merge(&mut self, o: &Self) {
        self.calls = self.calls.wrapping_add(o.calls);
        self.inclusive = self.inclusive.plus(o.inclusive);
        self.exclusive = self.exclusive.plus(o.exclusive);
        self.max_allocs_per_call = self.max_allocs_per_call.max(o.max_allocs_per_call);
        self.peak = self.peak.max(o.peak);
    }

    /// What happened between snapshot `before` and `self` on one thread. Maxima cannot be
    /// subtracted: `capture` resets them instead, so `self`'s maxima are the period's.
    pub(crate) fn since(&self, before: &Self) -> Self {
        Self {
            calls: self.calls.wrapping_sub(before.calls),
            inclusive: self.inclusive.minus(before.inclusive),
            exclusive: self.exclusive.minus(before.exclusive),
            max_allocs_per_call: self.max_allocs_per_call,
            peak: self.peak,
        }
    }
}

/// What a finished call (or one poll of an async call) did.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct CallNumbers {
    pub inclusive: Totals,
    pub exclusive: Totals,
    pub peak: u64,
    /// False for a recursive call inside an active call of the same site: its allocations
    /// are already in the outer call's inclusive numbers.
    pub outermost: bool,
}

impl CallNumbers {
    /// Adds one poll's numbers to an async call's running total.
    pub(crate) fn accumulate(&mut self, poll: &Self) {
        if poll.outermost {
            self.inclusive = self.inclusive.plus(poll.inclusive);
        }
        self.exclusive = self.exclusive.plus(poll.exclusive);
        self.peak = self.peak.max(poll.peak);
        self.outermost = true;
    }
}

/// A site's accumulator on one thread.
#[derive(Debug)]
pub(crate) struct SiteSlot {
    calls: AtomicU64,
    inclusive: AtomicTotals,
    exclusive: AtomicTotals,
    max_allocs_per_call: AtomicU64,
    peak: AtomicU64,
    /// One-entry cache of the call path this site gets under a parent path.
    pub(crate) cached_parent: OwnerU32,
    pub(crate) cached_path: OwnerU32,
}

impl Default for SiteSlot {
    fn default() -> Self {
        Self {
            calls: AtomicU64::new(0),
            inclusive: AtomicTotals::default(),
            exclusive: AtomicTotals::default(),
            max_allocs_per_call: AtomicU64::new(0),
            peak: AtomicU64::new(0),
            cached_parent: OwnerU32(AtomicU32::new(u32::MAX)),
            cached_path: OwnerU32(AtomicU32::new(0)),
        }
    }
}

impl SiteSlot {
    /// A copy for a larger table; the call-state fields move along.
    pub(crate) fn duplicate(&self) -> Self {
        let copy = Self::default();
        copy.set(&self.load());
        copy.cached_parent.set(self.cached_parent.get());
        copy.cached_path.set(self.cached_path.get());
        copy
    }

    /// A call that allocated nothing.
    #[inline]
    pub(crate) fn count_call(&self) {
        bump(&self.calls, 1);
    }

    /// The part of a call's numbers that accumulates per poll (or per call).
    #[inline]
    pub(crate) fn add_numbers(&self, n: &CallNumbers) {
        if n.outermost {
            self.inclusive.add(n.inclusive);
            raise(&self.peak, n.peak);
        }
        self.exclusive.add(n.exclusive);
    }

    /// Records the end of one call whose inclusive allocations were `call_allocs`.
    #[inline]
    pub(crate) fn finish_call(&self, call_allocs: u64) {
        bump(&self.calls, 1);
        raise(&self.max_allocs_per_call, call_allocs);
    }

    pub(crate) fn load(&self) -> SiteValues {
        SiteValues {
            calls: self.calls.load(Relaxed),
            inclusive: self.inclusive.load(),
            exclusive: self.exclusive.load(),
            max_allocs_per_call: self.max_allocs_per_call.load(Relaxed),
            peak: self.peak.load(Relaxed),
        }
    }

    fn set(&self, v: &SiteValues) {
        self.calls.store(v.calls, Relaxed);
        self.inclusive.store(v.inclusive);
        self.exclusive.store(v.exclusive);
        self.max_allocs_per_call
            .store(v.max_allocs_per_call, Relaxed);
        self.peak.store(v.peak, Relaxed);
    }

    /// Starts a period whose maxima can be read alone; returns the maxima to restore.
    pub(crate) fn reset_maxima(&self) -> (u64, u64) {
        (
            self.max_allocs_per_call.swap(0, Relaxed),
            self.peak.swap(0, Relaxed),
        )
    }

    /// Ends such a period: the slot's maxima become the larger of both periods'.
    pub(crate) fn restore_maxima(&self, (max_allocs, peak): (u64, u64)) {
        raise(&self.max_allocs_per_call, max_allocs);
        raise(&self.peak, peak);
    }
}

/// A call path's accumulator on one thread: what frames at exactly this path did
/// themselves (exclusive numbers), the weight of a folded-stack line.
#[derive(Debug, Default)]
pub(crate) struct PathSlot {
    exclusive: AtomicTotals,
}

impl PathSlot {
    #[inline]
    pub(crate) fn add(&self, t: Totals) {
        self.exclusive.add(t);
    }

    pub(crate) fn load(&self) -> Totals {
        self.exclusive.load()
    }

    pub(crate) fn duplicate(&self) -> Self {
        let copy = Self::default();
        copy.exclusive.store(self.load());
        copy
    }
}
