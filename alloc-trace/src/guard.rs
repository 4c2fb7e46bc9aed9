//! The guards a tracked synchronous call holds, pinned on its stack, and what they record
//! when the call ends. Not public API: the code `#[track_allocs]` generates uses them
//! through `__private`.

// No panic path (see the crate docs, "No panic path"): this code runs on every tracked
// call or measurement.
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]
#![cfg_attr(not(test), deny(clippy::indexing_slicing, clippy::panic))]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#![cfg_attr(not(test), deny(clippy::unreachable, clippy::todo))]

use core::marker::PhantomData;
use core::mem::ManuallyDrop;
use core::pin::Pin;

use crate::abi::off_path_fn;
use crate::frame::{Ending, Frame};
use crate::per_thread::PerThread;
use crate::record::Journal;
use crate::site::{Budget, Site};
use crate::slots::{CallNumbers, SiteSlot};

/// How a site learns the type of `Self` (for a method whose type the attribute could not
/// see): nothing for most sites, a `type_name::<Self>()` closure for such methods.
pub trait SelfType {
    /// Whether this is a method site that learns its type.
    const LEARNS: bool;
    /// `type_name::<Self>()` of the method's `impl`, if this is such a site.
    fn type_name(&self) -> Option<&'static str>;
}

/// No type to learn.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoSelf;

impl SelfType for NoSelf {
    const LEARNS: bool = false;
    #[inline(always)]
    fn type_name(&self) -> Option<&'static str> {
        None
    }
}

/// A method's `|| type_name::<Self>()`.
#[derive(Clone, Copy, Debug)]
pub struct ForMethod<F>(F);

pub(crate) const fn for_method<F>(f: F) -> ForMethod<F> {
    ForMethod(f)
}

impl<F: Fn() -> &'static str> SelfType for ForMethod<F> {
    const LEARNS: bool = true;
    #[inline(always)]
    fn type_name(&self) -> Option<&'static str> {
        Some((self.0)())
    }
}

/// The frame of a tracked synchronous call, and what its end records:
///
/// ```ignore
/// let guard = ::core::pin::pin!(CallGuard::new(&SITE));
/// let end = CallGuard::enter(guard);
/// ```
///
/// The call ends when `end` ([`CallEnd`]) drops: when the call returns, unwinds, or
/// `?`/`return`s early.
#[must_use]
pub struct CallGuard<N: SelfType = NoSelf> {
    frame: Frame,
    self_type: N,
    /// A frame belongs to the thread that opened it.
    _not_send: PhantomData<*const ()>,
}

impl CallGuard {
    /// A guard for a call of `site`; it counts once pinned and entered.
    #[inline(always)]
    pub const fn new(site: &'static Site) -> Self {
        Self {
            frame: Frame::new(site),
            self_type: NoSelf,
            _not_send: PhantomData,
        }
    }
}

impl<F: Fn() -> &'static str> CallGuard<ForMethod<F>> {
    /// A guard for a call of the method site `site` (see `Site::method`); `self_type` is
    /// `|| type_name::<Self>()`, called once, on the site's first call.
    #[inline(always)]
    pub const fn for_method(site: &'static Site, self_type: F) -> Self {
        Self {
            frame: Frame::new(site),
            self_type: ForMethod(self_type),
            _not_send: PhantomData,
        }
    }
}

impl<N: SelfType> CallGuard<N> {
    /// Starts the call; it ends when the returned value drops.
    #[inline(always)]
    pub fn enter(self: Pin<&mut Self>) -> CallEnd<'_, N> {
        let this = self.into_ref();
        // Read before the frame is linked (its address then escapes to the thread's
        // state): the compiler still knows it is the site the guard was made with.
        let site = this.frame.site();
        this.frame().enter();
        CallEnd { guard: this, site }
    }

    fn frame(self: Pin<&Self>) -> Pin<&Frame> {
        // SAFETY: `frame` is structurally pinned: never moved out of the guard, which is
        // `!Unpin` through it.
        unsafe { self.map_unchecked(|g| &g.frame) }
    }
}

/// The end of a tracked synchronous call (see [`CallGuard`]): a local of its own, apart
/// from the pinned frame, so that the site it holds stays a constant the compiler can
/// see at the call's end. PERF: a non-allocating call then finds its site's entry with
/// one load fewer than through the frame, whose memory any code in the call might have
/// changed as far as the compiler knows.
#[must_use]
pub struct CallEnd<'g, N: SelfType = NoSelf> {
    guard: Pin<&'g CallGuard<N>>,
    site: &'static Site,
}

impl<N: SelfType> Drop for CallEnd<'_, N> {
    #[inline(always)]
    fn drop(&mut self) {
        let guard = self.guard.get_ref();
        guard.frame.exit_as(self.site, guard);
    }
}

off_path_fn! {
    /// The site's entry, the slow way: the site may need its type, its id, or a table.
    #[cold]
    #[inline(never)]
    pub(crate) fn slot_cold<'t, N: SelfType>(
        t: &'t PerThread,
        site: &'static Site,
        self_type: &N,
    ) -> Option<&'t SiteSlot> {
        if N::LEARNS && site.wants_type() {
            learn(site, self_type);
        }
        t.tables.site_slot_cold(site)
    }
}

off_path_fn! {
    /// Gives a method site its type (see `Site::learn_type`).
    #[cold]
    #[inline(never)]
    fn learn<N: SelfType>(site: &'static Site, self_type: &N) {
        if let Some(name) = self_type.type_name() {
            site.learn_type(|| name);
        }
    }
}

