//! `#[track_allocs]` in an edition-2021 crate (this package's edition).
//!
//! Before edition 2024, the temporaries of a block's final expression are dropped after
//! the block's locals, which would be after the call's guard: a function ending in
//! `make_vec().len()` would seem to keep its vector, and the caller to free memory it
//! never allocated. The expansion binds the final expression to a local first, so the
//! numbers are the same in every edition. Final expressions that diverge (`todo!()`,
//! `panic!`, `loop {}`) compile without a warning.
#![deny(warnings, clippy::all, clippy::pedantic)]

use std::hint::black_box;

use alloc_trace::{capture, track_allocs, AllocStats};

#[global_allocator]
static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();

/// The vector is a temporary of the final expression.
#[track_allocs]
fn temporary_in_final_expression() -> usize {
    black_box(vec![0u8; 10]).len()
}

/// The same in a method of a tracked `impl` block, and with a unit final expression.
struct Holder(usize);

#[track_allocs]
impl Holder {
    fn len(&self) -> usize {
        black_box(vec![0u8; self.0]).len()
    }

    fn unit(&self) {
        drop(black_box(vec![0u8; self.0]));
    }
}

/// Never called: each shows that a diverging final expression compiles cleanly.
#[allow(dead_code)]
mod diverging {
    use alloc_trace::track_allocs;

    #[track_allocs]
    fn todo() -> u32 {
        todo!()
    }

    #[track_allocs]
    fn panics() -> u32 {
        panic!("never called")
    }

    #[track_allocs]
    #[allow(clippy::empty_loop)]
    fn loops() {
        loop {}
    }

    #[track_allocs]
    fn exits() -> Vec<u8> {
        std::process::exit(1)
    }
}

/// Final expressions whose type comes from the signature still infer it.
#[track_allocs]
fn closure() -> Box<dyn Fn(u8) -> u8> {
    Box::new(|x| x + 1)
}

#[track_allocs]
fn borrowed(s: &str) -> &str {
    &s[1..]
}

#[track_allocs]
fn promoted() -> &'static [u8] {
    &[1, 2, 3]
}

const TEN_FREED: AllocStats = AllocStats {
    allocs: 1,
    reallocs: 0,
    frees: 1,
    bytes_allocated: 10,
    bytes_freed: 10,
    peak_bytes: 10,
};

#[test]
fn final_expression_temporaries_are_freed_inside_the_call() {
    let (n, report) = capture(|| {
        let holder = Holder(10);
        holder.unit();
        temporary_in_final_expression() + holder.len()
    });
    assert_eq!(n, 20);
    for name in [
        "temporary_in_final_expression",
        "Holder::len",
        "Holder::unit",
    ] {
        let site = report.site(name).unwrap();
        assert_eq!((site.calls, site.inclusive), (1, TEN_FREED), "{name}");
    }
    assert_eq!(
        report.outside_tracked(),
        alloc_trace::AllocCounts::default()
    );
}

#[test]
fn inference_from_the_signature() {
    let ((), report) = capture(|| {
        assert_eq!(closure()(1), 2);
        assert_eq!(borrowed("ab"), "b");
        assert_eq!(promoted(), [1, 2, 3]);
    });
    let boxed_closure = report.site("closure").unwrap();
    assert_eq!(
        boxed_closure.inclusive.allocs, 0,
        "a closure without captures is zero-sized"
    );
}
