use alloc_trace::track_allocs;

#[track_allocs(name)]
fn parse() {}

fn main() {
    parse();
}
