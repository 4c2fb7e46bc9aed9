//! What the ownership view costs in memory, measured on the benchmarks' mixed workload
//! (`benchmarks/src/workloads.rs`: strings formatted into a `Vec`, cloned into a
//! `HashMap`, then dropped): every block asks the inner allocator for its size plus a
//! 16-byte header (the workload's alignments are at most 16), exactly; at the workload's
//! peak that is the share of extra heap printed here.
//!
//! Run by `cargo test --features ownership` (see `.ci/run`); alone on the main thread.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// `System`, counting what it is asked for: requests, bytes, live bytes and their peak.
struct Spy;

static REQUESTS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);
static LIVE: AtomicU64 = AtomicU64::new(0);
static PEAK: AtomicU64 = AtomicU64::new(0);

fn grew(size: usize) {
    REQUESTS.fetch_add(1, Relaxed);
    BYTES.fetch_add(size as u64, Relaxed);
    let live = LIVE.fetch_add(size as u64, Relaxed) + size as u64;
    PEAK.fetch_max(live, Relaxed);
}

// SAFETY: forwards every call to `System` unchanged; the bookkeeping is atomics only.
unsafe impl GlobalAlloc for Spy {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `alloc`'s contract.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as u64, Relaxed);
        // SAFETY: the caller upholds `dealloc`'s contract.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller upholds `realloc`'s contract.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_sub(layout.size() as u64, Relaxed);
            grew(new_size);
        }
        p
    }
}

#[global_allocator]
static ALLOC: alloc_trace::CountingAlloc<Spy> = alloc_trace::CountingAlloc::new(Spy);

/// The benchmarks' mixed workload, the same file.
#[path = "../benchmarks/src/workloads/mixed.rs"]
mod mixed;
use mixed::mixed;

fn main() {
    const STRINGS: u64 = 1_000;
    let before = (
        REQUESTS.load(Relaxed),
        BYTES.load(Relaxed),
        LIVE.load(Relaxed),
    );
    PEAK.store(before.2, Relaxed);
    let ((), stats) = alloc_trace::measure(|| mixed(STRINGS));
    let requests = REQUESTS.load(Relaxed) - before.0;
    let bytes = BYTES.load(Relaxed) - before.1;
    let peak = PEAK.load(Relaxed) - before.2;
    // Every request (alloc and realloc) asked for its bytes and 16 more.
    assert_eq!(requests, stats.allocs, "{stats:?}");
    assert_eq!(
        bytes,
        stats.bytes_allocated + 16 * stats.allocs,
        "{stats:?}"
    );
    // At the peak, the header of every live block is extra (the peak of the inner
    // allocator's live bytes need not fall at the same moment as the user's: it is at
    // least the user's peak plus 16 per block then).
    assert!(peak > stats.peak_bytes, "{peak} vs {stats:?}");
    println!(
        "ownership_memory: mixed workload of {STRINGS} strings: {} requests, {} B asked \
         for {} B (+{:.1}%); at its peak {peak} B for {} B live (+{:.1}%)",
        requests,
        bytes,
        stats.bytes_allocated,
        100.0 * (bytes - stats.bytes_allocated) as f64 / stats.bytes_allocated as f64,
        stats.peak_bytes,
        100.0 * (peak - stats.peak_bytes) as f64 / stats.peak_bytes as f64,
    );
}
