//! Validation: what the parsed [`Input`] may not be, whether tracking is on or off, so a
//! build without the `tracking` feature fails exactly where one with it does.

use syn::{ImplItem, Signature};

use crate::errors::Errors;
use crate::item::{FnItem, ImplBlock, Input, Target, is_track_allocs};
use crate::name::impl_prefix;

pub(crate) fn validate(input: &Input, errors: &mut Errors) {
    match &input.target {
        Target::Fn(f) => check_fn(f, errors),
        Target::Impl(block) => check_impl(input, block, errors),
        Target::Other(span) => errors.push(syn::Error::new(
            *span,
            "`#[track_allocs]` can only be used on functions and `impl` blocks",
        )),
        Target::Unparsed => {}
    }
}

fn check_fn(f: &FnItem, errors: &mut Errors) {
    if let Some(again) = f.attrs.iter().find(|a| is_track_allocs(a)) {
        errors.push(applied_twice(again));
        return;
    }
    if let Err(e) = check_signature(&f.sig) {
        errors.push(e);
        return;
    }
    if f.body.is_none() {
        errors.push(syn::Error::new_spanned(
            &f.sig,
            "`#[track_allocs]` needs a function body; on a required trait method, put it on the implementations",
        ));
    }
}

fn check_impl(input: &Input, block: &ImplBlock, errors: &mut Errors) {
    if let Some(name) = &input.args.name {
        let prefix = impl_prefix(&block.item);
        errors.push(syn::Error::new(
            name.span(),
            format!("`name` cannot be used on an `impl` block: each method is named `{prefix}::method`; put `#[track_allocs(name = \"...\")]` on the method"),
        ));
    }
    for method in &block.methods {
        let ImplItem::Fn(f) = &block.item.items[method.index] else {
            continue;
        };
        if let Some(again) = method.own.get(1) {
            errors.push(applied_twice(again));
        }
        // A `const fn` is left alone, unless its own attribute asks for it.
        if f.sig.constness.is_some() && method.own.is_empty() {
            continue;
        }
        if let Err(e) = check_signature(&f.sig) {
            errors.push(e);
        }
    }
}

fn applied_twice(again: &syn::Attribute) -> syn::Error {
    syn::Error::new_spanned(again, "`#[track_allocs]` is applied more than once")
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
