use alloc_trace::track_allocs;

struct Parser;

#[track_allocs(name = "parser")]
impl Parser {
    fn parse(&self) {}
}

fn main() {
    Parser.parse();
}
