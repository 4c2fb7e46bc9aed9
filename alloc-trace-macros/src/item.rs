//! What the attribute is on: a function, an `impl` block, or something it rejects.
//!
//! A function's body is kept as raw tokens, never parsed: the expansion only wraps it, so
//! a body syn cannot parse (a syntax error rustc is already reporting, or syntax newer than
//! syn) is passed through untouched and the user sees rustc's own error, nothing more.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, TokenStreamExt};
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::{Attribute, Item, ItemImpl, Signature, Token, Visibility, braced, token};

/// The annotated item.
pub(crate) enum Target {
    Fn(FnItem),
    Impl(ItemImpl),
    /// An item the attribute does not apply to; the error points at its keyword.
    Other(Span),
    /// Tokens that do not parse as an item: rustc reports the syntax error itself.
    Unparsed,
}

impl Target {
    pub(crate) fn parse(item: TokenStream) -> Self {
        if let Ok(f) = syn::parse2::<FnItem>(item.clone()) {
            return Self::Fn(f);
        }
        match syn::parse2::<Item>(item) {
            Ok(Item::Impl(imp)) => Self::Impl(imp),
            Ok(other) => Self::Other(keyword_span(&other)),
            Err(_) => Self::Unparsed,
        }
    }
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
