fn main() {
    let _ = alloc_trace::tracked!("", 1 + 1);
}
