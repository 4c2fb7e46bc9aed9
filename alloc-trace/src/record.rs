//! A thread's tables: one entry per site (indexed by site id) and one per call path
//! (indexed by path id), found by the owner through a cached pointer and length, and read
//! by reports on other threads through a published pointer.
//!
//! A table is a *window* of ids, `first..first + len`: it covers the ids this thread
//! touched, not every id below them. Ids are handed out process-wide in first-use order,
//! so a thread started late in a program with 100,000 sites would otherwise pay for (and
//! zero, and copy) 100,000 entries to count its first call. PERF: the window costs the
//! hot path one subtraction; the bounds check stays one compare.
//!
//! Growing a table copies it into a larger zeroed one and publishes that; the old one is
//! kept until the thread exits, so a report that loaded the old pointer reads valid (if
//! slightly older) memory, and growing needs no lock. Tables are `System` memory (see
//! `sys`): never counted.
//!
//! While a [`Journal`] is open (a `capture`, or a budgeted call), every entry the thread
//! touches is recorded with its values at first touch, so that what the closure did can
//! be read back from the entries it touched only, whatever the size of the tables. The
//! owner's cached site-table length is 0 meanwhile, which sends every tracked call to the
//! out-of-line path that records it: calls outside a journal pay nothing for this.

// No panic path (see the crate docs, "No panic path"): this code runs inside the global
// allocator, under the crate's locks, or on every tracked call.
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]
#![cfg_attr(not(test), deny(clippy::indexing_slicing, clippy::panic))]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#![cfg_attr(not(test), deny(clippy::unreachable, clippy::todo))]

use core::cell::Cell;
use core::mem::ManuallyDrop;
use core::pin::Pin;
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicPtr, AtomicU32, Ordering, compiler_fence};

use crate::abi::off_path_fn;
use crate::site::{SLOT_SHIFT, Site, UNASSIGNED};
use crate::slots::{PathSlot, SiteSlot, SiteValues};
use crate::stats::Totals;
use crate::sys::{self, SysVec};

/// The fewest entries a table starts with: 1 KiB each for sites and paths.
const MIN_ENTRIES: usize = 16;

/// A table as published to readers.
struct Buf<T> {
    /// The id of the first entry.
    first: usize,
    len: usize,
    data: NonNull<T>,
    /// The table this one replaced, freed with it.
    older: *mut Buf<T>,
}

/// A growable table readable by other threads (also the ownership view's, see `holding`).
pub(crate) struct Published<T> {
    buf: AtomicPtr<Buf<T>>,
}

impl<T> Published<T> {
    pub(crate) const fn empty() -> Self {
        Self {
            buf: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// The entries, for a reader.
    ///
    /// # Safety
    ///
    /// The table's thread has not freed its tables yet (it frees them at exit under the
    /// registry lock, which the caller holds), or the caller is that thread.
    pub(crate) unsafe fn entries(&self) -> Window<'_, T> {
        // SAFETY: a published `Buf` is fully written before it is published (Release /
        // Acquire) and stays allocated until `free_all`, which the contract excludes.
        unsafe {
            match self.buf.load(Ordering::Acquire).as_ref() {
                Some(buf) => Window {
                    first: buf.first,
                    entries: core::slice::from_raw_parts(buf.data.as_ptr(), buf.len),
                },
                None => Window::EMPTY,
            }
        }
    }

    /// Replaces the table by a zeroed one for ids `first..first + len`, which must cover
    /// the current window, holding a copy of the current entries; returns the new
    /// entries. Owner only.
    pub(crate) fn grow(&self, first: usize, len: usize, copy: impl Fn(&T, &T)) -> Option<&[T]> {
        // SAFETY: the owner is the only writer; `old` is null or a live `Buf`.
        let old = unsafe { self.entries() };
        let skip = if old.entries.is_empty() {
            0
        } else {
            old.first.checked_sub(first)?
        };
        if skip.saturating_add(old.entries.len()) > len {
            return None;
        }
        let data = sys::zeroed::<T>(len)?;
        let Some(header) = sys::zeroed::<Buf<T>>(1) else {
            // SAFETY: just allocated with this length.
            unsafe { sys::free(data, len) };
            return None;
        };
        // SAFETY: `data` holds `len` zeroed entries, not yet shared.
        let new_entries = unsafe { core::slice::from_raw_parts(data.as_ptr(), len) };
        // The old window is inside the new one, `skip` entries in (checked above).
        for (from, to) in old.entries.iter().zip(new_entries.iter().skip(skip)) {
            copy(from, to);
        }
        // SAFETY: `header` is valid for one `Buf`, not yet shared.
        unsafe {
            header.as_ptr().write(Buf {
                first,
                len,
                data,
                older: self.buf.load(Ordering::Relaxed),
            });
        }
        self.buf.store(header.as_ptr(), Ordering::Release);
        Some(new_entries)
    }

    /// Frees every table this one ever had.
    ///
    /// # Safety
    ///
    /// No reader can be reading them (the registry lock is held and the thread is no
    /// longer listed) and the owner's caches are cleared.
    pub(crate) unsafe fn free_all(&self) {
        let mut buf = self.buf.swap(ptr::null_mut(), Ordering::AcqRel);
        while let Some(b) = NonNull::new(buf) {
            // SAFETY: every `Buf` in the chain came from `grow`, with `len` entries, and
            // nothing refers to it any more (the contract).
            unsafe {
                let Buf {
                    len, data, older, ..
                } = b.as_ptr().read();
                sys::free(data, len);
                sys::free(b, 1);
                buf = older;
            }
        }
    }
}

/// A table's entries and the id of the first one.
pub(crate) struct Window<'a, T> {
    pub(crate) first: usize,
    pub(crate) entries: &'a [T],
}