impl<N: SelfType> Ending for CallGuard<N> {
    #[inline(always)]
    fn untouched(&self, t: &PerThread, site: &'static Site) {
        if !t.tables.try_count_call(site) {
            if let Some(slot) = slot_cold(t, site, &self.self_type) {
                slot.calls.add(1);
            }
        }
    }

    // PERF: inlined into the frame's off-path exit (see `PollGuard`'s).
    #[inline(always)]
    fn allocated(&self, t: &PerThread, site: &'static Site, n: &CallNumbers) {
        let slot = match t.tables.site_slot(site) {
            Some(slot) if !(N::LEARNS && site.wants_type()) => Some(slot),
            _ => slot_cold(t, site, &self.self_type),
        };
        if let Some(slot) = slot {
            slot.finish_call(&n.summary());
        }
    }
}

/// The frame and journal of a tracked synchronous call with an allocation budget
/// (`max_allocs`, `max_bytes`), checked before the call returns ([`BudgetEnd::finish`]),
/// so that a call over budget drops its return value as it unwinds. `ON` is false in
/// builds where budgets are off: the guard is then a [`CallGuard`] and nothing more.
///
/// ```ignore
/// let guard = ::core::pin::pin!(BudgetGuard::<{ ON }>::new(&SITE));
/// let end = BudgetGuard::enter(guard);
/// let value = (move || -> R { ..body.. })();
/// end.finish();
/// return value;
/// ```
///
/// The call ends when `end` drops (see [`CallEnd`] for why the end is a value of its
/// own).
#[must_use]
pub struct BudgetGuard<const ON: bool, N: SelfType = NoSelf> {
    call: CallGuard<N>,
    /// What nested tracked calls did, for the failure message.
    journal: Journal,
}

impl<const ON: bool> BudgetGuard<ON> {
    /// A guard for a call of `site`; it counts once pinned and entered.
    #[inline(always)]
    pub const fn new(site: &'static Site) -> Self {
        Self {
            call: CallGuard::new(site),
            journal: Journal::new(),
        }
    }
}

impl<const ON: bool, F: Fn() -> &'static str> BudgetGuard<ON, ForMethod<F>> {
    /// As [`CallGuard::for_method`].
    #[inline(always)]
    pub const fn for_method(site: &'static Site, self_type: F) -> Self {
        Self {
            call: CallGuard::for_method(site, self_type),
            journal: Journal::new(),
        }
    }
}

impl<const ON: bool, N: SelfType> BudgetGuard<ON, N> {
    /// Starts the call; it ends when the returned value drops. `max_allocs` and
    /// `max_bytes` are the site's budget.
    #[inline(always)]
    pub fn enter(
        self: Pin<&mut Self>,
        max_allocs: Option<u64>,
        max_bytes: Option<u64>,
    ) -> BudgetEnd<'_, ON, N> {
        let this = self.into_ref();
        // As in `CallGuard::enter`: read while the compiler still knows it.
        let site = this.call.frame.site();
        if ON {
            let _ = crate::per_thread::with(|t| t.tables.open(this.journal()));
        }
        this.call().frame().enter();
        BudgetEnd {
            guard: this,
            site,
            budget: Budget {
                max_allocs,
                max_bytes,
            },
        }
    }

    #[inline(never)]
    #[track_caller]
    fn check_now(self: Pin<&Self>) {
        let site = self.call.frame.site();
        let call = self.call.frame.so_far();
        if !crate::budget::is_over(site, &call.summary()) || std::thread::panicking() {
            return;
        }
        let touched = crate::per_thread::with(|t| t.tables.close_journal(&self.journal));
        // The call is over: recorded before the panic, whose message and unwinding
        // allocate like any code after the call.
        self.call.frame.end_now(&self.call);
        crate::budget::exceeded(site, &call.summary(), Some(call.stats()), touched.as_ref());
    }

    fn journal(self: Pin<&Self>) -> Pin<&Journal> {
        // SAFETY: `journal` is structurally pinned, as `call` is.
        unsafe { self.map_unchecked(|g| &g.journal) }
    }

    fn call(self: Pin<&Self>) -> Pin<&CallGuard<N>> {
        // SAFETY: `call` is structurally pinned: never moved out of the guard, which is
        // `!Unpin` through it.
        unsafe { self.map_unchecked(|g| &g.call) }
    }
}

/// The end of a budgeted call (see [`BudgetGuard`]).
#[must_use]
pub struct BudgetEnd<'g, const ON: bool, N: SelfType = NoSelf> {
    guard: Pin<&'g BudgetGuard<ON, N>>,
    site: &'static Site,
    budget: Budget,
}

impl<const ON: bool, N: SelfType> BudgetEnd<'_, ON, N> {
    /// Panics, with what the call and its nested tracked calls did, if the call went over
    /// its budget; otherwise ends the call. Called before the call returns its value (an
    /// unwinding call ends when `self` drops).
    ///
    /// PERF: the common case, a call within its budget, is a few comparisons and the
    /// call's end, in line (the drop, which unwinding needs too, was left out of line).
    #[inline(always)]
    #[track_caller]
    pub fn finish(self) {
        if ON && self.guard.call.frame.may_exceed(self.budget) {
            self.guard.check_now();
        }
        let this = ManuallyDrop::new(self);
        this.end();
    }

    #[inline(always)]
    fn end(&self) {
        let guard = self.guard.get_ref();
        if ON {
            // Closed (and its entries handed to an enclosing journal) before the frame
            // ends, and before the journal's memory goes.
            let _ = crate::per_thread::with(|t| t.tables.discard_journal(&guard.journal));
        }
        guard.call.frame.exit_as(self.site, &guard.call);
    }
}

impl<const ON: bool, N: SelfType> Drop for BudgetEnd<'_, ON, N> {
    fn drop(&mut self) {
        self.end();
    }
}
