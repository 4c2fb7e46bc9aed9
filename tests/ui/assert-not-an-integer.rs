use alloc_trace::assert_allocs;

fn main() {
    let _ = assert_allocs!(vec![1u8], bytes_allocated <= 1.5);
}