impl<'a, T> Window<'a, T> {
    const EMPTY: Self = Self {
        first: 0,
        entries: &[],
    };

    /// The entry of `id`, if the window has it.
    pub(crate) fn get(&self, id: usize) -> Option<&'a T> {
        self.entries.get(id.checked_sub(self.first)?)
    }
}

/// The entry `offset` bytes into the cached table at `base`.
///
/// # Safety
///
/// `offset` is below the table's length in bytes and a multiple of the entry size.
#[inline(always)]
unsafe fn entry_at<T>(base: &Cell<*const T>, offset: usize) -> &T {
    let base = base.get();
    // SAFETY: a table of nonzero length has a base (per the contract, there is one);
    // said to the compiler, which otherwise tests it on every lookup (the `Option` of the
    // reference a lookup returns), and the entry stays allocated while its thread runs
    // (see `Published::grow`).
    unsafe {
        core::hint::assert_unchecked(!base.is_null());
        &*base.byte_add(offset)
    }
}

/// The window a table grows to so that it covers `id`: `first..first + len`, at least
/// twice the old length (and `min`), the room added on the side `id` lies (ids are handed
/// out in increasing order, so new ones usually come above).
fn grown_window(first: usize, len: usize, id: usize, min: usize) -> (usize, usize) {
    if len == 0 {
        return (id, min);
    }
    let lo = first.min(id);
    let hi = first.saturating_add(len).max(id.saturating_add(1));
    let new_len = hi.saturating_sub(lo).max(len.saturating_mul(2)).max(min);
    if id < first {
        (hi.saturating_sub(new_len), new_len)
    } else {
        (lo, new_len)
    }
}

/// A thread's tables, and its own cached view of them.
pub(crate) struct Tables {
    sites: Published<SiteSlot>,
    paths: Published<PathSlot>,
    /// The entry of site id `sites_first_bytes >> SLOT_SHIFT`, the window's first.
    sites_base: Cell<*const SiteSlot>,
    /// The window's first id, as a byte offset (`id << SLOT_SHIFT`).
    sites_first_bytes: Cell<usize>,
    /// The length of the sites table in bytes, compared with a site's byte offset minus
    /// the first's; 0 while a journal is open (see the module docs).
    sites_bytes: Cell<usize>,
    /// The real length in bytes.
    sites_len_bytes: Cell<usize>,
    /// The entry of path `paths_first`, the window's first.
    paths_base: Cell<*const PathSlot>,
    paths_first: Cell<usize>,
    paths_len: Cell<usize>,
    /// The innermost open journal (null: none).
    journal: Cell<*const Journal>,
    last_epoch: Cell<u32>,
    /// Set once this thread was found to run without `CountingAlloc`: no table is made.
    disabled: Cell<bool>,
    /// Set while a table grows, so that a signal handler's tracked call that interrupts it
    /// does not grow it too (its entry is then not counted).
    growing: Cell<bool>,
}

impl Tables {
    pub(crate) const fn new() -> Self {
        Self {
            sites: Published::empty(),
            paths: Published::empty(),
            sites_base: Cell::new(ptr::null()),
            sites_first_bytes: Cell::new(0),
            sites_bytes: Cell::new(0),
            sites_len_bytes: Cell::new(0),
            paths_base: Cell::new(ptr::null()),
            paths_first: Cell::new(0),
            paths_len: Cell::new(0),
            journal: Cell::new(ptr::null()),
            last_epoch: Cell::new(0),
            disabled: Cell::new(false),
            growing: Cell::new(false),
        }
    }

