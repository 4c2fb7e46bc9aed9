//! Generating: a function (or every method of an `impl` block) becomes a tracked call
//! site. [`track_allocs`] runs the whole macro; what follows it only generates, from an
//! [`Input`] that parsed and validated without a mistake.
//!
//! A sync function keeps its signature as written; only the body changes, to
//!
//! ```text
//! {
//!     ..the body's leading items..
//!     let guard = pin!(CallGuard::new({ static SITE: Site = ..; inventory::submit!(..); &SITE }));
//!     let end = CallGuard::enter(guard);
//!     ..the other statements..
//!     let value: ReturnType = ..the final expression..;
//!     return value;
//! }
//! ```
//!
//! so `return`, `?` and unwinding all drop the guard, which ends the call (the guard is
//! declared before the body's locals, so it is dropped after them; see `body` for the
//! items and the final expression). The site and its registration sit in a block of their
//! own, where no user item can see or clash with them, and never mention generic
//! parameters: every instantiation shares one site. A method site whose type the macro
//! cannot see takes `|| type_name::<Self>()` too (`CallGuard::for_method`).
//!
//! An `async fn` is written as the function rustc makes of it, `fn(..) -> impl Future`,
//! whose future is a `TrackedFuture` (measuring every poll, on whatever thread runs it)
//! around the body's `async move` block:
//!
//! ```text
//! fn name(args) -> impl Future<Output = ReturnType> {
//!     track_future({ static SITE..; &SITE }, async move { let arg = arg; ..; body })
//! }
//! ```
//!
//! The block moves the arguments in first, as rustc's own lowering of an `async fn` does,
//! so they are dropped at the end of the body and the block is the very future the
//! untracked `async fn` would be: the tracked future is that one plus the wrapper's own
//! fields. (Awaiting the wrapper inside the `async fn` instead would make a second future
//! around it that keeps its own copy of every argument, rust-lang/rust#62958.) An `async
//! fn` with an attribute that may be a macro after this one (`#[tokio::test]` needs the
//! `async`) stays an `async fn`, and its body awaits the wrapper.

use proc_macro2::{Delimiter, Group, Span, TokenStream};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{
    Attribute, Block, Expr, FnArg, ImplItem, Pat, Path, ReturnType, Signature, Stmt, Type,
    parse_quote, parse_quote_spanned,
};

use crate::args::{Args, Count};
use crate::body;
use crate::errors::Errors;
use crate::item::{Body, FnItem, ImplBlock, Input, Target};
use crate::name::{SiteName, impl_prefix};
use crate::validate::validate;

