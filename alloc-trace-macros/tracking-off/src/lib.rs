//! Nothing but tests: `#[track_allocs]` without the `tracking` feature (see `tests/`).
