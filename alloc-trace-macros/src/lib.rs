//! The `#[track_allocs]` attribute of [`alloc-trace`](https://docs.rs/alloc-trace).
//!
//! Use it through `alloc_trace::track_allocs`; the attribute's documentation lives there.

mod args;
mod expand;
mod item;

use proc_macro::TokenStream;

/// Counts the allocations of every call of a function (or of every method of an `impl`
/// block) at a call site of its own. See `alloc_trace::track_allocs`.
#[proc_macro_attribute]
pub fn track_allocs(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::track_allocs(args.into(), item.into()).into()
}
