//! Turning a function (or every method of an `impl` block) into a tracked call site.
//!
//! The signature is kept exactly as written; only the body changes. A sync body becomes
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
//! items and the final expression). The site and its
//! registration sit in a block of their own, where no user item can see or clash with
//! them, and never mention generic parameters: every instantiation shares one site. An
//! `async fn` body moves into an `async move` block wrapped in `TrackedFuture`, which
//! measures every poll on whatever thread runs it.

use proc_macro2::{Delimiter, Group, Span, TokenStream};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{
    Attribute, Block, Expr, ImplItem, ItemImpl, Path, ReturnType, Signature, Stmt, Type,
    parse_quote,
};

use crate::args::Args;
use crate::body;
use crate::item::{Body, FnItem, Target};

pub(crate) fn track_allocs(args: TokenStream, item: TokenStream) -> TokenStream {
    let args = Args::parse(args);
    let result = match Target::parse(item.clone()) {
        Target::Fn(f) => expand_fn(args, f),
        Target::Impl(imp) => return expand_impl(args, imp),
        Target::Other(span) => Err(with_more(
            syn::Error::new(
                span,
                "`#[track_allocs]` can only be used on functions and `impl` blocks",
            ),
            args,
        )),
        // rustc reports the syntax error; adding one would only hide it.
        Target::Unparsed => return item,
    };
    result.unwrap_or_else(|error| emit_with_item(&error, item))
}

/// The error plus the item as written, so the user sees this error and not a second one
/// about a function that went missing.
fn emit_with_item(error: &syn::Error, item: impl ToTokens) -> TokenStream {
    let error = error.to_compile_error();
    quote!(#error #item)
}

/// `first`, plus the error in `more` if there is one.
fn with_more<T>(mut first: syn::Error, more: syn::Result<T>) -> syn::Error {
    if let Err(more) = more {
        first.combine(more);
    }
    first
}

fn expand_fn(args: syn::Result<Args>, mut f: FnItem) -> syn::Result<TokenStream> {
    let args = match (args, check_fn(&f)) {
        (Ok(args), Ok(())) => args,
        (Err(e), checked) => return Err(with_more(e, checked)),
        (Ok(_), Err(e)) => return Err(e),
    };
    let short_name = f.sig.ident.unraw().to_string();
    if let Some(body) = f.body.as_mut() {
        instrument(&f.sig, body, &args, &short_name);
    }
    Ok(f.into_token_stream())
}

fn check_fn(f: &FnItem) -> syn::Result<()> {
    if let Some(again) = f.attrs.iter().find(|a| is_track_allocs(a)) {
        return Err(syn::Error::new_spanned(
            again,
            "`#[track_allocs]` is applied more than once",
        ));
    }
    check_signature(&f.sig)?;
    if f.body.is_none() {
        return Err(syn::Error::new_spanned(
            &f.sig,
            "`#[track_allocs]` needs a function body; on a required trait method, put it on the implementations",
        ));
    }
    Ok(())
}

/// Instruments every method of the block, named `Type::method`. A method may carry its
/// own `#[track_allocs(...)]` to override the block's arguments (its name, say); the block
/// takes it over, so the type stays in the default name. `const fn`s are left alone.
fn expand_impl(args: syn::Result<Args>, mut imp: ItemImpl) -> TokenStream {
    let mut errors: Option<syn::Error> = None;
    let mut push = |e: syn::Error| match &mut errors {
        Some(first) => first.combine(e),
        None => errors = Some(e),
    };
    let args = args.map_err(&mut push).unwrap_or_default();
    if let Some(name) = &args.name {
        push(syn::Error::new(
            name.span(),
            "`name` cannot be used on an `impl` block: each method is named `Type::method`; put `#[track_allocs(name = \"...\")]` on the method",
        ));
    }
    let type_name = type_name(&imp.self_ty);
    for impl_item in &mut imp.items {
        let ImplItem::Fn(method) = impl_item else {
            continue;
        };
        let (own, others): (Vec<Attribute>, Vec<Attribute>) =
            method.attrs.drain(..).partition(is_track_allocs);
        method.attrs = others;
        if let Some(again) = own.get(1) {
            push(syn::Error::new_spanned(
                again,
                "`#[track_allocs]` is applied more than once",
            ));
        }
        let own_args = match own.first().map(Args::from_attr).transpose() {
            Ok(own_args) => own_args,
            Err(e) => {
                push(e);
                continue;
            }
        };
        if method.sig.constness.is_some() && own_args.is_none() {
            continue;
        }
        if let Err(e) = check_signature(&method.sig) {
            push(e);
            continue;
        }
        let method_args = own_args.unwrap_or_default().or(&args);
        let short_name = format!("{type_name}::{}", method.sig.ident.unraw());
        let mut body = Body {
            brace: method.block.brace_token,
            inner_attrs: Vec::new(),
            stmts: method
                .block
                .stmts
                .iter()
                .map(ToTokens::to_token_stream)
                .collect(),
        };
        instrument(&method.sig, &mut body, &method_args, &short_name);
        // syn prints the method's inner attributes inside the new block, as before.
        method.block = Block {
            brace_token: body.brace,
            stmts: vec![Stmt::Expr(Expr::Verbatim(body.stmts), None)],
        };
    }
    match errors {
        // Emitted without the methods' own `#[track_allocs]`, which would report their
        // errors a second time.
        Some(error) => emit_with_item(&error, imp),
        None => imp.into_token_stream(),
    }
}

fn check_signature(sig: &Signature) -> syn::Result<()> {
    if let Some(constness) = &sig.constness {
        return Err(syn::Error::new_spanned(
            constness,
            "`#[track_allocs]` cannot be used on a `const fn`: its calls may run at compile time",
        ));
    }
    if let Some(variadic) = &sig.variadic {
        return Err(syn::Error::new_spanned(
            variadic,
            "`#[track_allocs]` cannot be used on a variadic function",
        ));
    }
    Ok(())
}

fn is_track_allocs(attr: &Attribute) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|s| s.ident == "track_allocs")
}