    /// Counts a call of `site` that allocated nothing, if the entry is at hand; false if
    /// the caller must take the out-of-line path ([`Tables::site_slot_cold`]).
    ///
    /// PERF: the common path of every tracked call: a load, a subtraction, a compare, an
    /// increment.
    #[inline(always)]
    pub(crate) fn try_count_call(&self, site: &Site) -> bool {
        let offset = self.site_offset(site);
        if offset < self.sites_bytes.get() {
            // SAFETY: `offset` is `(id - first) << SLOT_SHIFT` and below the table's size
            // in bytes, so it is the offset of entry `id` of the cached table, which stays
            // allocated while this thread runs (see `Published::grow`).
            unsafe { self.site_at(offset) }.calls.add(1);
            true
        } else {
            false
        }
    }

    /// The entry `offset` bytes into the cached sites table.
    ///
    /// # Safety
    ///
    /// `offset` is below the table's length in bytes and a multiple of the entry size.
    #[inline(always)]
    unsafe fn site_at(&self, offset: usize) -> &SiteSlot {
        // SAFETY: per the contract.
        unsafe { entry_at(&self.sites_base, offset) }
    }

    /// The entry `index` entries into the cached paths table.
    ///
    /// # Safety
    ///
    /// `index` is below the table's length.
    #[inline(always)]
    unsafe fn path_at(&self, index: usize) -> &PathSlot {
        // SAFETY: per the contract; `index * size` is the offset of an entry of the
        // table, so it does not overflow (`unchecked_mul`: the same instruction as `*`
        // in release, without debug's panic path).
        unsafe { entry_at(&self.paths_base, index.unchecked_mul(size_of::<PathSlot>())) }
    }

    /// The byte offset of `site`'s entry from the window's first: past the table (as
    /// wrapped around) if the window does not cover it, or the site has no id yet (its
    /// offset, `UNASSIGNED`, is above every window: see `grow_sites`).
    #[inline(always)]
    fn site_offset(&self, site: &Site) -> usize {
        (site.slot_offset() as usize).wrapping_sub(self.sites_first_bytes.get())
    }

    /// The entry of `site`, if the fast path has it.
    #[inline(always)]
    pub(crate) fn site_slot(&self, site: &Site) -> Option<&SiteSlot> {
        let offset = self.site_offset(site);
        (offset < self.sites_bytes.get()).then(|| {
            // SAFETY: as in `try_count_call`.
            unsafe { self.site_at(offset) }
        })
    }

    off_path_fn! {
        /// The entry of `site`: grows the table, records the entry in the open journal, or
        /// finds that nothing is counted on this thread (`None`).
        #[cold]
        #[inline(never)]
        pub(crate) fn site_slot_cold(&self, site: &'static Site) -> Option<&SiteSlot> {
            let id = site.id() as usize;
            let covered = |t: &Self| {
                let offset = id
                    .checked_shl(SLOT_SHIFT)?
                    .wrapping_sub(t.sites_first_bytes.get());
                (offset < t.sites_len_bytes.get()).then_some(offset)
            };
            let offset = match covered(self) {
                Some(offset) => offset,
                None if self.grow_sites(id) => covered(self)?,
                None => return None,
            };
            // SAFETY: `offset` is inside the cached table (just checked or grown).
            let slot = unsafe { self.site_at(offset) };
            if let Some(journal) = self.open_journal() {
                journal.touch_site(self.epoch_of(journal), id as u32, slot);
            }
            Some(slot)
        }
    }

    off_path_fn! {
        /// Grows the sites table past `id`; false if nothing is counted on this thread, or
        /// memory ran out.
        #[cold]
        #[inline(never)]
        fn grow_sites(&self, id: usize) -> bool {
            if !self.may_allocate_tables() {
                return false;
            }
            let (first, len) = grown_window(
                self.sites_first_bytes.get() >> SLOT_SHIFT,
                self.sites_len_bytes.get() >> SLOT_SHIFT,
                id,
                MIN_ENTRIES,
            );
            // A window must end below `UNASSIGNED >> SLOT_SHIFT`, so that a site with no
            // id is never inside one (and no offset overflows).
            if first.saturating_add(len) > (UNASSIGNED >> SLOT_SHIFT) as usize {
                return false;
            }
            self.growing.set(true);
            let grown = self.sites.grow(first, len, copy_site);
            self.growing.set(false);
            let Some(entries) = grown else {
                return false;
            };
            self.sites_base.set(entries.as_ptr());
            self.sites_first_bytes.set(first << SLOT_SHIFT);
            self.sites_len_bytes.set(len << SLOT_SHIFT);
            if self.journal.get().is_null() {
                self.sites_bytes.set(len << SLOT_SHIFT);
            }
            true
        }
    }

