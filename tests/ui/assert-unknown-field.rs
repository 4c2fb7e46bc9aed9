use alloc_trace::assert_allocs;

fn main() {
    let _ = assert_allocs!(vec![1u8], alocs == 1);
}
