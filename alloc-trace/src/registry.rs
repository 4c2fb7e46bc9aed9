//! The registry: every live thread that has allocated, and what exited threads did.
//!
//! A thread is listed at its first allocation (from inside the allocator: listing takes a
//! lock that never allocates and is never held while user code runs) and unlisted by its
//! exit hook, which folds its counters and tables into [`Retired`] first. Reports take the
//! lock and read every listed thread's counters and tables as they are at that moment:
//! the lock only guarantees that no listed thread's memory goes away meanwhile; the
//! threads themselves keep running and counting.
//!
//! # fork
//!
//! `pthread_atfork` handlers take the lock (and the call-path table's) before `fork` and
//! release it after, in both processes; in the child, which has only the forking thread,
//! every other thread is folded into the retired totals, so the child reports and tracks
//! as usual, with the parent's history up to the fork.

// No panic path (see the crate docs, "No panic path"): this code runs inside the global
// allocator, under the crate's locks, or on every tracked call.
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]
#![cfg_attr(not(test), deny(clippy::indexing_slicing, clippy::panic))]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#![cfg_attr(not(test), deny(clippy::unreachable, clippy::todo))]

use core::cell::UnsafeCell;
use core::ptr;
use core::sync::atomic::{AtomicBool, AtomicPtr, Ordering};

use crate::counters::Raw;
#[cfg(feature = "ownership")]
use crate::holding::{Held, Tenure};
use crate::lock::RawLock;
use crate::per_thread::PerThread;
use crate::slots::SiteValues;
use crate::stats::Totals;
use crate::sys::SysVec;

static LOCK: RawLock = RawLock::new();
/// The first listed thread (under `LOCK`).
static HEAD: AtomicPtr<PerThread> = AtomicPtr::new(ptr::null_mut());

/// What threads that exited (or were folded in a fork's child) did.
pub(crate) struct Retired {
    pub totals: Totals,
    /// By site id.
    pub sites: SysVec<SiteValues>,
    /// Exclusive numbers by path id.
    pub paths: SysVec<Totals>,
    /// Threads folded so far.
    pub threads: u64,
    /// What their blocks' paths hold, by path id (see `holding`).
    #[cfg(feature = "ownership")]
    pub held: SysVec<Held>,
}

struct RetiredCell(UnsafeCell<Retired>);

// SAFETY: the contents are only accessed under `LOCK`.
unsafe impl Sync for RetiredCell {}

static RETIRED: RetiredCell = RetiredCell(UnsafeCell::new(Retired {
    totals: Totals::ZERO,
    sites: SysVec::new(),
    paths: SysVec::new(),
    threads: 0,
    #[cfg(feature = "ownership")]
    held: SysVec::new(),
}));

/// The holder of the ownership view's process peak (see `ownership`): a listed thread, or
/// null. Under `LOCK`.
#[cfg(feature = "ownership")]
static HOLDER: AtomicPtr<PerThread> = AtomicPtr::new(ptr::null_mut());

/// The tenure of a holder that was unlisted (it exited, or was left behind by `fork`),
/// until a thread takes over and records it. Under `LOCK`.
#[cfg(feature = "ownership")]
struct LeftCell(UnsafeCell<Option<Tenure>>);

// SAFETY: the contents are only accessed under `LOCK`.
#[cfg(feature = "ownership")]
unsafe impl Sync for LeftCell {}

#[cfg(feature = "ownership")]
static LEFT: LeftCell = LeftCell(UnsafeCell::new(None));

/// What exited threads counted after another thread forced them, unnoticed (requests and
/// frees, and the bytes they moved), until a cold path of the ownership view takes it
/// (`ownership::absorb_exited`). Under `LOCK`.
#[cfg(feature = "ownership")]
struct UnnoticedCell(UnsafeCell<(u64, u64)>);

// SAFETY: the contents are only accessed under `LOCK`.
#[cfg(feature = "ownership")]
unsafe impl Sync for UnnoticedCell {}

#[cfg(feature = "ownership")]
static UNNOTICED: UnnoticedCell = UnnoticedCell(UnsafeCell::new((0, 0)));

/// Lists this thread. Called from inside the allocator, on the thread's first
/// allocation: no allocation, no panic.
pub(crate) fn list(t: &PerThread) {
    if t.links.listed.get() || t.links.exiting.get() {
        return;
    }
    fork::install();
    // `None`: this thread holds the lock already (a signal handler interrupted it while
    // it was being listed or was reporting); it is listed, or will be, by the holder.
    let Some(_guard) = LOCK.lock() else {
        return;
    };
    let me = ptr::from_ref(t).cast_mut();
    let head = HEAD.load(Ordering::Relaxed);
    t.links.next.store(head, Ordering::Relaxed);
    t.links.prev.store(ptr::null_mut(), Ordering::Relaxed);
    // SAFETY: listed threads are alive while listed (the lock is held).
    if let Some(h) = unsafe { head.as_ref() } {
        h.links.prev.store(me, Ordering::Relaxed);
    }
    HEAD.store(me, Ordering::Relaxed);
    t.links.listed.set(true);
}

