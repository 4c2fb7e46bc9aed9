//! `tracked!`: a block, a closure or an `async` block as a named call site, for code
//! without a `fn` of its own to put `#[track_allocs]` on.
//!
//! The macros only parse. What they expand to is what the attribute's sync expansion is
//! (a `static` site and its `inventory::submit!` in a block of their own, a pinned
//! `CallGuard` entered before the code and dropped after it), or, for an `async` block,
//! the attribute's `async fn` wrapper, so a site costs and counts the same either way.

// No panic path (see the crate docs, "No panic path"): this code runs on every tracked
// call or measurement.
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]
#![cfg_attr(not(test), deny(clippy::indexing_slicing, clippy::panic))]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#![cfg_attr(not(test), deny(clippy::unreachable, clippy::todo))]

/// Measures an expression, a closure or an `async` block as a call site named
/// `module::path::name`, with the same numbers, call paths and cost as a
/// [`#[track_allocs]`](crate::track_allocs) function of that name.
///
/// ```text
/// tracked!("name", expression)            // one call, now
/// tracked!("name", |args| body)           // a closure: one call per call of it
/// tracked!("name", move || body)
/// tracked!("name", async move { body })   // a future: one call across all its polls
/// ```
///
/// - **An expression** (a block, a call) is one call of the site, evaluated in place;
///   the macro's value is the expression's. `?`, `return`, `break` and panics in it end
///   the call, as they end a tracked function's; temporaries of the expression are freed
///   inside the call.
/// - **A closure** (`|args| body`, `move |args| body`, `|| body`, with or without a
///   `-> Type` before a block body) becomes the same closure whose every call is a call
///   of the site: for a closure handed to code you cannot annotate, whose allocations
///   would otherwise count as the caller's.
/// - **An `async` block** becomes a future measured across all its polls, on whatever
///   thread each runs, like an `async fn` (one call, counted when it completes or is
///   dropped after a poll).
///
/// The name must be a non-empty string literal; the site is `module_path!()` followed
/// by `::name`. Each use of the macro is a site of its own (two uses with one name are
/// told apart by their line, like two functions of one name).
///
/// Called inside a tracked call, the site is nested under it: it is on the call's paths,
/// counted in the call's inclusive numbers and taken out of its exclusive ones.
///
/// ```
/// # use std::hint::black_box;
/// # #[global_allocator]
/// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
/// use alloc_trace::{capture, track_allocs, tracked};
///
/// /// A parser that calls back for each word: the callback is the caller's code.
/// #[track_allocs]
/// fn for_each_word(text: &str, mut on_word: impl FnMut(&str)) {
///     let words: Vec<&str> = text.split(' ').collect(); // its own allocation
///     for w in words {
///         on_word(w);
///     }
/// }
///
/// let mut seen = Vec::new();
/// let ((), report) = capture(|| {
///     for_each_word("a bb ccc", tracked!("on_word", |w: &str| seen.push(w.to_owned())));
///     let total = tracked!("total", seen.iter().map(String::len).sum::<usize>());
///     assert_eq!(total, 6);
/// });
/// let parse = report.site("for_each_word").unwrap();
/// let on_word = report.site("on_word").unwrap();
/// assert_eq!(on_word.name, format!("{}::on_word", module_path!()));
/// assert_eq!(on_word.calls, 3);
/// assert_eq!(parse.exclusive.allocs, 1); // the callback's allocations are not its own
/// assert_eq!(parse.inclusive.allocs, 1 + on_word.inclusive.allocs);
/// assert_eq!(report.site("total").unwrap().inclusive.allocs, 0);
/// ```
///
/// The name is a string literal:
///
/// ```compile_fail
/// const NAME: &str = "parse";
/// alloc_trace::tracked!(NAME, 1 + 1);
/// ```
///
/// With the `tracking` feature off, it checks its name and evaluates the code as
/// written, as the attribute does.
#[macro_export]
macro_rules! tracked {
    ($name:literal, async move $body:block $(,)?) => {
        $crate::__alloc_trace_future!($name, async move $body)
    };
    ($name:literal, async $body:block $(,)?) => {
        $crate::__alloc_trace_future!($name, async $body)
    };
    ($name:literal, async $($rest:tt)*) => {
        ::core::compile_error!(
            "`tracked!` takes an `async` block alone, e.g. `tracked!(\"name\", async move { .. })`; \
             call methods on the future it returns"
        )
    };
    ($name:literal, move || -> $ret:ty $body:block $(,)?) => {
        move || -> $ret { $crate::tracked!($name, $body) }
    };
    ($name:literal, || -> $ret:ty $body:block $(,)?) => {
        || -> $ret { $crate::tracked!($name, $body) }
    };
    ($name:literal, move || $($body:tt)+) => {
        move || $crate::tracked!($name, $($body)+)
    };
    ($name:literal, || $($body:tt)+) => {
        || $crate::tracked!($name, $($body)+)
    };
    ($name:literal, move | $($rest:tt)+) => {
        $crate::__alloc_trace_closure!($name [move] [] $($rest)+)
    };
    ($name:literal, | $($rest:tt)+) => {
        $crate::__alloc_trace_closure!($name [] [] $($rest)+)
    };
    ($name:literal, $body:expr $(,)?) => {
        $crate::__alloc_trace_block!($name, $body)
    };
    ($name:literal $(,)?) => {
        ::core::compile_error!(
            "`tracked!` needs the code to measure after its name, e.g. \
             `tracked!(\"parse\", parse(text))`"
        )
    };
    ($name:expr, $($rest:tt)*) => {
        ::core::compile_error!(::core::concat!(
            "the name of `tracked!` must be a string literal, e.g. `tracked!(\"parse\", ..)`; found `",
            ::core::stringify!($name),
            "`"
        ))
    };
    ($($rest:tt)*) => {
        ::core::compile_error!(
            "`tracked!` takes a string literal name and the code to measure, e.g. \
             `tracked!(\"parse\", parse(text))` or `tracked!(\"on_item\", |item| handle(item))`"
        )
    };
}

