fn main() {
    alloc_trace::tracked!("parse");
}
