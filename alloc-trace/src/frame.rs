//! Frames: the per-call bookkeeping behind `#[track_allocs]`.
//!
//! A frame reads this thread's counters when a tracked call starts and again when it
//! ends, so attribution costs a few instructions per *call* and nothing per allocation.
//!
//! Frames are pinned (the generated code puts its guard in `core::pin::pin!`) and linked
//! to their parent through a thread-local pointer to the innermost active frame, so a
//! frame can hand its numbers to its parent and find its ancestors without any
//! fixed-capacity stack: nesting is limited only by the thread's own stack. Everything
//! that needs ancestors (the call path, recursion detection, exclusive numbers) is done
//! only when a call actually allocated; a call that did not costs a counter comparison
//! and one increment.
//!
//! SAFETY argument for the links, used by every dereference below. The invariant: every
//! frame reachable from `current` through `parent` links is alive and pinned.
//! - A frame is linked by `enter` while pinned, once (`enter` refuses a frame already
//!   entered, which would make a cycle).
//! - Its owner's `Drop` unlinks it, and pinning guarantees that `Drop` runs before the
//!   memory is reused (or never, if the memory is leaked and so stays valid).
//! - The generated guards are dropped in reverse order of entry on a thread (they are
//!   locals of nested calls or polls, also when unwinding). A hand-made guard dropped out
//!   of order cuts itself and every frame entered after it out of the chain
//!   (`unlink_out_of_order`): those frames are never reachable again, so their possibly
//!   dangling `parent` links are never followed.

use core::cell::Cell;
use core::marker::PhantomPinned;
use core::mem::MaybeUninit;
use core::pin::Pin;
use core::ptr;

use crate::counters::{self, Raw, Totals};
use crate::paths;
use crate::per_thread::THREAD;
use crate::record::ThreadRecord;
use crate::site::Site;
use crate::slots::{CallNumbers, PathSlot, SiteSlot};
use crate::threads;

