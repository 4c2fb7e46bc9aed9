//! Parsing: the attribute's arguments and what it is on (a function, an `impl` block with
//! its methods' own attributes, or something it rejects), into an [`Input`].
//!
//! A function's body is kept as raw tokens, never parsed: the expansion only wraps it, so
//! a body syn cannot parse (a syntax error rustc is already reporting, or syntax newer than
//! syn) is passed through untouched and the user sees rustc's own error, nothing more.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, TokenStreamExt};
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::{Attribute, ImplItem, Item, ItemImpl, Signature, Token, Visibility, braced, token};

use crate::args::Args;
use crate::errors::Errors;

/// Everything the attribute was given: its arguments (those that were valid) and the item.
pub(crate) struct Input {
    pub args: Args,
    pub target: Target,
    /// The item's tokens as written.
    pub item: TokenStream,
}

/// The annotated item.
pub(crate) enum Target {
    Fn(FnItem),
    Impl(ImplBlock),
    /// An item the attribute does not apply to; the error points at its keyword.
    Other(Span),
    /// Tokens that do not parse as an item: rustc reports the syntax error itself.
    Unparsed,
}

/// A tracked `impl` block. Its methods' own `#[track_allocs]` are taken off the methods:
/// the block's expansion reads them, and they must not expand (or report) again.
pub(crate) struct ImplBlock {
    pub item: ItemImpl,
    /// One entry per method, in order.
    pub methods: Vec<Method>,
}

/// What a method of a tracked block says about itself.
pub(crate) struct Method {
    /// Its place in the block's items.
    pub index: usize,
    /// Its own `#[track_allocs]` attributes, as written (more than one is an error).
    pub own: Vec<Attribute>,
    /// The arguments of the first of them, if there is one.
    pub args: Option<Args>,
}

impl Input {
    /// Parses both; mistakes in the arguments (the block's or a method's) go to `errors`.
    pub(crate) fn parse(args: TokenStream, item: TokenStream, errors: &mut Errors) -> Self {
        let args = Args::parse(args, errors);
        let target = Target::parse(item.clone(), errors);
        Self { args, target, item }
    }

    /// The item as the user wrote it, without the methods' own attributes of a block.
    pub(crate) fn as_written(&self) -> TokenStream {
        match &self.target {
            Target::Impl(block) => block.item.to_token_stream(),
            _ => self.item.clone(),
        }
    }
}

impl Target {
    fn parse(item: TokenStream, errors: &mut Errors) -> Self {
        if let Ok(f) = syn::parse2::<FnItem>(item.clone()) {
            return Self::Fn(f);
        }
        match syn::parse2::<Item>(item) {
            Ok(Item::Impl(imp)) => Self::Impl(ImplBlock::parse(imp, errors)),
            Ok(other) => Self::Other(keyword_span(&other)),
            Err(_) => Self::Unparsed,
        }
    }
}

impl ImplBlock {
    fn parse(mut item: ItemImpl, errors: &mut Errors) -> Self {
        let mut methods = Vec::new();
        for (index, impl_item) in item.items.iter_mut().enumerate() {
            let ImplItem::Fn(method) = impl_item else {
                continue;
            };
            let (own, others): (Vec<Attribute>, Vec<Attribute>) =
                method.attrs.drain(..).partition(is_track_allocs);
            method.attrs = others;
            let args = own.first().map(|attr| Args::from_attr(attr, errors));
            methods.push(Method { index, own, args });
        }
        Self { item, methods }
    }
}

/// `#[track_allocs]`, however the user reaches it (`#[alloc_trace::track_allocs]`).
pub(crate) fn is_track_allocs(attr: &Attribute) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|s| s.ident == "track_allocs")
}

/// A function, free or associated, with its body as unparsed tokens (or no body, as a
/// required trait method or a foreign function has).
pub(crate) struct FnItem {
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub sig: Signature,
    pub body: Option<Body>,
    semi: Option<Token![;]>,
}

/// A function body: its braces (whose span errors about the body use), inner attributes,
/// and statements.
pub(crate) struct Body {
    pub brace: token::Brace,
    pub inner_attrs: Vec<Attribute>,
    pub stmts: TokenStream,
}

impl Parse for FnItem {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis = input.parse()?;
        let sig = input.parse()?;
        let (body, semi) = if input.peek(Token![;]) {
            (None, Some(input.parse()?))
        } else {
            let content;
            let brace = braced!(content in input);
            let inner_attrs = content.call(Attribute::parse_inner)?;
            (
                Some(Body {
                    brace,
                    inner_attrs,
                    stmts: content.parse()?,
                }),
                None,
            )
        };
        Ok(Self {
            attrs,
            vis,
            sig,
            body,
            semi,
        })
    }
}

impl ToTokens for FnItem {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        tokens.append_all(&self.attrs);
        self.vis.to_tokens(tokens);
        self.sig.to_tokens(tokens);
        match &self.body {
            Some(body) => body.brace.surround(tokens, |tokens| {
                tokens.append_all(&body.inner_attrs);
                tokens.extend(body.stmts.clone());
            }),
            None => self.semi.to_tokens(tokens),
        }
    }
}

/// The span of an item's keyword (`struct`, `enum`, ...), past its attributes.
fn keyword_span(item: &Item) -> Span {
    match item {
        Item::Const(c) => c.const_token.span,
        Item::Enum(e) => e.enum_token.span,
        Item::ExternCrate(e) => e.extern_token.span,
        Item::ForeignMod(f) => f.abi.extern_token.span,
        Item::Macro(m) => m.mac.path.span(),
        Item::Mod(m) => m.mod_token.span,
        Item::Static(s) => s.static_token.span,
        Item::Struct(s) => s.struct_token.span,
        Item::Trait(t) => t.trait_token.span,
        Item::TraitAlias(t) => t.trait_token.span,
        Item::Type(t) => t.type_token.span,
        Item::Union(u) => u.union_token.span,
        Item::Use(u) => u.use_token.span,
        other => other.span(),
    }
}