/// Takes `t` out of the list. Under the lock.
fn unlist(t: &PerThread) {
    if !t.links.listed.replace(false) {
        return;
    }
    #[cfg(feature = "ownership")]
    if ptr::eq(HOLDER.load(Ordering::Relaxed), t) {
        // Its memory may go: what its tenure has to record is kept here.
        // SAFETY: under the lock.
        unsafe { *LEFT.0.get() = Some(t.holding.peak.tenure()) };
        HOLDER.store(ptr::null_mut(), Ordering::Relaxed);
        t.holding.peak.holds.store(false, Ordering::Relaxed);
    }
    let (next, prev) = (
        t.links.next.load(Ordering::Relaxed),
        t.links.prev.load(Ordering::Relaxed),
    );
    // SAFETY: listed threads are alive while listed (the lock is held).
    unsafe {
        match prev.as_ref() {
            Some(p) => p.links.next.store(next, Ordering::Relaxed),
            None => HEAD.store(next, Ordering::Relaxed),
        }
        if let Some(n) = next.as_ref() {
            n.links.prev.store(prev, Ordering::Relaxed);
        }
    }
}

/// Folds the calling (exiting) thread into the retired numbers, takes it out of the list
/// and frees its tables; its counters then start again from zero (see
/// `Counters::restart`), and it is never listed again.
pub(crate) fn fold_exiting(t: &PerThread) {
    let Some(_guard) = LOCK.lock() else {
        return;
    };
    #[cfg(feature = "ownership")]
    if let Some((events, bytes)) = t
        .holding
        .peak
        .unnoticed(t.counters.events(), t.counters.raw().moved_bytes())
    {
        // SAFETY: under the lock.
        let u = unsafe { &mut *UNNOTICED.0.get() };
        *u = (u.0.saturating_add(events), u.1.saturating_add(bytes));
    }
    unlist(t);
    t.links.exiting.set(true);
    // SAFETY: under the lock.
    let retired = unsafe { &mut *RETIRED.0.get() };
    fold_into(retired, t, &t.counters.raw());
    // SAFETY: the owner, with the lock held, after unlisting.
    unsafe { t.tables.free() };
    #[cfg(feature = "ownership")]
    {
        // SAFETY: as above.
        unsafe { t.holding.free() };
        t.holding.restart();
    }
    t.counters.restart();
    t.frames.mark.set(&Raw::START);
    t.frames.published_path.store(0, Ordering::Relaxed);
    t.frames.handed_off.store(0, Ordering::Relaxed);
}

/// Adds `t`'s counters (`raw`) and tables to `retired`.
fn fold_into(retired: &mut Retired, t: &PerThread, raw: &Raw) {
    retired.totals = retired.totals.plus(raw.totals());
    retired.threads = retired.threads.saturating_add(1);
    // SAFETY: `t` is the caller or a thread frozen by fork; the lock is held.
    let (sites, paths) = unsafe { t.tables.shared() };
    add_values(
        &mut retired.sites,
        sites.first,
        sites.entries.iter().map(|s| s.read()),
        SiteValues::merge,
    );
    add_values(
        &mut retired.paths,
        paths.first,
        paths.entries.iter().map(|p| p.read()),
        |a, b| {
            *a = a.plus(*b);
        },
    );
    #[cfg(feature = "ownership")]
    {
        // SAFETY: as above.
        let held = unsafe { t.holding.shared() };
        add_values(
            &mut retired.held,
            0,
            held.iter().map(|h| h.read()),
            Held::merge,
        );
    }
}

/// Adds `items`, the values of ids `first..`, to `sum` (indexed by id).
fn add_values<T: Copy + Default>(
    sum: &mut SysVec<T>,
    first: usize,
    items: impl ExactSizeIterator<Item = T>,
    add: impl Fn(&mut T, &T),
) {
    let end = first.saturating_add(items.len());
    if sum.len() < end {
        let _ = sum.resize(end, T::default());
    }
    let Some(window) = sum.as_mut_slice().get_mut(first..) else {
        return; // memory ran out: as before, what does not fit is not kept
    };
    for (total, item) in window.iter_mut().zip(items) {
        add(total, &item);
    }
}