/// Defines a function that a frame's exit calls only off its common path.
///
/// PERF: on x86-64 outside Windows it gets the Windows calling convention, under which the
/// callee rather than the caller preserves `rsi` and `rdi` (and `xmm6`-`xmm15`). A value the
/// tracked function keeps across its frame's exit (its return value, say) can then stay in
/// those registers, instead of the function saving and restoring callee-saved registers on
/// every call, common path included, only because a call might happen. The rare callee
/// pays instead. (`extern "rust-cold"` would do this better but is unstable.)
macro_rules! off_path_fn {
    ($(#[$attr:meta])* $vis:vis fn $($rest:tt)*) => {
        #[cfg(all(target_arch = "x86_64", not(windows)))]
        $(#[$attr])* $vis extern "win64-unwind" fn $($rest)*
        #[cfg(not(all(target_arch = "x86_64", not(windows))))]
        $(#[$attr])* $vis fn $($rest)*
    };
}

pub(crate) struct FrameState {
    /// The innermost active frame (null: none).
    current: Cell<*const Frame>,
    /// Inclusive totals of ended root-level frames: everything done inside tracked code.
    root_tracked: Cell<Totals>,
    /// The owner's cached view of its record's tables (see `record`).
    sites: Cell<*const SiteSlot>,
    /// The sites table's size in bytes. PERF: in bytes so that [`FrameState::count_call`]
    /// compares it with a site's byte offset directly.
    sites_bytes: Cell<usize>,
    paths: Cell<*const PathSlot>,
    paths_len: Cell<usize>,
    record: Cell<*const ThreadRecord>,
}

impl FrameState {
    pub(crate) const fn new() -> Self {
        Self {
            current: Cell::new(ptr::null()),
            root_tracked: Cell::new(Totals::ZERO),
            sites: Cell::new(ptr::null()),
            sites_bytes: Cell::new(0),
            paths: Cell::new(ptr::null()),
            paths_len: Cell::new(0),
            record: Cell::new(ptr::null()),
        }
    }
}

/// This thread's frame state (see `counters::with`).
#[inline(always)]
fn with<R>(f: impl FnOnce(&FrameState) -> R) -> Result<R, std::thread::AccessError> {
    THREAD.try_with(|t| f(&t.frames))
}

/// `Frame::parent` before `enter`: not null (null is a root frame's parent) and never the
/// address of a real frame.
const NOT_ENTERED: *const Frame = ptr::dangling();

/// The site of capture boundaries: never entered by a tracked call, never in a table.
static BOUNDARY: Site = Site::new("<alloc-trace capture>", "", 0);

/// Tags in the low bits of `Frame::parent` (frames are 8-aligned): which of the frame's
/// lazily written fields hold a value. PERF: so that a call writes neither field up front.
///
/// Only the end of a call that allocated writes them (its own and its ancestors'), and an
/// ancestor of a call that allocated saw that allocation too: the thread's byte counters
/// only grow, except inside `counters::untracked`, which runs no tracked code and restores
/// them to where it found them. So an untouched frame (one whose call allocated and freed
/// nothing) never carries a tag, and its exit restores its parent link to `current` as is
/// (checked in debug builds). Every other write to `current` is an untagged address, so a
/// frame starts untagged, and tags are set only after the field they vouch for.
const HAS_CHILDREN: usize = 1;
const HAS_PATH: usize = 2;
const TAGS: usize = HAS_CHILDREN | HAS_PATH;
const _: () = assert!(align_of::<Frame>() > TAGS);

/// One active tracked call, one poll of a tracked future, or (with no site) the boundary
/// of a `capture`, which collects what tracked frames inside it did.
pub(crate) struct Frame {
    /// The tracked site, or [`BOUNDARY`] for a capture boundary.
    site: &'static Site,
    /// The enclosing frame (null: none), tagged with [`HAS_CHILDREN`] and [`HAS_PATH`].
    parent: Cell<*const Frame>,
    /// Written by `enter`; read only by a linked (so entered) frame. Left uninitialised
    /// by `new` so that a call does not pay for writing them twice.
    entry: Cell<MaybeUninit<Raw>>,
    /// The thread's peak before this frame lowered it (see `counters::PeakWindow`).
    outer_peak: Cell<MaybeUninit<i64>>,
    /// Inclusive totals of ended child frames; written when the first one ends
    /// ([`HAS_CHILDREN`]).
    children: Cell<MaybeUninit<Totals>>,
    /// Call path id; written when computed ([`HAS_PATH`]).
    path: Cell<MaybeUninit<u32>>,
    _pinned: PhantomPinned,
}

/// What [`Frame::unlink`] found.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unlinked {
    NotEntered,
    Untouched,
    Allocated,
}

/// What a frame's owner records when it ends.
pub(crate) trait Ending {
    /// Nothing was allocated or freed during the frame.
    fn untouched(&self, s: &FrameState);
    /// It allocated or freed: `n` says what.
    fn allocated(&self, s: &FrameState, n: &CallNumbers);
}

impl Frame {
    #[inline]
    pub(crate) const fn new(site: &'static Site) -> Self {
        Self {
            site,
            parent: Cell::new(NOT_ENTERED),
            entry: Cell::new(MaybeUninit::uninit()),
            outer_peak: Cell::new(MaybeUninit::uninit()),
            children: Cell::new(MaybeUninit::uninit()),
            path: Cell::new(MaybeUninit::uninit()),
            _pinned: PhantomPinned,
        }
    }

    /// Makes this the innermost frame of the thread.
    #[inline]
    pub(crate) fn enter(self: Pin<&Self>) {
        let this = self.get_ref();
        if this.parent.get() != NOT_ENTERED {
            return; // entered twice: linking it again would make a cycle
        }
        let _ = with(|s| {
            this.parent.set(s.current.replace(this));
            let entry = counters::raw();
            this.entry.set(MaybeUninit::new(entry));
            this.outer_peak
                .set(MaybeUninit::new(counters::open_frame_peak()));
        });
    }

    /// Ends the frame (a no-op if it is not the innermost one); for the guards' `Drop`.
    #[inline(always)]
    pub(crate) fn exit(&self, ending: &impl Ending) {
        match self.unlink() {
            Unlinked::NotEntered => {}
            Unlinked::Untouched => {
                let _ = with(|s| ending.untouched(s));
            }
            Unlinked::Allocated => self.exit_allocated(ending),
        }
    }

    /// Unlinks the frame and tells whether it allocated. PERF: a leaf on the common path,
    /// so a tracked function needs no extra registers or stack for it.
    #[inline(always)]
    pub(crate) fn unlink(&self) -> Unlinked {
        with(|s| {
            if !ptr::eq(s.current.get(), self) {
                self.unlink_out_of_order(s);
                return Unlinked::NotEntered;
            }
            if self.entry().same_bytes(counters::bytes()) {
                debug_assert_eq!(self.parent.get().addr() & TAGS, 0, "untouched, so untagged");
                s.current.set(self.parent.get());
                counters::close_peak_untouched(self.outer_peak());
                Unlinked::Untouched
            } else {
                s.current.set(self.parent_ptr());
                Unlinked::Allocated
            }
        })
        .unwrap_or(Unlinked::NotEntered)
    }

    off_path_fn! {
        /// The rest of [`exit`](Self::exit) for a frame that allocated.
        #[inline(never)]
        fn exit_allocated<E: Ending>(&self, ending: &E) {
            let _ = with(|s| {
                let numbers = self.finish(s);
                ending.allocated(s, &numbers);
            });
        }
    }

    #[inline(never)]
    fn finish(&self, s: &FrameState) -> CallNumbers {
        let now = counters::raw();
        let peak = counters::close_peak(self.outer_peak(), self.entry().live());
        let inclusive = now.since(&self.entry());
        let exclusive = inclusive.minus(self.children());
        s.credit_parent(self.parent(), inclusive);
        let outermost = !self.ancestors().any(|a| ptr::eq(a.site, self.site));
        let path = s.path_of(self);
        s.path_slot(path).add(exclusive);
        let record = s.record();
        record.published.store(counters::totals());
        if self.parent_ptr().is_null() {
            record.published_tracked.store(s.root_tracked.get());
        }
        CallNumbers {
            inclusive,
            exclusive,
            peak,
            outermost,
        }
    }

    /// Ends a `capture` boundary: returns what tracked frames inside it did, and passes
    /// it on to the enclosing frame as if they had been its own children.
    pub(crate) fn exit_boundary(&self) -> Totals {
        with(|s| {
            if !ptr::eq(s.current.get(), self) {
                self.unlink_out_of_order(s);
                return Totals::ZERO;
            }
            s.current.set(self.parent_ptr());
            let tracked = self.children();
            if tracked != Totals::ZERO {
                s.credit_parent(self.parent(), tracked);
            }
            tracked
        })
        .unwrap_or(Totals::ZERO)
    }

    /// Opens a `capture` boundary: no peak window or counters snapshot is needed.
    pub(crate) fn enter_boundary(self: Pin<&Self>) {
        let this = self.get_ref();
        if this.parent.get() == NOT_ENTERED {
            let _ = with(|s| this.parent.set(s.current.replace(this)));
        }
    }

    off_path_fn! {
        /// Ends a frame that is not the innermost one. Generated code never does this; a
        /// hand-made guard dropped before a frame entered after it does. The frame and every
        /// frame entered after it leave the chain (their numbers are lost), so that no frame
        /// reachable from `current` can be one whose memory is gone: misuse of the hidden
        /// guards gives wrong numbers, never undefined behaviour.
        #[cold]
        #[inline(never)]
        fn unlink_out_of_order(&self, s: &FrameState) {
            if self.parent.get() == NOT_ENTERED {
                return;
            }
            // SAFETY: see the module docs: every frame reachable from `current` is alive.
            let mut cursor = unsafe { s.current.get().as_ref() };
            while let Some(f) = cursor {
                if ptr::eq(f, self) {
                    s.current.set(self.parent_ptr());
                    return;
                }
                cursor = f.parent();
            }
        }
    }

    fn is_boundary(&self) -> bool {
        ptr::eq(self.site, &BOUNDARY)
    }

    /// The site of a call or poll frame (not a boundary).
    #[inline(always)]
    pub(crate) fn site(&self) -> &'static Site {
        self.site
    }

    /// The counters at entry. Only for a linked frame.
    #[inline(always)]
    fn entry(&self) -> Raw {
        // SAFETY: only called on the innermost frame (checked by `exit`), which `enter`
        // linked after writing `entry`.
        unsafe { self.entry.get().assume_init() }
    }

    /// The thread's peak before entry. Only for a linked frame.
    #[inline(always)]
    fn outer_peak(&self) -> i64 {
        // SAFETY: as for `entry`.
        unsafe { self.outer_peak.get().assume_init() }
    }

    /// The parent link without its tags.
    fn parent_ptr(&self) -> *const Frame {
        self.parent.get().map_addr(|a| a & !TAGS)
    }

    fn parent(&self) -> Option<&Frame> {
        // SAFETY: see the module docs: a linked parent outlives its children.
        unsafe { self.parent_ptr().as_ref() }
    }

    fn has(&self, tag: usize) -> bool {
        self.parent.get().addr() & tag != 0
    }

    fn tag(&self, tag: usize) {
        self.parent.set(self.parent.get().map_addr(|a| a | tag));
    }

    /// Inclusive totals of the child frames that have ended.
    fn children(&self) -> Totals {
        if self.has(HAS_CHILDREN) {
            // SAFETY: `add_child` writes the field before setting the tag (see `TAGS`).
            unsafe { self.children.get().assume_init() }
        } else {
            Totals::ZERO
        }
    }

    fn add_child(&self, inclusive: Totals) {
        self.children
            .set(MaybeUninit::new(self.children().plus(inclusive)));
        self.tag(HAS_CHILDREN);
    }

    fn known_path(&self) -> Option<u32> {
        // SAFETY: `set_path` writes the field before setting the tag (see `TAGS`).
        self.has(HAS_PATH)
            .then(|| unsafe { self.path.get().assume_init() })
    }

    fn set_path(&self, path: u32) {
        self.path.set(MaybeUninit::new(path));
        self.tag(HAS_PATH);
    }

    fn ancestors(&self) -> impl Iterator<Item = &Frame> {
        core::iter::successors(self.parent(), |f| f.parent())
    }
}

/// The boundary of a `capture`: tracked frames inside it report to it, and it passes
/// their totals on to the enclosing frame, so captures are transparent to exclusive
/// numbers and call paths.
pub(crate) struct Boundary(Frame);

impl Boundary {
    pub(crate) const fn new() -> Self {
        Self(Frame::new(&BOUNDARY))
    }

    pub(crate) fn enter(self: Pin<&Self>) {
        // SAFETY: the frame is structurally pinned inside the boundary.
        unsafe { self.map_unchecked(|b| &b.0) }.enter_boundary();
    }

    /// Ends the boundary: what tracked frames inside it did.
    pub(crate) fn finish(self: Pin<&Self>) -> Totals {
        self.0.exit_boundary()
    }
}

impl Drop for Boundary {
    fn drop(&mut self) {
        // Unlinks on unwind; a no-op after `finish`.
        self.0.exit_boundary();
    }
}

impl FrameState {
    /// The slot of `site` on this thread, growing the table if needed.
    #[inline]
    pub(crate) fn slot(&self, site: &'static Site) -> &SiteSlot {
        let id = site.id() as usize;
        if id * size_of::<SiteSlot>() >= self.sites_bytes.get() {
            grow_sites(self, id + 1);
        }
        // SAFETY: the table was just grown past `id` if needed; tables never shrink and
        // only this thread replaces them (keeping this cache in step), so the pointer is
        // live and the index in bounds.
        unsafe { &*self.sites.get().add(id) }
    }

    /// Counts a call that allocated nothing. PERF: a leaf unless the site is new to the
    /// thread, which is handled out of line.
    #[inline(always)]
    pub(crate) fn count_call(&self, site: &'static Site) {
        let offset = site.slot_offset() as usize;
        if offset < self.sites_bytes.get() {
            // SAFETY: as for `slot`. A site's offset is its id times the size of an entry,
            // and this one is below the table's size in bytes: it is that of entry `id`.
            unsafe { &*self.sites.get().byte_add(offset) }.count_call();
        } else {
            self.count_first_call(site);
        }
    }

    off_path_fn! {
        #[cold]
        #[inline(never)]
        fn count_first_call(&self, site: &'static Site) {
            self.slot(site).count_call();
        }
    }

    fn path_slot(&self, path: u32) -> &PathSlot {
        if path as usize >= self.paths_len.get() {
            grow_paths(self, path as usize + 1);
        }
        // SAFETY: as for `slot`.
        unsafe { &*self.paths.get().add(path as usize) }
    }

    fn credit_parent(&self, parent: Option<&Frame>, inclusive: Totals) {
        match parent {
            Some(p) => p.add_child(inclusive),
            None => self
                .root_tracked
                .set(self.root_tracked.get().plus(inclusive)),
        }
    }

    /// The call path of `frame`, computed (and remembered) for it and every ancestor
    /// whose path is not known yet. Boundaries are transparent.
    fn path_of(&self, frame: &Frame) -> u32 {
        const CHUNK: usize = 32;
        loop {
            let mut pending: [Option<&Frame>; CHUNK] = [None; CHUNK];
            let mut count = 0;
            let mut cursor = Some(frame);
            let known = loop {
                let Some(f) = cursor else {
                    break Ok(paths::ROOT);
                };
                if let Some(path) = f.known_path() {
                    break Ok(path);
                }
                if !f.is_boundary() {
                    if count == CHUNK {
                        break Err(f);
                    }
                    pending[count] = Some(f);
                    count += 1;
                }
                cursor = f.parent();
            };
            let mut path = match known {
                Ok(path) => path,
                Err(upper) => {
                    // More than CHUNK unknown frames: resolve the upper part first.
                    self.path_of(upper);
                    continue;
                }
            };
            for f in pending[..count].iter().rev().flatten() {
                path = self.child_path(path, f.site);
                f.set_path(path);
            }
            return path;
        }
    }

    fn child_path(&self, parent: u32, site: &'static Site) -> u32 {
        let slot = self.slot(site);
        if slot.cached_parent.get() == parent {
            return slot.cached_path.get();
        }
        let path = paths::intern(parent, site.id());
        slot.cached_parent.set(parent);
        slot.cached_path.set(path);
        path
    }

    /// This thread's record, if it has one.
    fn existing_record(&self) -> Option<&'static ThreadRecord> {
        let record = self.record.get();
        // SAFETY: a record stays allocated until this thread's exit hook takes it (and
        // resets this pointer) in `take_record`.
        (!record.is_null()).then(|| unsafe { &*record })
    }

    fn record(&self) -> &'static ThreadRecord {
        if let Some(record) = self.existing_record() {
            return record;
        }
        let record = counters::untracked(|| threads::register(ThreadRecord::new()));
        self.record.set(record);
        record
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
        let new: Box<[SiteSlot]> = (0..len)
            .map(|i| {
                old.get(i)
                    .map_or_else(SiteSlot::default, SiteSlot::duplicate)
            })
            .collect();
        let (ptr, old) = threads::with_registry_locked(|| record.sites.replace(new));
        s.sites.set(ptr);
        s.sites_bytes.set(len * size_of::<SiteSlot>());
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
        let len = (old.len() * 2).clamp(64, paths::ID_LIMIT).max(needed);
        let new: Box<[PathSlot]> = (0..len)
            .map(|i| {
                old.get(i)
                    .map_or_else(PathSlot::default, PathSlot::duplicate)
            })
            .collect();
        let (ptr, old) = threads::with_registry_locked(|| record.paths.replace(new));
        s.paths.set(ptr);
        s.paths_len.set(len);
        drop(old);
    });
}

