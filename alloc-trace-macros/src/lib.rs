//! The `#[track_allocs]` attribute of [`alloc-trace`](https://docs.rs/alloc-trace).
//!
//! Use it through `alloc_trace::track_allocs`, whose documentation is the attribute's.
//! Parse (`args`, `item`), validate (`validate`), expand (`expand`, with `name` for site
//! names and `body` for splitting a sync body); `errors` gathers every mistake on the way.
//! Without the `tracking` feature the item is checked the same way and emitted as written.

mod args;
mod body;
mod errors;
mod expand;
mod item;
mod name;
mod validate;

use proc_macro::TokenStream;

/// (The implementation behind `alloc_trace::track_allocs`.)
#[proc_macro_attribute]
pub fn track_allocs(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::track_allocs(args.into(), item.into(), cfg!(feature = "tracking")).into()
}
