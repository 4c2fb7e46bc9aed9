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
//! # Inclusive and exclusive numbers
//!
//! Each thread books every allocation to one *call path*: the path of its innermost
//! tracked call. A function's **exclusive** numbers are the sum over the paths that end
//! at it (what its calls did themselves); its **inclusive** numbers the sum over the paths
//! it is on (once per path, so recursion counts each allocation once). So a function's
//! inclusive numbers add, for each child:
//!
//! - **a nested tracked call** (a [`#[track_allocs]`](track_allocs) function, or a
//!   [`tracked!`] block or closure) made during the call, on its thread: everything the
//!   child did, when the child returns (or, read by a report on another thread, as the
//!   thread books it);
//! - **handed-off work** (a task marked with [`InCurrentSite::in_current_site`], a closure
//!   run through [`handoff`] or [`Handoff::run`]): everything the work did, on whatever
//!   thread and whenever it ran, even after the call returned, as each run of the
//!   closure or poll of the task ends. Only allocations: the call's `calls`, peak,
//!   `max_allocs_per_call` and budget are its own, and what a child did is never in its
//!   parent's exclusive numbers.
//!
//! # Work that runs elsewhere: tasks, threads, closures
//!
//! An unmarked spawn counts where it runs: nothing ties a task, a thread or a pool's work
//! to the call that started it. Mark it, inside the call, to count it for the call:
//!
//! ```
//! # use std::hint::black_box;
//! # #[global_allocator]
//! # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
//! use alloc_trace::{handoff, track_allocs};
//!
//! #[track_allocs]
//! fn spawn_workers() -> Vec<usize> {
//!     let mut results = Vec::with_capacity(2);
//!     std::thread::scope(|s| {
//!         let a = s.spawn(handoff(|| black_box(vec![0u8; 100]).len()));
//!         let b = s.spawn(handoff(|| black_box(vec![0u8; 200]).len()));
//!         results.extend([a.join().unwrap(), b.join().unwrap()]);
//!     });
//!     results
//! }
//!
//! assert_eq!(spawn_workers(), [100, 200]);
//! let report = alloc_trace::report();
//! let call = report.site("spawn_workers").unwrap();
//! assert_eq!(call.inclusive.bytes_allocated, call.exclusive.bytes_allocated + 300);
//! ```
//!
//! - `tokio::spawn(fut.in_current_site())`: [`InCurrentSite`], for futures;
//! - `thread::spawn(handoff(f))`, `scope.spawn(handoff(f))`, `rayon::join(handoff(a),
//!   handoff(b))`: [`handoff`], for closures without arguments;
//! - `let here = Handoff::current();` then `here.run(|| ..)` inside rayon's
//!   `par_iter().map(..)` or `scope.spawn(..)`, or any pool: [`Handoff`].
//!
//! In call paths the work sits below the call under a frame of its own, `[task]` or
//! `[handoff]`, whose report row counts the tasks (in flight from their first poll) or the
//! runs: `Listener::run;[task];handle_connection`. Name the work with [`tracked!`] or
//! `#[track_allocs]` inside it. The handoff is taken where it is marked, so mark it after
//! the call has allocated or freed something (see [`Handoff`]).
//!
//! [`tracked!`] measures a block, a closure (one the caller passes in, say) or an `async`
//! block as a named site, with the attribute's numbers and cost.
//!
//! # At exit
//!
//! `let _report = alloc_trace::report_on_exit();` at the top of `main` prints the
//! process-wide table when `main` ends; the `ALLOC_TRACE` environment variable does the
//! same without code, and chooses the form (`table`, `json`, `folded`, `dhat`, `pprof`), the table's order
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
//! # Who holds the memory (feature `ownership`)
//!
//! The residency columns are counted per call: a returned value is in its function's net
//! bytes even when the caller frees it at once. With the `ownership` feature, every block
//! remembers the call path that allocated it and its free is credited back to that path,
//! wherever it happens: [`SiteStats::ownership`](report::SiteStats::ownership) and
//! [`PathStats::ownership`](report::PathStats::ownership) say what a function and a path
//! hold now and held at the process's peak, [`Report::ownership`] the peak itself and its
//! moment (see [`report::Ownership`] for when it is exact). Off, nothing changes: no
//! header, no columns, the fields are `None`.
//!
//! # Integrations
//!
//! ## `tracing` spans as sites (feature `tracing`)
//!
//! Code already marked with `tracing` spans (`#[instrument]`, `info_span!`) gets per-span
//! numbers without being marked again: `alloc_trace::tracing::AllocLayer` is a
//! `tracing_subscriber::Layer` that makes every span callsite a site of the reports, named
//! `target::span_name`. A span's numbers are what happened while it was entered, summed
//! over its enters (an async fn's polls, on any thread), its calls are the spans closed,
//! and spans nest with `#[track_allocs]` functions in one tree of call paths. Optionally,
//! each closing span's numbers are also an event that logs carry.
#![cfg_attr(
    feature = "tracing",
    doc = "See [the module](mod@tracing), whose docs have the examples."
)]
#![cfg_attr(
    not(feature = "tracing"),
    doc = "Its docs, with the examples, are in the module `alloc_trace::tracing` (built with \
           the feature, as on docs.rs)."
)]
//!
//! ## Benchmarks: allocations in `cargo bench` (feature `criterion`)
//!
//! [`alloc_trace::criterion`](criterion/index.html) has two criterion measurements,
//! `Allocs` and `BytesAllocated`: a bench made with
//! `Criterion::default().with_measurement(Allocs)` shows allocations per iteration where
//! it would show time, and criterion's `--save-baseline` and `--baseline` compare them.
//! Counting is per thread and criterion runs the routine on the calling thread, so the
//! numbers are exact and the same in every sample. `benches/alloc_criterion.rs` in the
//! repository is a whole bench (`cargo bench --bench alloc_criterion`). Criterion calls
//! `start` and `end` around each batch of iterations:
//!
//! ```
//! # #[global_allocator]
//! # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
//! # #[cfg(feature = "criterion")] {
//! use alloc_trace::criterion::Allocs;
//! use criterion::measurement::Measurement;
//!
//! let batch = Allocs.start();
//! for i in 0..100 {
//!     std::hint::black_box(i.to_string()); // one String per iteration
//! }
//! assert_eq!(Allocs.end(batch), 100); // criterion divides by the 100 iterations
//! # }
//! ```
//!
//! ## Snapshots: what code allocates, reviewed with `cargo insta review` (feature `insta`)
//!
//! [`assert_allocs_snapshot!`](macro.assert_allocs_snapshot.html) runs an expression and
//! asserts an [insta](https://insta.rs) snapshot of what it did: totals, then calls,
//! `allocs`, `reallocs` and `frees` per tracked function, sorted by name. A change in how
//! often the code allocates fails the test with insta's diff; `cargo insta review`
//! accepts it. Bytes are left out unless asked for (`, bytes`), since sizes differ
//! between targets; [`alloc_trace::snapshot`](snapshot/index.html) says how to keep them.
//!
//! ```
//! # #[global_allocator]
//! # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
//! # #[cfg(feature = "insta")] {
//! #[alloc_trace::track_allocs(name = "app::words")]
//! fn words(text: &str) -> Vec<String> {
//!     text.split(' ').map(str::to_owned).collect()
//! }
//!
//! // Six Strings, and a Vec that grows from room for 4 to room for 8 (one realloc).
//! let words = alloc_trace::assert_allocs_snapshot!(words("to be or not to be"), @r"
//! total: allocs 8, reallocs 1, frees 1
//! outside tracked functions: allocs 0, reallocs 0, frees 0
//! functions (nested calls included):
//!   app::words: calls 1, allocs 8, reallocs 1, frees 1
//! ");
//! assert_eq!(words.len(), 6);
//! # }
//! ```
//!
//! # Implementation notes
//!
//! The allocator's hot path reads and writes one `const` thread-local (no lock, no atomic
//! read-modify-write, no allocation, no panic). `#[track_allocs]` reads the thread's
//! counters when a call starts and when it ends, so attribution costs a few instructions
//! per call, not per allocation. Per-site numbers live in per-thread tables that only
//! their thread writes; reports read them, with the threads still running.
//!
//! ## Architecture
//!
//! The runtime is in layers; a module imports only from its own layer and the layers
//! below it, never from one above (the import graph has no cycle: `farm-studio look`).
//!
//! | layer | modules | what it holds |
//! |---|---|---|
//! | 1. foundations | `abi`, `lock`, `stats`, `sys`, `header` | the calling convention of off-path functions, a lock that never allocates, the public number types, memory from `System` that is never counted, the ownership view's block header |
//! | 2. names and numbers | `site`, `counters`, `slots`, `paths`, `record`, `holding` | call sites and their ids, a thread's counters, table entries, the process-wide call-path table, a thread's tables, the bytes each call path holds |
//! | 3. threads | `per_thread`, `registry`, `thread_exit` | the one thread-local, the list of live threads and what exited ones did, the exit hook |
//! | 4. calls | `frame`, `budget`, `guard`, `future`, `handoff` | the frame stack and its bookkeeping, budgets, the guards and the future wrapper `#[track_allocs]` generates, work handed off to other tasks and threads |
//! | 5. the allocator | `alloc`, `ownership` | [`CountingAlloc`]: counts, then forwards; with the ownership view, names each block's call path (the innermost frame's) and keeps the process peak |
//! | 6. reading | `installed`, `measure`, `gather`, `ownership_rows`, [`report`](mod@report) | is it installed, one closure's numbers, a report's numbers, the ownership view's rows, the report as data and text |
//! | 7. on top | `assert`, `tracked`, [`exit_report`], [`guide`], `criterion`, `snapshot`, `tracing` | the assertion macros and `tracked!`, the report at exit, the guide, the integrations (features `criterion`, `insta`, `tracing`) |
//!
//! ## Exact, and where it cannot be
//!
//! - **Threads.** Counts are exact per thread at every moment. A report
//!   ([`report()`](crate::report()), [`process_stats`]) is exact at the moment it is
//!   built for every thread, running or exited: a running thread's counters are read as
//!   they are, with the tracked calls it is in marked as in flight
//!   ([`SiteStats::in_flight`](report::SiteStats::in_flight)). What a running thread did
//!   inside a tracked call since it last attributed its allocations is in
//!   [`Report::unattributed`] until the call ends; a request it is counting at the very
//!   instant it is read may be in some counts and not yet in others (at most one request
//!   per thread); a thread that attributed while being read is named in the table's
//!   footer.
//! - **Thread exit** (Unix). A pthread-key destructor folds an exiting thread into the
//!   process totals. It runs after the thread's Rust thread-local destructors, so what
//!   those allocate and free is counted. Code that runs later still (other pthread-key
//!   destructors) starts the thread's counts again from zero and re-arms the fold, up to
//!   the system's limit of destructor rounds (`PTHREAD_DESTRUCTOR_ITERATIONS`, 4 with
//!   glibc): what the last round does after the fold is not counted. On other platforms
//!   there is no exit hook, so no thread is listed: a report sees only the calling thread.
//! - **Process exit.** Code in `atexit` hooks, after `main` returns and inside
//!   [`std::process::exit`] (also called inside tracked calls, or while other threads run)
//!   can measure, capture and report as usual. Calls that never return stay open (in
//!   flight): a tracked call made from an exit hook is nested under them.
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
//!   limit (100,000 nested calls are tested). Only call *paths* are bounded: 128 frames
//!   (deeper frames count at a path with a `[...]` cut, under their own function) and 16
//!   million distinct paths (see [`Report::folded`]).
//! - **Async calls.** A tracked `async fn` is a frame per poll, on whichever thread
//!   polls it: its numbers are the sum of its polls, its peak the highest poll's peak
//!   (live bytes of polls on different threads cannot be added).
//! - **Signals.** A tracked call or an allocation in a signal handler never crashes and
//!   loses no count: each counter moves by one instruction. If the handler interrupts its
//!   thread while that thread attributes allocations to call paths (or grows a table),
//!   the handler's calls are counted, and their allocations attributed when the
//!   interrupted thread next attributes (to the call it was in, or outside). A handler's
//!   tracked call that interrupts a [`capture`] (or a budgeted call) while it writes its
//!   list of what its closure touched cannot be listed: the capture's totals stay exact,
//!   and its report says how many functions and paths are missing from its rows
//!   ([`Report::unrecorded`], a note under the table), as does a failed budget's message.
//! - **fork.** The child starts with the parent's history up to the fork (every other
//!   thread folded into the retired totals) and reports and tracks as usual.
//! - **Handed-off work** (see above) is in its call's inclusive numbers once each run of a
//!   closure or poll of a task ends, or a tracked call inside it does, on whatever thread
//!   it runs; until then it is in flight like any tracked call of a running thread. Marked
//!   inside a call that has neither allocated nor freed anything yet, it counts at the top
//!   of its paths (under `[task]` or `[handoff]` alone) instead: a limit of this version.
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
//! `unsafe_op_in_unsafe_fn` and `clippy::undocumented_unsafe_blocks` are denied: every
//! unsafe operation is inside an `unsafe` block with a `// SAFETY:` comment. Outside
//! tests there are 151 `unsafe` blocks, plus seven `unsafe impl`s (`GlobalAlloc` for
//! `CountingAlloc` twice, without and with `ownership`, its four methods counted as part
//! of the impl; `Send` and `Sync` for `SysVec`; `Sync` for `RetiredCell`, `LeftCell` and
//! `PeakCell`, only used under the registry lock) and 21 other `unsafe fn`s (the ownership
//! view's allocator paths (10), header (2) and holdings (2), the tables' readers and
//! freers (4), `sys::free` and `sys::unbox`, the allocator's cold first-free path). Some
//! files and blocks exist only with a feature, or, in `alloc.rs`, only without one
//! (marked); a default build on Unix compiles 88 of the blocks, 6 of the `unsafe fn`s and
//! 4 of the impls:
//!
//! | file | blocks | what for |
//! |---|---|---|
//! | `sys.rs` | 13 (4 with `tracing`) | `System` memory: zeroed arrays and their free (2), a value moved into it and back out (`boxed`, `unbox`; feature `tracing`: 4), `SysVec`'s slices, growth, writes and free (7) |
//! | `header.rs` (feature `ownership`) | 3 | a block's outer layout, writing its header below the caller's bytes, reading the owning path back |
//! | `counters.rs` | 1 | the owning thread's plain read of its own counter |
//! | `holding.rs` (feature `ownership`) | 6 | the cached pointer to the current path's entry (1), entries of the thread's cached table (3), the table read by another thread and freed at exit (2) |
//! | `paths.rs` | 7 | the process-wide path table: a published info chunk (1), freeing a half-made table (2) and writing a new one (1), its key and id slots (2), loading the current table (1) |
//! | `record.rs` | 26 (and 1 in its tests) | a published table: reading it (1), growing it (the old and new entries, the new header, the free on failure: 4), freeing its chain (1); entries of the cached site and path tables: the lookup that says the base is not null (1), its site and path forms (2) and their six callers (6); the owner's reads of its tables, another thread's read, the free at exit (4); the open journal and its parent (2); a journal's entries: reading, freeing when it closes, pushing (5) |
//! | `site.rs` | 3 | the id table: freeing a chunk that lost the race to be published, reading a published chunk, a stored `&'static Site` |
//! | `per_thread.rs` | 1 | the owning thread's plain read of its innermost frame pointer |
//! | `registry.rs` | 15 (5 with `ownership`) | the list of threads: linking and unlinking (2), walking it for a report (2); the retired numbers (2), the unlisted holder's tenure (`ownership`: 2) and the holder (`ownership`: 1), under the lock; a folded thread's tables read and, at its exit, freed (2), the same for its holdings (`ownership`: 2); `pthread_atfork` (Unix: 1) and folding the threads a fork left behind (1) |
//! | `thread_exit.rs` | 3 | the pthread key (Unix): create, set, delete |
//! | `frame.rs` | 10 | following parent links from the innermost frame (6: the innermost frame, for a path and for a handed-off frame's check of its caller, a frame's parent, the walk that cuts out a frame dropped out of order, the frames whose paths are resolved top-down (2)), the entry snapshot and outer peak written by `enter` (2), the call path behind the tag in the parent link (1), the thread's handed-off frame that `enter_under` saved (1) |
//! | `future.rs` | 3 | pin projections of `TrackedFuture` and of one poll's frame |
//! | `guard.rs` | 3 | pin projections of `CallGuard`'s frame and of `BudgetGuard`'s journal and call guard |
//! | `handoff.rs` | 5 | pin projections of `HandedOff` and of one poll's or run's frame (4), reading the innermost frame to tell whether its path can be taken (1) |
//! | `alloc.rs` | 10 (6 without `ownership`, 4 with) | forwarding `alloc`, `alloc_zeroed`, `dealloc` (two paths and the cold helper) and `realloc` to the inner allocator (6); with `ownership`, forwarding the four to the ownership view's paths (4) |
//! | `ownership.rs` (feature `ownership`) | 36 | calls between the allocator's hot and cold paths under the caller's contract (12), the inner allocator's alloc, free and realloc of a block with its header (6), writing (7) and reading (4) headers, the caller's pointer past the header (2), the thread's state from inside the allocator (2), the peak state under the registry lock (1), other threads' holdings read under the lock (2) |
//! | `gather.rs` | 1 | reading a live thread's tables under the registry lock |
//! | `exit_report.rs` | 3 | reading `ALLOC_TRACE` with `getenv` before `main` and its first byte, registering the `atexit` hook (Unix; the constructor is registered by `unsafe(link_section = ...)` attributes, not blocks) |
//! | `tracing/entered.rs` (feature `tracing`) | 5 | a span's frame, pinned in its node of the thread's list of entered spans; reading the list's nodes (2), unlinking one and freeing it (2) |
//!
//! `scripts/check-ub.sh` runs the runtime crate's unit tests under Miri (frames across
//! nesting, recursion, panics, captures, threads and polls on several threads; records
//! freed at thread exit while reports read them) and the examples and the stress,
//! teardown, edge and reentrancy tests under valgrind memcheck.
//!
//! ## No panic path
//!
//! A panic inside the global allocator aborts the process (allocator functions cannot
//! unwind), and its hook runs first: with the registry's lock held, a hook that waits
//! for a lock another thread holds while that thread waits for the registry's is a
//! deadlock (one was found in a debug build: an overflowing subtraction in the ownership
//! view's cold path). So the modules that run inside the allocator (`alloc`, `counters`,
//! `header`, `holding`, `ownership`, `per_thread`, `sys`, `thread_exit`), under the
//! crate's locks (`lock`, `registry`, `paths`, `site`, `record`, and `gather`, which reads
//! the threads under the registry's) or on every tracked call or measurement (`slots`,
//! `frame`, `guard`, `future`, `handoff`, `tracked`, `measure`) deny Clippy's `arithmetic_side_effects`, `indexing_slicing`,
//! `unwrap_used`, `expect_used`, `panic`, `unreachable` and `todo` outside tests: a sum
//! saturates, or wraps or is `unchecked` with the reason it cannot overflow; a lookup is
//! a `get`. `cargo clippy` checks it, so a debug build has no overflow check there to
//! fail. What is left are four `debug_assert!`s of the crate's own invariants (a frame's
//! site and link, a budget's constants, a block's header check word on free: a failure
//! there is a bug or a corrupted heap, and aborting is the point).
#![deny(unsafe_op_in_unsafe_fn, missing_docs)]
#![deny(clippy::undocumented_unsafe_blocks)]
// Without `tracking` the frames and sites are compiled but never used by the attribute.
#![cfg_attr(not(feature = "tracking"), allow(dead_code, unused_imports))]

