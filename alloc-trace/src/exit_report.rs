//! The report printed at exit: `report_on_exit()` and the `ALLOC_TRACE` variable.

/// Called once per site, on its first call (off the hot path).
pub(crate) fn on_first_site() {}
