//! `examples/string_building.rs`: four ways to build the same string of `n` items
//! (`id=00000;id=00001;...`, 9 bytes per item).

use std::fmt::Write as _;

use alloc_trace::track_allocs;

/// Items in the string the example builds.
pub const ITEMS: u32 = 1000;
/// Times the example builds it with each method.
pub const BUILDS: u32 = 100;

/// Bytes one item adds: `id=` + 5 digits + `;`.
pub const ITEM_LEN: usize = 9;

/// Grows a `String` from empty with `push_str` (`s = s + piece` and `s += piece` do the
/// same): the buffer doubles whenever it is full, so it is reallocated about log2(n)
/// times and ends up to twice as large as needed.
#[track_allocs]
pub fn push_str_growth(n: u32) -> String {
    let mut s = String::new();
    for i in 0..n {
        push_item(&mut s, i);
    }
    s
}

/// Reserves the exact size first: one allocation, no copies.
#[track_allocs]
pub fn with_capacity(n: u32) -> String {
    let mut s = String::with_capacity(ITEM_LEN * n as usize);
    for i in 0..n {
        push_item(&mut s, i);
    }
    s
}

/// Formats each item with `format!` into a temporary `String`, then appends it: a
/// temporary per item on top of the growth of the result.
#[track_allocs]
pub fn format_per_item(n: u32) -> String {
    let mut s = String::new();
    for i in 0..n {
        s.push_str(&format!("id={i:05};"));
    }
    s
}

/// Writes every item straight into `buf` with `write!` (no temporary), reusing `buf`'s
/// capacity from one call to the next: after the first call, nothing is allocated.
#[track_allocs]
pub fn write_into_reused(buf: &mut String, n: u32) {
    buf.clear();
    for i in 0..n {
        // Writing into a `String` cannot fail.
        let _ = write!(buf, "id={i:05};");
    }
}

/// Appends `id=NNNNN;` without any formatting machinery (`push_str`, `push_str`, `push`).
fn push_item(s: &mut String, i: u32) {
    let digits = [10_000, 1_000, 100, 10, 1].map(|unit| b'0' + (i / unit % 10) as u8);
    s.push_str("id=");
    s.push_str(core::str::from_utf8(&digits).unwrap_or("?????"));
    s.push(';');
}