/// `tracked!` of a closure with arguments: gathers the tokens between the bars. Not
/// public API.
#[doc(hidden)]
#[macro_export]
macro_rules! __alloc_trace_closure {
    ($name:literal [$($mv:tt)?] [$($args:tt)*] | -> $ret:ty $body:block $(,)?) => {
        $($mv)? |$($args)*| -> $ret { $crate::tracked!($name, $body) }
    };
    ($name:literal [$($mv:tt)?] [$($args:tt)*] | $($body:tt)+) => {
        $($mv)? |$($args)*| $crate::tracked!($name, $($body)+)
    };
    ($name:literal [$($mv:tt)?] [$($args:tt)*] $next:tt $($rest:tt)*) => {
        $crate::__alloc_trace_closure!($name [$($mv)?] [$($args)* $next] $($rest)*)
    };
    ($name:literal [$($mv:tt)?] [$($args:tt)*]) => {
        ::core::compile_error!("`tracked!` found a closure without a body")
    };
}

/// The site of one `tracked!`, `&'static`. Not public API.
#[doc(hidden)]
#[macro_export]
macro_rules! __alloc_trace_site {
    ($name:literal) => {{
        // Any literal but a string is a type error here, at the literal.
        const NAME: &str = $name;
        const _: () = ::core::assert!(!NAME.is_empty(), "the name of `tracked!` must not be empty");
        static SITE: $crate::__private::Site = $crate::__private::Site::new(
            ::core::concat!(::core::module_path!(), "::", $name),
            ::core::file!(),
            ::core::line!(),
        );
        $crate::__private::inventory::submit! { $crate::__private::SiteRegistration(&SITE) }
        &SITE
    }};
}

/// One call of a `tracked!` site around an expression. Not public API.
#[cfg(feature = "tracking")]
#[doc(hidden)]
#[macro_export]
macro_rules! __alloc_trace_block {
    ($name:literal, $body:expr) => {
        'tracked: {
            let guard = ::core::pin::pin!($crate::__private::CallGuard::new(
                $crate::__alloc_trace_site!($name)
            ));
            let _end = $crate::__private::CallGuard::enter(guard);
            // A statement, not the block's tail, so that the expression's temporaries
            // are freed inside the call in every edition (as the attribute does for a
            // function's final expression), and a diverging expression sets off no lint
            // the user cannot allow.
            #[allow(unreachable_code, clippy::diverging_sub_expression)]
            break 'tracked $body;
        }
    };
}

/// The future of a `tracked!` `async` block. Not public API.
#[cfg(feature = "tracking")]
#[doc(hidden)]
#[macro_export]
macro_rules! __alloc_trace_future {
    ($name:literal, $future:expr) => {
        $crate::__private::track_future($crate::__alloc_trace_site!($name), $future)
    };
}

/// `tracking` off: the name checked, the code as written. Not public API.
#[cfg(not(feature = "tracking"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __alloc_trace_block {
    ($name:literal, $body:expr) => {{
        const NAME: &str = $name;
        const _: () = ::core::assert!(!NAME.is_empty(), "the name of `tracked!` must not be empty");
        $body
    }};
}

/// `tracking` off: the name checked, the future as written. Not public API.
#[cfg(not(feature = "tracking"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __alloc_trace_future {
    ($name:literal, $future:expr) => {
        $crate::__alloc_trace_block!($name, $future)
    };
}
