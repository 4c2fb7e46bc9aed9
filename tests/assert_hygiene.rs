//! The assertion macros expand to absolute paths only, contain no `unsafe`, and need
//! nothing from the prelude: they work under `forbid(unsafe_code)`, beside a local
//! `mod core`, and in a `no_implicit_prelude` module.
#![forbid(unsafe_code)]

#[global_allocator]
static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();

/// Would capture a relative `core::...` path.
#[allow(dead_code)]
mod core {}

/// Would capture an unqualified helper name.
#[allow(dead_code)]
fn check_allocs() {}

mod no_prelude {
    #![no_implicit_prelude]

    #[test]
    fn assertions_expand_without_the_prelude() {
        let v = ::alloc_trace::assert_allocs!(
            ::std::vec![1u8, 2, 3],
            allocs == 1,
            bytes_allocated == 3
        );
        ::std::assert_eq!(v.len(), 3);
        let n = ::alloc_trace::assert_no_alloc!(v.len());
        ::std::assert_eq!(n, 3);
    }
}
