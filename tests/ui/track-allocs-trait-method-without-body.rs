use alloc_trace::track_allocs;

trait Parser {
    #[track_allocs]
    fn parse(&self, input: &str) -> Vec<String>;
}

fn main() {}
