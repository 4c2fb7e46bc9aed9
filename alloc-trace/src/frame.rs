//! Frames: the per-call bookkeeping behind `#[track_allocs]`.
//!
//! A frame reads the thread's counters when a tracked call starts and again when it ends,
//! so attribution costs a few instructions per *call* and nothing per allocation.
//!
//! Frames are pinned (the generated code puts its guard in `core::pin::pin!`) and linked
//! to their parent through the thread's pointer to the innermost active frame, so nesting
//! is limited only by the thread's own stack.
//!
//! # Attribution by segments
//!
//! The thread's *mark* is a snapshot of its counters taken whenever allocations are
//! attributed. What happens between the mark and the next attribution belongs to the
//! frames that were innermost meanwhile: when a frame that allocated ends, it books the
//! counters' movement since the mark to the call paths of those frames (its own, and, if
//! it started after the mark, the part before its start to its ancestors), then moves the
//! mark. Each allocation is booked once, to exactly one path: the path's exclusive
//! numbers. A function's inclusive numbers are the sum over the paths it is on (see
//! `gather`). So a frame never credits its parent, never walks its ancestors to detect
//! recursion, and a call that allocated nothing only compares two counters with its entry
//! snapshot and counts itself.
//!
//! A report on another thread reads the booked numbers plus what happened since the mark,
//! which it books to the innermost frame whose path is known ([`FrameState::published_path`]).
//!
//! # Safety of the links
//!
//! Used by every dereference below. The invariant: every frame reachable from `current`
//! through `parent` links is alive and pinned.
//! - A frame is linked by `enter` while pinned, once (`enter` refuses a frame already
//!   entered, which would make a cycle), and only after its fields are written, so that a
//!   signal handler that interrupts `enter` never follows a half-made frame.
//! - Its owner's `Drop` unlinks it, and pinning guarantees that `Drop` runs before the
//!   memory is reused (or never, if the memory is leaked and so stays valid).
//! - The generated guards are dropped in reverse order of entry on a thread (they are
//!   locals of nested calls or polls, also when unwinding). A hand-made guard dropped out
//!   of order cuts itself and every frame entered after it out of the chain
//!   (`unlink_out_of_order`): those frames are never reachable again, so their possibly
//!   dangling `parent` links are never followed.
//!
//! [`FrameState::published_path`]: crate::per_thread::FrameState::published_path

// No panic path (see the crate docs, "No panic path"): this code runs inside the global
// allocator, under the crate's locks, or on every tracked call.
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]
#![cfg_attr(not(test), deny(clippy::indexing_slicing, clippy::panic))]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#![cfg_attr(not(test), deny(clippy::unreachable, clippy::todo))]

use core::cell::Cell;
use core::marker::PhantomPinned;
use core::mem::MaybeUninit;
use core::pin::Pin;
use core::ptr;
use core::sync::atomic::{Ordering, compiler_fence, fence};

use crate::abi::off_path_fn;
use crate::counters::Raw;
use crate::paths;
use crate::per_thread::{self, PerThread};
use crate::site::{Budget, Site};
use crate::slots::CallNumbers;

/// `Frame::parent` before `enter`: not null (null is a root frame's parent) and never the
/// address of a real frame.
const NOT_ENTERED: *const Frame = ptr::dangling();

/// A tag in the low bit of `Frame::parent` (frames are 8-aligned): the frame's path is
/// known. PERF: so that a call writes no path up front. Set only by the end of a call
/// that allocated (its own, or a nested one's), which happens only for a frame whose
/// call allocated; so an untouched frame is never tagged, and its exit restores its parent
/// link to `current` as is (checked in debug builds).
const HAS_PATH: usize = 1;
const _: () = assert!(align_of::<Frame>() > HAS_PATH);

