use alloc_trace::track_allocs;

#[track_allocs(max_allocs = 2, max_allocs = 3)]
fn parse() {}

fn main() {
    parse();
}
