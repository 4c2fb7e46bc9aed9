//! `RawLock`: the crate's one kind of lock, for the registry of threads and the call-path
//! table's inserts.
//!
//! Not `std::sync::Mutex`, for three reasons: it must be taken from inside the global
//! allocator (a thread's first allocation registers it), it must be released in the child
//! of a `fork` whatever thread held it in the parent (see `registry::fork`), and a thread
//! must be able to tell that it already holds it (a signal handler that interrupts the
//! holder must not wait for itself). It never allocates. Sections under it are short and
//! never run user code, so waiting spins briefly and then yields.

// No panic path (see the crate docs, "No panic path"): this code runs inside the global
// allocator, under the crate's locks, or on every tracked call.
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]
#![cfg_attr(not(test), deny(clippy::indexing_slicing, clippy::panic))]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#![cfg_attr(not(test), deny(clippy::unreachable, clippy::todo))]

use core::sync::atomic::{AtomicUsize, Ordering};

/// A lock word: 0 when free, else a token of the holding thread.
pub(crate) struct RawLock {
    holder: AtomicUsize,
}

/// A token unique to the calling thread while it lives: the address of a thread-local.
fn this_thread() -> usize {
    thread_local! {
        static TOKEN: u8 = const { 0 };
    }
    TOKEN.with(|t| core::ptr::from_ref(t).addr())
}

impl RawLock {
    pub(crate) const fn new() -> Self {
        Self {
            holder: AtomicUsize::new(0),
        }
    }

    /// Takes the lock, waiting if another thread holds it. `None` if this thread already
    /// holds it (it was interrupted by a signal handler, say): the caller must do without.
    pub(crate) fn lock(&self) -> Option<Guard<'_>> {
        let me = this_thread();
        let mut spins = 0u32;
        loop {
            match self
                .holder
                .compare_exchange_weak(0, me, Ordering::Acquire, Ordering::Relaxed)
            {
                Ok(_) => return Some(Guard { lock: self }),
                Err(holder) if holder == me => return None,
                Err(_) => {
                    spins = spins.saturating_add(1);
                    if spins < 64 {
                        core::hint::spin_loop();
                    } else {
                        std::thread::yield_now();
                    }
                }
            }
        }
    }

    /// Releases the lock whoever holds it: only for the child of `fork`, which has one
    /// thread, so no one else can be inside.
    pub(crate) fn force_unlock(&self) {
        self.holder.store(0, Ordering::Release);
    }

    /// Takes the lock and keeps it past the guard: for `fork`'s prepare handler, released
    /// by [`force_unlock`](Self::force_unlock) in the parent and the child.
    pub(crate) fn lock_for_fork(&self) {
        if let Some(guard) = self.lock() {
            core::mem::forget(guard);
        }
    }
}

/// Holds a [`RawLock`] until dropped.
pub(crate) struct Guard<'a> {
    lock: &'a RawLock,
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        self.lock.holder.store(0, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excludes_other_threads_and_refuses_its_holder() {
        static LOCK: RawLock = RawLock::new();
        static mut SHARED: u64 = 0;
        let guard = LOCK.lock().unwrap();
        assert!(LOCK.lock().is_none(), "the holder cannot take it twice");
        drop(guard);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..1000 {
                        let _g = LOCK.lock().unwrap();
                        // SAFETY: every access is under the lock.
                        unsafe { SHARED += 1 };
                    }
                });
            }
        });
        let _g = LOCK.lock().unwrap();
        // SAFETY: under the lock.
        assert_eq!(unsafe { SHARED }, 4000);
    }
}