/// The whole macro: parse, validate, then expand, or (with errors, or without the
/// `tracking` feature) the item as written.
pub(crate) fn track_allocs(args: TokenStream, item: TokenStream, tracking: bool) -> TokenStream {
    let mut errors = Errors::default();
    let input = Input::parse(args, item, &mut errors);
    if let Target::Unparsed = input.target {
        // rustc reports the syntax error; adding one would only hide it.
        return input.item;
    }
    validate(&input, &mut errors);
    if !errors.is_empty() || !tracking {
        // With the errors, the item as written, so the user sees them and not a second
        // error about a function that went missing.
        let errors = errors.to_compile_errors();
        let item = input.as_written();
        return quote!(#errors #item);
    }
    match input.target {
        Target::Fn(f) => expand_fn(&input.args, f),
        Target::Impl(block) => expand_impl(&input.args, block),
        // Rejected by `validate`.
        Target::Other(_) | Target::Unparsed => input.item,
    }
}

fn expand_fn(args: &Args, mut f: FnItem) -> TokenStream {
    let name = SiteName::of(args, &f.sig, None);
    if let Some(body) = f.body.as_mut() {
        instrument(&mut f.sig, &f.attrs, body, args, &name);
    }
    f.into_token_stream()
}

/// Instruments every method of the block, named after the block's type (and trait). A
/// method's own `#[track_allocs(...)]` overrides the block's arguments (its name, say).
/// `const fn`s are left alone.
fn expand_impl(block_args: &Args, block: ImplBlock) -> TokenStream {
    let ImplBlock { mut item, methods } = block;
    let prefix = impl_prefix(&item);
    for method in methods {
        let ImplItem::Fn(f) = &mut item.items[method.index] else {
            continue;
        };
        if f.sig.constness.is_some() {
            continue;
        }
        let args = method.args.unwrap_or_default().or(block_args);
        let name = SiteName::of(&args, &f.sig, Some(&prefix));
        let mut body = Body {
            brace: f.block.brace_token,
            inner_attrs: Vec::new(),
            stmts: f
                .block
                .stmts
                .iter()
                .map(ToTokens::to_token_stream)
                .collect(),
        };
        instrument(&mut f.sig, &f.attrs, &mut body, &args, &name);
        // syn prints the method's inner attributes inside the new block, as before.
        f.block = Block {
            brace_token: body.brace,
            stmts: vec![Stmt::Expr(Expr::Verbatim(body.stmts), None)],
        };
    }
    item.into_token_stream()
}

/// What the generated code of one function refers to: its site and the runtime.
struct SiteTokens {
    /// `path::to::alloc_trace::__private`
    private: TokenStream,
    /// `{ static SITE: Site = ..; inventory::submit!(..); &SITE }`
    site: TokenStream,
    /// `|| type_name::<Self>()` for a site the runtime names after `Self`.
    self_type: Option<TokenStream>,
}

impl SiteTokens {
    fn new(sig: &Signature, args: &Args, name: &SiteName) -> Self {
        let krate: Path = args
            .krate
            .clone()
            .unwrap_or_else(|| parse_quote!(::alloc_trace));
        let private = quote!(#krate::__private);
        let fn_span = sig.ident.span();
        let file_line = quote_spanned!(fn_span=> ::core::file!(), ::core::line!());
        let new = match name {
            SiteName::Given(name) => quote!(#private::Site::new(#name, #file_line)),
            SiteName::Path(path) => {
                let suffix = format!("::{path}");
                let name =
                    quote_spanned!(fn_span=> ::core::concat!(::core::module_path!(), #suffix));
                quote!(#private::Site::new(#name, #file_line))
            }
            SiteName::Method(method) => {
                let module = quote_spanned!(fn_span=> ::core::module_path!());
                quote!(#private::Site::method(#module, #method, #file_line))
            }
        };
        let budget = budget(args, &private);
        let static_site = format_ident!("SITE", span = Span::mixed_site());
        let site = quote!({
            static #static_site: #private::Site = #new #budget;
            #private::inventory::submit! { #private::SiteRegistration(&#static_site) }
            &#static_site
        });
        let self_type = matches!(name, SiteName::Method(_))
            .then(|| quote!(|| ::core::any::type_name::<Self>()));
        Self {
            private,
            site,
            self_type,
        }
    }

    /// `Guard::new(site)`, or `Guard::for_method(site, || type_name::<Self>())`.
    fn guard(&self, guard: &TokenStream) -> TokenStream {
        let site = &self.site;
        match &self.self_type {
            None => quote!(#guard::new(#site)),
            Some(self_type) => quote!(#guard::for_method(#site, #self_type)),
        }
    }

    /// The tracked future of an `async` body.
    fn future(&self, future: &TokenStream) -> TokenStream {
        let Self {
            private,
            site,
            self_type,
        } = self;
        match self_type {
            None => quote!(#private::track_future(#site, #future)),
            Some(self_type) => {
                quote!(#private::track_method_future(#site, #future, #self_type))
            }
        }
    }
}

/// Rewrites `body` (and, for an `async fn`, `sig`) into a tracked function.
fn instrument(
    sig: &mut Signature,
    attrs: &[Attribute],
    body: &mut Body,
    args: &Args,
    name: &SiteName,
) {
    let site = SiteTokens::new(sig, args, name);
    let private = &site.private;
    let fn_span = sig.ident.span();
    let stmts = std::mem::take(&mut body.stmts);
    if sig.asyncness.is_some() {
        let fake_return = fake_return(&sig.output, fn_span);
        let desugar = can_desugar(sig, attrs);
        let arguments = if desugar {
            desugar_async(sig)
        } else {
            TokenStream::new()
        };
        // The `async move` block sits where the original braces are (so errors about the
        // body, such as a missing tail expression, point there) but counts as this macro's
        // output, so `clippy::items_after_statements` leaves the user's items after the
        // fake return alone.
        let mut block = Group::new(Delimiter::Brace, quote!(#arguments #fake_return #stmts));
        block.set_span(Span::call_site().located_at(body.brace.span.join()));
        let future = site.future(&quote!(async move #block));
        body.stmts = if desugar {
            future
        } else {
            quote!(#future.await)
        };
        return;
    }
    // Pinned, because the runtime links each call's frame to its caller's.
    let guard = format_ident!("__alloc_trace_guard", span = Span::mixed_site());
    // The call ends when this drops, after the body's locals (see `CallEnd`).
    let end = format_ident!("__alloc_trace_end", span = Span::mixed_site());
    let value = format_ident!("__alloc_trace_value", span = Span::mixed_site());
    // The function keeps its own braces, which rustc's messages and lints about the
    // body (a missing tail expression, `dead_code`) rely on. See `body` for why the
    // leading items go first and the final expression gets a local.
    let body::Split { items, stmts, tail } = body::split(stmts);
    let ret = return_type(&sig.output, fn_span);
    if args.has_budget() {
        // A budget is checked before the call returns, while its value is still a
        // local (so a call over budget drops it as it unwinds): every `return` and `?`
        // of the body goes through one exit, the end of a closure called at once.
        let on = quote!({ ::core::cfg!(debug_assertions) || #private::BUDGETS_IN_RELEASE });
        let new_guard = site.guard(&quote!(#private::BudgetGuard::<#on>));
        // The budget again, as constants the check can compare with in line (the
        // site's copy is in a `static` the compiler cannot assume unchanged).
        let (allocs, bytes) = budget_values(args);
        let annotation = ret.as_ref().map(|(ty, _)| quote!(-> #ty));
        body.stmts = quote! {
            #items
            let #guard = ::core::pin::pin!(#new_guard);
            let #end = #private::BudgetGuard::enter(#guard, #allocs, #bytes);
            #[allow(clippy::redundant_closure_call, unreachable_code)]
            let #value = (move || #annotation { #stmts #tail })();
            #private::BudgetEnd::finish(#end);
            #[allow(unreachable_code, clippy::needless_return)]
            return #value;
        };
        return;
    }
    let tail = match (tail, ret) {
        (Some(tail), Some((ty, _))) => {
            // A `return` statement rather than a tail, so that the lints a diverging
            // final expression (`todo!()`) sets off can be allowed on statements.
            quote! {
                #[allow(unreachable_code, clippy::diverging_sub_expression, clippy::let_unit_value)]
                let #value: #ty = #tail;
                #[allow(unreachable_code, clippy::needless_return)]
                return #value;
            }
        }
        (tail, _) => tail.unwrap_or_default(),
    };
    let new_guard = site.guard(&quote!(#private::CallGuard));
    body.stmts = quote! {
        #items
        let #guard = ::core::pin::pin!(#new_guard);
        let #end = #private::CallGuard::enter(#guard);
        #stmts
        #tail
    };
}

/// Attributes that only configure the function, not macros that may need its `async`.
const INERT: [&str; 10] = [
    "doc",
    "allow",
    "warn",
    "deny",
    "forbid",
    "expect",
    "deprecated",
    "inline",
    "cold",
    "cfg",
];

/// Whether an `async fn` can be written as `fn -> impl Future`: not if another attribute
/// after this one may be a macro that needs the `async` (or the `#[must_use]` of an
/// `async fn`, which applies to its output), nor for `-> !` (`Output = !` is unstable).
fn can_desugar(sig: &Signature, attrs: &[Attribute]) -> bool {
    let inert = |attr: &Attribute| {
        let path = attr.path();
        let first = path.segments.first().map(|s| s.ident.to_string());
        match first.as_deref() {
            Some("clippy" | "rustfmt" | "diagnostic") => path.segments.len() > 1,
            Some(name) => path.segments.len() == 1 && INERT.contains(&name),
            None => false,
        }
    };
    let never = matches!(&sig.output, ReturnType::Type(_, ty) if matches!(**ty, Type::Never(_)));
    !never && attrs.iter().all(inert)
}

/// Turns `async fn f(args) -> R` into `fn f(args) -> impl Future<Output = R>`, and returns
/// the statements that move the arguments into the body's `async move` block, as rustc's
/// lowering does: `let x = x;` (the `mut` moves there), `let pattern = arg;` for an
/// argument written as a pattern (renamed in the signature), `let _ = &self;`.
fn desugar_async(sig: &mut Signature) -> TokenStream {
    sig.asyncness = None;
    let mut moves = TokenStream::new();
    for (i, input) in sig.inputs.iter_mut().enumerate() {
        match input {
            FnArg::Receiver(receiver) => {
                let self_token = receiver.self_token;
                moves.extend(quote!(let _ = &#self_token;));
            }
            FnArg::Typed(arg) => match &mut *arg.pat {
                Pat::Ident(binding) if binding.by_ref.is_none() && binding.subpat.is_none() => {
                    let mutability = binding.mutability.take();
                    let ident = &binding.ident;
                    moves.extend(quote! {
                        #[allow(clippy::redundant_locals)]
                        let #mutability #ident = #ident;
                    });
                }
                pattern => {
                    let arg = format_ident!("__alloc_trace_arg{}", i, span = Span::mixed_site());
                    let pattern = std::mem::replace(pattern, parse_quote!(#arg));
                    // The whole argument first, so what the pattern leaves is dropped with
                    // the body's locals, not when the function returns its future.
                    moves.extend(quote!(let #arg = #arg; let #pattern = #arg;));
                }
            },
        }
    }
    let (output, span) = match &sig.output {
        ReturnType::Default => (quote!(()), sig.ident.span()),
        ReturnType::Type(_, ty) => (ty.to_token_stream(), ty.span()),
    };
    // This macro's own span (located at the return type) for `impl`: its edition (2024)
    // decides what the `impl Future` captures, and it captures everything, as an `async
    // fn` does, in crates of every edition.
    let span = Span::call_site().located_at(span);
    sig.output = parse_quote_spanned!(span=> -> impl ::core::future::Future<Output = #output>);
    moves
}

/// `.with_budget(..)` for `max_allocs`/`max_bytes`, checked in debug builds of the user's
/// crate and, with the `budgets-in-release` feature, in release builds too.
fn budget(args: &Args, private: &TokenStream) -> TokenStream {
    if !args.has_budget() {
        return TokenStream::new();
    }
    let (allocs, bytes) = budget_values(args);
    quote! {
        .with_budget(#allocs, #bytes, ::core::cfg!(debug_assertions) || #private::BUDGETS_IN_RELEASE)
    }
}

/// `max_allocs` and `max_bytes` as `Option<u64>` expressions.
fn budget_values(args: &Args) -> (TokenStream, TokenStream) {
    let some = |count: &Option<Count>| {
        count.as_ref().map_or_else(
            || quote!(::core::option::Option::None),
            |n| {
                let n = n.to_lit();
                quote!(::core::option::Option::Some(#n))
            },
        )
    };
    (some(&args.max_allocs), some(&args.max_bytes))
}

/// An unreachable `return` of the declared type, so the `async move` block's output type
/// is the signature's (as `?` and `return` in the body need) and a mismatch is reported
/// against the signature.
fn fake_return(output: &ReturnType, fn_span: Span) -> TokenStream {
    let Some((ty, span)) = return_type(output, fn_span) else {
        return TokenStream::new();
    };
    let value = format_ident!(
        "__alloc_trace_return",
        span = Span::mixed_site().located_at(span)
    );
    // Spanned at the return type, so a mismatch notes "return type inferred to be ...
    // here" at the signature rather than at the attribute.
    quote_spanned! {span=>
        #[allow(unreachable_code, clippy::diverging_sub_expression, clippy::let_unit_value, clippy::unreachable, clippy::needless_return)]
        if false {
            let #value: #ty = ::core::unreachable!();
            return #value;
        }
    }
}

/// The declared return type and its span, if a `let` can name it: not `!` (unstable in a
/// `let`) and not `impl Trait` (only allowed in the signature).
fn return_type(output: &ReturnType, fn_span: Span) -> Option<(TokenStream, Span)> {
    match output {
        ReturnType::Default => Some((quote!(()), fn_span)),
        ReturnType::Type(_, ty) if matches!(**ty, Type::Never(_)) || contains_impl_trait(ty) => {
            None
        }
        ReturnType::Type(_, ty) => Some((ty.to_token_stream(), ty.span())),
    }
}

fn contains_impl_trait(ty: &Type) -> bool {
    fn scan(tokens: TokenStream) -> bool {
        tokens.into_iter().any(|t| match t {
            proc_macro2::TokenTree::Ident(i) => i == "impl",
            proc_macro2::TokenTree::Group(g) => scan(g.stream()),
            _ => false,
        })
    }
    scan(ty.to_token_stream())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn off(args: TokenStream, item: &TokenStream) -> String {
        track_allocs(args, item.clone(), false).to_string()
    }

    fn on(args: TokenStream, item: &TokenStream) -> String {
        track_allocs(args, item.clone(), true).to_string()
    }

    #[test]
    fn off_emits_the_item_as_written() {
        let args = quote!(max_allocs = 1, crate = ::x);
        let items = [
            quote!(
                fn f(x: u8) -> u8 {
                    let v = vec![x];
                    v[0]
                }
            ),
            quote!(
                pub async fn f<'a>(mut x: &'a str, (a, b): (u8, u8)) -> usize {
                    x.len()
                }
            ),
            quote!(
                #[inline]
                unsafe fn f() -> ! {
                    loop {}
                }
            ),
            quote!(
                impl<T> Stack<T> {
                    fn top(&self) {}
                    const fn c() {}
                }
            ),
        ];
        for item in &items {
            assert_eq!(off(args.clone(), item), item.to_string());
            assert_ne!(on(args.clone(), item), item.to_string());
        }
    }

    #[test]
    fn off_takes_the_methods_own_attributes_away() {
        let block = quote! {
            impl Parser {
                #[track_allocs(name = "p", max_bytes = 1)]
                #[inline]
                fn parse(&self) {}
                #[alloc_trace::track_allocs]
                fn reset(&mut self) {}
            }
        };
        let written = quote! {
            impl Parser {
                #[inline]
                fn parse(&self) {}
                fn reset(&mut self) {}
            }
        };
        assert_eq!(off(quote!(max_allocs = 2), &block), written.to_string());
    }

    #[test]
    fn off_reports_the_same_errors() {
        let cases = [
            (
                quote!(nme = 1, max_allocs = -1),
                quote!(
                    fn f() {}
                ),
            ),
            (
                quote!(),
                quote!(
                    const fn f() {}
                ),
            ),
            (
                quote!(),
                quote!(
                    struct S;
                ),
            ),
            (
                quote!(),
                quote!(
                    fn f();
                ),
            ),
            (
                quote!(name = "x"),
                quote!(impl S { #[track_allocs(max_bytes = "lots")] fn f(&self) {} }),
            ),
        ];
        for (args, item) in &cases {
            let off = off(args.clone(), item);
            assert!(off.contains("compile_error"), "{off}");
            assert_eq!(off, on(args.clone(), item));
        }
    }

    /// The signature of the expansion of `item`.
    fn expanded_signature(item: &TokenStream) -> Signature {
        let out: syn::ItemFn = syn::parse2(track_allocs(quote!(), item.clone(), true)).unwrap();
        out.sig
    }

    #[test]
    fn an_async_fn_becomes_the_fn_returning_its_future() {
        let sig = expanded_signature(&quote! {
            async fn f(mut x: u8, (a, b): (u8, u8), _: u8, y: &str) -> u8 { x + a + b }
        });
        let expected: Signature = parse_quote! {
            fn f(x: u8, __alloc_trace_arg1: (u8, u8), __alloc_trace_arg2: u8, y: &str)
                -> impl ::core::future::Future<Output = u8>
        };
        assert_eq!(
            sig.to_token_stream().to_string(),
            expected.to_token_stream().to_string()
        );
        let sig = expanded_signature(&quote!(
            #[doc = "d"]
            #[allow(unused)]
            async fn g() {}
        ));
        assert_eq!(
            sig.output.to_token_stream().to_string(),
            quote!(-> impl ::core::future::Future<Output = ()>).to_string()
        );
    }

    #[test]
    fn an_async_fn_stays_one_for_the_attributes_after_it() {
        let items = [
            quote!(
                #[tokio::test]
                async fn f() {}
            ),
            quote!(
                #[must_use]
                async fn f() -> u8 {
                    1
                }
            ),
            quote!(
                #[cfg_attr(test, tokio::test)]
                async fn f() {}
            ),
            quote!(
                async fn f() -> ! {
                    loop {}
                }
            ),
        ];
        for item in &items {
            assert!(expanded_signature(item).asyncness.is_some(), "{item}");
        }
    }

    #[test]
    fn impl_trait_in_return_types() {
        let found = |ty: Type| contains_impl_trait(&ty);
        assert!(found(parse_quote!(impl Iterator<Item = u8>)));
        assert!(found(parse_quote!(Box<(u8, impl Display)>)));
        assert!(!found(parse_quote!(Box<dyn Display>)));
    }
}
