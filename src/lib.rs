//! Workloads shared by the examples in `examples/` and the tests that check their numbers.
