// A syntax error in the body is rustc's own error, with nothing from the attribute.
use alloc_trace::track_allocs;

#[track_allocs]
fn parse() -> u32 {
    let x = ;
    x
}

fn main() {
    let _ = parse();
}
