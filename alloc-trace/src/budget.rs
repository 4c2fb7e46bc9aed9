//! Allocation budgets of `#[track_allocs(max_allocs = N, max_bytes = N)]`: checked before
//! a synchronous call returns its value (`BudgetGuard::check`), or when an `async fn`'s
//! future completes; never inside the allocator and never while the thread is already
//! panicking.
//!
//! A budgeted call keeps a journal of the entries its nested tracked calls touch (see
//! `record`), so that a failure can say which of them it ran and what they allocated.
//! Unbudgeted calls have none of this, and in builds where budgets are off neither do
//! budgeted ones.

use core::fmt;

use crate::paths;
use crate::record::{Keyed, Touched};
use crate::site::{self, Site};
use crate::slots::CallSummary;
use crate::stats::Totals;
use crate::stats::{AllocStats, Bytes};

/// Whether `call` went over `site`'s budget.
#[inline]
pub(crate) fn is_over(site: &Site, call: &CallSummary) -> bool {
    let budget = site.budget;
    budget.max_allocs.is_some_and(|max| call.allocs > max)
        || budget
            .max_bytes
            .is_some_and(|max| call.bytes_allocated > max)
}

/// The check of an `async fn` call, when its future completes (its polls may have run on
/// several threads, so nested calls are not listed).
#[inline]
#[track_caller]
pub(crate) fn check_async(site: &'static Site, call: &CallSummary) {
    if site.budget.is_set() && is_over(site, call) && !std::thread::panicking() {
        exceeded(site, call, None, None);
    }
}

/// Panics with the failure message. `stats` is everything the call did and `touched` its
/// journal (neither for `async fn` calls, whose futures carry only the summary).
#[cold]
#[inline(never)]
#[track_caller]
pub(crate) fn exceeded(
    site: &'static Site,
    call: &CallSummary,
    stats: Option<AllocStats>,
    touched: Option<&Touched>,
) -> ! {
    // The message is ordinary, counted memory: it travels with the panic.
    let nested = touched.map(|t| nested_calls(site, t));
    panic!(
        "{}",
        Exceeded {
            site,
            call,
            stats,
            nested: nested
                .as_ref()
                .map(|(sites, total)| (sites.as_slice(), *total)),
            unrecorded: touched.map_or(0, |t| t.unrecorded),
        }
    );
}

/// One nested site's numbers during the budgeted call.
struct NestedSite {
    site: &'static Site,
    calls: u64,
    /// What its calls did, nested calls included.
    inclusive: Totals,
    /// The last path whose numbers `inclusive` took: recursion puts a site on a path
    /// several times, and each allocation counts once.
    stamp: Option<u32>,
}

/// What every other site did during the call, busiest first, and what they did together.
fn nested_calls(own: &'static Site, touched: &Touched) -> (Vec<NestedSite>, Totals) {
    let own_id = own.assigned_id();
    let mut nested: Vec<NestedSite> = touched
        .sites
        .as_slice()
        .iter()
        .filter(|e| Some(e.id) != own_id && e.value.calls > 0)
        .filter_map(|e| {
            Some(NestedSite {
                site: site::by_id(e.id)?,
                calls: e.value.calls,
                inclusive: Totals::ZERO,
                stamp: None,
            })
        })
        .collect();
    // Inclusive numbers: every path's exclusive numbers count for each site on it, below
    // the budgeted call (the nearest frame of its own site).
    let mut all_nested = Totals::ZERO;
    for &Keyed {
        id: path,
        value: exclusive,
        ..
    } in touched.paths.as_slice()
    {
        let mut cursor = path;
        while let Some((parent, site_id, _)) = paths::parent_and_site(cursor) {
            if Some(site_id) == own_id {
                if cursor != path {
                    all_nested = all_nested.plus(exclusive);
                }
                break;
            }
            if let Some(n) = nested
                .iter_mut()
                .find(|n| n.site.assigned_id() == Some(site_id))
                .filter(|n| n.stamp != Some(path))
            {
                n.stamp = Some(path);
                n.inclusive = n.inclusive.plus(exclusive);
            }
            cursor = parent;
        }
    }
    nested.sort_by(|a, b| {
        let key = |n: &NestedSite| (n.inclusive.requests(), n.inclusive.bytes_allocated);
        key(b)
            .cmp(&key(a))
            .then_with(|| a.site.name().to_string().cmp(&b.site.name().to_string()))
    });
    (nested, all_nested)
}

/// The budget panic's message.
struct Exceeded<'a> {
    site: &'static Site,
    call: &'a CallSummary,
    stats: Option<AllocStats>,
    /// The nested sites, and what they did together.
    nested: Option<(&'a [NestedSite], Totals)>,
    /// Nested sites and paths the call's journal could not record.
    unrecorded: u32,
}

impl fmt::Display for Exceeded<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (site, call) = (self.site, self.call);
        let budget = site.budget;
        write!(
            f,
            "alloc-trace: `{}` ({}:{}) exceeded its allocation budget ({}): ",
            site.name(),
            site.file,
            site.line,
            BudgetText(site),
        )?;
        match self.stats {
            Some(stats) => writeln!(f, "{stats}")?,
            None => writeln!(
                f,
                "{} allocs, {} allocated, peak {}",
                call.allocs,
                Bytes(call.bytes_allocated as f64),
                Bytes(call.peak as f64)
            )?,
        }
        if let Some(max) = budget.max_allocs {
            let allocs = call.allocs;
            let verdict = if allocs > max { "<- OVER" } else { "ok" };
            writeln!(
                f,
                "  max_allocs = {max}: the call made {allocs} allocs (reallocs included, nested calls included)  {verdict}"
            )?;
        }
        if let Some(max) = budget.max_bytes {
            let bytes = call.bytes_allocated;
            let verdict = if bytes > max { "<- OVER" } else { "ok" };
            writeln!(
                f,
                "  max_bytes = {max}: the call allocated {bytes} bytes (nested calls included)  {verdict}"
            )?;
        }
        if let (Some((_, nested)), Some(stats)) = (self.nested, self.stats) {
            let own = Totals::from(stats).minus(nested).counts();
            writeln!(
                f,
                "  the function itself: {} allocs ({} reallocs), {} bytes allocated (nested tracked calls excluded)",
                own.allocs, own.reallocs, own.bytes_allocated
            )?;
        }
        if self.unrecorded > 0 {
            writeln!(
                f,
                "  note: {} nested function{} or call path{} could not be recorded (a signal \
                 handler's tracked call interrupted the bookkeeping, or memory ran out): \
                 missing below, and counted as the function's own",
                self.unrecorded,
                if self.unrecorded == 1 { "" } else { "s" },
                if self.unrecorded == 1 { "" } else { "s" },
            )?;
        }
        match self.nested {
            None => writeln!(f, "  nested tracked calls: not listed for `async fn` calls"),
            Some(([], _)) => writeln!(f, "  nested tracked calls: none"),
            Some((nested, _)) => {
                writeln!(f, "  nested tracked calls during this call:")?;
                for n in nested {
                    let i = n.inclusive.counts();
                    writeln!(
                        f,
                        "    {} ({}:{}): {} call{}, {} allocs ({} reallocs), {} bytes allocated",
                        n.site.name(),
                        n.site.file,
                        n.site.line,
                        n.calls,
                        if n.calls == 1 { "" } else { "s" },
                        i.allocs,
                        i.reallocs,
                        i.bytes_allocated
                    )?;
                }
                Ok(())
            }
        }
    }
}

struct BudgetText(&'static Site);

impl fmt::Display for BudgetText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
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