    /// The entry of call path `path` if the table has it, for reading its caches: not
    /// recorded by an open journal (nothing is added to it).
    #[inline(always)]
    pub(crate) fn path_slot_uncounted(&self, path: u32) -> Option<&PathSlot> {
        let index = self.path_index(path);
        (index < self.paths_len.get()).then(|| {
            // SAFETY: as in `path_slot`.
            unsafe { self.path_at(index) }
        })
    }

    /// `path`'s index in the window: past its end (as wrapped around) if not covered.
    #[inline(always)]
    fn path_index(&self, path: u32) -> usize {
        (path as usize).wrapping_sub(self.paths_first.get())
    }

    /// The entry of call path `path`.
    #[inline(always)]
    pub(crate) fn path_slot(&self, path: u32) -> Option<&PathSlot> {
        let index = self.path_index(path);
        if index < self.paths_len.get() && self.journal.get().is_null() {
            // SAFETY: in bounds of the cached table, which stays allocated while this
            // thread runs.
            Some(unsafe { self.path_at(index) })
        } else {
            self.path_slot_cold(path)
        }
    }

    off_path_fn! {
        /// [`Tables::path_slot`] when the table must grow or a journal records the entry.
        #[cold]
        #[inline(never)]
        fn path_slot_cold(&self, path: u32) -> Option<&PathSlot> {
            let index = self.path_index(path);
            let slot = if index < self.paths_len.get() {
                // SAFETY: as in `path_slot`.
                unsafe { self.path_at(index) }
            } else {
                self.grow_paths(path as usize)?
            };
            if let Some(journal) = self.open_journal() {
                journal.touch_path(self.epoch_of(journal), path, slot);
            }
            Some(slot)
        }
    }

    off_path_fn! {
        #[cold]
        #[inline(never)]
        fn grow_paths(&self, path: usize) -> Option<&PathSlot> {
            if !self.may_allocate_tables() {
                return None;
            }
            let (first, len) =
                grown_window(self.paths_first.get(), self.paths_len.get(), path, MIN_ENTRIES);
            self.growing.set(true);
            let grown = self.paths.grow(first, len, copy_path);
            self.growing.set(false);
            let entries = grown?;
            self.paths_base.set(entries.as_ptr());
            self.paths_first.set(first);
            self.paths_len.set(len);
            entries.get(path.checked_sub(first)?)
        }
    }

    /// Tables are made only on a thread whose allocations are counted: a thread of a
    /// program without `CountingAlloc` (whose frames never see a counter move) would
    /// otherwise keep tables that no exit hook frees.
    fn may_allocate_tables(&self) -> bool {
        if self.disabled.get() || self.growing.get() {
            return false;
        }
        let on = crate::counters::any_counted();
        self.disabled.set(!on);
        on
    }

    fn open_journal(&self) -> Option<&Journal> {
        // SAFETY: an open journal is pinned on the stack of the code that opened it and
        // closed (unlinked) before it is dropped, also when unwinding (`JournalGuard`).
        unsafe { self.journal.get().as_ref() }
    }

