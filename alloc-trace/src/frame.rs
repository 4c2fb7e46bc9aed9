//! Frames: the per-call bookkeeping behind `#[track_allocs]`.
//!
//! A frame reads this thread's counters when a tracked call starts and again when it ends,
//! so attribution costs a few instructions per *call* and nothing per allocation. Frames
//! are strictly nested on a thread (async functions open one per poll), which lets a
//! single running sum stand in for a stack:
//!
//! - `tracked` is the inclusive total of every frame that has ended at the current depth
//!   or below. A frame remembers it at entry; at exit, `tracked - remembered` is what its
//!   nested frames did, and it sets `tracked = remembered + own inclusive`. No per-depth
//!   storage exists, so nesting has no fixed limit. At the root, `tracked` is everything
//!   that happened inside tracked code.
//! - The thread's peak is handled the same way by a `PeakWindow`.

use core::cell::Cell;
use core::ptr;
use core::sync::atomic::Ordering::Relaxed;

use crate::counters::{self, PeakWindow, Totals};
use crate::paths;
use crate::record::ThreadRecord;
use crate::site::Site;
use crate::slots::{CallNumbers, PathSlot, SiteSlot};
use crate::threads;

pub(crate) struct FrameState {
    /// See the module docs.
    tracked: Cell<Totals>,
    /// Call path of the innermost active frame.
    path: Cell<u32>,
    /// The owner's cached view of its record's tables (see `record`).
    sites: Cell<*const SiteSlot>,
    sites_len: Cell<usize>,
    paths: Cell<*const PathSlot>,
    paths_len: Cell<usize>,
    record: Cell<*const ThreadRecord>,
}

thread_local! {
    static FRAMES: FrameState = const {
        FrameState {
            tracked: Cell::new(Totals::ZERO),
            path: Cell::new(paths::ROOT),
            sites: Cell::new(ptr::null()),
            sites_len: Cell::new(0),
            paths: Cell::new(ptr::null()),
            paths_len: Cell::new(0),
            record: Cell::new(ptr::null()),
        }
    };
}

impl FrameState {
    /// The slot of site `id`; the table must already be long enough.
    #[inline]
    fn site(&self, id: u32) -> &SiteSlot {
        debug_assert!((id as usize) < self.sites_len.get());
        // SAFETY: `enter` grew the table past `id` before any frame of this site existed,
        // tables never shrink, and only this thread replaces them (keeping this cache in
        // step), so the pointer is live and the index in bounds.
        unsafe { &*self.sites.get().add(id as usize) }
    }

    fn path_slot(&self, path: u32) -> &PathSlot {
        if path as usize >= self.paths_len.get() {
            grow_paths(self, path as usize + 1);
        }
        // SAFETY: as for `site`: the table was just grown past `path` if needed.
        unsafe { &*self.paths.get().add(path as usize) }
    }

    fn record(&self) -> &'static ThreadRecord {
        let record = self.record.get();
        if !record.is_null() {
            // SAFETY: a record stays allocated until this thread's exit hook takes it
            // (and resets this pointer) in `take_record`.
            return unsafe { &*record };
        }
        let record = threads::register(ThreadRecord::new());
        self.record.set(record);
        record
    }
}

/// One active tracked call (or poll).
#[derive(Debug)]
pub(crate) struct Frame {
    site: u32,
    outermost: bool,
    parent_path: u32,
    path: u32,
    entry: Totals,
    entry_tracked: Totals,
    window: PeakWindow,
}

impl Frame {
    #[inline]
    pub(crate) fn enter(site: &'static Site) -> Option<Self> {
        let id = site.id();
        FRAMES
            .try_with(|s| {
                if id as usize >= s.sites_len.get() {
                    grow_sites(s, id as usize + 1);
                }
                let slot = s.site(id);
                let active = slot.active.load(Relaxed);
                slot.active.store(active + 1, Relaxed);
                let parent_path = s.path.get();
                let path = if slot.cached_parent.load(Relaxed) == parent_path {
                    slot.cached_path.load(Relaxed)
                } else {
                    let path = paths::intern(parent_path, id);
                    slot.cached_parent.store(parent_path, Relaxed);
                    slot.cached_path.store(path, Relaxed);
                    path
                };
                s.path.set(path);
                let entry = counters::totals();
                Frame {
                    site: id,
                    outermost: active == 0,
                    parent_path,
                    path,
                    entry,
                    entry_tracked: s.tracked.get(),
                    window: PeakWindow::open(&entry),
                }
            })
            .ok()
    }

