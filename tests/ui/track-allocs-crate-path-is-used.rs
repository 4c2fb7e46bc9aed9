// `crate = path` is the path the expansion uses: here it names no crate.
use alloc_trace::track_allocs;

#[track_allocs(crate = not_alloc_trace)]
fn parse() {}

fn main() {
    parse();
}
