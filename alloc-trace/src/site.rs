//! Call sites: one `static Site` per `#[track_allocs]` function, and the numbers a report
//! gives for it.

use core::sync::atomic::{AtomicU32, Ordering::Relaxed};

use crate::AllocStats;
use crate::slots::SiteSlot;

/// One instrumented function. `#[track_allocs]` puts a `static Site` in the function's
/// body and registers it with `inventory`, so a report knows every site, even those never
/// called. Not public API: use the attribute.
#[doc(hidden)]
#[derive(Debug)]
pub struct Site {
    pub(crate) name: &'static str,
    pub(crate) file: &'static str,
    pub(crate) line: u32,
    pub(crate) budget: Budget,
    /// Dense index into per-thread tables, assigned on first call ([`UNASSIGNED`]: not
    /// yet).
    id: AtomicU32,
    /// `id` times the size of a table entry, once assigned ([`UNASSIGNED`] before, and if
    /// it does not fit). PERF: a call that allocated nothing finds its entry without a
    /// multiplication, and unassigned is larger than any table, so one bounds check
    /// covers both.
    slot_offset: AtomicU32,
}

/// Allocation budget of a site, checked at the end of every call.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Budget {
    pub max_allocs: Option<u64>,
    pub max_bytes: Option<u64>,
}

impl Budget {
    pub(crate) const fn is_set(&self) -> bool {
        self.max_allocs.is_some() || self.max_bytes.is_some()
    }
}

static NEXT_ID: AtomicU32 = AtomicU32::new(1);

/// `Site::id` before the first call.
pub(crate) const UNASSIGNED: u32 = u32::MAX;

impl Site {
    /// A site named `name`, defined at `file:line`.
    #[must_use]
    pub const fn new(name: &'static str, file: &'static str, line: u32) -> Self {
        Self {
            name,
            file,
            line,
            budget: Budget {
                max_allocs: None,
                max_bytes: None,
            },
            id: AtomicU32::new(UNASSIGNED),
            slot_offset: AtomicU32::new(UNASSIGNED),
        }
    }

    /// Adds an allocation budget (see `#[track_allocs(max_allocs = N, max_bytes = N)]`).
    /// `enabled` is false in builds where budgets are off; then this does nothing.
    #[must_use]
    pub const fn with_budget(
        mut self,
        max_allocs: Option<u64>,
        max_bytes: Option<u64>,
        enabled: bool,
    ) -> Self {
        if enabled {
            self.budget = Budget {
                max_allocs,
                max_bytes,
            };
        }
        self
    }

    /// This site's index into per-thread tables.
    #[inline]
    pub(crate) fn id(&self) -> u32 {
        match self.id.load(Relaxed) {
            UNASSIGNED => self.assign_id(),
            id => id,
        }
    }

    /// The byte offset of this site's entry in a per-thread table, or [`UNASSIGNED`].
    #[inline(always)]
    pub(crate) fn slot_offset(&self) -> u32 {
        self.slot_offset.load(Relaxed)
    }

    /// The id, or `None` if the site was never entered.
    pub(crate) fn assigned_id(&self) -> Option<u32> {
        match self.id.load(Relaxed) {
            UNASSIGNED => None,
            id => Some(id),
        }
    }

    #[cold]
    #[inline(never)]
    fn assign_id(&self) -> u32 {
        crate::exit_report::on_first_site();
        let fresh = NEXT_ID.fetch_add(1, Relaxed);
        // Two threads may race to a site's first call; the loser's id is simply unused.
        match self
            .id
            .compare_exchange(UNASSIGNED, fresh, Relaxed, Relaxed)
        {
            Ok(_) => {
                let offset = u32::try_from(fresh as usize * size_of::<SiteSlot>());
                self.slot_offset
                    .store(offset.unwrap_or(UNASSIGNED), Relaxed);
                fresh
            }
            Err(winner) => winner,
        }
    }
}

/// Registers a [`Site`] with `inventory`. Not public API.
#[doc(hidden)]
#[derive(Debug)]
pub struct SiteRegistration(pub &'static Site);

inventory::collect!(SiteRegistration);

/// Every site linked into this program.
pub(crate) fn all_sites() -> impl Iterator<Item = &'static Site> {
    inventory::iter::<SiteRegistration>.into_iter().map(|r| r.0)
}

/// What one `#[track_allocs]` function did, summed over its calls.
///
/// `inclusive` counts everything a call did, nested calls included; `exclusive` subtracts
/// what nested tracked calls did, so the exclusive numbers of all sites add up to the
/// allocations made inside tracked code. Under recursion, `inclusive` counts each
/// allocation once, at the outermost active call of the site; `calls` counts every call.
///
/// `inclusive.peak_bytes` is the highest live-bytes level any call reached above its entry
/// level; `exclusive.peak_bytes` the highest it reached while the call's own code ran (no
/// nested tracked call active), so for a function without nested tracked calls the two are
/// equal.
///
/// ```
/// # #[global_allocator]
/// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
/// #[alloc_trace::track_allocs]
/// fn leaf() -> usize {
///     std::hint::black_box(vec![0u8; 160]).len()
/// }
///
/// let (_, report) = alloc_trace::capture(leaf);
/// let site = report.site("leaf").unwrap();
/// assert_eq!((site.calls, site.inclusive.allocs, site.inclusive.peak_bytes), (1, 1, 160));
/// assert_eq!(site.inclusive, site.exclusive);
/// assert_eq!(site.allocs_per_call(), 1.0);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "json", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct SiteStats {
    /// `module::path::function`, `module::Type::method`, or the `name = "..."` given.
    pub name: String,
    /// Source file of the function.
    pub file: String,
    /// Line of the function's name.
    pub line: u32,
    /// Completed calls (an `async fn` call counts once, however often it was polled).
    pub calls: u64,
    /// Everything the calls did, nested calls included.
    pub inclusive: AllocStats,
    /// What the calls did themselves: `inclusive` minus nested tracked calls.
    pub exclusive: AllocStats,
    /// The most `allocs` any single call made, nested calls included.
    pub max_allocs_per_call: u64,
}

impl SiteStats {
    /// Mean `allocs` per call, nested calls included: the allocation *rate*, Go's
    /// `allocs/op`. 0 for a function never called.
    #[must_use]
    pub fn allocs_per_call(&self) -> f64 {
        per_call(self.inclusive.allocs as f64, self.calls)
    }

    /// Mean bytes allocated per call, nested calls included (Go's `B/op`).
    #[must_use]
    pub fn bytes_per_call(&self) -> f64 {
        per_call(self.inclusive.bytes_allocated as f64, self.calls)
    }

    /// Mean `net_bytes` per call (allocated minus freed, nested calls included): near zero
    /// for churn, positive for a call that leaves memory behind (a returned value, a cache,
    /// a leak).
    #[must_use]
    pub fn net_bytes_per_call(&self) -> f64 {
        per_call(self.inclusive.net_bytes() as f64, self.calls)
    }
}

fn per_call(total: f64, calls: u64) -> f64 {
    if calls == 0 {
        0.0
    } else {
        total / calls as f64
    }
}
