//! The crate's one thread-local, [`THREAD`]: a thread's counters, its frame state, its
//! tables and its place in the registry of threads.
//!
//! PERF: `const`-initialised with no `Drop`, so reaching it is a plain `%fs`-relative
//! access: no lazy initialisation, no destructor registration, no allocation, and it stays
//! usable until the thread's very last instruction (including inside other thread-locals'
//! destructors), so `try_with` never fails. One thread-local rather than one per module
//! means one base address for a tracked call, which touches several parts.
//!
//! Other threads reach a thread's `PerThread` through the registry (see `registry`) and
//! read only its atomic fields, while the registry lock guarantees it is alive.

// No panic path (see the crate docs, "No panic path"): this code runs inside the global
// allocator, under the crate's locks, or on every tracked call.
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]
#![cfg_attr(not(test), deny(clippy::indexing_slicing, clippy::panic))]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#![cfg_attr(not(test), deny(clippy::unreachable, clippy::todo))]

use core::cell::Cell;
use core::sync::atomic::{AtomicPtr, AtomicU32};

use crate::counters::{Counters, Owned, SharedRaw};
#[cfg(feature = "ownership")]
use crate::holding::Holding;
use crate::record::Tables;

/// Everything the crate keeps per thread.
pub(crate) struct PerThread {
    pub(crate) counters: Counters,
    pub(crate) frames: FrameState,
    pub(crate) tables: Tables,
    pub(crate) links: Links,
    /// What the thread holds per call path, and its part in the process peak.
    #[cfg(feature = "ownership")]
    pub(crate) holding: Holding,
}

/// The frame stack's shared state (the frames themselves live on the stack; see `frame`).
pub(crate) struct FrameState {
    /// The innermost active frame (a `frame::Frame`; null: none). Other threads only test
    /// it for null.
    pub(crate) current: AtomicPtr<()>,
    /// The counters when allocations were last attributed to a call path: what happened
    /// since belongs to the frames active since.
    pub(crate) mark: SharedRaw,
    /// The path of the innermost active frame whose path is known (0: none), where a
    /// reader books what happened since `mark`.
    pub(crate) published_path: AtomicU32,
    /// The path of the innermost frame of work handed off to this thread from a call that
    /// is not on this thread's chain (0: none): a reader counts the calls on
    /// `published_path` as in flight here only up to it; the calls above it run (or ran)
    /// elsewhere, and their own threads count them.
    pub(crate) handed_off: AtomicU32,
    /// Odd while the owner is attributing allocations to paths (moving `mark` and adding
    /// to path entries): a reader retries.
    pub(crate) seq: Owned,
}

impl FrameState {
    /// The innermost active frame, read by the thread that owns it. PERF: a plain load,
    /// which the compiler may merge with a comparison or reorder around the frame's own
    /// stores (an atomic load, even relaxed, keeps the dead store of a new frame's
    /// "not entered" marker alive, and costs a separate load).
    #[inline(always)]
    pub(crate) fn innermost(&self) -> *mut () {
        // SAFETY: only the owning thread (the caller) stores `current`; other threads
        // only load it atomically, so this read cannot race with a write.
        unsafe { *self.current.as_ptr() }
    }
}

/// A thread's links in the registry's list, used under the registry lock.
pub(crate) struct Links {
    pub(crate) next: AtomicPtr<PerThread>,
    pub(crate) prev: AtomicPtr<PerThread>,
    /// Listed in the registry (owner's flag; changed under the lock).
    pub(crate) listed: Cell<bool>,
    /// Folded at least once (the thread is exiting): never listed again, since its memory
    /// goes away after its last exit-hook round.
    pub(crate) exiting: Cell<bool>,
}

thread_local! {
    pub(crate) static THREAD: PerThread = const {
        PerThread {
            counters: Counters::new(),
            frames: FrameState {
                current: AtomicPtr::new(core::ptr::null_mut()),
                mark: SharedRaw::new(),
                published_path: AtomicU32::new(0),
                handed_off: AtomicU32::new(0),
                seq: Owned::new(0),
            },
            tables: Tables::new(),
            links: Links {
                next: AtomicPtr::new(core::ptr::null_mut()),
                prev: AtomicPtr::new(core::ptr::null_mut()),
                listed: Cell::new(false),
                exiting: Cell::new(false),
            },
            #[cfg(feature = "ownership")]
            holding: Holding::new(),
        }
    };
}

/// Runs `f` on this thread's state. It cannot fail (see the module docs); callers still
/// handle the error rather than unwrap, so that no panic path exists.
#[inline(always)]
pub(crate) fn with<R>(f: impl FnOnce(&PerThread) -> R) -> Option<R> {
    THREAD.try_with(f).ok()
}

/// This thread's state, as a pointer, for the ownership view's allocation path: `with`
/// and a closure there grew large enough for the compiler to call `try_with` out of line.
/// The pointer is valid until the thread exits (the thread-local has no destructor, see
/// the module docs): dereference it only for the rest of the current call.
#[cfg(feature = "ownership")]
#[inline(always)]
pub(crate) fn pointer() -> *const PerThread {
    THREAD
        .try_with(core::ptr::from_ref)
        .unwrap_or(core::ptr::null())
}

/// Runs `f` without counting it on this thread: its allocations and frees are undone in
/// the counters when it returns (or unwinds). For the few places where the crate must use
/// the global allocator for itself (the probe that checks `CountingAlloc` is installed,
/// the exit report, which no one reads afterwards).
///
/// WARNING: `f` must free what it allocates, and must not make tracked calls. A reader on
/// another thread may see the transient counts while `f` runs.
///
/// With the ownership view, nothing `f` does can be the process peak (see
/// `holding::Holding::pause`); its blocks come and go in the thread's holdings.
pub(crate) fn uncounted<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(Option<(crate::counters::Raw, i64)>);
    impl Drop for Restore {
        fn drop(&mut self) {
            if let Some((raw, peak)) = self.0 {
                let _ = with(|t| {
                    t.counters.set_raw(raw);
                    t.counters.set_peak(peak);
                    #[cfg(feature = "ownership")]
                    t.holding.resume();
                });
            }
        }
    }
    let _restore = Restore(with(|t| {
        #[cfg(feature = "ownership")]
        t.holding.pause();
        (t.counters.raw(), t.counters.peak())
    }));
    f()
}