/// Runs `f` on this thread's slot of `site`, outside any frame.
pub(crate) fn with_site_slot<R>(site: &'static Site, f: impl FnOnce(&SiteSlot) -> R) -> Option<R> {
    with(|s| f(s.slot(site))).ok()
}

/// This thread's record, if it made a tracked call.
pub(crate) fn this_record() -> Option<&'static ThreadRecord> {
    with(FrameState::existing_record).ok().flatten()
}

/// Detaches this thread's record for the exit hook, which frees it; a later tracked call
/// (from a late destructor) would start a new one.
pub(crate) fn take_record() -> Option<&'static ThreadRecord> {
    let record = this_record()?;
    let _ = with(|s| {
        s.record.set(ptr::null());
        s.sites.set(ptr::null());
        s.sites_bytes.set(0);
        s.paths.set(ptr::null());
        s.paths_len.set(0);
    });
    Some(record)
}

/// What this thread did inside tracked frames that have ended at the root.
pub(crate) fn tracked_totals() -> Totals {
    with(|s| s.root_tracked.get()).unwrap_or(Totals::ZERO)
}

/// Starts [`tracked_totals`] again from zero, with `counters::restart_after_fold`.
pub(crate) fn restart_tracked_totals() {
    let _ = with(|s| s.root_tracked.set(Totals::ZERO));
}

