//! The crate's one thread-local: this thread's allocation counters and its frame state.
//!
//! PERF: `const`-initialised with no `Drop`, so reaching it is a plain `%fs`-relative
//! access: no lazy initialisation, no destructor registration, no allocation, and it stays
//! usable until the thread's very last instruction (including inside other thread-locals'
//! destructors), so `try_with` never fails. One thread-local rather than one per module
//! means one base address for a tracked call, which touches both parts.

use crate::counters::ThreadCounters;
use crate::frame::FrameState;

pub(crate) struct PerThread {
    pub(crate) counters: ThreadCounters,
    pub(crate) frames: FrameState,
}

thread_local! {
    pub(crate) static THREAD: PerThread = const {
        PerThread {
            counters: ThreadCounters::new(),
            frames: FrameState::new(),
        }
    };
}
