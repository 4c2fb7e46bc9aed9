//! Not public API. Used by the code `#[track_allocs]` and the assertion macros generate;
//! may change in any release.

pub use crate::assert::{Condition, Expected, Field, Op, check_allocs};
pub use crate::future::TrackedFuture;
pub use crate::guard::{BudgetEnd, BudgetGuard, CallEnd, CallGuard, ForMethod, NoSelf, SelfType};
pub use crate::site::{Site, SiteRegistration};
pub use inventory;

/// Whether allocation budgets are checked in release builds (the `budgets-in-release`
/// feature). The generated code checks `cfg!(debug_assertions)` of the *user's* crate.
pub const BUDGETS_IN_RELEASE: bool = cfg!(feature = "budgets-in-release");

/// Wraps the future of a tracked `async fn` call so each poll is a frame.
#[inline]
pub fn track_future<F: core::future::Future>(site: &'static Site, future: F) -> TrackedFuture<F> {
    TrackedFuture::new(site, future)
}

/// [`track_future`] for a method site whose type the attribute could not see.
#[inline]
pub fn track_method_future<F: core::future::Future, N: Fn() -> &'static str>(
    site: &'static Site,
    future: F,
    self_type: N,
) -> TrackedFuture<F, ForMethod<N>> {
    TrackedFuture::with_type(site, future, crate::guard::for_method(self_type))
}
