//! The rows of a report: per function ([`SiteStats`]) and per call path ([`PathStats`]).

use crate::stats::{AllocCounts, AllocStats};

/// What one `#[track_allocs]` function did, summed over its calls.
///
/// `inclusive` counts everything a call did, nested calls included; `exclusive` subtracts
/// what nested tracked calls did, so the exclusive numbers of all sites add up to the
/// allocations made inside tracked code. Under recursion, `inclusive` counts each
/// allocation once, at the outermost active call of the site; `calls` counts every call.
///
/// `inclusive.peak_bytes` is the highest live-bytes level any call reached above its entry
/// level. `exclusive` has no peak: a peak cannot be split between a function and the
/// functions it calls.
///
/// Calls in flight (started, not finished, when the report was built) are not in `calls`
/// but in [`in_flight`](Self::in_flight); what they did so far is in `inclusive` and
/// `exclusive`.
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
/// assert_eq!(site.inclusive.counts(), site.exclusive); // no nested tracked call
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
    pub exclusive: AllocCounts,
    /// The most `allocs` any single call made, nested calls included.
    pub max_allocs_per_call: u64,
    /// Calls that had started and not finished when the report was built: a synchronous
    /// call still running on a thread (as far as the thread's attributed allocations show
    /// it, see [`report()`](crate::report())), or an `async fn` polled and not complete.
    pub in_flight: u64,
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

impl SiteStats {
    /// Whether the function ran at all: finished calls, calls in flight, or allocations
    /// booked to it so far.
    ///
    /// ```
    /// # #[global_allocator]
    /// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
    /// #[alloc_trace::track_allocs]
    /// fn once() {}
    ///
    /// let (_, report) = alloc_trace::capture(once);
    /// assert!(report.site("once").unwrap().ran());
    /// ```
    #[must_use]
    pub fn ran(&self) -> bool {
        self.calls > 0
            || self.in_flight > 0
            || self.inclusive.allocs > 0
            || self.inclusive.frees > 0
    }
}

fn per_call(total: f64, calls: u64) -> f64 {
    if calls == 0 {
        0.0
    } else {
        total / calls as f64
    }
}

/// Allocations made by frames at one call path, e.g. `main;handle;parse`: what the last
/// function of the path did itself (exclusive numbers) when called along that path.
///
/// ```
/// # #[global_allocator]
/// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
/// #[alloc_trace::track_allocs(name = "outer")]
/// fn outer() -> Box<u8> {
///     inner()
/// }
///
/// #[alloc_trace::track_allocs(name = "inner")]
/// fn inner() -> Box<u8> {
///     Box::new(1)
/// }
///
/// let (_, report) = alloc_trace::capture(|| std::hint::black_box(outer()));
/// let path = &report.paths()[0];
/// assert_eq!((path.path.as_str(), path.exclusive.allocs), ("outer;inner", 1));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "json", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct PathStats {
    /// Site names from the outermost tracked call to the innermost, joined by `;`.
    pub path: String,
    /// What calls at exactly this path did, nested tracked calls excluded.
    pub exclusive: AllocCounts,
}
