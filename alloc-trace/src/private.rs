//! Not public API. Used by the code `#[track_allocs]` generates; may change in any
//! release.

pub use crate::assert::{check_allocs, Condition, Expected, Field, Op};
pub use crate::future::TrackedFuture;
pub use crate::site::{Site, SiteRegistration};
pub use inventory;

use core::marker::PhantomData;

#[cfg(feature = "tracking")]
use crate::frame::Frame;

/// Whether allocation budgets are checked in release builds (the `budgets-in-release`
/// feature). The generated code checks `cfg!(debug_assertions)` of the *user's* crate.
pub const BUDGETS_IN_RELEASE: bool = cfg!(feature = "budgets-in-release");

/// The RAII guard a tracked synchronous call holds: created first thing in the body,
/// dropped when the call returns, unwinds, or `?`/`return`s early.
#[must_use]
pub struct CallGuard {
    #[cfg(feature = "tracking")]
    frame: Option<Frame>,
    #[cfg(feature = "tracking")]
    site: &'static Site,
    /// Budgeted sites only: this thread's site table at entry, for the budget's message.
    #[cfg(feature = "tracking")]
    nested: Option<crate::budget::NestedBefore>,
    /// A frame belongs to the thread that opened it.
    _not_send: PhantomData<*const ()>,
}

/// Opens a tracked call of `site`.
#[inline]
pub fn enter(site: &'static Site) -> CallGuard {
    #[cfg(feature = "tracking")]
    {
        // The snapshot (if any) is taken untracked, before the frame reads the counters.
        let nested = crate::budget::on_enter(site);
        CallGuard { frame: Frame::enter(site), site, nested, _not_send: PhantomData }
    }
    #[cfg(not(feature = "tracking"))]
    {
        let _ = site;
        CallGuard { _not_send: PhantomData }
    }
}

#[cfg(feature = "tracking")]
impl Drop for CallGuard {
    #[inline]
    fn drop(&mut self) {
        if let Some(frame) = self.frame.take() {
            let mut finished = None;
            frame.exit(|slot, numbers| match numbers {
                None => slot.count_call(),
                Some(n) => {
                    slot.add_numbers(n);
                    slot.finish_call(n.inclusive.total_allocs());
                    finished = Some(*n);
                }
            });
            if let Some(n) = finished {
                crate::budget::check(self.site, &n, self.nested.as_ref());
            }
        }
    }
}

/// Wraps the future of a tracked `async fn` call so each poll is a frame.
#[inline]
pub fn track_future<F: core::future::Future>(site: &'static Site, future: F) -> TrackedFuture<F> {
    TrackedFuture::new(site, future)
}
