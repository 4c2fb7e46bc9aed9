use alloc_trace::track_allocs;

#[track_allocs(max_bytes = 18446744073709551616)]
fn parse() {}

fn main() {
    parse();
}
