//! The `#[track_allocs]` attribute of [`alloc-trace`](https://docs.rs/alloc-trace).
//!
//! Use it through `alloc_trace::track_allocs`, whose documentation is the attribute's.
//! Arguments are parsed in `args`, the annotated item in `item`, and the code generated
//! in `expand` (with `body` splitting a sync body around the guard).

mod args;
mod body;
mod expand;
mod item;

use proc_macro::TokenStream;

/// (The implementation behind `alloc_trace::track_allocs`.)
#[proc_macro_attribute]
pub fn track_allocs(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::track_allocs(args.into(), item.into()).into()
}
