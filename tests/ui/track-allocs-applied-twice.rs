use alloc_trace::track_allocs;

#[track_allocs]
#[track_allocs(name = "again")]
fn parse() {}

fn main() {
    parse();
}
