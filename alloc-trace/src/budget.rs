//! Allocation budgets of `#[track_allocs(max_allocs = N, max_bytes = N)]`, checked when a
//! call ends: in the call guard's drop (or, for an `async fn`, when its future completes),
//! never inside the allocator and never while the thread is already panicking.
//!
//! A budgeted call also snapshots this thread's site table when it starts, so that a
//! failure can say which nested tracked functions the call ran and what they allocated.
//! Unbudgeted calls skip all of this: one predictable branch on the site's budget.

// Without `tracking` no call is tracked, so nothing here is reached.
#![cfg_attr(not(feature = "tracking"), allow(dead_code))]

use core::fmt;

use crate::counters;
use crate::frame;
use crate::site::{self, Site};
use crate::slots::{CallNumbers, SiteValues};

/// This thread's per-site numbers when a budgeted call started.
///
/// WARNING: allocated inside `counters::untracked`, so it is also freed there (in `Drop`):
/// the call it belongs to must not see it.
#[derive(Debug)]
pub(crate) struct NestedBefore(Box<[SiteValues]>);

impl Drop for NestedBefore {
    fn drop(&mut self) {
        // An empty boxed slice does not allocate.
        let table = core::mem::take(&mut self.0);
        counters::untracked(|| drop(table));
    }
}

/// At the start of a call of `site`: a snapshot if the site has a budget.
#[inline]
pub(crate) fn on_enter(site: &'static Site) -> Option<NestedBefore> {
    if site.budget.is_set() {
        Some(snapshot())
    } else {
        None
    }
}

#[cold]
#[inline(never)]
fn snapshot() -> NestedBefore {
    counters::untracked(|| {
        NestedBefore(frame::with_own_tables(|sites, _| {
            sites.iter().map(|s| s.load()).collect()
        }))
    })
}

/// Panics if the finished call of `site` went over its budget. `nested` is the snapshot
/// taken when the call started (none for `async fn` calls, whose polls may run on
/// several threads).
#[inline]
pub(crate) fn check(site: &'static Site, call: &CallNumbers, nested: Option<&NestedBefore>) {
    let budget = site.budget;
    if !budget.is_set() {
        return;
    }
    let allocs = call.inclusive.requests();
    let bytes = call.inclusive.bytes_allocated;
    let over_allocs = budget.max_allocs.is_some_and(|max| allocs > max);
    let over_bytes = budget.max_bytes.is_some_and(|max| bytes > max);
    if (over_allocs || over_bytes) && !std::thread::panicking() {
        exceeded(site, call, nested);
    }
}

#[cold]
#[inline(never)]
fn exceeded(site: &'static Site, call: &CallNumbers, nested: Option<&NestedBefore>) -> ! {
    // The message is ordinary, counted memory: it travels with the panic.
    let nested = nested.map(|before| nested_calls(site, before));
    panic!(
        "{}",
        Exceeded {
            site,
            call,
            nested: nested.as_deref()
        }
    );
}

/// One nested site's numbers during the budgeted call.
struct NestedSite {
    site: &'static Site,
    values: SiteValues,
}

/// What every other site did on this thread since `before` was taken, busiest first.
fn nested_calls(own: &'static Site, before: &NestedBefore) -> Vec<NestedSite> {
    let before = &before.0;
    let own_id = own.assigned_id();
    let mut nested: Vec<NestedSite> = site::all_sites()
        .filter_map(|site| {
            let id = site.assigned_id()?;
            if Some(id) == own_id {
                return None;
            }
            let now = frame::with_own_tables(|sites, _| sites.get(id as usize).map(|s| s.load()))?;
            let values = now.since(before.get(id as usize).unwrap_or(&SiteValues::default()));
            (values.calls > 0).then_some(NestedSite { site, values })
        })
        .collect();
    nested.sort_by(|a, b| {
        let key = |n: &NestedSite| {
            (
                n.values.inclusive.requests(),
                n.values.inclusive.bytes_allocated,
            )
        };
        key(b)
            .cmp(&key(a))
            .then_with(|| a.site.name.cmp(b.site.name))
    });
    nested
}

/// The budget panic's message.
struct Exceeded<'a> {
    site: &'static Site,
    call: &'a CallNumbers,
    nested: Option<&'a [NestedSite]>,
}

impl fmt::Display for Exceeded<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (site, call) = (self.site, self.call);
        let budget = site.budget;
        let stats = call.inclusive.with_peak(call.peak);
        writeln!(
            f,
            "alloc-trace: `{}` ({}:{}) exceeded its allocation budget ({}): {}",
            site.name,
            site.file,
            site.line,
            BudgetText(site),
            stats
        )?;
        if let Some(max) = budget.max_allocs {
            let allocs = call.inclusive.requests();
            let verdict = if allocs > max { "<- OVER" } else { "ok" };
            writeln!(
                f,
                "  max_allocs = {max}: the call made {allocs} allocs (reallocs included, nested calls included)  {verdict}"
            )?;
        }
        if let Some(max) = budget.max_bytes {
            let bytes = call.inclusive.bytes_allocated;
            let verdict = if bytes > max { "<- OVER" } else { "ok" };
            writeln!(
                f,
                "  max_bytes = {max}: the call allocated {bytes} bytes (nested calls included)  {verdict}"
            )?;
        }
        let own = call.exclusive.counts();
        writeln!(
            f,
            "  the function itself: {} allocs ({} reallocs), {} bytes allocated (nested tracked calls excluded)",
            own.allocs, own.reallocs, own.bytes_allocated
        )?;
        match self.nested {
            None => writeln!(f, "  nested tracked calls: not listed for `async fn` calls"),
            Some([]) => writeln!(f, "  nested tracked calls: none"),
            Some(nested) => {
                writeln!(f, "  nested tracked calls during this call:")?;
                for n in nested {
                    let v = &n.values;
                    let i = v.inclusive.counts();
                    writeln!(
                        f,
                        "    {} ({}:{}): {} call{}, {} allocs ({} reallocs), {} bytes allocated",
                        n.site.name,
                        n.site.file,
                        n.site.line,
                        v.calls,
                        if v.calls == 1 { "" } else { "s" },
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