    /// The site entries, read by the owner.
    pub(crate) fn own_sites(&self) -> Window<'_, SiteSlot> {
        // SAFETY: the owner reads its own tables.
        unsafe { self.sites.entries() }
    }

    /// The path entries, read by the owner.
    pub(crate) fn own_paths(&self) -> Window<'_, PathSlot> {
        // SAFETY: the owner reads its own tables.
        unsafe { self.paths.entries() }
    }

    /// The bytes of this thread's tables now (the current window of each; older ones are
    /// freed with them at exit), for tests of what a thread holds.
    #[cfg(test)]
    pub(crate) fn current_bytes(&self) -> usize {
        size_of_val(self.own_sites().entries) + size_of_val(self.own_paths().entries)
    }

    /// The site and path entries, read by another thread.
    ///
    /// # Safety
    ///
    /// As [`Published::entries`]: the caller holds the registry lock and this thread is
    /// listed in the registry.
    pub(crate) unsafe fn shared(&self) -> (Window<'_, SiteSlot>, Window<'_, PathSlot>) {
        // SAFETY: per the contract.
        unsafe { (self.sites.entries(), self.paths.entries()) }
    }

    /// Frees the tables and clears the caches; a later tracked call starts new ones.
    ///
    /// # Safety
    ///
    /// Called by the owner, with the registry lock held, after the thread was taken out
    /// of the registry (so no reader can see the tables).
    pub(crate) unsafe fn free(&self) {
        self.sites_base.set(ptr::null());
        self.sites_first_bytes.set(0);
        self.sites_bytes.set(0);
        self.sites_len_bytes.set(0);
        self.paths_base.set(ptr::null());
        self.paths_first.set(0);
        self.paths_len.set(0);
        // SAFETY: per the contract.
        unsafe {
            self.sites.free_all();
            self.paths.free_all();
        }
    }

    /// Opens `journal` (pinned by the caller, and closed with [`Tables::close_journal`]
    /// before it moves or is dropped).
    ///
    /// PERF: three stores. The journal gets its epoch when it first records an entry
    /// ([`Tables::epoch_of`]): a budgeted call whose nested calls touch nothing new pays
    /// nothing more.
    #[inline(always)]
    pub(crate) fn open(&self, journal: Pin<&Journal>) {
        let j = journal.get_ref();
        j.parent.set(self.journal.get());
        self.journal.set(j);
        self.sites_bytes.set(0);
    }

    /// The epoch of `journal` (an open one), given now if it has none: the tag of the
    /// entries it recorded.
    fn epoch_of(&self, journal: &Journal) -> u32 {
        let given = journal.epoch.load(Ordering::Relaxed);
        if given != 0 {
            return given;
        }
        // A compare-and-swap, which a signal handler cannot split: a handler's tracked call
        // that gives the journal its epoch in the middle of this leaves it that one, the
        // epoch its entries carry. (Stored plainly, this call could overwrite it with the
        // next, and every entry the handler recorded would be recorded a second time.)
        let epoch = self.last_epoch.get().wrapping_add(1).max(1);
        let given =
            match journal
                .epoch
                .compare_exchange(0, epoch, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => epoch,
                Err(theirs) => theirs,
            };
        self.last_epoch.set(given);
        given
    }

    /// Closes `journal` when its entries are not wanted (a budgeted call that kept its
    /// budget). PERF: in line when nothing was recorded in it, the common case of a
    /// budgeted call that made no nested tracked call.
    #[inline(always)]
    pub(crate) fn discard_journal(&self, journal: &Journal) {
        if !ptr::eq(self.journal.get(), journal) {
            return; // closed already
        }
        if !journal.is_empty() {
            return self.discard_journal_cold(journal);
        }
        let parent = journal.parent.get();
        self.journal.set(parent);
        if parent.is_null() {
            self.sites_bytes.set(self.sites_len_bytes.get());
        }
    }

    #[cold]
    #[inline(never)]
    fn discard_journal_cold(&self, journal: &Journal) {
        drop(self.close_journal(journal));
    }

    /// Closes `journal`, which must be the innermost open one: returns what every entry it
    /// recorded did since, and gives the entries back to the enclosing journal (or their
    /// maxima back to the table).
    pub(crate) fn close_journal(&self, journal: &Journal) -> Touched {
        if !ptr::eq(self.journal.get(), journal) {
            return Touched::default(); // closed already
        }
        // SAFETY: the parent is open (journals nest on one stack), as in `open_journal`.
        let parent = unsafe { journal.parent.get().as_ref() };
        // The parent takes over the entries it has not seen: it needs its epoch for them.
        let parent_epoch = parent
            .filter(|_| !journal.is_empty())
            .map(|p| self.epoch_of(p));
        let (sites, paths) = (self.own_sites(), self.own_paths());
        journal.busy.set(true);
        compiler_fence(Ordering::SeqCst);
        // The entries become what they did, in place: PERF, a capture's results are the
        // journal's own memory, not a copy of it (two `System` allocations fewer).
        // SAFETY: entries are pushed only by this thread, and not while `busy` is set;
        // the journal is closed below, so they are not read again.
        let (mut touched_sites, mut touched_paths) = unsafe {
            (
                core::mem::take::<SysVec<_>>(&mut *journal.sites.get()),
                core::mem::take::<SysVec<_>>(&mut *journal.paths.get()),
            )
        };
        touched_sites.retain_mut(|e| {
            let Some(slot) = sites.get(e.id as usize) else {
                return false;
            };
            let now = slot.get();
            match parent {
                // The enclosing journal has not seen this entry: it takes it over, with
                // the maxima of this period standing for its own so far.
                Some(p) if Some(e.tag) != parent_epoch => {
                    p.push_site(*e);
                    slot.epoch
                        .store(p.epoch.load(Ordering::Relaxed), Ordering::Relaxed);
                }
                _ => {
                    slot.max_allocs.raise(e.value.max_allocs);
                    slot.peak.raise(e.value.peak);
                    slot.epoch.store(e.tag, Ordering::Relaxed);
                }
            }
            *e = Keyed::new(
                e.id,
                SiteValues {
                    calls: now.calls.wrapping_sub(e.value.calls),
                    max_allocs: now.max_allocs,
                    peak: now.peak,
                    started: now.started.wrapping_sub(e.value.started),
                },
            );
            true
        });
        touched_paths.retain_mut(|e| {
            let Some(slot) = paths.get(e.id as usize) else {
                return false;
            };
            match parent {
                Some(p) if Some(e.tag) != parent_epoch => {
                    p.push_path(*e);
                    slot.epoch
                        .store(p.epoch.load(Ordering::Relaxed), Ordering::Relaxed);
                }
                _ => slot.epoch.store(e.tag, Ordering::Relaxed),
            }
            *e = Keyed::new(e.id, slot.get().minus(e.value));
            true
        });
        // Unlinked while still busy, so that a signal handler's tracked call from here on
        // records in the enclosing journal, never in this closing one.
        self.journal.set(journal.parent.get());
        compiler_fence(Ordering::SeqCst);
        journal.busy.set(false);
        if parent.is_none() {
            self.sites_bytes.set(self.sites_len_bytes.get());
        }
        // Read once the journal is unlinked: no later entry can be missed from it.
        let unrecorded = journal.unrecorded.get();
        if let Some(p) = parent.filter(|_| unrecorded > 0) {
            // The enclosing journal misses them too.
            p.unrecorded
                .set(p.unrecorded.get().saturating_add(unrecorded));
        }
        Touched {
            sites: touched_sites,
            paths: touched_paths,
            unrecorded: unrecorded.into(),
        }
    }
}

