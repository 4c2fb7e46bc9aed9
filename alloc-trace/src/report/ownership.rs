//! The ownership view's numbers in a report (feature `ownership`): who holds the memory
//! now, at the process's peak, and (in the exit report) at the end.
//!
//! With the feature, every block remembers the call path that allocated it, and its free
//! is credited back to that path wherever it happens, so a function's *live* bytes are
//! those of blocks it allocated that nobody has freed yet: a value it returned and its
//! caller still holds, a cache it filled, a leak. That is the question the residency
//! columns of the table (`net`, `peak`, counted per call) cannot answer. The types exist
//! in every build; without the feature the report's `ownership` fields are `None`.

/// Blocks and bytes alive at one moment.
///
/// ```
/// let live = alloc_trace::report::Live { blocks: 2, bytes: 48 };
/// assert_eq!(live, alloc_trace::report::Live { blocks: 2, bytes: 48 });
/// assert_eq!(alloc_trace::report::Live::default().bytes, 0);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "json", derive(serde::Serialize, serde::Deserialize))]
pub struct Live {
    /// Blocks not yet freed.
    pub blocks: u64,
    /// Their bytes (as requested: alignment and the header do not count).
    pub bytes: u64,
}

/// What a function or a call path holds: blocks it allocated (or last reallocated) that
/// are not freed, now and at the moment of the process's peak.
///
/// `live` is "when the report was built": for the report printed at exit, the blocks
/// never freed (the leak report, plus what `main`'s locals and statics still hold).
///
/// ```
/// # #[global_allocator]
/// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
/// #[alloc_trace::track_allocs]
/// fn make() -> Vec<u8> {
///     vec![0; 100]
/// }
///
/// let kept = make();
/// let report = alloc_trace::report();
/// if let Some(held) = report.site("make").unwrap().ownership {
///     // Built with the `ownership` feature: the caller still holds the Vec.
///     assert_eq!(held.exclusive.live, alloc_trace::report::Live { blocks: 1, bytes: 100 });
/// }
/// drop(kept);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "json", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Held {
    /// Alive when the report was built.
    pub live: Live,
    /// Alive at the process's peak of live bytes ([`Ownership::peak`]).
    pub at_peak: Live,
}

/// A function's ownership numbers ([`SiteStats::ownership`](super::SiteStats::ownership)).
///
/// `exclusive` counts blocks allocated while the function was the innermost tracked
/// frame; `inclusive` adds those of the tracked functions it called (each block once,
/// also under recursion), like the rate columns' inclusive numbers.
///
/// ```
/// # #[global_allocator]
/// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
/// #[alloc_trace::track_allocs]
/// fn outer() -> (Box<[u8; 10]>, Box<[u8; 20]>) {
///     (Box::new([0; 10]), inner())
/// }
///
/// #[alloc_trace::track_allocs]
/// fn inner() -> Box<[u8; 20]> {
///     Box::new([0; 20])
/// }
///
/// let kept = std::hint::black_box(outer());
/// if let Some(o) = alloc_trace::report().site("outer").unwrap().ownership {
///     assert_eq!(o.exclusive.live.bytes, 10);
///     assert_eq!(o.inclusive.live.bytes, 30);
///     assert_eq!(o.max_live_bytes, 10);
/// }
/// drop(kept);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "json", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct SiteOwnership {
    /// Blocks of the function and of the tracked functions it called.
    pub inclusive: Held,
    /// Blocks of the function itself.
    pub exclusive: Held,
    /// The function's own highest live bytes: the most bytes that its own blocks
    /// (`exclusive`), allocated along one call path on one thread, held at once, counting
    /// the frees made on that thread. Exact for a function whose blocks are freed on the
    /// thread that allocated them and that is reached along one call path (every call
    /// from untracked code is one path); otherwise the largest of those per-path,
    /// per-thread levels (blocks freed on another thread are not subtracted from the
    /// allocating thread's level).
    pub max_live_bytes: u64,
}

/// The process-wide side of the ownership view ([`Report::ownership`](super::Report::ownership)):
/// live bytes now and at their peak, and when the peak happened.
///
/// # The peak, and its moment
///
/// `peak` is the most bytes the process's live blocks held at once since it started
/// (and the blocks alive then; equal peaks: the first is kept). `peak_request` is its
/// moment, as a count: the peak was reached by the process's `peak_request`-th
/// allocation request (`alloc`, `alloc_zeroed` or `realloc` call, every thread together).
///
/// Both are exact when threads allocate one at a time: a single thread, threads that
/// run one after another, a thread that waits while another runs, a pool whose workers
/// run one job at a time while the rest wait, or threads that hand each other the turn
/// request by request. Threads that allocate at the same time share the peak: each may
/// allocate up to an allowance without looking at the others (the allowances add up to
/// the peak so far, so none can be passed unseen), and adds up what they hold only when
/// it passes its own. Adding up what others hold while they allocate can be off by what
/// they did meanwhile, so the peak may then be missed or misplaced by that much; the
/// report says so (`exact` is false, and the table prints a note). A peak later passed by
/// more than the bytes those requests moved is exact again: a program whose threads
/// raced while it started (a pool starting its workers) and which reached its peak later,
/// one thread at a time, gets an exact report. What is live now (`live`, and every path's
/// live bytes) is exact whatever the threads do.
///
/// ```
/// # #[global_allocator]
/// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
/// let report = alloc_trace::report();
/// match report.ownership() {
///     Some(o) => assert!(o.peak.bytes >= o.live.bytes),
///     None => assert!(!cfg!(feature = "ownership")),
/// }
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "json", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Ownership {
    /// Alive when the report was built (at exit: never freed).
    pub live: Live,
    /// Alive at the peak of live bytes.
    pub peak: Live,
    /// The allocation request that reached the peak (see the type's docs).
    pub peak_request: u64,
    /// Blocks allocated outside every tracked function.
    pub outside: Held,
    /// Whether the peak and what each path held then are exact (see the type's docs):
    /// no lost updates, the reported peak's own copy not torn, and the peak above any level
    /// a stale request could have hidden (the peak when it was counted, plus every byte
    /// stale requests moved).
    pub exact: bool,
    /// Why not: requests counted by threads that allocated while another thread was
    /// taking its turn or adding up what they held, peaks recorded while other threads
    /// counted, and updates lost
    /// (a signal handler that interrupted its own thread's report, memory for the
    /// crate's tables that ran out).
    pub stale_requests: u64,
    /// Peaks whose copy of what each path held was made while other threads counted,
    /// over the whole run. One that a later, higher peak replaced says nothing about
    /// the peak reported: `exact` counts only the reported peak's. (A program whose
    /// threads allocated at once only while it started up can have torn peaks and an
    /// exact report.)
    pub torn_peaks: u64,
    /// See [`stale_requests`](Self::stale_requests).
    pub lost_updates: u64,
}