// Layers, from the bottom (see "Architecture" above): a module imports only from its own
// group and the groups before it.

// 1. foundations
mod abi;
#[cfg(feature = "ownership")]
mod header;
mod lock;
mod stats;
mod sys;

// 2. names and numbers
mod counters;
#[cfg(feature = "ownership")]
mod holding;
mod paths;
mod record;
mod site;
mod slots;

// 3. threads
mod per_thread;
mod registry;
mod thread_exit;

// 4. calls
mod budget;
mod frame;
mod future;
mod guard;
mod handoff;

// 5. the allocator (the ownership view's paths read the innermost frame's call path)
mod alloc;
#[cfg(feature = "ownership")]
mod ownership;

// 6. reading
mod gather;
mod installed;
mod measure;
#[cfg(feature = "ownership")]
mod ownership_rows;
pub mod report;

// 7. on top
mod assert;
#[cfg(feature = "criterion")]
pub mod criterion;
pub mod exit_report;
pub mod guide;
#[cfg(feature = "insta")]
pub mod snapshot;
#[cfg(feature = "tracing")]
pub mod tracing;
mod tracked;

#[cfg(test)]
mod interrupted_count_tests;
#[cfg(test)]
mod reliability_tests;
#[cfg(test)]
mod test_calls;
#[cfg(test)]
mod unrecorded_tests;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use alloc::CountingAlloc;
#[doc = include_str!("track_allocs.md")]
pub use alloc_trace_macros::track_allocs;
pub use exit_report::report_on_exit;
pub use gather::{capture, process_stats, report};
pub use handoff::{HandedOff, Handoff, InCurrentSite, handoff};
pub use installed::is_installed;
pub use measure::{allocs_per_run, measure};
pub use report::Report;
pub use stats::{AllocCounts, AllocStats};

#[cfg(test)]
#[global_allocator]
static TEST_ALLOC: CountingAlloc = CountingAlloc::system();
