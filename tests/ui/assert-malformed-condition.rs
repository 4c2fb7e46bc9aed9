use alloc_trace::assert_allocs;

fn main() {
    let _ = assert_allocs!(vec![1u8], allocs == 1 bytes_freed == 0);
}
