const NAME: &str = "parse";

fn main() {
    let _ = alloc_trace::tracked!(NAME, 1 + 1);
}
