use alloc_trace::track_allocs;

#[track_allocs(crate = 5)]
fn parse() {}

fn main() {
    parse();
}