/// A snapshot of this thread's tables, for `capture` and budgets.
pub(crate) fn with_own_tables<R>(f: impl FnOnce(&[SiteSlot], &[PathSlot]) -> R) -> R {
    let Some(record) = this_record() else {
        return f(&[], &[]);
    };
    // SAFETY: this is the owning thread.
    let (sites, paths) = unsafe { (record.sites.as_slice(), record.paths.as_slice()) };
    f(sites, paths)
}

#[cfg(test)]
mod tests {
    //! Frames driven by hand, as the generated code does, so they also run under Miri.

    use core::hint::black_box;
    use core::pin::pin;

    use crate::__private::{CallGuard, Site};
    use crate::capture;

    static OUTER: Site = Site::new("frame_tests::outer", file!(), 1);
    static INNER: Site = Site::new("frame_tests::inner", file!(), 2);
    static RECURSIVE: Site = Site::new("frame_tests::recursive", file!(), 3);
    inventory::submit! { crate::__private::SiteRegistration(&OUTER) }
    inventory::submit! { crate::__private::SiteRegistration(&INNER) }
    inventory::submit! { crate::__private::SiteRegistration(&RECURSIVE) }

    fn inner() -> Vec<u8> {
        let guard = pin!(CallGuard::new(&INNER));
        CallGuard::enter(guard);
        black_box(vec![1, 2, 3])
    }

