fn main() {
    let _ = alloc_trace::tracked!(42, 1 + 1);
}
