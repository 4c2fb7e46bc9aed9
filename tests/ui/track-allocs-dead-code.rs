// An unused tracked function is still reported as unused.
#![deny(dead_code)]

use alloc_trace::track_allocs;

#[track_allocs]
fn never_called() -> Vec<u8> {
    vec![1, 2, 3]
}

#[track_allocs]
async fn never_awaited() -> u8 {
    1
}

struct Parser;

#[track_allocs]
impl Parser {
    fn never_called_either(&self) {}
}

fn main() {
    let _ = Parser;
}
