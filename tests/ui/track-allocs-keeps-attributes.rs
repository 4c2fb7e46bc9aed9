// The function's own attributes are kept: here `#[must_use]` still warns (denied).
#![deny(unused_must_use)]

use alloc_trace::track_allocs;

/// Parses.
#[track_allocs]
#[must_use = "the parsed value is the point"]
fn parse() -> u32 {
    1
}

fn main() {
    parse();
}
