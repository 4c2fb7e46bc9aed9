use alloc_trace::track_allocs;

#[track_allocs(max_allocs = "x")]
fn parse() {}

fn main() {
    parse();
}
