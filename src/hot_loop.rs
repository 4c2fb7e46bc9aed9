//! `examples/hot_loop.rs`: a buffer allocated in every iteration of a hot loop versus one
//! allocated before the loop and reused (cleared, its capacity kept).

use std::hint::black_box;
use std::io::Write as _;

use alloc_trace::track_allocs;

/// Records the example renders.
pub const RECORDS: u64 = 100_000;

/// Capacity of the buffer a record is rendered into.
pub const BUF_CAPACITY: usize = 256;

/// Renders every record into a fresh buffer: one allocation of [`BUF_CAPACITY`] bytes per
/// record, freed at the end of the iteration (churn: nothing is kept).
#[track_allocs]
pub fn fresh_buffer_per_record(records: &[u64]) -> u64 {
    let mut checksum = 0;
    for &record in records {
        let mut buf = Vec::with_capacity(BUF_CAPACITY);
        render(&mut buf, record);
        checksum += digest(&buf);
    }
    checksum
}

/// Renders every record into one buffer allocated before the loop and cleared in each
/// iteration: one allocation in all.
#[track_allocs]
pub fn reused_buffer(records: &[u64]) -> u64 {
    let mut checksum = 0;
    let mut buf = Vec::with_capacity(BUF_CAPACITY);
    for &record in records {
        buf.clear(); // the length goes to 0, the capacity stays
        render(&mut buf, record);
        checksum += digest(&buf);
    }
    checksum
}

/// Writes one record's text (under 64 bytes, so the buffer never grows).
fn render(buf: &mut Vec<u8>, record: u64) {
    // Writing into a `Vec` with room to spare cannot fail.
    let _ = writeln!(buf, "record {record:>20}: ok");
}

fn digest(bytes: &[u8]) -> u64 {
    // black_box: the optimiser must not see that the buffer is only summed and dropped,
    // or it could remove the allocation in release builds.
    black_box(bytes).iter().map(|&b| u64::from(b)).sum()
}
