//! The thread-exit hook: folds an exiting thread into the process-wide numbers (see
//! `registry::fold_exiting`).
//!
//! A pthread key with a destructor (Unix). Rust's own thread-local destructors may not be
//! registered from inside a global allocator (rust-lang/rust#116390); a pthread key is
//! created once, and setting its value allocates nothing through Rust's allocator. Its
//! destructor runs after the thread's Rust thread-local destructors, so what they allocate
//! and free is counted before the fold. What runs later still (other keys' destructors)
//! re-arms the hook through the counters' restart (see `Counters::restart`), up to the
//! system's limit of destructor rounds (`PTHREAD_DESTRUCTOR_ITERATIONS`, 4 with glibc).

// No panic path (see the crate docs, "No panic path"): this code runs inside the global
// allocator, under the crate's locks, or on every tracked call.
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]
#![cfg_attr(not(test), deny(clippy::indexing_slicing, clippy::panic))]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#![cfg_attr(not(test), deny(clippy::unreachable, clippy::todo))]

use crate::per_thread::PerThread;

/// Arms the exit hook of the calling thread and lists it in the registry, once per thread
/// (and again after a fold). Called from inside the allocator: no allocation, no panic.
#[cold]
#[inline(never)]
pub(crate) fn arm(t: &PerThread) {
    if !t.counters.take_arming() {
        return;
    }
    if key::set() {
        crate::registry::list(t);
    }
}

#[cfg(unix)]
mod key {
    use core::ffi::c_void;
    use core::sync::atomic::{AtomicUsize, Ordering};

    /// The key plus one; 0 while not created, `usize::MAX` if creation failed.
    static KEY: AtomicUsize = AtomicUsize::new(0);

    /// Sets this thread's value of the key, so its destructor runs at exit. False if the
    /// key could not be created (the thread is then not listed either: nothing would
    /// take it out of the list).
    pub(super) fn set() -> bool {
        let key = match KEY.load(Ordering::Acquire) {
            0 => create(),
            usize::MAX => return false,
            key => key.wrapping_sub(1), // not 0 (the first arm)
        };
        if key == usize::MAX {
            return false;
        }
        // SAFETY: `key` was returned by `pthread_key_create`; the value is a non-null
        // marker that is never dereferenced.
        unsafe {
            libc::pthread_setspecific(key as libc::pthread_key_t, core::ptr::dangling::<c_void>())
                == 0
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
        // A `pthread_key_t` is at most 32 bits: plus one does not wrap.
        let stored = (key as usize).wrapping_add(1);
        match KEY.compare_exchange(0, stored, Ordering::AcqRel, Ordering::Acquire) {
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
        // A panic must not cross this boundary; the fold has no panic path, this only
        // guards against the unexpected.
        let _ = std::panic::catch_unwind(|| {
            crate::per_thread::with(crate::registry::fold_exiting);
        });
    }
}

#[cfg(not(unix))]
mod key {
    /// Without a thread-exit hook, a thread is not listed (nothing would unlist it before
    /// its memory goes): only the calling thread and its tracked calls are visible.
    pub(super) fn set() -> bool {
        false
    }
}
