//! Tracked calls made by hand in the crate's unit tests, as the generated code makes them
//! (the macro's paths name `::alloc_trace`, which this crate cannot).

use core::pin::pin;

use crate::__private::{CallGuard, Site};

/// Runs `f` as a tracked call of `site`.
pub(crate) fn tracked<R>(site: &'static Site, f: impl FnOnce() -> R) -> R {
    let guard = pin!(CallGuard::new(site));
    let _end = CallGuard::enter(guard);
    f()
}
