//! The numbers `examples/quickstart.rs` prints, asserted exactly on the same code.

use std::hint::black_box;

use alloc_trace::AllocStats;
use alloc_trace_examples::quickstart::{LINE, LINES, split_borrowed, split_owned};

#[global_allocator]
static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();

#[test]
fn owned_fields_cost_one_allocation_each() {
    let (_, report) = alloc_trace::capture(|| {
        for _ in 0..LINES {
            black_box(split_owned(black_box(LINE)));
            black_box(split_borrowed(black_box(LINE)));
        }
    });
    // `collect` from `Split` (lower size hint 0) allocates the `Vec` at capacity 4 when the
    // first item arrives: 4 x 24 bytes for `String`s, 4 x 16 for `&str`s. The owned
    // version adds "alice", "42", "paris": 5 + 2 + 5 bytes. Everything is returned: net bytes = bytes allocated.
    let n = u64::from(LINES);
    let owned = report.site("split_owned").unwrap();
    let borrowed = report.site("split_borrowed").unwrap();
    assert_eq!(
        owned.inclusive,
        AllocStats {
            allocs: 4 * n,
            reallocs: 0,
            frees: 0,
            bytes_allocated: 108 * n,
            bytes_freed: 0,
            peak_bytes: 108
        }
    );
    assert_eq!(
        borrowed.inclusive,
        AllocStats {
            allocs: n,
            reallocs: 0,
            frees: 0,
            bytes_allocated: 64 * n,
            bytes_freed: 0,
            peak_bytes: 64
        }
    );
    assert_eq!(
        (owned.allocs_per_call(), borrowed.allocs_per_call()),
        (4.0, 1.0)
    );
    assert_eq!(split_owned(LINE), ["alice", "42", "paris"]);
    assert_eq!(split_borrowed(LINE), ["alice", "42", "paris"]);
}