/// A consistent view for reports: the retired numbers and every listed thread, alive
/// while the view is.
pub(crate) struct Everything<'a> {
    _guard: crate::lock::Guard<'a>,
    pub retired: &'a Retired,
}

impl Everything<'_> {
    /// Every listed thread.
    pub(crate) fn threads(&self) -> impl Iterator<Item = &PerThread> {
        // SAFETY: listed threads stay alive while the lock (held by `self`) is held.
        let first = unsafe { HEAD.load(Ordering::Relaxed).as_ref() };
        core::iter::successors(first, |t| {
            // SAFETY: as above.
            unsafe { t.links.next.load(Ordering::Relaxed).as_ref() }
        })
    }
}

#[cfg(feature = "ownership")]
impl Everything<'_> {
    /// The holder of the process peak, if a listed thread is.
    pub(crate) fn holder(&self) -> Option<&PerThread> {
        // SAFETY: `HOLDER` is null or a listed thread, alive while the lock is held.
        unsafe { HOLDER.load(Ordering::Relaxed).as_ref() }
    }

    /// Makes `me`, the calling thread, the holder. False if it is not listed (an exiting
    /// thread, or one whose exit hook could not be set: nothing would take it out of
    /// `HOLDER` before its memory goes).
    pub(crate) fn set_holder(&self, me: &PerThread) -> bool {
        if !me.links.listed.get() {
            return false;
        }
        HOLDER.store(ptr::from_ref(me).cast_mut(), Ordering::Relaxed);
        true
    }

    /// No thread holds the process peak: the threads share it (see `ownership`).
    pub(crate) fn clear_holder(&self) {
        HOLDER.store(ptr::null_mut(), Ordering::Relaxed);
    }

    /// The tenure of a holder that left the list, taken (recorded once).
    pub(crate) fn take_left(&self) -> Option<Tenure> {
        // SAFETY: under the lock, which `self` holds.
        unsafe { (*LEFT.0.get()).take() }
    }

    /// What exited threads counted unnoticed since the last call (see `UNNOTICED`).
    pub(crate) fn take_unnoticed(&self) -> Option<(u64, u64)> {
        // SAFETY: under the lock, which `self` holds.
        let u = unsafe { core::mem::take(&mut *UNNOTICED.0.get()) };
        (u.0 > 0).then_some(u)
    }
}

/// Locks the registry for a report. `None` if this thread holds it already (a report from
/// a signal handler that interrupted a report).
pub(crate) fn everything() -> Option<Everything<'static>> {
    let guard = LOCK.lock()?;
    // SAFETY: under the lock, and only read through the view.
    let retired = unsafe { &*RETIRED.0.get() };
    Some(Everything {
        _guard: guard,
        retired,
    })
}

mod fork {
    //! `pthread_atfork` handlers (see the module docs of `registry`).

    use super::{AtomicBool, LOCK, Ordering, PerThread, RETIRED, fold_into, unlist};

    static INSTALLED: AtomicBool = AtomicBool::new(false);

    pub(super) fn install() {
        if INSTALLED.swap(true, Ordering::AcqRel) {
            return;
        }
        #[cfg(unix)]
        // SAFETY: the three handlers are `extern "C" fn()`s that never unwind.
        unsafe {
            libc::pthread_atfork(Some(prepare), Some(parent), Some(child));
        }
    }

    extern "C" fn prepare() {
        LOCK.lock_for_fork();
        crate::paths::lock_for_fork();
    }

    extern "C" fn parent() {
        crate::paths::unlock_after_fork();
        LOCK.force_unlock();
    }

    extern "C" fn child() {
        crate::paths::unlock_after_fork();
        // The lock is held (by `prepare`, on this thread, which is the only one left).
        let me = crate::per_thread::with(core::ptr::from_ref).unwrap_or(core::ptr::null());
        // SAFETY: the lock is held; the other listed threads do not exist in this
        // process, but their memory does (it was copied), and nothing else touches it.
        unsafe {
            let retired = &mut *RETIRED.0.get();
            let mut cursor = super::HEAD.load(Ordering::Relaxed).cast_const();
            while let Some(t) = cursor.as_ref() {
                cursor = t.links.next.load(Ordering::Relaxed);
                if core::ptr::eq(t, me) {
                    continue;
                }
                fold_frozen(retired, t);
            }
        }
        LOCK.force_unlock();
    }

    /// Folds a thread that exists only in the parent: its numbers up to the fork (what it
    /// was doing since its mark counts as outside tracked code: its frames will never end).
    fn fold_frozen(retired: &mut super::Retired, t: &PerThread) {
        unlist(t);
        fold_into(retired, t, &t.counters.read_raw());
        // Its tables stay allocated: they are copies no one will free, and freeing them
        // would need the thread's own caches cleared.
    }
}