    fn outer() {
        let guard = pin!(CallGuard::new(&OUTER));
        CallGuard::enter(guard);
        let kept = black_box(Box::new(0u64));
        drop(inner());
        drop(inner());
        drop(kept);
        let _untouched = black_box(inner);
    }

    fn recursive(depth: u32) {
        let guard = pin!(CallGuard::new(&RECURSIVE));
        CallGuard::enter(guard);
        drop(black_box(vec![0u8; 16]));
        if depth > 0 {
            recursive(depth - 1);
        }
    }

    #[test]
    fn nested_frames_give_inclusive_and_exclusive_numbers() {
        let ((), report) = capture(outer);
        let outer = report.site("frame_tests::outer").unwrap();
        let inner = report.site("frame_tests::inner").unwrap();
        assert_eq!(
            (
                inner.calls,
                inner.inclusive.allocs,
                inner.inclusive.bytes_allocated
            ),
            (2, 2, 6)
        );
        assert_eq!((inner.inclusive.frees, inner.inclusive.net_bytes()), (0, 6));
        assert_eq!(
            (outer.calls, outer.inclusive.allocs, outer.inclusive.frees),
            (1, 3, 3)
        );
        assert_eq!(
            (outer.exclusive.allocs, outer.exclusive.bytes_allocated),
            (1, 8)
        );
        assert_eq!(
            outer.exclusive.frees, 3,
            "it freed the box and both vectors itself"
        );
        assert_eq!(outer.inclusive.peak_bytes, 8 + 3);
        assert_eq!(outer.max_allocs_per_call, 3);
        assert_eq!(report.totals().allocs, 3);
        assert_eq!(report.outside_tracked().allocs, 0);
    }

