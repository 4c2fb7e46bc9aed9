// Errors in the body point at the user's code, as without the attribute.
use alloc_trace::track_allocs;

#[track_allocs]
fn length(s: &str) -> u32 {
    s.len()
}

#[track_allocs]
fn no_tail() -> u32 {
    let _x = 5u32;
}

#[track_allocs]
async fn fetch() -> u32 {
    "not a number"
}

fn main() {
    let _ = length("a") + no_tail();
    let _ = fetch();
}
