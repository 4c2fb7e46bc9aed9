//! Site names: each one identifies its function. `module::function` for a free function;
//! in a tracked `impl` block `module::Type::method`, `module::<Type as Trait>::method`
//! (type and trait as the header writes them, generic parameters included); for a method's
//! own attribute, `module::Type::method` with the type of its first call (the macro cannot
//! see the `impl`, so the trait is not in the name). Every test reads its sites by their
//! full names.

use std::hint::black_box;

use alloc_trace::{Report, capture};

#[global_allocator]
static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();

/// One 10-byte allocation, freed at once.
fn churn10() {
    drop(black_box(vec![0u8; 10]));
}

/// The calls of the site called exactly `name` (`Report::site` finds a full name first).
#[track_caller]
fn calls(report: &Report, name: &str) -> u64 {
    let names = || {
        report
            .sites()
            .iter()
            .map(|s| s.name.clone())
            .collect::<Vec<_>>()
    };
    let site = report
        .site(name)
        .unwrap_or_else(|| panic!("no site named {name:?}; sites: {:?}", names()));
    assert_eq!(site.name, name);
    assert_eq!(
        site.inclusive.allocs, site.calls,
        "{name}: one churn per call"
    );
    site.calls
}

// ---------------------------------------------------------------------------------------
// A free function and a method of the same name.

mod server {
    use alloc_trace::track_allocs;

    #[track_allocs]
    pub fn run() {
        super::churn10();
    }

    pub struct Handler;

    impl Handler {
        #[track_allocs]
        pub fn run(&self) {
            super::churn10();
        }

        #[track_allocs]
        pub async fn serve(&self) {
            super::churn10();
        }

        /// No receiver and no `Self`: nothing tells the macro this is a method.
        #[track_allocs]
        pub fn helper() {
            super::churn10();
        }
    }
}

#[test]
fn free_function_and_method_of_the_same_name() {
    let ((), report) = capture(|| {
        server::run();
        server::Handler.run();
        server::Handler.run();
        block_on(server::Handler.serve());
        server::Handler::helper();
    });
    assert_eq!(calls(&report, "track_allocs_names::server::run"), 1);
    assert_eq!(
        calls(&report, "track_allocs_names::server::Handler::run"),
        2
    );
    assert_eq!(
        calls(&report, "track_allocs_names::server::Handler::serve"),
        1
    );
    assert_eq!(calls(&report, "track_allocs_names::server::helper"), 1);
}

// ---------------------------------------------------------------------------------------
// Two trait impls' `next`, and `Type::new`: on the block and on the method.

mod parse {
    use alloc_trace::track_allocs;

    pub struct Parser(pub u8);
    pub struct OffsetIter<'a>(pub &'a [u8]);
    pub struct Words(pub u8);

    #[track_allocs]
    impl Iterator for Parser {
        type Item = u8;

        fn next(&mut self) -> Option<u8> {
            super::churn10();
            self.0.checked_sub(1).inspect(|n| self.0 = *n)
        }
    }

    #[track_allocs]
    impl<'a> Iterator for OffsetIter<'a> {
        type Item = &'a u8;

        fn next(&mut self) -> Option<&'a u8> {
            super::churn10();
            let (first, rest) = self.0.split_first()?;
            self.0 = rest;
            Some(first)
        }
    }

    /// The attribute on the method alone: the type, not the trait.
    impl Iterator for Words {
        type Item = u8;

        #[track_allocs]
        fn next(&mut self) -> Option<u8> {
            super::churn10();
            self.0.checked_sub(1).inspect(|n| self.0 = *n)
        }
    }

    pub struct Allocations(pub Vec<u8>);

    #[track_allocs]
    impl Allocations {
        pub fn new() -> Self {
            Self(Vec::with_capacity(10))
        }
    }

    pub struct Manual;

    impl Manual {
        /// `Self` in the signature: a method, named after its type.
        #[track_allocs]
        pub fn new() -> Self {
            super::churn10();
            Self
        }
    }
}

#[test]
fn two_trait_impls_next_and_type_new() {
    let (n, report) = capture(|| {
        let bytes = [1, 2, 3];
        let a = parse::Parser(2).count();
        let b = parse::OffsetIter(&bytes).count();
        let c = parse::Words(1).count();
        let kept = parse::Allocations::new();
        let _manual = parse::Manual::new();
        a + b + c + kept.0.capacity()
    });
    assert_eq!(n, 2 + 3 + 1 + 10);
    // Each `count` calls `next` once more than it yields.
    assert_eq!(
        calls(
            &report,
            "track_allocs_names::parse::<Parser as Iterator>::next"
        ),
        3
    );
    assert_eq!(
        calls(
            &report,
            "track_allocs_names::parse::<OffsetIter<'a> as Iterator>::next"
        ),
        4
    );
    assert_eq!(calls(&report, "track_allocs_names::parse::Words::next"), 2);
    assert_eq!(
        calls(&report, "track_allocs_names::parse::Allocations::new"),
        1
    );
    assert_eq!(calls(&report, "track_allocs_names::parse::Manual::new"), 1);
    // The end of a name finds its site too, when no other site's name ends the same way.
    assert_eq!(
        report.site("<Parser as Iterator>::next").unwrap().name,
        "track_allocs_names::parse::<Parser as Iterator>::next"
    );
}