/// `Foo` for `Foo<T>`, `crate::Foo`, `&Foo`, ...
fn type_name(ty: &Type) -> String {
    match ty {
        Type::Path(p) => p.path.segments.last().map_or_else(
            || p.to_token_stream().to_string(),
            |s| s.ident.unraw().to_string(),
        ),
        Type::Reference(r) => type_name(&r.elem),
        Type::Paren(p) => type_name(&p.elem),
        Type::Group(g) => type_name(&g.elem),
        Type::TraitObject(t) => {
            let traits = t.bounds.iter().filter_map(|b| match b {
                syn::TypeParamBound::Trait(t) => {
                    t.path.segments.last().map(|s| s.ident.to_string())
                }
                _ => None,
            });
            format!("dyn {}", traits.collect::<Vec<_>>().join(" + "))
        }
        other => other.to_token_stream().to_string().replace(' ', ""),
    }
}

/// Rewrites `body` into a tracked one. `short_name` is the default site name after
/// `module_path!()`: `function` or `Type::method`.
fn instrument(sig: &Signature, body: &mut Body, args: &Args, short_name: &str) {
    let krate: Path = args
        .krate
        .clone()
        .unwrap_or_else(|| parse_quote!(::alloc_trace));
    let private = quote!(#krate::__private);
    let fn_span = sig.ident.span();
    let name = args.name.as_ref().map_or_else(
        || quote_spanned!(fn_span=> ::core::concat!(::core::module_path!(), "::", #short_name)),
        ToTokens::to_token_stream,
    );
    let budget = budget(args, &private);
    let file_line = quote_spanned!(fn_span=> ::core::file!(), ::core::line!());
    let site = format_ident!("SITE", span = Span::mixed_site());
    let define_site = quote! {
        static #site: #private::Site = #private::Site::new(#name, #file_line) #budget;
        #private::inventory::submit! { #private::SiteRegistration(&#site) }
    };
    let stmts = std::mem::take(&mut body.stmts);
    if sig.asyncness.is_some() {
        let fake_return = fake_return(&sig.output, fn_span);
        // The `async move` block sits where the original braces are (so errors about the
        // body, such as a missing tail expression, point there) but counts as this macro's
        // output, so `clippy::items_after_statements` leaves the user's items after the
        // fake return alone.
        let mut block = Group::new(Delimiter::Brace, quote!(#fake_return #stmts));
        block.set_span(Span::call_site().located_at(body.brace.span.join()));
        body.stmts = quote! {
            #private::track_future({ #define_site &#site }, async move #block).await
        };
    } else {
        // Pinned, because the runtime links each call's frame to its caller's.
        let guard = format_ident!("__alloc_trace_guard", span = Span::mixed_site());
        let value = format_ident!("__alloc_trace_value", span = Span::mixed_site());
        // The function keeps its own braces, which rustc's messages and lints about the
        // body (a missing tail expression, `dead_code`) rely on. See `body` for why the
        // leading items go first and the final expression gets a local.
        let body::Split { items, stmts, tail } = body::split(stmts);
        let ret = return_type(&sig.output, fn_span);
        if args.max_allocs.is_some() || args.max_bytes.is_some() {
            // A budget is checked before the call returns, while its value is still a
            // local (so a call over budget drops it as it unwinds): every `return` and `?`
            // of the body goes through one exit, the end of a closure called at once.
            let on = quote!({ ::core::cfg!(debug_assertions) || #private::BUDGETS_IN_RELEASE });
            let annotation = ret.as_ref().map(|(ty, _)| quote!(-> #ty));
            body.stmts = quote! {
                #items
                let mut #guard = ::core::pin::pin!(#private::BudgetGuard::<#on>::new({ #define_site &#site }));
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
        body.stmts = quote! {
            #items
            let #guard = ::core::pin::pin!(#private::CallGuard::new({ #define_site &#site }));
            #private::CallGuard::enter(#guard);
            #stmts
            #tail
        };
    }
}

/// `.with_budget(..)` for `max_allocs`/`max_bytes`, checked in debug builds of the user's
/// crate and, with the `budgets-in-release` feature, in release builds too.
fn budget(args: &Args, private: &TokenStream) -> TokenStream {
    if args.max_allocs.is_none() && args.max_bytes.is_none() {
        return TokenStream::new();
    }
    let some = |count: &Option<crate::args::Count>| {
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

    #[test]
    fn type_names() {
        let name = |ty: Type| type_name(&ty);
        assert_eq!(name(parse_quote!(Parser)), "Parser");
        assert_eq!(name(parse_quote!(crate::a::Parser<'a, T>)), "Parser");
        assert_eq!(name(parse_quote!(&'a mut r#Type)), "Type");
        assert_eq!(name(parse_quote!(dyn Read + Send)), "dyn Read + Send");
        assert_eq!(name(parse_quote!([T])), "[T]");
        assert_eq!(name(parse_quote!((A, B))), "(A,B)");
    }

    #[test]
    fn impl_trait_in_return_types() {
        let found = |ty: Type| contains_impl_trait(&ty);
        assert!(found(parse_quote!(impl Iterator<Item = u8>)));
        assert!(found(parse_quote!(Box<(u8, impl Display)>)));
        assert!(!found(parse_quote!(Box<dyn Display>)));
    }
}
