fn main() {
    let _ = alloc_trace::tracked!("task", async { 1 }.into_future());
}
