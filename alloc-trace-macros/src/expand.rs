//! Generating: a function (or every method of an `impl` block) becomes a tracked call
//! site. Called only on an [`Input`] that parsed and validated without a mistake.
//!
//! The signature is kept as written; only the body changes. A sync body becomes
//!
//! ```text
//! {
//!     ..the body's leading items..
//!     let guard = pin!(CallGuard::new({ static SITE: Site = ..; inventory::submit!(..); &SITE }));
//!     CallGuard::enter(guard);
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
//! An `async fn` body moves into an `async move` block wrapped in `TrackedFuture`, which
//! measures every poll on whatever thread runs it.

use proc_macro2::{Delimiter, Group, Span, TokenStream};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Block, Expr, ImplItem, Path, ReturnType, Signature, Stmt, Type, parse_quote};

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
        instrument(&mut f.sig, body, args, &name);
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
        instrument(&mut f.sig, &mut body, &args, &name);
        // syn prints the method's inner attributes inside the new block, as before.
        f.block = Block {
            brace_token: body.brace,
            stmts: vec![Stmt::Expr(Expr::Verbatim(body.stmts), None)],
        };
    }
    item.into_token_stream()
}

/// What the generated code of one function refers to.
struct Site {
    /// `path::to::alloc_trace::__private`
    private: TokenStream,
    /// `{ static SITE: Site = ..; inventory::submit!(..); &SITE }`
    site: TokenStream,
    /// `|| type_name::<Self>()` for a site the runtime names after `Self`.
    self_type: Option<TokenStream>,
}

impl Site {
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

/// Rewrites `body` into a tracked function.
fn instrument(sig: &mut Signature, body: &mut Body, args: &Args, name: &SiteName) {
    let site = Site::new(sig, args, name);
    let private = &site.private;
    let fn_span = sig.ident.span();
    let stmts = std::mem::take(&mut body.stmts);
    if sig.asyncness.is_some() {
        let fake_return = fake_return(&sig.output, fn_span);
        // The `async move` block sits where the original braces are (so errors about the
        // body, such as a missing tail expression, point there) but counts as this macro's
        // output, so `clippy::items_after_statements` leaves the user's items after the
        // fake return alone.
        let mut block = Group::new(Delimiter::Brace, quote!(#fake_return #stmts));
        block.set_span(Span::call_site().located_at(body.brace.span.join()));
        let future = site.future(&quote!(async move #block));
        body.stmts = quote!(#future.await);
        return;
    }
    // Pinned, because the runtime links each call's frame to its caller's.
    let guard = format_ident!("__alloc_trace_guard", span = Span::mixed_site());
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
        let annotation = ret.as_ref().map(|(ty, _)| quote!(-> #ty));
        body.stmts = quote! {
            #items
            let mut #guard = ::core::pin::pin!(#new_guard);
            #private::BudgetGuard::enter(#guard.as_mut());
            #[allow(clippy::redundant_closure_call, unreachable_code)]
            let #value = (move || #annotation { #stmts #tail })();
            #private::BudgetGuard::check(#guard.as_ref());
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
        #private::CallGuard::enter(#guard);
        #stmts
        #tail
    };
}

/// `.with_budget(..)` for `max_allocs`/`max_bytes`, checked in debug builds of the user's
/// crate and, with the `budgets-in-release` feature, in release builds too.
fn budget(args: &Args, private: &TokenStream) -> TokenStream {
    if !args.has_budget() {
        return TokenStream::new();
    }
    let some = |count: &Option<Count>| {
        count.as_ref().map_or_else(
            || quote!(::core::option::Option::None),
            |n| {
                let n = n.to_lit();
                quote!(::core::option::Option::Some(#n))
            },
        )
    };
    let (allocs, bytes) = (some(&args.max_allocs), some(&args.max_bytes));
    quote! {
        .with_budget(#allocs, #bytes, ::core::cfg!(debug_assertions) || #private::BUDGETS_IN_RELEASE)
    }
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
            quote!(fn f(x: u8) -> u8 { let v = vec![x]; v[0] }),
            quote!(pub async fn f<'a>(mut x: &'a str, (a, b): (u8, u8)) -> usize { x.len() }),
            quote!(#[inline] unsafe fn f() -> ! { loop {} }),
            quote!(impl<T> Stack<T> { fn top(&self) {} const fn c() {} }),
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
            (quote!(nme = 1, max_allocs = -1), quote!(fn f() {})),
            (quote!(), quote!(const fn f() {})),
            (quote!(), quote!(struct S;)),
            (quote!(), quote!(fn f();)),
            (quote!(name = "x"), quote!(impl S { #[track_allocs(max_bytes = "lots")] fn f(&self) {} })),
        ];
        for (args, item) in &cases {
            let off = off(args.clone(), item);
            assert!(off.contains("compile_error"), "{off}");
            assert_eq!(off, on(args.clone(), item));
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
