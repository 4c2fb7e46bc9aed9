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
//! - [`report()`](crate::report()) and [`process_stats`] add up every thread.
//!
//! # At exit
//!
//! `let _report = alloc_trace::report_on_exit();` at the top of `main` prints the
//! process-wide table when `main` ends; the `ALLOC_TRACE` environment variable does the
//! same without code, and chooses the form (`table`, `json`, `folded`), the table's order
//! and length, and the destination: `ALLOC_TRACE=table,sort=bytes,top=20:stdout`,
//! `ALLOC_TRACE=json:report.json`. Every value and the feature it needs are listed in
//! [`report_on_exit`](crate::report_on_exit#alloc_trace); a value that cannot be honoured
//! says so in one line and prints the table on standard error.
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
//!
//! ## Exact, and where it cannot be
//!
//! - **Threads.** Counts are exact per thread at every moment, and process-wide
//!   ([`process_stats`], [`report()`](crate::report())) for the calling thread and every thread that has
//!   exited. A thread that is still running is included as of the end of its last tracked
//!   call that allocated: its counters are its own and are not read while it runs.
//! - **Thread exit** (Unix). A pthread-key destructor folds an exiting thread into the
//!   process totals. It runs after the thread's Rust thread-local destructors, so what
//!   those allocate and free is counted. Code that runs later still (other pthread-key
//!   destructors) starts the thread's counts again from zero and re-arms the fold, up to
//!   the system's limit of destructor rounds (`PTHREAD_DESTRUCTOR_ITERATIONS`, 4 with
//!   glibc): what the last round does after the fold is not counted. On other platforms
//!   threads are visible only through their tracked calls, while they run.
//! - **Process exit.** Code in `atexit` hooks, after `main` returns and inside
//!   [`std::process::exit`] (also called inside tracked calls, or while other threads run)
//!   can measure, capture and report as usual. Calls that never return stay open: a
//!   tracked call made from an exit hook is nested under them. The main thread is never
//!   folded (it does not exit on its own): it counts exactly when it builds the report
//!   itself, else as of its last tracked call, like every thread still running at exit.
//! - **Memory that crosses threads** counts where each request happens: a block
//!   allocated on one thread and freed on another is an allocation on the first and a
//!   free on the second (that thread's net bytes go negative). Process-wide sums are exact.
//! - **Requests that fail** (the inner allocator returns null, e.g. for a huge layout)
//!   are not counted. Zero-sized values never reach the allocator. Alignment does not
//!   change the counted size (100 bytes aligned to 4096 count as 100 bytes).
//! - **Panics** unwind through tracked calls: each call ends (counted, with its numbers up
//!   to the panic) and unlinks its frame; a [`capture`] that is unwound unlinks its
//!   boundary. What the panic allocates (its payload, the unwinder's exception) counts
//!   where it happens, like any allocation.
//! - **Depth.** Frames are linked on the stack, so nesting and recursion have no fixed
//!   limit (100,000 nested calls are tested). Only call *paths* are bounded: 64 frames
//!   (deeper frames count at the 64-frame path) and 16,384 distinct paths (see
//!   [`Report::folded`]).
//! - **Async calls.** A tracked `async fn` is a frame per poll, on whichever thread
//!   polls it: its numbers are the sum of its polls, its peak the highest poll's peak
//!   (live bytes of polls on different threads cannot be added).
//! - **What std does is counted like your code.** For example, std allocates on a new
//!   thread before its closure runs (nodes of its thread-info map, depending on how many
//!   threads are alive): that is in the process totals, but in no measurement made inside
//!   the thread.
//!
//! ## Reentrancy
//!
//! The crate's own bookkeeping (thread records and their tables, the exit fold, the
//! check that `CountingAlloc` is installed, the exit report) runs inside an internal
//! section that saves and restores the thread's counters: it is never counted and never
//! recurses into counting. Reports and captures are ordinary code: building one allocates
//! on the calling thread and counts there (inside a tracked call, in that call's
//! numbers), but never in the numbers it reports, which are read before it is built.
//! Budget failures format their message as ordinary memory, after the call's numbers are
//! recorded. A report can be built anywhere: inside tracked calls, panic hooks,
//! thread-local destructors and exit hooks, and from many threads at once while others
//! start and exit. The allocator takes no lock, and the registry lock is never held while
//! user code or a tracked call runs, so none of this can deadlock.
//!
//! Frames must end in the reverse order they started on a thread, which the code
//! `#[track_allocs]` generates guarantees (a guard local to the call, or to one poll).
//! The hidden guards stay sound when misused by hand: a guard entered twice is linked
//! once, and one dropped out of order takes the frames entered after it out of the chain
//! (their numbers are lost, nothing dangles; a Miri-checked unit test covers both).
//! Stackful coroutines that suspend inside a tracked call and resume on another thread,
//! or are dropped without unwinding, break that order and are not supported.
//!
//! ## `unsafe` audit
//!
//! `unsafe_op_in_unsafe_fn` and `clippy::undocumented_unsafe_blocks` are denied: each
//! unsafe operation is in its own `unsafe` block with a `// SAFETY:` comment. Outside
//! tests there are 35 `unsafe` blocks, plus `unsafe impl GlobalAlloc` and two `unsafe
//! fn`s (`Table::as_slice`, the allocator's cold first-free path):
//!
//! | file | blocks | what for |
//! |---|---|---|
//! | `alloc.rs` | 6 | forwarding `alloc`, `alloc_zeroed`, `dealloc` (two paths and the cold helper) and `realloc` to the inner allocator |
//! | `frame.rs` | 14 | the parent link of a frame (3: reading it, walking the chain to cut out a frame dropped out of order, projecting a capture's pinned frame), the entry snapshot written by `enter` (2), the children totals and call path written later, behind tags in the parent link (2), the thread's cached table pointers (3), its record pointer (1), reading its own tables as their owner (3) |
//! | `threads.rs` | 5 | the exiting thread's tables and freeing its record (2), the pthread key: create, set, delete (3) |
//! | `private.rs` | 3 | pin projections of `CallGuard` and `BudgetGuard` |
//! | `future.rs` | 3 | pin projections of `TrackedFuture` and of one poll's frame |
//! | `record.rs` | 2 | a table's slice, and the box of a replaced table |
//! | `report/mod.rs` | 1 | reading live threads' tables under the registry lock |
//! | `exit_report.rs` | 3 | reading `ALLOC_TRACE` with `getenv` before `main` and its first byte, registering the `atexit` hook |
//!
//! `scripts/check-ub.sh` runs the runtime crate's unit tests under Miri (frames across
//! nesting, recursion, panics, captures, threads and polls on several threads; records
//! freed at thread exit while reports read them) and the examples and the stress,
//! teardown, edge and reentrancy tests under valgrind memcheck.
#![deny(unsafe_op_in_unsafe_fn, missing_docs)]
#![deny(clippy::undocumented_unsafe_blocks)]
// Without `tracking` the frames and sites are compiled but never used by the attribute.
#![cfg_attr(not(feature = "tracking"), allow(dead_code, unused_imports))]

// Layers, from the bottom (see "Architecture" above): each module imports only from the
// ones listed before it.
mod abi;
mod alloc;
mod assert;
mod budget;
mod counters;
pub mod exit_report;
mod frame;
mod future;
mod gather;
mod guard;
pub mod guide;
#[cfg(feature = "ownership")]
mod header;
#[cfg(feature = "ownership")]
mod holding;
mod installed;
mod lock;
mod measure;
#[cfg(feature = "ownership")]
mod ownership;
#[cfg(feature = "ownership")]
mod ownership_rows;
mod paths;
mod per_thread;
mod record;
mod registry;
#[cfg(test)]
mod reliability_tests;
pub mod report;
mod site;
mod slots;
mod stats;
mod sys;
mod thread_exit;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use alloc::CountingAlloc;
#[doc = include_str!("track_allocs.md")]
pub use alloc_trace_macros::track_allocs;
pub use exit_report::report_on_exit;
pub use gather::{capture, process_stats, report};
pub use installed::is_installed;
pub use measure::{allocs_per_run, measure};
pub use report::Report;
pub use stats::{AllocCounts, AllocStats};

#[cfg(test)]
#[global_allocator]
static TEST_ALLOC: CountingAlloc = CountingAlloc::system();
