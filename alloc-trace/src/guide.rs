//! # Guide: testing allocation budgets
//!
//! How to hold code to an allocation budget in unit tests, exactly and in parallel, and
//! the classic lessons about allocation turned into tests you can copy. Every example
//! below is a doctest: the numbers in it are checked on every `cargo test`.
//!
//! - [Setting up](#setting-up)
//! - [The assertions](#the-assertions)
//! - [Lesson 1: hoist the buffer out of the loop](#lesson-1-hoist-the-buffer-out-of-the-loop)
//! - [Lesson 2: `with_capacity` is one allocation](#lesson-2-with_capacity-is-one-allocation)
//! - [Lesson 3: a builder beats repeated `+`](#lesson-3-a-builder-beats-repeated-)
//! - [Lesson 4: `allocs_per_run`, for Go users](#lesson-4-allocs_per_run-for-go-users)
//! - [Lesson 5: `assert_no_alloc!` for hot paths](#lesson-5-assert_no_alloc-for-hot-paths)
//! - [Budgets on functions](#budgets-on-functions)
//! - [Reading a failure message](#reading-a-failure-message)
//! - [Parallel tests, nextest and async runtimes](#parallel-tests-nextest-and-async-runtimes)
//! - [Release builds](#release-builds)
//! - [When something is off](#when-something-is-off)
//!
//! ## Setting up
//!
//! Add the crate (as a dev-dependency if only tests use it) and install its allocator
//! **once per test binary**, at the top of each file in `tests/` (each is its own binary)
//! or in the crate root for unit tests:
//!
//! ```toml
//! [dev-dependencies]
//! alloc-trace = "0.1"
//! ```
//!
//! ```
//! #[global_allocator]
//! static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
//! ```
//!
//! Counting is per thread: every assertion below counts what its expression did on the
//! thread that runs it, so tests in one file run in parallel without seeing each other
//! (unlike process-wide counters, which need one test per binary).
//!
//! ## The assertions
//!
//! [`assert_allocs!`](crate::assert_allocs) evaluates an expression once, returns its
//! value, and checks conditions on its [`AllocStats`](crate::AllocStats): `allocs`
//! (requests for a block, reallocs included), `reallocs` (how many of those were
//! reallocs), `frees` (blocks given back, a realloc's old block included),
//! `bytes_allocated`, `bytes_freed`, `peak_bytes`, and the derived `net_bytes` (allocated
//! minus freed), with `==`, `!=`, `<`, `<=`, `>` or `>=`. They are the numbers of the
//! report's columns of the same names, and `allocs` is what `max_allocs` budgets count:
//!
//! ```
//! # #[global_allocator]
//! # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
//! use alloc_trace::assert_allocs;
//!
//! fn parse(s: &str) -> Vec<u32> {
//!     s.split(',').map(|x| x.parse().unwrap()).collect()
//! }
//!
//! // `collect` starts from the iterator's lower bound (0): the first number allocates
//! // room for 4 (4 x 4 bytes), and 3 fit.
//! let numbers = assert_allocs!(parse("1,2,3"), allocs == 1, reallocs == 0, bytes_allocated <= 16);
//! assert_eq!(numbers, [1, 2, 3]);
//! ```
//!
//! [`assert_no_alloc!`](crate::assert_no_alloc) is `allocs == 0` (a realloc is one of the
//! allocs; freeing is allowed). Both delegate to [`capture`](crate::capture), so when they fail they can
//! say which tracked functions allocated.
//!
//! ## Lesson 1: hoist the buffer out of the loop
//!
//! A fresh buffer per iteration holds little memory at any moment (low *residency*) but
//! asks the allocator for memory on every iteration (high *rate*). Hoisting it makes the
//! loop allocate nothing:
//!
//! ```
//! # #[global_allocator]
//! # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
//! use alloc_trace::{assert_allocs, assert_no_alloc};
//! use std::hint::black_box;
//!
//! fn encode(record: u32, buf: &mut [u8]) -> u8 {
//!     buf[..4].copy_from_slice(&record.to_le_bytes());
//!     black_box(buf)[0]
//! }
//!
//! fn encode_all_fresh(records: &[u32]) -> u64 {
//!     let mut sum = 0;
//!     for &r in records {
//!         let mut buf = vec![0u8; 4096]; // a new buffer per record
//!         sum += u64::from(encode(r, &mut buf));
//!     }
//!     sum
//! }
//!
//! fn encode_all_hoisted(records: &[u32], buf: &mut [u8]) -> u64 {
//!     records.iter().map(|&r| u64::from(encode(r, buf))).sum()
//! }
//!
//! let records: Vec<u32> = (0..1000).collect();
//!
//! // 1000 allocations, 4 MB requested, but never more than 4 KiB live.
//! assert_allocs!(
//!     encode_all_fresh(&records),
//!     allocs == 1000,
//!     bytes_allocated == 1000 * 4096,
//!     peak_bytes == 4096,
//!     net_bytes == 0,
//! );
//!
//! let mut buf = vec![0u8; 4096]; // once, outside the measured loop
//! assert_no_alloc!(encode_all_hoisted(&records, &mut buf));
//! ```
//!
//! ## Lesson 2: `with_capacity` is one allocation
//!
//! A `Vec` that grows by pushing doubles its capacity each time it is full: 4, 8, 16, ...,
//! 1024 elements for 1000 pushes, that is 9 allocs: 1 alloc and 8 reallocs. Sizing it up
//! front is one alloc of exactly the right size:
//!
//! ```
//! # #[global_allocator]
//! # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
//! use alloc_trace::assert_allocs;
//! use std::hint::black_box;
//!
//! fn squares(n: u64) -> Vec<u64> {
//!     let mut v = Vec::new();
//!     for i in 0..n {
//!         v.push(black_box(i * i));
//!     }
//!     v
//! }
//!
//! fn squares_presized(n: u64) -> Vec<u64> {
//!     let mut v = Vec::with_capacity(n as usize);
//!     for i in 0..n {
//!         v.push(black_box(i * i));
//!     }
//!     v
//! }
//!
//! // 8 bytes x (4 + 8 + ... + 1024) = 16 352 bytes requested for 8 000 bytes of data.
//! assert_allocs!(squares(1000), allocs == 9, reallocs == 8, bytes_allocated == 16_352);
//! assert_allocs!(squares_presized(1000), allocs == 1, reallocs == 0, bytes_allocated == 8_000);
//! ```
//!
//! ## Lesson 3: a builder beats repeated `+`
//!
//! `s = s + part` appends to `s`'s buffer, which grows by doubling: 10 parts of 10 bytes
//! take 5 allocs, 1 alloc and 4 reallocs (capacity 10, 20, 40, 80, 160). Sizing a
//! `String` first, or letting `concat`/`join` size it, is one alloc:
//!
//! ```
//! # #[global_allocator]
//! # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
//! use alloc_trace::assert_allocs;
//!
//! let parts = ["0123456789"; 10];
//!
//! let glued = assert_allocs!(
//!     {
//!         let mut s = String::new();
//!         for part in parts {
//!             s = s + part;
//!         }
//!         s
//!     },
//!     allocs == 5,
//!     reallocs == 4,
//!     bytes_allocated == 10 + 20 + 40 + 80 + 160,
//! );
//!
//! let built = assert_allocs!(
//!     {
//!         let mut s = String::with_capacity(parts.len() * 10);
//!         for part in parts {
//!             s.push_str(part);
//!         }
//!         s
//!     },
//!     allocs == 1,
//!     bytes_allocated == 100,
//! );
//!
//! let concatenated = assert_allocs!(parts.concat(), allocs == 1, bytes_allocated == 100);
//! assert_eq!(glued, built);
//! assert_eq!(built, concatenated);
//! ```
//!
//! `format!("{s}{part}")` in the loop is worse still: a new `String` every time.
//!
//! ## Lesson 4: `allocs_per_run`, for Go users
//!
//! [`allocs_per_run`](crate::allocs_per_run) is Go's `testing.AllocsPerRun`: it calls the
//! closure once to warm up (filling caches, growing reused buffers), then returns the mean
//! number of allocs (reallocs included) of the following runs. Unlike Go's, it counts
//! only the calling thread, so it works in parallel tests; and it returns an `f64`, not a
//! mean rounded down.
//!
//! ```
//! # #[global_allocator]
//! # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
//! use std::fmt::Write;
//!
//! let mut line = String::new();
//! let mut n = 0u32;
//! // Go: testing.AllocsPerRun(100, func() { line = fmt.Sprintf("request %d", n) })
//! let reused = alloc_trace::allocs_per_run(100, || {
//!     n += 1;
//!     line.clear();
//!     write!(line, "request {n}").unwrap(); // the warm-up run grew `line` once
//! });
//! assert_eq!(reused, 0.0);
//!
//! let fresh = alloc_trace::allocs_per_run(100, || {
//!     n += 1;
//!     std::hint::black_box(format!("request {n}"));
//! });
//! assert_eq!(fresh, 1.0);
//! ```
//!
//! Go's benchmark column `allocs/op` is
//! [`SiteStats::allocs_per_call`](crate::report::SiteStats::allocs_per_call) of a
//! `#[track_allocs]` function (the table's `allocs/call`), and `B/op` is
//! [`SiteStats::bytes_per_call`](crate::report::SiteStats::bytes_per_call) (`bytes/call`).
//!
//! ## Lesson 5: `assert_no_alloc!` for hot paths
//!
//! Code on a hot path (a parser's inner loop, a per-packet handler, an audio callback)
//! should reuse what it has. Pin that down, so a change that adds an allocation fails a
//! test instead of slowing production:
//!
//! ```
//! # #[global_allocator]
//! # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
//! use alloc_trace::assert_no_alloc;
//!
//! struct Tokenizer {
//!     tokens: Vec<(usize, usize)>,
//! }
//!
//! impl Tokenizer {
//!     fn tokenize(&mut self, line: &str) -> &[(usize, usize)] {
//!         self.tokens.clear(); // keeps the capacity
//!         let mut start = 0;
//!         for (i, c) in line.char_indices() {
//!             if c == ' ' {
//!                 self.tokens.push((start, i));
//!                 start = i + 1;
//!             }
//!         }
//!         self.tokens.push((start, line.len()));
//!         &self.tokens
//!     }
//! }
//!
//! let mut t = Tokenizer { tokens: Vec::with_capacity(16) };
//! for line in ["GET /index.html HTTP/1.1", "POST /api HTTP/1.1"] {
//!     let count = assert_no_alloc!(t.tokenize(line).len());
//!     assert_eq!(count, 3);
//! }
//! ```
//!
//! ## Budgets on functions
//!
//! An assertion checks one call in one test. A budget on the function checks **every**
//! call, in every test that reaches it, at the call's end:
//!
//! ```
//! # #[global_allocator]
//! # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
//! use alloc_trace::track_allocs;
//!
//! #[track_allocs(max_allocs = 1, max_bytes = 64)]
//! fn header(name: &str, value: &str) -> String {
//!     [name, ": ", value].concat()
//! }
//!
//! assert_eq!(header("Host", "example.com"), "Host: example.com");
//!
//! // A value too long for the budget: the call panics as it returns.
//! let long = "x".repeat(100);
//! let result = std::panic::catch_unwind(|| header("Host", &long));
//! assert_eq!(result.is_err(), cfg!(debug_assertions));
//! ```
//!
//! - `max_allocs` counts `allocs` (reallocs included, as everywhere), `max_bytes` bytes
//!   requested, both including nested calls (tracked or not) made on the call's thread.
//! - The check runs when the call ends (returns, returns early, or `?`s): never inside
//!   the allocator, and not while the thread is already panicking (a second panic would
//!   abort).
//! - An `async fn`'s budget covers all its polls, wherever they ran, and is checked when
//!   the future completes.
//! - Budgets are checked in builds with `debug_assertions` (debug builds and tests),
//!   decided by the crate that defines the function. In release builds they compile to
//!   nothing, unless the `budgets-in-release` feature of `alloc-trace` is on:
//!
//!   ```toml
//!   alloc-trace = { version = "0.1", features = ["budgets-in-release"] }
//!   ```
//! - Without `CountingAlloc` installed nothing is counted, so budgets are not checked
//!   (the assertions and `measure` do panic: see below).
//!
//! ## Reading a failure message
//!
//! A failed `assert_allocs!` says where, what, and what the code did:
//!
//! ```text
//! alloc-trace: assert_allocs! failed at tests/parse.rs:14:17
//!   expression: outer()
//!   conditions:
//!     allocs == expected_allocs + 2  expected == 5,  actual 5   ok
//!     reallocs <= 1                  expected <= 1,  actual 2   <- FAILED
//!     net_bytes == 72                expected == 72, actual 72  ok
//!   stats: 5 allocs (2 reallocs), 2 frees; 104 B allocated, 32 B freed, net 72 B, peak 72 B
//!   what it did, per tracked function (this thread only):
//!     alloc-trace report (one closure, on the calling thread); tracked functions by allocs, largest first
//!     ...
//!     calls  allocs  allocs/call  reallocs  bytes  bytes/call   net  net/call  peak  excl%  function
//!         1       5            5         2  104 B       104 B  72 B      72 B  72 B  20.0%  parse::outer
//!         2       4            2         2   96 B        48 B  64 B      32 B  32 B  80.0%  parse::grow5
//! ```
//!
//! - The first line is the assertion's file, line and column.
//! - Each condition shows the value as written (`expected_allocs + 2`), what it evaluated
//!   to (`expected == 5`) and the actual number; failed ones are marked `<- FAILED`.
//! - `stats` is the whole [`AllocStats`](crate::AllocStats): often the answer is in a
//!   number you did not assert (`reallocs` means a collection grew: give it a capacity).
//! - The table is the expression's [`capture`](crate::capture): which `#[track_allocs]`
//!   functions it called and what each did. Mark the functions you suspect with
//!   `#[track_allocs]` to see them here; `excl%` is the share of all the allocs that a
//!   function made itself, without its tracked callees.
//!
//! A budget failure starts with the function and its budget, then the call's numbers
//! and the tracked functions it called during this call:
//!
//! ```text
//! alloc-trace: `app::render` (src/render.rs:10) exceeded its allocation budget (max_allocs = 3): 6 allocs (2 reallocs), 6 frees; 115 B allocated, 115 B freed, net 0 B, peak 83 B
//!   max_allocs = 3: the call made 6 allocs (reallocs included, nested calls included)  <- OVER
//!   the function itself: 1 allocs (0 reallocs), 11 bytes allocated (nested tracked calls excluded)
//!   nested tracked calls during this call:
//!     app::row (src/render.rs:30): 2 calls, 4 allocs (2 reallocs), 96 bytes allocated
//!     app::cell (src/render.rs:40): 1 call, 1 allocs (0 reallocs), 8 bytes allocated
//! ```
//!
//! ## Parallel tests, nextest and async runtimes
//!
//! - **`cargo test`** runs tests on several threads: every measurement, assertion and
//!   budget counts its own thread, so tests never disturb each other, whatever their
//!   budgets.
//! - **`cargo nextest`** runs each test in its own process: nothing changes.
//! - **Threads you spawn** are not counted by `measure`, `capture` or the assertions of
//!   the spawning thread; [`process_stats`](crate::process_stats) and
//!   [`report`](crate::report()) add up every thread.
//! - **Async code.** `measure`, `capture` and the assertions take a closure and count the
//!   calling thread. On a current-thread runtime every task runs on that thread, so
//!   measure around `block_on`:
//!
//!   ```
//!   # #[global_allocator]
//!   # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
//!   # fn block_on<F: std::future::Future>(f: F) -> F::Output {
//!   #     // A minimal executor for the example; use your runtime's `block_on`.
//!   #     use std::task::{Context, Poll, Waker};
//!   #     let mut f = std::pin::pin!(f);
//!   #     let mut cx = Context::from_waker(Waker::noop());
//!   #     loop {
//!   #         if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
//!   #             return v;
//!   #         }
//!   #     }
//!   # }
//!   #[alloc_trace::track_allocs]
//!   async fn fetch() -> Vec<u8> {
//!       vec![0; 512]
//!   }
//!
//!   // With tokio: let rt = tokio::runtime::Builder::new_current_thread().build()?;
//!   let (body, report) = alloc_trace::capture(|| block_on(fetch()));
//!   assert_eq!(body.len(), 512);
//!   let site = report.site("fetch").unwrap();
//!   assert_eq!((site.calls, site.inclusive.bytes_allocated), (1, 512));
//!   ```
//!
//!   On a multi-thread runtime, tasks run on worker threads the closure does not count.
//!   Use per-site numbers instead (`alloc_trace::report().site("fetch")` adds up every
//!   thread, and a tracked `async fn`'s call is measured across all its polls), or a
//!   budget on the `async fn`. `#[tokio::test]` uses a current-thread runtime by default.
//!
//! ## Release builds
//!
//! - The optimiser may remove an allocation whose result is never used, or keep a small
//!   `Box` on the stack, so release builds can count fewer allocations than debug builds.
//!   Pass inputs and results through [`std::hint::black_box`] in allocation tests, and
//!   run them in both profiles (`cargo test` and `cargo test --release`).
//! - Budgets are off in release builds unless the `budgets-in-release` feature is on
//!   (see [Budgets on functions](#budgets-on-functions)).
//! - `#[track_allocs]` compiles to nothing without the `tracking` feature (on by default).
//!
//! ## When something is off
//!
//! - **`CountingAlloc` is not the global allocator**: `measure`, `capture`,
//!   `allocs_per_run`, [`report`](crate::report()), [`process_stats`](crate::process_stats),
//!   `assert_allocs!` and `assert_no_alloc!` panic with a message that starts
//!   `alloc-trace: ` and shows the two lines to add (zeros would look like a pass); an
//!   assertion's expression is not run. The exit report prints that message instead of a
//!   table. [`is_installed`](crate::is_installed) tells without panicking.
//! - **A capture inside a capture** works and nests: the inner one sees its closure, the
//!   outer one everything, the inner call included. The inner `Report` is memory the
//!   outer closure allocated, so the outer totals count it (outside tracked functions).
//!   The assertions hide their own report: an `assert_allocs!` inside a `capture`,
//!   `measure` or another assertion adds nothing to it.
//! - **`allocs_per_run(0, ..)`** panics: a mean of no runs means nothing.
//! - **`?`, `return` and `.await`** inside an assertion's expression refer to a closure
//!   the macro wraps it in, and do not compile; evaluate them first.
