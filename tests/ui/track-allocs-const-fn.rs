use alloc_trace::track_allocs;

#[track_allocs]
const fn answer() -> u32 {
    42
}

fn main() {
    let _ = answer();
}
