//! Where does a Rust program allocate, how often, and how much does it keep?
//!
//! `alloc-trace` counts every heap request on the thread that made it, attributes it to
//! the functions you mark with [`#[track_allocs]`](track_allocs), and shows per function
//! both numbers that matter: the allocation **rate** (allocations and bytes per call: what
//! makes code slow) and the **residency** (bytes kept and peak: what makes it run out of
//! memory). Unit tests can hold code to an allocation budget, exactly and in parallel.
//!
//! # Quick start
//!
//! ```
//! use alloc_trace::{track_allocs, CountingAlloc};
//!
//! #[global_allocator]
//! static ALLOC: CountingAlloc = CountingAlloc::system();
//!
//! #[track_allocs]
//! fn greet(name: &str) -> String {
//!     ["hello, ", name].concat()
//! }
//!
//! let (greeting, stats) = alloc_trace::measure(|| greet("world"));
//! assert_eq!(greeting, "hello, world");
//! assert_eq!(stats.allocs, 1);
//! assert_eq!(stats.bytes_allocated, 12);
//!
//! let report = alloc_trace::report();
//! assert_eq!(report.site("greet").unwrap().calls, 1);
//! ```
//!
//! # What is counted, and where
//!
//! - [`CountingAlloc`] wraps the global allocator and counts on thread-local counters.
//! - [`measure`] and [`capture`] report what a closure did on the calling thread only, so
//!   tests running in parallel never see each other's allocations.
//! - [`report`] and [`process_stats`] add up every thread.
//!
//! # Allocation budgets in tests
//!
//! [`assert_allocs!`] and [`assert_no_alloc!`] check what one expression did;
//! `#[track_allocs(max_allocs = N, max_bytes = N)]` checks every call of a function. The
//! [guide] shows how, with the classic lessons (hoisted buffers, `with_capacity`,
//! builders, Go's `AllocsPerRun`) as tests you can copy.
//!
//! # Implementation notes
//!
//! The allocator's hot path reads and writes one `const` thread-local (no lock, no atomic
//! read-modify-write, no allocation, no panic). `#[track_allocs]` reads the thread's
//! counters when a call starts and when it ends, so attribution costs a few instructions
//! per call, not per allocation. Per-site numbers live in per-thread tables that reports
//! read under a lock taken only by reports, table growth and thread exit.
#![deny(unsafe_op_in_unsafe_fn, missing_docs)]
#![deny(clippy::undocumented_unsafe_blocks)]

mod alloc;
mod assert;
mod budget;
mod counters;
mod exit_report;
mod frame;
mod future;
pub mod guide;
mod installed;
mod measure;
mod paths;
mod record;
mod report;
mod site;
mod slots;
mod stats;
mod threads;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use alloc::CountingAlloc;
pub use exit_report::{report_on_exit, ExitReport};
#[doc = include_str!("track_allocs.md")]
pub use alloc_trace_macros::track_allocs;
pub use measure::{allocs_per_run, measure};
pub use report::{
    capture, report, FoldedWeight, PathStats, Report, Scope, SortBy, Table, OUTSIDE_FRAME, OVERFLOW_PATH,
};
#[cfg(feature = "json")]
pub use report::JSON_SCHEMA_VERSION;
pub use site::SiteStats;
pub use stats::AllocStats;
pub use threads::process_stats;

#[cfg(test)]
#[global_allocator]
static TEST_ALLOC: CountingAlloc = CountingAlloc::system();
