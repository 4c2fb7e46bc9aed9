//! Work a tracked call hands off (a spawned task, a closure run on another thread or a
//! pool), counted in that call's inclusive numbers wherever and whenever it runs.
//!
//! [`Handoff::current`] reads the call path of the calling thread's innermost tracked
//! call. The work then runs as frames entered *under* that path (`Frame::enter_under`):
//! one per poll of a [`HandedOff`] future, one per [`Handoff::run`] of a closure. Each
//! frame's site is one of two static sites of this module, `[task]` (futures) and
//! `[handoff]` (closures), so the work's call path is `the call's path;[task];...`:
//!
//! - every function on the call's path counts the work in its inclusive numbers (their
//!   sum over the paths they are on), and none in its exclusive numbers (the paths that
//!   *end* at it), which stay what the call did itself;
//! - the bracketed frame tells a reader of a path or a flamegraph that what is below it
//!   ran outside the call, perhaps on another thread, perhaps after the call returned;
//! - its row counts the handed-off work itself: tasks (one call each, when it completes or
//!   is dropped after a poll; in flight from its first poll) or closure runs.
//!
//! The sites are not registered with `inventory`: a report lists them once some work was
//! handed off, never as "not called" in a program that hands nothing off.
//!
//! # The capture, and the frame whose path is not known yet
//!
//! `frame::current_path` remembers the paths it works out in the frames (the frame
//! module's `HAS_PATH` tag), and a frame ends on its untouched fast path (it allocated and
//! freed nothing) by restoring its parent link as it is, which the tag would corrupt. So
//! the path is taken only where that cannot happen: when the innermost frame has moved its
//! thread's bytes since it started (then it and every enclosing frame end on the path that
//! strips the tag), or when it is a frame of this module (whose path is known from its
//! start, so nothing is worked out). Otherwise the work counts under the root: a `[task]`
//! or `[handoff]` frame at the top of its paths, in no call's inclusive numbers.

// No panic path (see the crate docs, "No panic path"): this code runs on every tracked
// call or measurement.
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]
#![cfg_attr(not(test), deny(clippy::indexing_slicing, clippy::panic))]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#![cfg_attr(not(test), deny(clippy::unreachable, clippy::todo))]

use core::cell::Cell;
use core::future::Future;
use core::pin::{Pin, pin};
use core::sync::atomic::Ordering;
use core::task::{Context, Poll};

use crate::frame::{self, Ending, Frame};
use crate::paths;
use crate::per_thread::{self, PerThread};
use crate::site::Site;
use crate::slots::{CallNumbers, CallSummary, SiteSlot};

/// The site of the polls of handed-off futures.
static TASK: Site = Site::new("[task]", file!(), line!());
/// The site of handed-off closures.
static HANDOFF: Site = Site::new("[handoff]", file!(), line!());

/// The call path of the calling thread's tracked call, to count work that runs elsewhere
/// (another thread, a pool, a task) for that call. `Copy`, and 4 bytes.
///
/// Take it on the thread and inside the call that hands the work off, then run the work
/// with [`run`](Self::run) (a closure) or [`future`](Self::future) (a future), on any
/// thread. [`handoff`] and [`InCurrentSite::in_current_site`] do both steps in one.
///
/// What the work allocates counts in the *inclusive* numbers of every tracked function on
/// the call's path, on whatever thread it runs, as soon as the work (one run of a
/// closure, one poll of a future) ends, or earlier, as a tracked call inside it ends. It
/// is in none of their exclusive numbers, calls, peaks, per-call maxima or budgets: those
/// are the call's own. In call paths it sits below the call, under a frame of its own,
/// `[handoff]` (closures) or `[task]` (futures).
///
/// Work taken outside every tracked call counts under that frame alone, at the top of its
/// paths. So, in this version, does work taken inside a call that has neither allocated
/// nor freed anything since it started (or, for an `async fn`, since its current poll
/// started): take the handoff after the call's first allocation (its buffers, the `Vec`
/// of results, an earlier spawn), or inside another handed-off run, which always works.
/// (Working out the call's path there would leave a mark on the frames that their fast
/// path does not expect: see the crate's `handoff` module.)
///
/// ```
/// # use std::hint::black_box;
/// # #[global_allocator]
/// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
/// use alloc_trace::{Handoff, track_allocs};
///
/// #[track_allocs]
/// fn squares(n: u64) -> Vec<u64> {
///     let mut out = Vec::with_capacity(4); // the call's own allocation
///     let here = Handoff::current();
///     std::thread::scope(|s| {
///         let parts: Vec<_> = (0..4)
///             .map(|i| s.spawn(move || here.run(|| black_box(vec![i * i; n as usize])[0])))
///             .collect();
///         out.extend(parts.into_iter().map(|p| p.join().unwrap()));
///     });
///     out
/// }
///
/// assert_eq!(squares(10), [0, 1, 4, 9]);
/// let report = alloc_trace::report();
/// let (call, work) = (report.site("squares").unwrap(), report.site("[handoff]").unwrap());
/// assert_eq!(work.calls, 4);
/// assert_eq!(work.inclusive.bytes_allocated, 4 * 80);
/// // The four vectors count for the call, not as its own.
/// assert_eq!(call.inclusive.allocs, call.exclusive.allocs + 4);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Handoff {
    /// The call path of the call that handed the work off (the root: none).
    path: u32,
}

