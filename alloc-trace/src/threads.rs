//! Process-wide numbers: the registry of live threads' records, the totals of threads
//! that have exited, and the exit hook that folds a thread into them.
//!
//! The allocator never touches this module on its common path. A thread's counters stay
//! in its own thread-local; they reach the process-wide totals when the thread exits (an
//! exit hook, armed by the thread's first allocation, folds them in) and, for threads
//! that make tracked calls, each time such a call allocates (the call publishes a copy).

use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::AllocCounts;
use crate::counters::{self, Totals};
use crate::frame;
use crate::record::ThreadRecord;
use crate::slots::SiteValues;

/// A record pointer in the registry.
#[derive(Clone, Copy)]
pub(crate) struct RecordRef(pub &'static ThreadRecord);

impl PartialEq for RecordRef {
    fn eq(&self, other: &Self) -> bool {
        core::ptr::eq(self.0, other.0)
    }
}

/// Records of live threads that made tracked calls. Taken around table replacement and
/// thread exit, and by reports. WARNING: code holding it may allocate (the allocator takes
/// no lock, so this cannot deadlock) but must not make tracked calls.
static REGISTRY: Mutex<Vec<RecordRef>> = Mutex::new(Vec::new());

/// What exited threads did. Locked after `REGISTRY`, never before.
static RETIRED: Mutex<Retired> = Mutex::new(Retired::new());

pub(crate) struct Retired {
    pub totals: Totals,
    pub tracked: Totals,
    pub sites: Vec<SiteValues>,
    pub paths: Vec<Totals>,
}

impl Retired {
    const fn new() -> Self {
        Self {
            totals: Totals::ZERO,
            tracked: Totals::ZERO,
            sites: Vec::new(),
            paths: Vec::new(),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding these locks leaves the data consistent (every update is a
    // single addition), so poisoning is ignored.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) fn with_registry_locked<R>(f: impl FnOnce() -> R) -> R {
    let _registry = lock(&REGISTRY);
    f()
}

/// Lists a new record; it lives until its thread exits.
pub(crate) fn register(record: ThreadRecord) -> &'static ThreadRecord {
    let record: &'static ThreadRecord = Box::leak(Box::new(record));
    lock(&REGISTRY).push(RecordRef(record));
    record
}

/// A consistent view of every thread's numbers, for reports.
pub(crate) struct Everything<'a> {
    pub live: MutexGuard<'a, Vec<RecordRef>>,
    pub retired: MutexGuard<'a, Retired>,
}

/// Locks the registry and the retired totals. Call inside `counters::untracked`.
pub(crate) fn everything() -> Everything<'static> {
    let live = lock(&REGISTRY);
    let retired = lock(&RETIRED);
    Everything { live, retired }
}

/// Process-wide `(totals, inside tracked code)`: exited threads exactly, the calling
/// thread exactly, other live threads as of their last tracked call that allocated.
pub(crate) fn process_totals(
    all: &Everything<'_>,
    own: Totals,
    own_tracked: Totals,
) -> (Totals, Totals) {
    let mine = frame::this_record().map(RecordRef);
    let mut totals = all.retired.totals.plus(own);
    let mut tracked = all.retired.tracked.plus(own_tracked);
    for record in all.live.iter().filter(|r| Some(**r) != mine) {
        totals = totals.plus(record.0.published.load());
        tracked = tracked.plus(record.0.published_tracked.load());
    }
    (totals, tracked)
}

/// What every thread of the process has done so far.
///
/// Exact for the calling thread and for every thread that has exited (so, after
/// `join`, for all of them). A thread that is still running is included as of the end of
/// its last `#[track_allocs]` call that allocated, or not at all if it made none; its
/// counts become exact when it exits. There is no process-wide peak here: peaks are per
/// thread (see [`measure`](crate::measure)) and per site.
///
/// Exited threads are folded in by a thread-exit hook on Unix; on other platforms only
/// threads that made tracked calls are visible, while they run.
///
/// # Panics
///
/// If [`CountingAlloc`](crate::CountingAlloc) is not the global allocator.
///
/// ```
/// # #[global_allocator]
/// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
/// let before = alloc_trace::process_stats();
/// std::thread::spawn(|| drop(std::hint::black_box(vec![0u8; 100]))).join().unwrap();
/// let after = alloc_trace::process_stats();
/// assert!(after.bytes_allocated - before.bytes_allocated >= 100);
/// ```
#[must_use]
pub fn process_stats() -> AllocCounts {
    crate::installed::assert_installed();
    let (own, own_tracked) = (counters::totals(), frame::tracked_totals());
    counters::untracked(|| process_totals(&everything(), own, own_tracked).0.counts())
}

/// Folds the calling (exiting) thread into the retired totals and frees its record.
fn fold_exiting_thread() {
    let (own, own_tracked) = (counters::totals(), frame::tracked_totals());
    counters::untracked(|| {
        let record = frame::take_record();
        let mut live = lock(&REGISTRY);
        let mut retired = lock(&RETIRED);
        if let Some(record) = record {
            live.retain(|r| *r != RecordRef(record));
            // SAFETY: this is the owning thread, and it no longer lists the record.
            let (sites, paths) = unsafe { (record.sites.as_slice(), record.paths.as_slice()) };
            grow_to(&mut retired.sites, sites.len());
            for (sum, slot) in retired.sites.iter_mut().zip(sites) {
                sum.merge(&slot.load());
            }
            grow_to(&mut retired.paths, paths.len());
            for (sum, slot) in retired.paths.iter_mut().zip(paths) {
                *sum = sum.plus(slot.load());
            }
            // SAFETY: `register` leaked this box; the registry no longer lists it and
            // `take_record` cleared this thread's pointer, so nothing else refers to it.
            drop(unsafe { Box::from_raw(core::ptr::from_ref(record).cast_mut()) });
        }
        retired.totals = retired.totals.plus(own);
        retired.tracked = retired.tracked.plus(own_tracked);
    });
    // Everything so far is folded: count what comes next from zero (see
    // `restart_after_fold`).
    counters::restart_after_fold();
    frame::restart_tracked_totals();
}

fn grow_to<T: Default>(v: &mut Vec<T>, len: usize) {
    if v.len() < len {
        v.resize_with(len, T::default);
    }
}

/// Arms this thread's exit hook. Called from inside the allocator, once per thread: it
/// must not allocate through the global allocator, lock, or panic.
pub(crate) fn arm_exit_hook() {
    exit_hook::arm();
}

#[cfg(unix)]
mod exit_hook {
    //! A pthread key destructor. Rust's own thread-local destructors may not be
    //! registered from inside a global allocator (rust-lang/rust#116390); a pthread key is
    //! created once, and setting its value allocates nothing through Rust's allocator.
    //! Its destructor runs after the thread's Rust thread-local destructors, so their
    //! allocations are counted before the fold.

    use core::ffi::c_void;
    use core::sync::atomic::{AtomicUsize, Ordering};

    /// The key plus one; 0 while not created, `usize::MAX` if creation failed.
    static KEY: AtomicUsize = AtomicUsize::new(0);

    pub(super) fn arm() {
        let key = match KEY.load(Ordering::Acquire) {
            0 => create(),
            usize::MAX => return,
            key => key - 1,
        };
        if key == usize::MAX {
            return;
        }
        // SAFETY: `key` was returned by `pthread_key_create`; the value is a non-null
        // marker that is never dereferenced.
        unsafe {
            libc::pthread_setspecific(key as libc::pthread_key_t, core::ptr::dangling::<c_void>());
        }
    }

    #[cold]
    fn create() -> usize {
        let mut key: libc::pthread_key_t = 0;
        // SAFETY: `key` is a valid out-pointer and `on_thread_exit` has the destructor's
        // signature and never unwinds.
        if unsafe { libc::pthread_key_create(&mut key, Some(on_thread_exit)) } != 0 {
            KEY.store(usize::MAX, Ordering::Release);
            return usize::MAX;
        }
        match KEY.compare_exchange(0, key as usize + 1, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => key as usize,
            Err(existing) => {
                // Another thread won the race: use its key.
                // SAFETY: `key` was created above and never handed out.
                unsafe { libc::pthread_key_delete(key) };
                existing.wrapping_sub(1)
            }
        }
    }

    extern "C" fn on_thread_exit(_: *mut c_void) {
        // A panic must not cross this boundary; the fold itself has no panic path, this
        // only guards against the unexpected.
        let _ = std::panic::catch_unwind(super::fold_exiting_thread);
    }
}

#[cfg(not(unix))]
mod exit_hook {
    pub(super) fn arm() {}
}
