//! `TrackedFuture`: the call of a tracked `async fn`, measured across all its polls.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use crate::site::Site;

#[cfg(feature = "tracking")]
use {
    crate::frame::{Ending, Frame, FrameState},
    crate::slots::CallNumbers,
    core::cell::Cell,
};

/// The future of a `#[track_allocs] async fn` call.
///
/// Every poll is a frame on the thread that runs it, so the call's numbers are the sum of
/// its polls wherever they ran (a multi-threaded runtime may move it between workers). The
/// call is counted once, when it completes (or is dropped after being polled). Its peak is
/// the highest of its polls' peaks: live bytes of different polls on different threads
/// cannot be added up.
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct TrackedFuture<F> {
    inner: F,
    // Without the `tracking` feature the wrapper is `inner` alone: no size, no work.
    #[cfg(feature = "tracking")]
    site: &'static Site,
    #[cfg(feature = "tracking")]
    call: CallSoFar,
}

#[cfg(feature = "tracking")]
#[derive(Debug, Default, Clone, Copy)]
struct CallSoFar {
    polled: bool,
    finished: bool,
    numbers: crate::slots::CallNumbers,
}

impl<F> TrackedFuture<F> {
    pub(crate) fn new(site: &'static Site, inner: F) -> Self {
        #[cfg(not(feature = "tracking"))]
        let _ = site;
        Self {
            inner,
            #[cfg(feature = "tracking")]
            site,
            #[cfg(feature = "tracking")]
            call: CallSoFar::default(),
        }
    }
}

impl<F: Future> Future for TrackedFuture<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `inner` is structurally pinned: it is never moved out of `self`, and
        // `TrackedFuture` has no `Unpin` impl of its own that would let it move (it is
        // `Unpin` only if `F` is). The other fields are plain data, never pinned.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: see above; `this.inner` stays where it is for the rest of its life.
        let inner = unsafe { Pin::new_unchecked(&mut this.inner) };
        #[cfg(feature = "tracking")]
        {
            let site = this.site;
            let poll = {
                let guard = core::pin::pin!(PollGuard {
                    frame: Frame::new(site),
                    site,
                    call: &mut this.call,
                    ready: Cell::new(false),
                    numbers: Cell::new(None),
                });
                let guard = guard.into_ref();
                // SAFETY: `frame` is structurally pinned: it is never moved out of the
                // guard, which stays pinned until it is dropped at the end of this block.
                unsafe { Pin::new_unchecked(&guard.get_ref().frame) }.enter();
                let poll = inner.poll(cx);
                guard.ready.set(poll.is_ready());
                poll
            };
            if poll.is_ready() {
                crate::budget::check(site, &this.call.numbers, None);
            }
            poll
        }
        #[cfg(not(feature = "tracking"))]
        inner.poll(cx)
    }
}

/// One poll of a tracked future: records what the poll did when it ends (also when the
/// inner poll panics), and the call itself when the poll completed it.
#[cfg(feature = "tracking")]
struct PollGuard<'a> {
    frame: Frame,
    site: &'static Site,
    call: &'a mut CallSoFar,
    ready: Cell<bool>,
    numbers: Cell<Option<CallNumbers>>,
}

#[cfg(feature = "tracking")]
impl Ending for PollGuard<'_> {
    fn untouched(&self, _: &FrameState) {}

    fn allocated(&self, s: &FrameState, n: &CallNumbers) {
        s.slot(self.site).add_numbers(n);
        self.numbers.set(Some(*n));
    }
}

#[cfg(feature = "tracking")]
impl Drop for PollGuard<'_> {
    fn drop(&mut self) {
        let this = &*self;
        this.frame.exit(this);
        if let Some(n) = self.numbers.take() {
            self.call.numbers.accumulate(&n);
        }
        self.call.polled = true;
        if self.ready.get() {
            let allocs = self.call.numbers.inclusive.requests();
            crate::frame::with_site_slot(self.site, |slot| slot.finish_call(allocs));
            self.call.finished = true;
        }
    }
}

#[cfg(feature = "tracking")]
impl<F> Drop for TrackedFuture<F> {
    fn drop(&mut self) {
        // A call cancelled after it started still counts once.
        if self.call.polled && !self.call.finished {
            crate::frame::with_site_slot(self.site, |slot| {
                slot.finish_call(self.call.numbers.inclusive.requests());
            });
        }
    }
}
