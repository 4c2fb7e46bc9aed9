//! Allocation budgets of `#[track_allocs(max_allocs = N, max_bytes = N)]`, checked when a
//! call ends (never inside the allocator).

use crate::site::Site;
use crate::slots::CallNumbers;

/// Panics if the finished call of `site` went over its budget.
#[inline]
pub(crate) fn check(site: &'static Site, call: &CallNumbers) {
    let budget = site.budget;
    if !budget.is_set() {
        return;
    }
    let allocs = call.inclusive.total_allocs();
    let bytes = call.inclusive.bytes_allocated;
    let over_allocs = budget.max_allocs.is_some_and(|max| allocs > max);
    let over_bytes = budget.max_bytes.is_some_and(|max| bytes > max);
    if (over_allocs || over_bytes) && !std::thread::panicking() {
        exceeded(site, call);
    }
}

#[cold]
#[inline(never)]
fn exceeded(site: &'static Site, call: &CallNumbers) -> ! {
    let stats = call.inclusive.with_peak(call.peak);
    panic!(
        "alloc-trace: `{}` ({}:{}) exceeded its allocation budget ({}): {}",
        site.name,
        site.file,
        site.line,
        BudgetText(site),
        stats
    );
}

struct BudgetText(&'static Site);

impl core::fmt::Display for BudgetText {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let b = self.0.budget;
        let mut sep = "";
        if let Some(max) = b.max_allocs {
            write!(f, "max_allocs = {max}")?;
            sep = ", ";
        }
        if let Some(max) = b.max_bytes {
            write!(f, "{sep}max_bytes = {max}")?;
        }
        Ok(())
    }
}
