use alloc_trace::track_allocs;

#[track_allocs(max_allocs = 2u8)]
fn parse() {}

fn main() {
    parse();
}
