//! `examples/churn_vs_leak.rs`: two request handlers with the same allocation rate (one
//! 1 KiB buffer per request). One frees it (churn); the other keeps it in a session cache
//! that is never trimmed (a leak). Only the net bytes per call tell them apart.

use std::hint::black_box;

use alloc_trace::track_allocs;

/// Requests the example sends to each handler.
pub const REQUESTS: u32 = 10_000;

/// Bytes each request allocates.
pub const REQUEST_BYTES: usize = 1024;

/// Builds a scratch buffer for the request and drops it: allocated and freed every call.
#[track_allocs]
pub fn handle_stateless(id: u32) -> u64 {
    let scratch = vec![(id % 251) as u8 + 1; REQUEST_BYTES];
    digest(&scratch)
}

/// Builds the same buffer and keeps it in `sessions`, which only grows.
///
/// `sessions` must have room for every call (the caller creates it with the capacity it
/// needs), so the handler's only allocation is the buffer itself, as in
/// [`handle_stateless`].
#[track_allocs]
pub fn handle_with_session_cache(id: u32, sessions: &mut Vec<Vec<u8>>) -> u64 {
    let session = vec![(id % 251) as u8 + 1; REQUEST_BYTES];
    let digest = digest(&session);
    sessions.push(session);
    digest
}

fn digest(bytes: &[u8]) -> u64 {
    black_box(bytes).iter().map(|&b| u64::from(b)).sum()
}
