// Every mistake in the argument list is reported at once, each at its own tokens.
use alloc_trace::track_allocs;

#[track_allocs(nme = "parse", max_allocs = "two", name = "", max_allocs = 1)]
const fn parse() {}

fn main() {
    parse();
}
