use alloc_trace::track_allocs;

#[track_allocs(max_allocs = -1)]
fn parse() {}

fn main() {
    parse();
}
