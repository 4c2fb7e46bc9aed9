//! Turning a function (or every method of an `impl` block) into a tracked call site.
//!
//! The signature is kept exactly as written; only the body changes. A sync body gets a
//! `static` site, its `inventory` registration and an RAII guard in front of the original
//! statements, so `return`, `?` and panics all end the call. An `async fn` body is moved
//! into an `async move` block wrapped in `TrackedFuture`, which measures every poll.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{
    parse_quote, Attribute, Block, ImplItem, Item, ItemFn, ItemImpl, ReturnType, Signature,
    TraitItemFn, Type,
};

use crate::args::Args;

pub(crate) fn track_allocs(args: TokenStream, item: TokenStream) -> TokenStream {
    match try_expand(args, item.clone()) {
        Ok(tokens) => tokens,
        // Emit the item untouched beside the error, so the user sees one error, not a
        // second one about a missing function.
        Err(err) => {
            let err = err.to_compile_error();
            quote!(#err #item)
        }
    }
}

fn try_expand(args: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let args = Args::parse(args);
    let item = parse_item(item);
    let (args, item) = match (args, item) {
        (Ok(args), Ok(item)) => (args, item),
        (Err(mut a), Err(b)) => {
            a.combine(b);
            return Err(a);
        }
        (Err(e), _) | (_, Err(e)) => return Err(e),
    };
    let krate: syn::Path = args.krate.clone().unwrap_or_else(|| parse_quote!(::alloc_trace));
    match item {
        Tracked::Fn(mut f) => {
            check_signature(&f.sig)?;
            instrument(&mut f.sig, &mut f.block, &args, &krate, None);
            Ok(f.into_token_stream())
        }
        Tracked::TraitFn(mut f) => {
            check_signature(&f.sig)?;
            let Some(block) = f.default.as_mut() else {
                return Err(syn::Error::new_spanned(
                    &f.sig,
                    "`#[track_allocs]` needs a function body; put it on the implementations",
                ));
            };
            instrument(&mut f.sig, block, &args, &krate, None);
            Ok(f.into_token_stream())
        }
        Tracked::Impl(mut imp) => {
            if args.name.is_some() {
                return Err(syn::Error::new_spanned(
                    args.name.as_ref(),
                    "`name` names one function; on an `impl` block every method is named `Type::method`",
                ));
            }
            let type_name = type_name(&imp.self_ty);
            for impl_item in &mut imp.items {
                let ImplItem::Fn(method) = impl_item else { continue };
                // `const fn` cannot be tracked; a method with its own attribute expands alone.
                if method.sig.constness.is_some() || method.attrs.iter().any(is_track_allocs) {
                    continue;
                }
                instrument(&mut method.sig, &mut method.block, &args, &krate, Some(&type_name));
            }
            Ok(imp.into_token_stream())
        }
    }
}

enum Tracked {
    Fn(ItemFn),
    TraitFn(TraitItemFn),
    Impl(ItemImpl),
}

fn parse_item(item: TokenStream) -> syn::Result<Tracked> {
    if let Ok(f) = syn::parse2::<ItemFn>(item.clone()) {
        return Ok(Tracked::Fn(f));
    }
    if let Ok(f) = syn::parse2::<TraitItemFn>(item.clone()) {
        return Ok(Tracked::TraitFn(f));
    }
    match syn::parse2::<Item>(item.clone()) {
        Ok(Item::Impl(imp)) => Ok(Tracked::Impl(imp)),
        Ok(other) => Err(syn::Error::new(
            item_span(&other),
            "`#[track_allocs]` can only be used on functions and `impl` blocks",
        )),
        Err(_) => Err(syn::Error::new_spanned(
            item,
            "`#[track_allocs]` can only be used on functions and `impl` blocks",
        )),
    }
}

/// The span of an item's leading keyword, for errors that point at what it is.
fn item_span(item: &Item) -> Span {
    let tokens = item.to_token_stream();
    let without_attrs = match item {
        Item::Struct(s) => s.struct_token.span,
        Item::Enum(e) => e.enum_token.span,
        Item::Const(c) => c.const_token.span,
        Item::Static(s) => s.static_token.span,
        Item::Mod(m) => m.mod_token.span,
        Item::Trait(t) => t.trait_token.span,
        Item::Type(t) => t.type_token.span,
        Item::Use(u) => u.use_token.span,
        Item::Union(u) => u.union_token.span,
        _ => tokens.span(),
    };
    without_attrs
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
    attr.path().segments.last().is_some_and(|s| s.ident == "track_allocs")
}

/// `Foo` for `Foo<T>`, `crate::Foo`, `&Foo`, ...
fn type_name(ty: &Type) -> String {
    match ty {
        Type::Path(p) => p.path.segments.last().map_or_else(
            || p.to_token_stream().to_string(),
            |s| s.ident.to_string(),
        ),
        Type::Reference(r) => type_name(&r.elem),
        Type::Paren(p) => type_name(&p.elem),
        Type::Group(g) => type_name(&g.elem),
        other => other.to_token_stream().to_string().replace(' ', ""),
    }
}

fn instrument(
    sig: &mut Signature,
    block: &mut Block,
    args: &Args,
    krate: &syn::Path,
    type_name: Option<&str>,
) {
    let ident = &sig.ident;
    let span = ident.span();
    let private = quote!(#krate::__private);
    let name = match (&args.name, type_name) {
        (Some(name), _) => quote!(#name),
        (None, Some(ty)) => {
            let tail = format!("{ty}::{ident}");
            quote_spanned!(span=> ::core::concat!(::core::module_path!(), "::", #tail))
        }
        (None, None) => {
            let tail = ident.to_string();
            quote_spanned!(span=> ::core::concat!(::core::module_path!(), "::", #tail))
        }
    };
    let budget = if args.max_allocs.is_some() || args.max_bytes.is_some() {
        let some = |lit: &Option<syn::LitInt>| match lit {
            Some(n) => quote!(::core::option::Option::Some(#n)),
            None => quote!(::core::option::Option::None),
        };
        let (allocs, bytes) = (some(&args.max_allocs), some(&args.max_bytes));
        quote!(.with_budget(#allocs, #bytes, ::core::cfg!(debug_assertions) || #private::BUDGETS_IN_RELEASE))
    } else {
        quote!()
    };
    let site = quote_spanned!(Span::mixed_site()=> __ALLOC_TRACE_SITE);
    let guard = quote_spanned!(Span::mixed_site()=> __alloc_trace_guard);
    let file_line = quote_spanned!(span=> ::core::file!(), ::core::line!());
    let prelude = quote! {
        static #site: #private::Site = #private::Site::new(#name, #file_line) #budget;
        #private::inventory::submit! { #private::SiteRegistration(&#site) }
    };
    let stmts = std::mem::take(&mut block.stmts);
    let body = if sig.asyncness.is_some() {
        let fake_return = fake_return(&sig.output);
        quote! {
            #prelude
            #private::track_future(&#site, async move {
                #fake_return
                #(#stmts)*
            })
            .await
        }
    } else {
        quote! {
            #prelude
            let #guard = #private::enter(&#site);
            #(#stmts)*
        }
    };
    // Keep the original braces so spans in the body still point at the user's code.
    let brace = block.brace_token;
    *block = Block { brace_token: brace, stmts: vec![syn::Stmt::Expr(syn::Expr::Verbatim(body), None)] };
}

/// An unreachable `return` of the declared type, so the `async move` block's output type
/// is inferred from the signature (as `?` and `return` in the body need).
fn fake_return(output: &ReturnType) -> TokenStream {
    let ty = match output {
        ReturnType::Default => quote!(()),
        ReturnType::Type(_, ty) if contains_impl_trait(ty) => return quote!(),
        ReturnType::Type(_, ty) => ty.to_token_stream(),
    };
    let value = quote_spanned!(Span::mixed_site()=> __alloc_trace_return);
    quote! {
        #[allow(unreachable_code, clippy::diverging_sub_expression, clippy::unreachable)]
        if false {
            let #value: #ty = ::core::unreachable!();
            return #value;
        }
    }
}

fn contains_impl_trait(ty: &Type) -> bool {
    ty.to_token_stream().into_iter().any(|t| matches!(&t, proc_macro2::TokenTree::Ident(i) if i == "impl"))
}