// ---------------------------------------------------------------------------------------
// Generic types: one site for every instantiation, named without instantiation-specific
// arguments.

mod generic {
    use alloc_trace::track_allocs;

    pub struct Stack<T>(pub Vec<T>);

    #[track_allocs]
    impl<T: Default> Stack<T> {
        pub fn with_one() -> Self {
            super::churn10();
            Self(Vec::from([T::default()]))
        }
    }

    pub struct Queue<T>(pub Option<T>);

    impl<T> Queue<T> {
        /// The runtime names it from `type_name::<Self>()`, generic arguments dropped.
        #[track_allocs]
        pub fn put(&mut self, item: T) {
            super::churn10();
            self.0 = Some(item);
        }
    }

    pub struct Pair<A, B>(pub A, pub B);

    #[track_allocs]
    impl<A: Clone, B: Clone> From<(A, B)> for Pair<A, B> {
        fn from((a, b): (A, B)) -> Self {
            super::churn10();
            Self(a, b)
        }
    }
}

#[test]
fn generic_impls_name_their_parameters() {
    let ((), report) = capture(|| {
        let a = generic::Stack::<u8>::with_one();
        let b = generic::Stack::<String>::with_one();
        assert_eq!((a.0.len(), b.0.len()), (1, 1));
        let mut q = generic::Queue(None);
        q.put(1u8);
        let mut q = generic::Queue(None);
        q.put("two");
        let p = generic::Pair::from((1u8, 'x'));
        assert_eq!((p.0, p.1), (1, 'x'));
    });
    let with_one = report
        .site("track_allocs_names::generic::Stack<T>::with_one")
        .unwrap();
    assert_eq!(with_one.calls, 2);
    assert_eq!(calls(&report, "track_allocs_names::generic::Queue::put"), 2);
    assert_eq!(
        calls(
            &report,
            "track_allocs_names::generic::<Pair<A, B> as From<(A, B)>>::from"
        ),
        1
    );
}

// ---------------------------------------------------------------------------------------
// A trait's default method: one site, named after the first implementor that calls it,
// unless it is given a `name`.

mod shapes {
    use alloc_trace::track_allocs;

    pub trait Shape {
        #[track_allocs]
        fn describe(&self) {
            super::churn10();
        }

        #[track_allocs(name = "shapes::Shape::outline")]
        fn outline(&self) {
            super::churn10();
        }
    }

    pub struct Square;
    pub struct Circle;

    impl Shape for Square {}
    impl Shape for Circle {}
}

#[test]
fn trait_default_method() {
    use shapes::Shape;

    let ((), report) = capture(|| {
        shapes::Circle.describe();
        shapes::Square.describe();
        shapes::Square.outline();
        shapes::Circle.outline();
    });
    // Circle's call came first; Square's counts at the same site.
    assert_eq!(
        calls(&report, "track_allocs_names::shapes::Circle::describe"),
        2
    );
    assert!(report.site("Square::describe").is_none());
    assert_eq!(calls(&report, "shapes::Shape::outline"), 2);
}

// ---------------------------------------------------------------------------------------
// Attribute on the block vs on the method: the same name for an inherent method.

mod placement {
    use alloc_trace::track_allocs;

    pub struct OnBlock;
    pub struct OnMethod;

    #[track_allocs]
    impl OnBlock {
        pub fn get(&self) -> u8 {
            super::churn10();
            1
        }

        pub fn make() -> u8 {
            super::churn10();
            2
        }
    }

    impl OnMethod {
        #[track_allocs]
        pub fn get(&self) -> u8 {
            super::churn10();
            1
        }

        /// Neither a receiver nor `Self`: named like a free function.
        #[track_allocs]
        pub fn make() -> u8 {
            super::churn10();
            2
        }
    }
}

#[test]
fn attribute_on_block_or_on_method() {
    use placement::{OnBlock, OnMethod};

    let (n, report) =
        capture(|| OnBlock.get() + OnBlock::make() + OnMethod.get() + OnMethod::make());
    assert_eq!(n, 6);
    assert_eq!(
        calls(&report, "track_allocs_names::placement::OnBlock::get"),
        1
    );
    assert_eq!(
        calls(&report, "track_allocs_names::placement::OnBlock::make"),
        1
    );
    assert_eq!(
        calls(&report, "track_allocs_names::placement::OnMethod::get"),
        1
    );
    assert_eq!(calls(&report, "track_allocs_names::placement::make"), 1);
}

// ---------------------------------------------------------------------------------------
// Async methods: a trait impl in a tracked block, and a method's own attribute.

mod service {
    use alloc_trace::track_allocs;

    pub trait Service {
        async fn call(&self) -> u8;
    }

    pub struct Echo;

    #[track_allocs]
    impl Service for Echo {
        async fn call(&self) -> u8 {
            super::churn10();
            7
        }
    }
}

#[test]
fn async_methods() {
    use service::Service;

    let (n, report) = capture(|| block_on(service::Echo.call()));
    assert_eq!(n, 7);
    assert_eq!(
        calls(
            &report,
            "track_allocs_names::service::<Echo as Service>::call"
        ),
        1
    );
}

#[path = "support/block_on.rs"]
mod block_on;
use block_on::block_on;