impl Handoff {
    /// The call path of the calling thread's innermost tracked call (see [`Handoff`] for
    /// when it is the root instead). A few loads when the call's path is known; the first
    /// capture in a call may work out its path (a table lookup per enclosing call whose
    /// path is not known yet).
    ///
    /// ```
    /// # #[global_allocator]
    /// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
    /// let outside = alloc_trace::Handoff::current();
    /// assert_eq!(outside.run(|| Box::new(7)), Box::new(7)); // counted under `[handoff]`
    /// ```
    #[must_use]
    pub fn current() -> Self {
        let path = if cfg!(feature = "tracking") {
            per_thread::with(capture).unwrap_or(paths::ROOT)
        } else {
            paths::ROOT
        };
        Self { path }
    }

    /// Runs `f` on this thread as handed-off work of the call the handoff was taken in:
    /// one call of the `[handoff]` site on that call's path. Returns what `f` returns; a
    /// panic in `f` ends the run (counted, like a tracked call that unwinds) and goes on.
    ///
    /// The same handoff can run any number of closures, on any threads, at once:
    ///
    /// ```
    /// # use std::hint::black_box;
    /// # #[global_allocator]
    /// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
    /// #[alloc_trace::track_allocs]
    /// fn fan_out() -> u8 {
    ///     let first = black_box(Box::new(1u8));
    ///     let here = alloc_trace::Handoff::current();
    ///     let other = std::thread::spawn(move || here.run(|| *black_box(Box::new(2u8))));
    ///     *first + here.run(|| *black_box(Box::new(3u8))) + other.join().unwrap()
    /// }
    ///
    /// assert_eq!(fan_out(), 6);
    /// let report = alloc_trace::report();
    /// assert_eq!(report.site("[handoff]").unwrap().calls, 2);
    /// ```
    #[inline]
    pub fn run<R>(self, f: impl FnOnce() -> R) -> R {
        if !cfg!(feature = "tracking") {
            return f();
        }
        let guard = pin!(RunGuard {
            frame: Frame::new(&HANDOFF),
        });
        let guard = guard.into_ref();
        // SAFETY: `frame` is structurally pinned: it is never moved out of the guard,
        // which stays pinned until it is dropped at the end of this function.
        unsafe { guard.map_unchecked(|g| &g.frame) }.enter_under(self.path);
        f()
    }

    /// Wraps `future` so that each of its polls, on whatever thread, is handed-off work
    /// of the call the handoff was taken in, and the future one call of the `[task]` site
    /// on that call's path (counted when it completes, or when it is dropped after a
    /// poll; in flight from its first poll). See [`InCurrentSite::in_current_site`].
    ///
    /// ```
    /// # use std::hint::black_box;
    /// # #[global_allocator]
    /// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
    /// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
    /// #     let mut f = std::pin::pin!(f);
    /// #     let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    /// #     loop {
    /// #         if let std::task::Poll::Ready(out) = f.as_mut().poll(&mut cx) { return out; }
    /// #     }
    /// # }
    /// let here = alloc_trace::Handoff::current();
    /// let task = here.future(async { black_box(vec![1u8; 50]).len() });
    /// assert_eq!(std::thread::spawn(move || block_on(task)).join().unwrap(), 50);
    /// let report = alloc_trace::report();
    /// assert_eq!(report.site("[task]").unwrap().calls, 1);
    /// ```
    pub const fn future<F: Future>(self, future: F) -> HandedOff<F> {
        HandedOff {
            inner: future,
            task: TaskSoFar {
                allocs: 0,
                parent: self.path,
                state: State::Fresh,
            },
        }
    }
}

/// The path work taken now is entered under (see the module docs).
fn capture(t: &PerThread) -> u32 {
    let current: *const Frame = t.frames.current.load(Ordering::Relaxed).cast();
    // SAFETY: see the frame module's docs: the innermost frame is alive and pinned.
    let Some(innermost) = (unsafe { current.as_ref() }) else {
        return paths::ROOT;
    };
    let ours = core::ptr::eq(innermost.site(), &TASK) || core::ptr::eq(innermost.site(), &HANDOFF);
    // NOTE: `so_far` allocates nothing and reads the counters since the frame's entry.
    let moved = {
        let done = innermost.so_far().done;
        done.bytes_allocated != 0 || done.bytes_freed != 0
    };
    if ours || moved {
        frame::current_path(t)
    } else {
        paths::ROOT
    }
}