    #[test]
    fn recursion_counts_each_allocation_once() {
        let ((), report) = capture(|| recursive(4));
        let site = report.site("frame_tests::recursive").unwrap();
        assert_eq!(site.calls, 5);
        assert_eq!((site.inclusive.allocs, site.exclusive.allocs), (5, 5));
        assert_eq!(site.max_allocs_per_call, 5);
        let paths: Vec<_> = report
            .paths()
            .iter()
            .map(|p| (p.path.matches(';').count(), p.exclusive.allocs))
            .collect();
        assert_eq!(paths, [(0, 1), (1, 1), (2, 1), (3, 1), (4, 1)]);
    }

    #[test]
    fn a_guard_never_entered_records_nothing() {
        let ((), report) = capture(|| {
            let _guard = pin!(CallGuard::new(&OUTER));
            drop(black_box(vec![0u8; 4]));
        });
        assert_eq!(report.site("frame_tests::outer").map_or(0, |s| s.calls), 0);
        assert_eq!(report.outside_tracked().allocs, 1);
    }

    /// A tracked call that unwinds after allocating `bytes` (0: nothing). `resume_unwind`
    /// skips the panic hook, whose printing would allocate inside the call.
    fn panicking_call(bytes: usize) -> crate::Report {
        let (result, report) = capture(|| {
            std::panic::catch_unwind(|| {
                let guard = pin!(CallGuard::new(&INNER));
                CallGuard::enter(guard);
                if bytes > 0 {
                    black_box(vec![0u8; bytes]);
                }
                std::panic::resume_unwind(Box::new(()));
            })
        });
        assert!(result.is_err());
        report
    }

