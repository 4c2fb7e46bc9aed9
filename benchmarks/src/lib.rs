//! Benchmarks of `alloc-trace` beside `System` and the peer crates, one binary per global
//! allocator (a global allocator is chosen per binary), all driven by one command:
//!
//! ```text
//! cargo run --release -p alloc-trace-benchmarks
//! ```
//!
//! - [`workloads`]: the allocation workloads every contender runs, and the
//!   non-allocating function the per-call contenders wrap.
//! - [`harness`]: what each bench binary runs: a list of entries, timed or counted
//!   under callgrind on request of the driver (`src/main.rs`).
//! - [`floor`]: the cheapest useful counting allocator, the floor the others are held to.
//! - [`memory`]: heap and resident-set readings for the memory rows.
//!
//! See `BENCHMARKS.md` at the repository root for results and how to read them.

pub mod floor;
pub mod harness;
pub mod memory;
pub mod workloads;