#[cfg(test)]
impl Tables {
    /// Runs `f` as a signal handler that interrupted the innermost open journal while it
    /// was written would run: with the journal busy.
    pub(crate) fn as_if_journal_busy<R>(f: impl FnOnce() -> R) -> R {
        let journal = crate::per_thread::with(|t| t.tables.journal.get())
            .filter(|j| !j.is_null())
            .expect("an open journal");
        // SAFETY: the journal is open, so pinned and alive until it closes, which `f`'s
        // tracked calls cannot do (journals close in the code that opened them).
        let journal = unsafe { &*journal };
        let was = journal.busy.replace(true);
        let result = f();
        journal.busy.set(was);
        result
    }
}

fn copy_site(from: &SiteSlot, to: &SiteSlot) {
    let v = from.get();
    to.calls.set(v.calls);
    to.max_allocs.set(v.max_allocs);
    to.peak.set(v.peak);
    to.started.set(v.started);
    for (a, b) in [
        (&from.cached_parent, &to.cached_parent),
        (&from.cached_path, &to.cached_path),
        (&from.epoch, &to.epoch),
    ] {
        b.store(a.load(Ordering::Relaxed), Ordering::Relaxed);
    }
}

fn copy_path(from: &PathSlot, to: &PathSlot) {
    to.add(from.get());
    for (a, b) in [
        (&from.child_site, &to.child_site),
        (&from.child_path, &to.child_path),
        (&from.epoch, &to.epoch),
    ] {
        b.store(a.load(Ordering::Relaxed), Ordering::Relaxed);
    }
}

/// A value by site or path id. A journal's entry holds the entry's values when the
/// journal first touched it (`value`) and the epoch it had then (`tag`); once closed, what
/// the entry did since (`tag` 0). A capture's sparse maps are made of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub(crate) struct Keyed<T> {
    pub id: u32,
    pub tag: u32,
    pub value: T,
}

impl<T> Keyed<T> {
    pub(crate) const fn new(id: u32, value: T) -> Self {
        Self { id, tag: 0, value }
    }
}

type SiteEntry = Keyed<SiteValues>;
type PathEntry = Keyed<Totals>;

// Every budgeted call zeroes a journal on its stack: one cache line.
#[cfg(target_pointer_width = "64")]
const _: () = assert!(size_of::<Journal>() == 64);

