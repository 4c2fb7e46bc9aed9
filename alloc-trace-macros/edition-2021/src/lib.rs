//! Nothing but tests: `#[track_allocs]` in a crate of edition 2021 (see `tests/`).
