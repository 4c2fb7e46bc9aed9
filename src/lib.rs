//! Workloads shared by the examples in `examples/` and the tests that check their numbers.
//!
//! Each module is one example's code, with its functions marked `#[track_allocs]`. The
//! example runs it and prints the report; `tests/examples_<name>.rs` runs the same code and
//! asserts the exact counts, so an example cannot quietly stop showing what it claims.
//!
//! Results go through [`std::hint::black_box`] where the optimiser could otherwise remove
//! an allocation, so `--release` shows the same numbers as a debug build.

pub mod churn_vs_leak;
pub mod flamegraph;
pub mod hot_loop;
pub mod kv_server;
pub mod log_service;
pub mod prealloc;
pub mod quickstart;
pub mod string_building;

/// The README's code blocks, compiled and run as doctests so it cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
