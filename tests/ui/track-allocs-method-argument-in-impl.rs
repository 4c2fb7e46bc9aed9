// A method's own attribute inside a tracked `impl` block is read by the block's
// expansion; its mistakes are reported once.
use alloc_trace::track_allocs;

struct Parser;

#[track_allocs]
impl Parser {
    #[track_allocs(max_bytes = "lots")]
    fn parse(&self) {}

    #[track_allocs]
    const fn limit(&self) -> usize {
        10
    }
}

fn main() {
    Parser.parse();
    let _ = Parser.limit();
}
