//! `TrackedFuture`: the call of a tracked `async fn`, measured across all its polls.

// No panic path (see the crate docs, "No panic path"): this code runs on every tracked
// call or measurement.
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]
#![cfg_attr(not(test), deny(clippy::indexing_slicing, clippy::panic))]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#![cfg_attr(not(test), deny(clippy::unreachable, clippy::todo))]

use core::cell::Cell;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use crate::frame::{Ending, Frame};
use crate::guard::{NoSelf, SelfType, slot_cold};
use crate::per_thread::{self, PerThread};
use crate::site::Site;
use crate::slots::{CallNumbers, CallSummary, SiteSlot};

/// The future of a `#[track_allocs] async fn` call.
///
/// Every poll is a frame on the thread that runs it, so the call's numbers are the sum of
/// its polls wherever they ran (a multi-threaded runtime may move it between workers). The
/// call is counted once, when it completes (or is dropped after being polled); between
/// its first poll and then, it is in flight. Its peak is the highest of its polls' peaks:
/// live bytes of polls on different threads cannot be added up.
///
/// It adds 40 bytes to the future it wraps (the site, and the call's numbers so far), and
/// at most 7 more of padding.
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct TrackedFuture<F, N: SelfType = NoSelf> {
    inner: F,
    site: &'static Site,
    call: CallSoFar,
    self_type: N,
}

#[derive(Debug, Default, Clone, Copy)]
struct CallSoFar {
    numbers: CallSummary,
    state: State,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum State {
    #[default]
    Fresh,
    Polled,
    Done,
}

impl<F> TrackedFuture<F> {
    pub(crate) fn new(site: &'static Site, inner: F) -> Self {
        Self::with_type(site, inner, NoSelf)
    }
}

impl<F, N: SelfType> TrackedFuture<F, N> {
    pub(crate) fn with_type(site: &'static Site, inner: F, self_type: N) -> Self {
        Self {
            inner,
            site,
            call: CallSoFar::default(),
            self_type,
        }
    }
}

impl<F: Future, N: SelfType> Future for TrackedFuture<F, N> {
    type Output = F::Output;

    // PERF: in line in its caller (the enclosing future's poll, or the executor's), like a
    // tracked synchronous call: a poll's own call and its saved registers were a fifth of
    // what tracking a poll cost. The rare paths stay out of line.
    #[inline(always)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `inner` is structurally pinned: it is never moved out of `self`, and
        // `TrackedFuture` has no `Unpin` impl of its own that would let it move (it is
        // `Unpin` only if `F` and `N` are). The other fields are plain data, never pinned.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: see above; `this.inner` stays where it is for the rest of its life.
        let inner = unsafe { Pin::new_unchecked(&mut this.inner) };
        let site = this.site;
        if this.call.state == State::Fresh {
            // In flight from its first poll's start: a report taken during that poll
            // counts it as started, and (being async) not again as a frame on a path.
            this.call.state = State::Polled;
            start(site, &this.self_type);
        }
        let poll = {
            let guard = core::pin::pin!(PollGuard {
                frame: Frame::new(site),
                call: Cell::from_mut(&mut this.call),
                self_type: &this.self_type,
            });
            let guard = guard.into_ref();
            // SAFETY: `frame` is structurally pinned: it is never moved out of the guard,
            // which stays pinned until the end of this block.
            unsafe { guard.map_unchecked(|g| &g.frame) }.enter();
            // PERF: the poll's frame ends in line when the inner poll returns; only an
            // unwinding poll ends it from a destructor (a `Drop` on the guard itself was
            // left as an out-of-line call on every poll).
            let on_unwind = EndOnUnwind(guard.get_ref());
            let poll = inner.poll(cx);
            core::mem::forget(on_unwind);
            guard.frame.exit(guard.get_ref());
            poll
        };
        if poll.is_ready() {
            this.call.state = State::Done;
            let numbers = this.call.numbers;
            finish(site, &this.self_type, &numbers);
            crate::budget::check_async(site, &numbers);
        }
        poll
    }
}

/// Puts a call in flight, on the calling thread's entry of its site.
fn start(site: &'static Site, self_type: &impl SelfType) {
    site.mark_async();
    let _ = per_thread::with(|t| {
        if let Some(slot) = slot(t, site, self_type) {
            slot.started.add(1);
        }
    });
}

/// Counts a finished (or cancelled) call on the calling thread.
fn finish(site: &'static Site, self_type: &impl SelfType, numbers: &CallSummary) {
    let _ = per_thread::with(|t| {
        if let Some(slot) = slot(t, site, self_type) {
            slot.finish_call(numbers);
        }
    });
}

#[inline(always)]
fn slot<'t, N: SelfType>(
    t: &'t PerThread,
    site: &'static Site,
    self_type: &N,
) -> Option<&'t SiteSlot> {
    match t.tables.site_slot(site) {
        Some(slot) if !(N::LEARNS && site.wants_type()) => Some(slot),
        _ => slot_cold(t, site, self_type),
    }
}

/// One poll of a tracked future: what the poll did, added to the call's.
struct PollGuard<'a, N: SelfType> {
    frame: Frame,
    call: &'a Cell<CallSoFar>,
    self_type: &'a N,
}

impl<N: SelfType> Ending for PollGuard<'_, N> {
    #[inline(always)]
    fn untouched(&self, _: &PerThread, _: &'static Site) {}

    // PERF: inlined into the frame's off-path exit, which would otherwise save and restore
    // ten xmm registers around a call that follows the ordinary calling convention.
    #[inline(always)]
    fn allocated(&self, t: &PerThread, site: &'static Site, n: &CallNumbers) {
        // A call in flight shows the peak of its polls so far.
        if let Some(slot) = slot(t, site, self.self_type) {
            slot.peak.raise(n.peak);
        }
        let mut call = self.call.get();
        call.numbers.accumulate(&n.summary());
        self.call.set(call);
    }
}

/// Ends a poll's frame if the inner poll unwinds (the frame must leave the thread's chain
/// before its memory goes). Forgotten when the poll returns.
struct EndOnUnwind<'g, 'a, N: SelfType>(&'g PollGuard<'a, N>);

impl<N: SelfType> Drop for EndOnUnwind<'_, '_, N> {
    fn drop(&mut self) {
        self.0.frame.exit(self.0);
    }
}

impl<F, N: SelfType> Drop for TrackedFuture<F, N> {
    fn drop(&mut self) {
        // A call cancelled after it started still counts once.
        if self.call.state == State::Polled {
            self.call.state = State::Done;
            finish(self.site, &self.self_type, &self.call.numbers);
        }
    }
}