/// The entries a `capture` or a budgeted call touched. Pin it while open.
pub(crate) struct Journal {
    parent: Cell<*const Journal>,
    /// 0 until the journal first records ([`Tables::epoch_of`]). Atomic only so that a
    /// signal handler cannot split its one update; never shared between threads.
    epoch: AtomicU32,
    /// Freed when the journal closes ([`Tables::close_journal`]), which every journal
    /// does before it is dropped. PERF: no drop code at all, for the common budgeted call
    /// that recorded nothing.
    sites: core::cell::UnsafeCell<ManuallyDrop<SysVec<SiteEntry>>>,
    paths: core::cell::UnsafeCell<ManuallyDrop<SysVec<PathEntry>>>,
    /// Set while the entries are being written or read, so that a signal handler that
    /// interrupts this thread there records nothing rather than corrupting them.
    busy: Cell<bool>,
    /// Entries that could not be recorded (see [`Journal::write`]): a capture's report
    /// says its rows miss them, rather than showing short rows as if complete. PERF: 16
    /// bits (saturating), so that the journal stays 64 bytes: every budgeted call zeroes
    /// one.
    unrecorded: Cell<u16>,
    _pinned: core::marker::PhantomPinned,
}

impl Journal {
    pub(crate) const fn new() -> Self {
        Self {
            parent: Cell::new(ptr::null()),
            epoch: AtomicU32::new(0),
            sites: core::cell::UnsafeCell::new(ManuallyDrop::new(SysVec::new())),
            paths: core::cell::UnsafeCell::new(ManuallyDrop::new(SysVec::new())),
            busy: Cell::new(false),
            unrecorded: Cell::new(0),
            _pinned: core::marker::PhantomPinned,
        }
    }

    /// Nothing recorded yet (nor tried: see [`Journal::write`]).
    /// PERF: one compare with memory: a journal gets its epoch when it first records,
    /// and the epoch is read plainly (LLVM folds no atomic load into a compare: one more
    /// instruction on every budgeted call).
    #[inline(always)]
    fn is_empty(&self) -> bool {
        // SAFETY: the pointer is to the journal's own aligned `u32`, alive as `self`. No
        // other thread touches it (a journal is `!Sync` and pinned to the thread that
        // opened it); a signal handler that gives the epoch stores it whole and returns
        // before this thread reads on, so the read sees the value before or after.
        unsafe { self.epoch.as_ptr().read() == 0 }
    }

    /// Records `slot`'s values as the journal first sees them, unless it has them.
    #[inline]
    fn touch_site(&self, epoch: u32, id: u32, slot: &SiteSlot) {
        if slot.epoch.load(Ordering::Relaxed) != epoch {
            self.record_site(epoch, id, slot);
        }
    }

    #[inline]
    fn touch_path(&self, epoch: u32, id: u32, slot: &PathSlot) {
        if slot.epoch.load(Ordering::Relaxed) != epoch {
            self.record_path(epoch, id, slot);
        }
    }

    off_path_fn! {
        fn record_site(&self, epoch: u32, id: u32, slot: &SiteSlot) {
            self.record(epoch, &slot.epoch, |tag| {
                let entry = SiteEntry {
                    id,
                    tag,
                    value: slot.get(),
                };
                // SAFETY: only this thread touches the entries, and `record` runs this
                // inside `write`, which excludes a re-entrant (signal handler) access.
                let pushed = unsafe { (*self.sites.get()).push(entry) };
                if pushed {
                    // Maxima are kept per period: the journal reads its own. (Not when
                    // the entry is missing: nothing would give the maxima so far back.)
                    slot.max_allocs.set(0);
                    slot.peak.set(0);
                }
                pushed
            });
        }
    }

    off_path_fn! {
        fn record_path(&self, epoch: u32, id: u32, slot: &PathSlot) {
            self.record(epoch, &slot.epoch, |tag| {
                let entry = PathEntry {
                    id,
                    tag,
                    value: slot.get(),
                };
                // SAFETY: as in `record_site`.
                unsafe { (*self.paths.get()).push(entry) }
            });
        }
    }

    /// Records a slot's entry, `push(its epoch so far)`, which returns whether it pushed
    /// it, and tags the slot (`slot_epoch`) with the journal's `epoch`.
    ///
    /// The slot's epoch is read again, and the values read, while the journal is busy: a
    /// signal handler's call that touched the slot since the caller's check recorded it
    /// already (two entries would count the period twice), and one that touches it from
    /// here on is refused, and counted as unrecorded.
    #[inline(always)]
    fn record(&self, epoch: u32, slot_epoch: &AtomicU32, push: impl FnOnce(u32) -> bool) {
        let recorded = self.write(|| {
            let prior_epoch = slot_epoch.load(Ordering::Relaxed);
            if prior_epoch == epoch {
                return true;
            }
            let pushed = push(prior_epoch);
            // Tagged while still busy: a handler's call right after `write` must find the
            // entry recorded (it would record it a second time).
            slot_epoch.store(epoch, Ordering::Relaxed);
            pushed
        });
        if !recorded {
            // Tagged also if refused: an entry recorded later would start in the middle
            // of the journal's period and look complete when it is not.
            slot_epoch.store(epoch, Ordering::Relaxed);
        }
    }

