use alloc_trace::track_allocs;

#[track_allocs(max_alloc = 2)]
fn parse() {}

fn main() {
    parse();
}
