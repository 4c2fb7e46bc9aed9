use alloc_trace::track_allocs;

#[track_allocs(name = 3)]
fn parse() {}

fn main() {
    parse();
}