/// Runs `f` as work handed off by the calling thread's tracked call: the closure returned
/// runs `f` under that call's path, on whichever thread calls it (see [`Handoff`]).
///
/// For `std::thread::spawn`, `std::thread::scope`'s `spawn`, `rayon::spawn` and
/// `rayon::join`: whatever takes an `FnOnce() -> R`. The closure is `Send` (and
/// `'static`) when `f` is. For closures with arguments (rayon's `par_iter().map`,
/// `rayon::scope`'s `spawn`), take a [`Handoff`] and call [`Handoff::run`] in them.
///
/// ```
/// # use std::hint::black_box;
/// # #[global_allocator]
/// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
/// use alloc_trace::{handoff, track_allocs};
///
/// #[track_allocs]
/// fn start_worker() -> std::thread::JoinHandle<usize> {
///     let name = black_box(String::from("worker")); // the call's own allocation
///     std::thread::spawn(handoff(move || black_box(vec![0u8; 64]).len() + name.len()))
/// }
///
/// assert_eq!(start_worker().join().unwrap(), 70);
/// let report = alloc_trace::report();
/// let call = report.site("start_worker").unwrap();
/// assert_eq!(report.site("[handoff]").unwrap().inclusive.bytes_allocated, 64);
/// assert_eq!(call.inclusive.bytes_allocated, call.exclusive.bytes_allocated + 64);
/// ```
#[inline]
pub fn handoff<R>(f: impl FnOnce() -> R) -> impl FnOnce() -> R {
    let here = Handoff::current();
    move || here.run(f)
}

/// `.in_current_site()` on any future: hands it off from the calling thread's tracked
/// call, as tracing's `in_current_span` does with spans.
///
/// Mark the future where it is spawned, inside the call: each of its polls, on whatever
/// worker, is then handed-off work of that call (see [`Handoff`]), and in call paths the
/// task is a `[task]` frame below the call. An unmarked spawn is counted where it runs,
/// as before.
///
/// ```
/// # use std::hint::black_box;
/// # #[global_allocator]
/// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
/// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     let mut f = std::pin::pin!(f);
/// #     let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
/// #     loop {
/// #         if let std::task::Poll::Ready(out) = f.as_mut().poll(&mut cx) { return out; }
/// #     }
/// # }
/// use alloc_trace::{InCurrentSite, track_allocs};
///
/// #[track_allocs]
/// async fn handle(n: usize) -> usize {
///     black_box(vec![0u8; n]).len()
/// }
///
/// #[track_allocs]
/// fn accept(n: usize) -> std::thread::JoinHandle<usize> {
///     let peer = black_box(String::from("peer")); // the call's own allocation
///     // `tokio::spawn(handle(n).in_current_site())` on a runtime.
///     let task = handle(n).in_current_site();
///     std::thread::spawn(move || block_on(task) + peer.len())
/// }
///
/// assert_eq!(accept(100).join().unwrap(), 104);
/// let report = alloc_trace::report();
/// let accept = report.site("accept").unwrap();
/// assert_eq!(accept.inclusive.bytes_allocated, accept.exclusive.bytes_allocated + 100);
/// let path = report.paths().iter().find(|p| p.path.ends_with("::handle")).unwrap();
/// let frames: Vec<&str> = path.frames.iter().map(|f| f.rsplit("::").next().unwrap()).collect();
/// assert_eq!(frames, ["accept", "[task]", "handle"]);
/// ```
pub trait InCurrentSite: Future + Sized {
    /// Hands the future off from the calling thread's tracked call:
    /// `Handoff::current().future(self)`.
    ///
    /// ```
    /// # #[global_allocator]
    /// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
    /// use alloc_trace::InCurrentSite;
    ///
    /// let task = async { 1 + 1 }.in_current_site();
    /// # drop(task);
    /// ```
    fn in_current_site(self) -> HandedOff<Self> {
        Handoff::current().future(self)
    }
}

impl<F: Future> InCurrentSite for F {}

/// A future handed off by a tracked call ([`InCurrentSite::in_current_site`],
/// [`Handoff::future`]): the future, whose polls count for that call.
///
/// It adds 16 bytes to the future it wraps (the call's path, and the task's allocations
/// so far for the `[task]` row's per-call maximum), and at most 7 more of padding.
///
/// ```
/// # #[global_allocator]
/// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
/// use alloc_trace::{HandedOff, InCurrentSite};
///
/// let task: HandedOff<_> = async { [0u64; 4] }.in_current_site();
/// assert!(size_of_val(&task) <= size_of::<[u64; 4]>() + 16 + 8);
/// ```
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct HandedOff<F> {
    inner: F,
    task: TaskSoFar,
}