    /// Ends the frame. `None` means nothing was allocated or freed during it.
    #[inline]
    pub(crate) fn exit(self, record: impl FnOnce(&SiteSlot, Option<&CallNumbers>)) {
        let _ = FRAMES.try_with(|s| {
            s.path.set(self.parent_path);
            let slot = s.site(self.site);
            slot.active.store(slot.active.load(Relaxed).wrapping_sub(1), Relaxed);
            let now = counters::totals();
            if now.same_bytes(&self.entry) {
                self.window.close_untouched();
                record(slot, None);
            } else {
                let site = self.site;
                let numbers = self.finish(s, now);
                record(s.site(site), Some(&numbers));
            }
        });
    }

    #[inline(never)]
    fn finish(self, s: &FrameState, now: Totals) -> CallNumbers {
        let peak = self.window.close();
        let inclusive = now.minus(self.entry);
        let nested = s.tracked.get().minus(self.entry_tracked);
        let exclusive = inclusive.minus(nested);
        let tracked = self.entry_tracked.plus(inclusive);
        s.tracked.set(tracked);
        s.path_slot(self.path).add(exclusive);
        let record = s.record();
        record.published.store(now);
        if s.path.get() == paths::ROOT {
            record.published_tracked.store(tracked);
        }
        CallNumbers { inclusive, exclusive, peak, outermost: self.outermost }
    }
}

#[cold]
#[inline(never)]
fn grow_sites(s: &FrameState, needed: usize) {
    counters::untracked(|| {
        let record = s.record();
        // SAFETY: this is the owning thread.
        let old = unsafe { record.sites.as_slice() };
        let len = needed.max(old.len() * 2).max(16);
        let new: Box<[SiteSlot]> =
            (0..len).map(|i| old.get(i).map_or_else(SiteSlot::default, SiteSlot::duplicate)).collect();
        let ptr = new.as_ptr();
        let old = threads::with_registry_locked(|| record.sites.replace(new));
        s.sites.set(ptr);
        s.sites_len.set(len);
        drop(old);
    });
}

#[cold]
#[inline(never)]
fn grow_paths(s: &FrameState, needed: usize) {
    counters::untracked(|| {
        let record = s.record();
        // SAFETY: this is the owning thread.
        let old = unsafe { record.paths.as_slice() };
        let len = needed.max(old.len() * 2).max(64).min(paths::ID_LIMIT).max(needed);
        let new: Box<[PathSlot]> =
            (0..len).map(|i| old.get(i).map_or_else(PathSlot::default, PathSlot::duplicate)).collect();
        let ptr = new.as_ptr();
        let old = threads::with_registry_locked(|| record.paths.replace(new));
        s.paths.set(ptr);
        s.paths_len.set(len);
        drop(old);
    });
}

/// This thread's record, if it made a tracked call.
pub(crate) fn this_record() -> Option<&'static ThreadRecord> {
    let record = FRAMES.try_with(|s| s.record.get()).ok()?;
    // SAFETY: see `FrameState::record`.
    (!record.is_null()).then(|| unsafe { &*record })
}

/// Detaches this thread's record for the exit hook, which frees it; a later tracked call
/// (from a late destructor) would start a new one.
pub(crate) fn take_record() -> Option<&'static ThreadRecord> {
    let record = this_record()?;
    let _ = FRAMES.try_with(|s| {
        s.record.set(ptr::null());
        s.sites.set(ptr::null());
        s.sites_len.set(0);
        s.paths.set(ptr::null());
        s.paths_len.set(0);
    });
    Some(record)
}

/// What this thread did inside tracked frames that have ended at the root.
pub(crate) fn tracked_totals() -> Totals {
    FRAMES.try_with(|s| s.tracked.get()).unwrap_or(Totals::ZERO)
}

/// A snapshot of this thread's tables, for `capture`.
pub(crate) fn with_own_tables<R>(f: impl FnOnce(&[SiteSlot], &[PathSlot]) -> R) -> R {
    let Some(record) = this_record() else {
        return f(&[], &[]);
    };
    // SAFETY: this is the owning thread.
    let (sites, paths) = unsafe { (record.sites.as_slice(), record.paths.as_slice()) };
    f(sites, paths)
}

/// Runs `f` on this thread's slot of `site`, outside any frame.
pub(crate) fn with_site_slot(site: &'static Site, f: impl FnOnce(&SiteSlot)) {
    let id = site.id();
    let _ = FRAMES.try_with(|s| {
        if id as usize >= s.sites_len.get() {
            grow_sites(s, id as usize + 1);
        }
        f(s.site(id));
    });
}