/// One active tracked call, or one poll of a tracked future.
pub(crate) struct Frame {
    site: &'static Site,
    /// The enclosing frame (null: none), tagged with [`HAS_PATH`].
    parent: Cell<*const Frame>,
    /// Written by `enter`; read only by a linked (so entered) frame. Left uninitialised
    /// by `new` so that a call does not pay for writing them twice.
    entry: Cell<MaybeUninit<Raw>>,
    /// The thread's peak before this frame lowered it (see `Counters::open_frame_peak`).
    outer_peak: Cell<MaybeUninit<i64>>,
    /// The frame's call path; written when first needed ([`HAS_PATH`]).
    path: Cell<MaybeUninit<u32>>,
    /// The thread's `handed_off` before this frame was entered under a path: written by
    /// [`Frame::enter_under`], restored by [`Frame::exit_under`]. (In the padding after
    /// `path`: frames are no larger for it.)
    outer_handed_off: Cell<MaybeUninit<u32>>,
    _pinned: PhantomPinned,
}

/// What [`Frame::unlink`] found.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unlinked {
    NotEntered,
    /// Nothing was allocated or freed; the frame is unlinked.
    Untouched,
    /// It allocated or freed; the frame is still current, for `exit_allocated`.
    Allocated,
}

/// What a frame's owner records when it ends.
pub(crate) trait Ending {
    /// The call neither allocated nor freed.
    fn untouched(&self, t: &PerThread, site: &'static Site);
    /// It did: `n` is what the whole call did, nested calls included.
    fn allocated(&self, t: &PerThread, site: &'static Site, n: &CallNumbers);
}

impl Frame {
    #[inline]
    pub(crate) const fn new(site: &'static Site) -> Self {
        Self {
            site,
            parent: Cell::new(NOT_ENTERED),
            entry: Cell::new(MaybeUninit::uninit()),
            outer_peak: Cell::new(MaybeUninit::uninit()),
            path: Cell::new(MaybeUninit::uninit()),
            outer_handed_off: Cell::new(MaybeUninit::uninit()),
            _pinned: PhantomPinned,
        }
    }

    /// Makes this the innermost frame of the thread.
    #[inline(always)]
    pub(crate) fn enter(self: Pin<&Self>) {
        let this = self.get_ref();
        if this.parent.get() != NOT_ENTERED {
            return; // entered twice: linking it again would make a cycle
        }
        let _ = per_thread::with(|t| {
            this.parent.set(t.frames.innermost().cast_const().cast());
            this.entry.set(MaybeUninit::new(t.counters.raw()));
            this.outer_peak
                .set(MaybeUninit::new(t.counters.open_frame_peak()));
            // Fully written before it becomes reachable, also from a signal handler.
            compiler_fence(Ordering::Release);
            t.frames
                .current
                .store(ptr::from_ref(this).cast_mut().cast(), Ordering::Relaxed);
            #[cfg(feature = "ownership")]
            t.holding.forget_current();
        });
    }

    /// Ends the frame (a no-op if it is not the innermost one); for the guards' `Drop`.
    #[inline(always)]
    pub(crate) fn exit(&self, ending: &impl Ending) {
        self.exit_as(self.site, ending);
    }

    /// [`Frame::exit`], given the frame's own site (as a value the compiler can see, see
    /// `CallEnd`).
    #[inline(always)]
    pub(crate) fn exit_as(&self, site: &'static Site, ending: &impl Ending) {
        debug_assert!(ptr::eq(site, self.site));
        match self.unlink() {
            Unlinked::NotEntered => {}
            Unlinked::Untouched => {
                let _ = per_thread::with(|t| ending.untouched(t, site));
            }
            Unlinked::Allocated => self.exit_allocated(ending),
        }
    }

    /// Makes this the innermost frame of the thread, as a call made under `parent_path`
    /// rather than under the thread's current frame: for work that a tracked call hands
    /// off (a spawned task, a thread), whose allocations then count in that call's
    /// inclusive numbers, on whatever thread they happen. End it with
    /// [`Frame::exit_under`]. (For `handoff`'s runs and polls and the `tracing` layer's
    /// spans.)
    ///
    /// Unless `parent_path` is the path of the thread's innermost frame (work run where it
    /// was handed off: a span nested in a span, a task polled inside the call that spawned
    /// it), the calls on `parent_path` are not on this thread: the frame becomes the
    /// thread's `handed_off`, so that a report does not count them in flight here too.
    pub(crate) fn enter_under(self: Pin<&Self>, parent_path: u32) {
        let this = self.get_ref();
        if this.parent.get() != NOT_ENTERED {
            return;
        }
        let _ = per_thread::with(|t| {
            let innermost: *const Frame = t.frames.innermost().cast_const().cast();
            // SAFETY: see the module docs: the innermost frame is alive.
            let innermost_path =
                unsafe { innermost.as_ref() }.map_or(Some(paths::ROOT), Frame::known_path);
            let outer = t.frames.handed_off.load(Ordering::Relaxed);
            this.outer_handed_off.set(MaybeUninit::new(outer));
            self.enter();
            let path = child_path(t, parent_path, this.site);
            this.set_path(path);
            if innermost_path != Some(parent_path) {
                // Stored before any booking can publish a path below the frame (see
                // `FrameState::handed_off`).
                t.frames.handed_off.store(path, Ordering::Relaxed);
            }
        });
    }

    /// Ends a frame entered with [`Frame::enter_under`] (its parent link is tagged from
    /// the start, which the common exit does not expect).
    pub(crate) fn exit_under(&self, ending: &impl Ending) {
        let untouched = per_thread::with(|t| {
            let current: *const Frame = t.frames.innermost().cast_const().cast();
            if !ptr::eq(current, self) {
                if self.parent.get() != NOT_ENTERED {
                    self.restore_handed_off(t);
                }
                self.unlink_out_of_order(t);
                return None;
            }
            if !t.counters.same_bytes_as(&self.entry()) {
                return Some(false);
            }
            t.frames
                .current
                .store(self.parent_ptr().cast_mut().cast(), Ordering::Relaxed);
            #[cfg(feature = "ownership")]
            t.holding.forget_current();
            t.counters.close_peak_untouched(self.outer_peak());
            self.restore_handed_off(t);
            ending.untouched(t, self.site);
            Some(true)
        });
        if untouched == Some(Some(false)) {
            self.exit_allocated(ending);
            // After the booking, which published a path outside the frame.
            let _ = per_thread::with(|t| self.restore_handed_off(t));
        }
    }

    /// Gives the thread back the `handed_off` it had before [`Frame::enter_under`].
    fn restore_handed_off(&self, t: &PerThread) {
        // SAFETY: written by `enter_under` before it linked the frame, and only frames it
        // entered are ended through `exit_under`.
        let outer = unsafe { self.outer_handed_off.get().assume_init() };
        t.frames.handed_off.store(outer, Ordering::Relaxed);
    }

    /// Ends the frame now (recording the call), before its owner drops it: for a call that
    /// fails its budget, so that the panic's own allocations are not the call's. The
    /// owner's drop then does nothing.
    pub(crate) fn end_now(&self, ending: &impl Ending) {
        self.exit(ending);
        self.parent.set(NOT_ENTERED);
    }

    /// Tells whether the call allocated, and unlinks the frame if it did not. PERF: a leaf
    /// on the common path, so a tracked function needs no extra registers or stack for it.
    #[inline(always)]
    pub(crate) fn unlink(&self) -> Unlinked {
        per_thread::with(|t| {
            let current: *const Frame = t.frames.innermost().cast_const().cast();
            if !ptr::eq(current, self) {
                self.unlink_out_of_order(t);
                return Unlinked::NotEntered;
            }
            if t.counters.same_bytes_as(&self.entry()) {
                debug_assert_eq!(
                    self.parent.get().addr() & HAS_PATH,
                    0,
                    "untouched, so untagged"
                );
                t.frames
                    .current
                    .store(self.parent.get().cast_mut().cast(), Ordering::Relaxed);
                #[cfg(feature = "ownership")]
                t.holding.forget_current();
                t.counters.close_peak_untouched(self.outer_peak());
                Unlinked::Untouched
            } else {
                Unlinked::Allocated
            }
        })
        .unwrap_or(Unlinked::NotEntered)
    }

    off_path_fn! {
        /// The rest of [`exit`](Self::exit) for a frame that allocated: books what happened
        /// since the mark, unlinks the frame, and records the call.
        #[inline(never)]
        fn exit_allocated<E: Ending>(&self, ending: &E) {
            let _ = per_thread::with(|t| {
                self.book(t);
                let now = t.counters.raw();
                t.frames
                    .current
                    .store(self.parent_ptr().cast_mut().cast(), Ordering::Relaxed);
                #[cfg(feature = "ownership")]
                t.holding.forget_current();
                let entry = self.entry();
                let peak = t.counters.close_peak(self.outer_peak(), entry.live());
                let numbers = CallNumbers {
                    done: now.since(&entry),
                    peak,
                };
                ending.allocated(t, self.site, &numbers);
            });
        }
    }

    /// Whether the call may be over its site's budget (`budget`, given again as the
    /// constants the caller knows) so far: false only if it is
    /// certainly within it (then [`Frame::so_far`] need not be computed). PERF: in line,
    /// two counters against the entry snapshot.
    #[inline(always)]
    pub(crate) fn may_exceed(&self, budget: Budget) -> bool {
        debug_assert_eq!(budget, self.site.budget);
        per_thread::with(|t| {
            let (allocs, bytes) = t.counters.requests_and_bytes_since(&self.entry());
            budget.max_allocs.is_some_and(|max| allocs > max)
                || budget.max_bytes.is_some_and(|max| bytes > max)
        })
        .unwrap_or(true)
    }

    /// What the call did so far (for a budget checked before the call returns). Only for
    /// the innermost frame.
    pub(crate) fn so_far(&self) -> CallNumbers {
        per_thread::with(|t| {
            let entry = self.entry();
            // The frame's window is still open: the running peak is its own so far.
            let peak = t.counters.peak().saturating_sub(entry.live()).max(0) as u64;
            CallNumbers {
                done: t.counters.raw().since(&entry),
                peak,
            }
        })
        .unwrap_or_default()
    }

    /// Attributes the counters' movement since the thread's mark to the paths of the
    /// frames active meanwhile (this one is the innermost), and moves the mark to `now`.
    #[inline(always)]
    fn book(&self, t: &PerThread) {
        let frames = &t.frames;
        if frames.seq.get() & 1 == 1 {
            // A signal handler's tracked call, interrupting this thread's booking: the
            // mark is half moved. Its allocations stay for the interrupted booking (or the
            // next) to book: counted, but perhaps to the interrupted frame.
            return;
        }
        // The frame is ending (`book` is its exit's).
        let (path, parent_path) = self.path_and_parent::<false>(t);
        frames.seq.add(1);
        fence(Ordering::Release);
        if frames.mark.is_before(&self.entry()) {
            // The frame started after the mark: what came before its start belongs to
            // the frames that were innermost then.
            self.book_since_entry(t, path);
        } else if let Some(slot) = t.tables.path_slot(path) {
            // PERF: field by field (read the counter, add its movement since the mark,
            // move the mark), so that few values are live at once.
            slot.add_since_and_advance(&t.counters, &frames.mark);
        } else {
            frames.mark.set(&t.counters.raw());
        }
        frames.published_path.store(parent_path, Ordering::Relaxed);
        fence(Ordering::Release);
        frames.seq.add(1);
    }

    off_path_fn! {
        /// [`Frame::book`] for a frame that started after the mark: its own part from its
        /// entry, the part before to its ancestors.
        #[cold]
        #[inline(never)]
        fn book_since_entry(&self, t: &PerThread, path: u32) {
            let mark = t.frames.mark.get();
            let now = t.counters.raw();
            let entry = self.entry();
            self.book_ancestors(t, &entry, &mark);
            if let Some(slot) = t.tables.path_slot(path) {
                slot.add_between(&entry, &now);
            }
            t.frames.mark.set(&now);
        }
    }

    off_path_fn! {
        /// Books `[mark, upto)` to the ancestors that were innermost during it, from this
        /// frame's parent up to the one that was innermost at the mark. Each ancestor's part
        /// is booked once (the mark then moves past it), so the walk is paid once per frame.
        #[cold]
        #[inline(never)]
        fn book_ancestors(&self, t: &PerThread, upto: &Raw, mark: &Raw) {
            let mut upto = *upto;
            let mut cursor = self.parent();
            while let Some(f) = cursor {
                let entry = f.entry();
                let entered_before_mark = entry.not_after(mark);
                let from = if entered_before_mark { *mark } else { entry };
                if let Some(slot) = t.tables.path_slot(f.path(t)) {
                    slot.add_between(&from, &upto);
                }
                if entered_before_mark {
                    return;
                }
                upto = entry;
                cursor = f.parent();
            }
            // No frame was active before: that part was outside tracked code.
        }
    }

    /// The frame's call path, worked out (and remembered) for it and for every ancestor
    /// whose path is not known yet.
    #[inline]
    fn path(&self, t: &PerThread) -> u32 {
        match self.known_path() {
            Some(path) => path,
            None => self.path_and_parent::<true>(t).0,
        }
    }

    /// The frame's call path and its parent's; the frame remembers its path if `REMEMBER`
    /// (the parent always does). PERF: inline for the common cases: the path is known, or
    /// the parent's is and the site's cache has the child. A frame that is ending does
    /// not remember its path: nothing reads it again, and the call saves the stores.
    #[inline(always)]
    fn path_and_parent<const REMEMBER: bool>(&self, t: &PerThread) -> (u32, u32) {
        let parent = match self.parent() {
            None => paths::ROOT,
            Some(p) => match p.known_path() {
                Some(path) => path,
                None => p.path_slow(t),
            },
        };
        if let Some(path) = self.known_path() {
            return (path, parent);
        }
        let path = child_path(t, parent, self.site);
        if REMEMBER {
            self.set_path(path);
        }
        (path, parent)
    }

    off_path_fn! {
        /// [`Frame::path`] when the parent's path is not known either: resolves up to 32
        /// unknown frames from the top down per round, without recursion.
        #[cold]
        #[inline(never)]
        fn path_slow(&self, t: &PerThread) -> u32 {
            const CHUNK: usize = 32;
            loop {
                let mut pending: [*const Frame; CHUNK] = [ptr::null(); CHUNK];
                let mut count = 0;
                let mut cursor = Some(self);
                let mut base = paths::ROOT;
                let mut more = false;
                while let Some(f) = cursor {
                    if let Some(path) = f.known_path() {
                        base = path;
                        break;
                    }
                    let Some(slot) = pending.get_mut(count) else {
                        more = true;
                        break;
                    };
                    *slot = f;
                    count = count.wrapping_add(1); // at most `CHUNK`
                    cursor = f.parent();
                }
                if more {
                    // Resolve the upper part first (its top frame is `pending[CHUNK - 1]`'s
                    // parent), then this round again.
                    // SAFETY: `pending` holds frames reachable from `current` (module docs).
                    if let Some(upper) = unsafe { pending[CHUNK - 1].as_ref() }.and_then(Frame::parent)
                    {
                        upper.path_slow(t);
                    }
                    continue;
                }
                let mut path = base;
                for &f in pending.get(..count).unwrap_or_default().iter().rev() {
                    // SAFETY: as above.
                    let f = unsafe { &*f };
                    path = child_path(t, path, f.site);
                    f.set_path(path);
                }
                return path;
            }
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
        fn unlink_out_of_order(&self, t: &PerThread) {
            if self.parent.get() == NOT_ENTERED {
                return;
            }
            let current: *const Frame = t.frames.innermost().cast_const().cast();
            // SAFETY: see the module docs: every frame reachable from `current` is alive.
            let mut cursor = unsafe { current.as_ref() };
            while let Some(f) = cursor {
                if ptr::eq(f, self) {
                    t.frames
                        .current
                        .store(self.parent_ptr().cast_mut().cast(), Ordering::Relaxed);
                    #[cfg(feature = "ownership")]
                    t.holding.forget_current();
                    return;
                }
                cursor = f.parent();
            }
        }
    }

    /// The site of the frame.
    #[inline(always)]
    pub(crate) fn site(&self) -> &'static Site {
        self.site
    }

    /// The counters at entry. Only for a linked frame.
    #[inline(always)]
    fn entry(&self) -> Raw {
        // SAFETY: only called on a frame reachable from `current` (or being unlinked by
        // its own exit), which `enter` linked after writing `entry`.
        unsafe { self.entry.get().assume_init() }
    }

    /// The thread's peak before entry. Only for a linked frame.
    #[inline(always)]
    fn outer_peak(&self) -> i64 {
        // SAFETY: as for `entry`.
        unsafe { self.outer_peak.get().assume_init() }
    }

    /// The parent link without its tag.
    fn parent_ptr(&self) -> *const Frame {
        self.parent.get().map_addr(|a| a & !HAS_PATH)
    }

    fn parent(&self) -> Option<&Frame> {
        // SAFETY: see the module docs: a linked parent outlives its children.
        unsafe { self.parent_ptr().as_ref() }
    }

    fn known_path(&self) -> Option<u32> {
        // SAFETY: `set_path` writes the field before setting the tag.
        (self.parent.get().addr() & HAS_PATH != 0).then(|| unsafe { self.path.get().assume_init() })
    }

    fn set_path(&self, path: u32) {
        self.path.set(MaybeUninit::new(path));
        self.parent
            .set(self.parent.get().map_addr(|a| a | HAS_PATH));
    }
}

/// The call path of the thread's innermost frame (the root if there is none).
pub(crate) fn current_path(t: &PerThread) -> u32 {
    let current: *const Frame = t.frames.innermost().cast_const().cast();
    // SAFETY: see the module docs: the innermost frame is alive.
    unsafe { current.as_ref() }.map_or(paths::ROOT, |f| f.path(t))
}

/// The path of `site` called under `parent`: from the site's one-entry cache (a function
/// called from one place), else from the parent path's (a function its caller keeps
/// calling: recursion, where the site's cache keeps changing), else out of line.
#[inline(always)]
fn child_path(t: &PerThread, parent: u32, site: &'static Site) -> u32 {
    let slot = t.tables.site_slot(site);
    if let Some(path) = slot.and_then(|s| s.cached_path(parent)) {
        return path;
    }
    if slot.is_some() && parent != paths::ROOT {
        let id = site.slot_offset() >> crate::site::SLOT_SHIFT;
        let cached = t
            .tables
            .path_slot_uncounted(parent)
            .and_then(|p| p.cached_child(id));
        if let Some(path) = cached {
            return path;
        }
    }
    child_path_cold(t, parent, site)
}

off_path_fn! {
    /// The path of `site` called under `parent`, when the site's one-entry cache does not
    /// have it: from the parent path's (which holds recursion, where the site's cache keeps
    /// changing), else the process-wide table; both caches are updated.
    #[cold]
    #[inline(never)]
    fn child_path_cold(t: &PerThread, parent: u32, site: &'static Site) -> u32 {
        let slot = t
            .tables
            .site_slot(site)
            .or_else(|| t.tables.site_slot_cold(site));
        // Assigned by the lookup above (and 0, an id no site has, if nothing is counted).
        let site_id = site.assigned_id().unwrap_or(0);
        let parent_slot = (parent != paths::ROOT)
            .then(|| t.tables.path_slot(parent))
            .flatten();
        let path = match parent_slot.and_then(|p| p.cached_child(site_id)) {
            Some(path) => path,
            None => {
                let path = paths::child(parent, site_id);
                if let Some(p) = parent_slot {
                    p.cache_child(site_id, path);
                }
                path
            }
        };
        if let Some(s) = slot {
            s.cache_path(parent, path);
        }
        path
    }
}