    /// Runs `f` on the entries unless they are in use (a signal handler that
    /// interrupted the writer); true if `f` ran and recorded its entry. An entry that
    /// cannot be recorded (then, or when `System` memory runs out) is missing from the
    /// journal's numbers, and counted in `unrecorded`.
    fn write(&self, f: impl FnOnce() -> bool) -> bool {
        let recorded = if self.busy.replace(true) {
            false
        } else {
            compiler_fence(Ordering::SeqCst);
            let pushed = f();
            compiler_fence(Ordering::SeqCst);
            self.busy.set(false);
            pushed
        };
        if !recorded {
            // A separate cell, never read while `busy` is set: a signal handler may
            // update it while the interrupted code writes the entries.
            self.unrecorded.set(self.unrecorded.get().saturating_add(1));
        }
        recorded
    }

    off_path_fn! {
        fn push_site(&self, e: SiteEntry) -> bool {
            // SAFETY: only this thread touches the entries, and `write` excludes a
            // re-entrant (signal handler) access.
            self.write(|| unsafe { (*self.sites.get()).push(e) })
        }
    }

    off_path_fn! {
        fn push_path(&self, e: PathEntry) -> bool {
            // SAFETY: as in `push_site`.
            self.write(|| unsafe { (*self.paths.get()).push(e) })
        }
    }
}

/// What the entries of a closed journal did, in the order they were first touched: by
/// site id, its values (calls and `started` as differences, maxima of the period); by path
/// id, its exclusive totals.
#[derive(Default)]
pub(crate) struct Touched {
    pub sites: SysVec<Keyed<SiteValues>>,
    pub paths: SysVec<Keyed<Totals>>,
    /// Sites and paths the journal (or one nested in it) touched but could not record:
    /// their numbers are missing from `sites` and `paths`.
    pub unrecorded: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_grow_toward_the_new_id() {
        // First table: just the minimum, starting at the id.
        assert_eq!(grown_window(0, 0, 100_000, 16), (100_000, 16));
        // Above: doubled, from the same first id.
        assert_eq!(grown_window(100_000, 16, 100_016, 16), (100_000, 32));
        // Far above: up to the id, no further.
        assert_eq!(grown_window(100_000, 16, 200_000, 16), (100_000, 100_001));
        // Below: doubled, the room added below.
        assert_eq!(grown_window(100_000, 16, 99_999, 16), (99_984, 32));
        // Below, near 0: from 0.
        assert_eq!(grown_window(10, 16, 3, 16), (0, 32));
    }

    #[test]
    fn a_thread_calling_a_late_site_holds_entries_for_it_only() {
        static LATE: Site = Site::with_id_for_tests("record_tests::late", 100_000);
        static NEXT: Site = Site::with_id_for_tests("record_tests::next", 100_020);
        static EARLY: Site = Site::with_id_for_tests("record_tests::early", 99_000);
        std::thread::spawn(|| {
            let t = Tables::new();
            let slot = t.site_slot_cold(&LATE).expect("a table");
            slot.calls.add(1);
            t.path_slot(7_000_000).expect("a path entry").add(Totals {
                allocs: 2,
                ..Totals::ZERO
            });
            // 16 site entries and 16 path entries of 64 bytes: not 100,000 and 7 million.
            assert_eq!(t.current_bytes(), 2 * 16 * 64);
            assert!(t.try_count_call(&LATE));
            assert!(
                !t.try_count_call(&NEXT),
                "outside the window: the cold path"
            );
            t.site_slot_cold(&NEXT).expect("grown").calls.add(5);
            t.site_slot_cold(&EARLY).expect("grown down").calls.add(7);
            let sites = t.own_sites();
            assert_eq!((sites.first, sites.entries.len()), (99_000, 1_032));
            let calls = |id: usize| sites.get(id).map(|s| s.get().calls);
            assert_eq!(calls(100_000), Some(2));
            assert_eq!(calls(100_020), Some(5));
            assert_eq!(calls(99_000), Some(7));
            assert_eq!(calls(100_001), Some(0));
            assert_eq!(
                t.own_paths().get(7_000_000).map(|p| p.get().allocs),
                Some(2)
            );
            assert_eq!(t.own_paths().get(6_999_999).map(|p| p.get().allocs), None);
            // SAFETY: these tables were never in the registry: no other thread reads them.
            unsafe { t.free() };
        })
        .join()
        .unwrap();
    }
}