/// The task's numbers across its polls: 16 bytes.
#[derive(Clone, Copy, Debug)]
struct TaskSoFar {
    /// What its polls allocated (reallocs included).
    allocs: u64,
    /// The path its polls are entered under.
    parent: u32,
    state: State,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Fresh,
    Polled,
    Done,
}

const _: () = assert!(size_of::<TaskSoFar>() == 16);

impl<F: Future> Future for HandedOff<F> {
    type Output = F::Output;

    // PERF: in line in its caller, as `TrackedFuture::poll` is: left to the compiler, it
    // was in line or not depending on changes elsewhere in the crate (a call and five
    // saved registers, +18 instructions per poll, when not).
    #[inline(always)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `inner` is structurally pinned: it is never moved out of `self`, and
        // `HandedOff` has no `Unpin` impl of its own (it is `Unpin` only if `F` is); its
        // `Drop` does not move it. `task` is plain data, never pinned.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: see above; `this.inner` stays where it is for the rest of its life.
        let inner = unsafe { Pin::new_unchecked(&mut this.inner) };
        if !cfg!(feature = "tracking") {
            return inner.poll(cx);
        }
        let parent = this.task.parent;
        let poll = {
            let guard = pin!(PollGuard {
                frame: Frame::new(&TASK),
                task: Cell::from_mut(&mut this.task),
            });
            let guard = guard.into_ref();
            // SAFETY: `frame` is structurally pinned: it is never moved out of the guard,
            // which stays pinned until it is dropped at the end of this block.
            unsafe { guard.map_unchecked(|g| &g.frame) }.enter_under(parent);
            inner.poll(cx)
        };
        if poll.is_ready() {
            this.task.state = State::Done;
            finish(this.task.allocs);
        }
        poll
    }
}

impl<F> Drop for HandedOff<F> {
    fn drop(&mut self) {
        // A task cancelled after it started still counts once.
        if self.task.state == State::Polled {
            self.task.state = State::Done;
            finish(self.task.allocs);
        }
    }
}

/// The entry of `site` in this thread's table.
fn slot<'t>(t: &'t PerThread, site: &'static Site) -> Option<&'t SiteSlot> {
    t.tables
        .site_slot(site)
        .or_else(|| t.tables.site_slot_cold(site))
}

/// Counts a finished (or cancelled) task on the calling thread.
fn finish(allocs: u64) {
    let _ = per_thread::with(|t| {
        if let Some(slot) = slot(t, &TASK) {
            // Its peak was raised poll by poll; its bytes are only for budgets.
            slot.finish_call(&CallSummary {
                allocs,
                bytes_allocated: 0,
                peak: 0,
            });
        }
    });
}

/// One poll of a handed-off future.
struct PollGuard<'a> {
    frame: Frame,
    task: &'a Cell<TaskSoFar>,
}

impl PollGuard<'_> {
    /// The task's first poll puts it in flight, on this thread's entry.
    fn started(&self, t: &PerThread, site: &'static Site) {
        let mut task = self.task.get();
        if task.state == State::Fresh {
            task.state = State::Polled;
            self.task.set(task);
            if let Some(slot) = slot(t, site) {
                slot.started.add(1);
            }
        }
    }
}

impl Ending for PollGuard<'_> {
    fn untouched(&self, t: &PerThread, site: &'static Site) {
        self.started(t, site);
    }

    fn allocated(&self, t: &PerThread, site: &'static Site, n: &CallNumbers) {
        self.started(t, site);
        // A task in flight shows the peak of its polls so far.
        if let Some(slot) = slot(t, site) {
            slot.peak.raise(n.peak);
        }
        let mut task = self.task.get();
        task.allocs = task.allocs.wrapping_add(n.allocs());
        self.task.set(task);
    }
}

impl Drop for PollGuard<'_> {
    fn drop(&mut self) {
        let this = &*self;
        this.frame.exit_under(this);
    }
}

/// One run of a handed-off closure.
struct RunGuard {
    frame: Frame,
}

impl Ending for RunGuard {
    fn untouched(&self, t: &PerThread, site: &'static Site) {
        if !t.tables.try_count_call(site) {
            if let Some(slot) = slot(t, site) {
                slot.calls.add(1);
            }
        }
    }

    fn allocated(&self, t: &PerThread, site: &'static Site, n: &CallNumbers) {
        if let Some(slot) = slot(t, site) {
            slot.finish_call(&n.summary());
        }
    }
}

impl Drop for RunGuard {
    fn drop(&mut self) {
        let this = &*self;
        this.frame.exit_under(this);
    }
}