    #[test]
    fn a_panicking_call_is_recorded_and_unlinked() {
        // The unwinder itself allocates (its exception object): compare with a call that
        // allocates nothing else, so the difference is exactly the vector.
        let baseline = panicking_call(0);
        let report = panicking_call(10);
        let (base, site) = (
            baseline.site("frame_tests::inner").unwrap(),
            report.site("frame_tests::inner").unwrap(),
        );
        assert_eq!((base.calls, site.calls), (1, 1));
        assert_eq!(site.inclusive.allocs - base.inclusive.allocs, 1);
        assert_eq!(
            site.inclusive.frees - base.inclusive.frees,
            1,
            "freed while unwinding"
        );
        assert_eq!(
            site.inclusive.bytes_allocated - base.inclusive.bytes_allocated,
            10
        );
        // The thread is back at the root: a new call is an outermost one.
        let ((), after) = capture(|| drop(inner_call()));
        assert_eq!(after.paths().len(), 1);
        assert_eq!(after.paths()[0].path, "frame_tests::inner");
    }

    #[test]
    fn misusing_the_hidden_guards_gives_wrong_numbers_not_undefined_behaviour() {
        // Entered twice: the second `enter` is refused (no cycle in the chain).
        let mut twice = Box::pin(CallGuard::new(&OUTER));
        CallGuard::enter(twice.as_mut());
        CallGuard::enter(twice.as_mut());
        // Dropped out of order: the parent goes first; the child, cut out of the chain
        // with it, must never follow its dangling parent link.
        let mut parent = Box::pin(CallGuard::new(&OUTER));
        CallGuard::enter(parent.as_mut());
        let mut child = Box::pin(CallGuard::new(&INNER));
        CallGuard::enter(child.as_mut());
        drop(parent);
        drop(black_box(vec![0u8; 8])); // allocates while the orphan is still open
        drop(child);
        drop(twice);
        // The thread is back at the root and works as before.
        let ((), after) = capture(|| drop(inner_call()));
        let inner = after.site("frame_tests::inner").unwrap();
        assert_eq!((inner.calls, inner.inclusive.allocs), (1, 1));
        assert_eq!(after.paths()[0].path, "frame_tests::inner");
    }

    fn inner_call() -> Vec<u8> {
        inner()
    }
}
