//! String building: four ways to build the same 9,000-byte string of 1,000 items.
//!
//! - `push_str_growth` (or `s = s + piece`): the buffer doubles as it fills, 12 allocs
//!   (1 alloc and 11 reallocs), and keeps 16 KiB for 8.8 KiB of text.
//! - `format_per_item`: a temporary `String` from `format!` for every item (each one
//!   allocated and then grown once: 2 allocs per item), plus the result's own growth.
//! - `with_capacity`: the exact size reserved up front: 1 alloc.
//! - `write_into_reused`: `write!` straight into one `String` kept across calls: after the
//!   first call, no alloc at all.
//!
//! Each is called 100 times, so `allocs/call` is the cost of building the string once.
//!
//! Run: `cargo run --release --example string_building`

use alloc_trace_examples::string_building::{
    BUILDS, ITEMS, format_per_item, push_str_growth, with_capacity, write_into_reused,
};
use std::hint::black_box;

#[global_allocator]
static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();

fn main() {
    let (_, before) = alloc_trace::capture(|| {
        for _ in 0..BUILDS {
            black_box(push_str_growth(ITEMS));
            black_box(format_per_item(ITEMS));
        }
    });
    println!("BEFORE: growing from empty, and format! per item\n\n{before}");

    let (_, after) = alloc_trace::capture(|| {
        let mut buf = String::new();
        for _ in 0..BUILDS {
            black_box(with_capacity(ITEMS));
            write_into_reused(&mut buf, ITEMS);
            black_box(&buf);
        }
    });
    println!("AFTER: reserving the size, and writing into one reused String\n\n{after}");
}
