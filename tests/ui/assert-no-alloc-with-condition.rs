use alloc_trace::assert_no_alloc;

fn main() {
    let _ = assert_no_alloc!(vec![1u8], allocs == 0);
}
