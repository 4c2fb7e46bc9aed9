//! The default name of a site, after `module_path!()`: what identifies the function.
//!
//! - a free function: `function`;
//! - a method of a tracked `impl` block: `Type::method` (inherent), `<Type as Trait>::method`
//!   (trait impl), or `<Type>::method` when the type is not a plain name (`<dyn Trait>`,
//!   `<crate::x::Type>`). Type and trait are as written in the `impl` header, generic
//!   arguments included (`Stack<T>`), spaced the way rustfmt and rustc print them;
//! - a method whose `impl` the macro cannot see (its own attribute, outside a tracked
//!   block): if it has a receiver or mentions `Self` in its signature, the runtime names
//!   it `Type::method` from the first call's `type_name::<Self>()` (`Site::method`);
//!   otherwise, like a free function, `function`.
//!
//! The module comes first in every name, so names group by module; the part after it is
//! written the way rustc's qualified paths are (`<Parser as Iterator>::next`).

use proc_macro2::{Delimiter, Spacing, TokenStream, TokenTree};
use quote::ToTokens;
use syn::ext::IdentExt;
use syn::{ItemImpl, LitStr, Signature, Type};

use crate::args::Args;

/// How the expansion names a site.
pub(crate) enum SiteName {
    /// `name = "..."`, used as given.
    Given(LitStr),
    /// The name after `module_path!()` and `::`.
    Path(String),
    /// A method of a type only the runtime learns: the method's name.
    Method(String),
}

impl SiteName {
    /// The name of a function's site: `owner` is the tracked `impl` block's prefix
    /// ([`impl_prefix`]) if the function is one of its methods.
    pub(crate) fn of(args: &Args, sig: &Signature, owner: Option<&str>) -> Self {
        let function = sig.ident.unraw().to_string();
        match (&args.name, owner) {
            (Some(name), _) => Self::Given(name.clone()),
            (None, Some(prefix)) => Self::Path(format!("{prefix}::{function}")),
            (None, None) if mentions_self(sig) => Self::Method(function),
            (None, None) => Self::Path(function),
        }
    }
}

/// What goes before `::method` for the methods of an `impl` block: `Type`, `<Type>` or
/// `<Type as Trait>`.
pub(crate) fn impl_prefix(imp: &ItemImpl) -> String {
    let ty = text(imp.self_ty.to_token_stream());
    match &imp.trait_ {
        Some((bang, path, _)) => {
            let bang = if bang.is_some() { "!" } else { "" };
            format!("<{ty} as {bang}{}>", text(path.to_token_stream()))
        }
        None if is_plain_name(&imp.self_ty) => ty,
        None => format!("<{ty}>"),
    }
}

/// A type that reads as a name before `::method`: one path segment (`Parser`, `Stack<T>`).
fn is_plain_name(ty: &Type) -> bool {
    match ty {
        Type::Path(p) => {
            p.qself.is_none() && p.path.leading_colon.is_none() && p.path.segments.len() == 1
        }
        Type::Group(g) => is_plain_name(&g.elem),
        _ => false,
    }
}

/// Whether a function must be a method (a receiver, or `Self` in its signature): only an
/// associated function can say either.
fn mentions_self(sig: &Signature) -> bool {
    fn scan(tokens: TokenStream) -> bool {
        tokens.into_iter().any(|t| match t {
            TokenTree::Ident(i) => i == "Self",
            TokenTree::Group(g) => scan(g.stream()),
            _ => false,
        })
    }
    sig.receiver().is_some() || scan(sig.to_token_stream())
}

/// Tokens as one line of text, spaced as rustfmt would: `Stack<T>`, `&'a mut [u8]`,
/// `HashMap<K, V>`, `dyn Fn(u8) -> u8 + Send`, `Iterator<Item = u8>`. Raw identifiers
/// lose their `r#`.
pub(crate) fn text(tokens: TokenStream) -> String {
    let mut atoms = Vec::new();
    flatten(tokens, &mut atoms);
    let mut out = String::new();
    for (i, atom) in atoms.iter().enumerate() {
        if i > 0 && space_between(&atoms[i - 1], atom) {
            out.push(' ');
        }
        out.push_str(&atom.text);
    }
    out
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// An identifier, keyword or literal.
    Word,
    /// `'a`
    Lifetime,
    /// One operator, joint punctuation merged: `::`, `->`, `&`, `<`, ...
    Op,
    Open,
    Close,
}

struct Atom {
    kind: Kind,
    text: String,
}

fn flatten(tokens: TokenStream, atoms: &mut Vec<Atom>) {
    let mut joint = false;
    for token in tokens {
        let glued = joint;
        joint = false;
        match token {
            TokenTree::Ident(ident) => {
                let text = ident.unraw().to_string();
                match atoms.last_mut() {
                    Some(last) if glued && last.text == "'" => {
                        last.kind = Kind::Lifetime;
                        last.text.push_str(&text);
                    }
                    _ => atoms.push(Atom {
                        kind: Kind::Word,
                        text,
                    }),
                }
            }
            TokenTree::Literal(lit) => atoms.push(Atom {
                kind: Kind::Word,
                text: lit.to_string(),
            }),
            TokenTree::Punct(punct) => {
                joint = punct.spacing() == Spacing::Joint;
                match atoms.last_mut() {
                    // `'` stays joint to the lifetime's name.
                    Some(last) if glued && last.kind == Kind::Op && last.text != "'" => {
                        last.text.push(punct.as_char());
                    }
                    _ => atoms.push(Atom {
                        kind: Kind::Op,
                        text: punct.as_char().to_string(),
                    }),
                }
            }
            TokenTree::Group(group) => {
                let (open, close) = match group.delimiter() {
                    Delimiter::Parenthesis => ("(", ")"),
                    Delimiter::Bracket => ("[", "]"),
                    Delimiter::Brace => ("{", "}"),
                    Delimiter::None => {
                        flatten(group.stream(), atoms);
                        continue;
                    }
                };
                atoms.push(Atom {
                    kind: Kind::Open,
                    text: open.to_owned(),
                });
                flatten(group.stream(), atoms);
                atoms.push(Atom {
                    kind: Kind::Close,
                    text: close.to_owned(),
                });
            }
        }
    }
}

/// Keywords that a type or bound goes on after, with a space: `&mut (A, B)`, `dyn (Tr)`.
const SPACED_KEYWORDS: [&str; 5] = ["mut", "dyn", "impl", "const", "as"];

/// Operators with a space on either side.
const BINARY: [&str; 3] = ["=", "+", "->"];

fn space_between(prev: &Atom, next: &Atom) -> bool {
    let is = |atom: &Atom, ops: &[&str]| atom.kind == Kind::Op && ops.contains(&atom.text.as_str());
    if is(prev, &BINARY) || is(next, &BINARY) {
        return true;
    }
    if (prev.kind == Kind::Open && prev.text != "{")
        || (next.kind == Kind::Close && next.text != "}")
    {
        return false;
    }
    if prev.text == "{" || next.text == "}" {
        return true;
    }
    if is(prev, &[",", ";", ":"]) {
        return true;
    }
    match (prev.kind, next.kind) {
        (Kind::Op, _) if prev.text == ">" => matches!(next.kind, Kind::Word | Kind::Lifetime),
        (Kind::Word | Kind::Lifetime | Kind::Close, Kind::Word | Kind::Lifetime) => true,
        (Kind::Word, Kind::Open) => SPACED_KEYWORDS.contains(&prev.text.as_str()),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use quote::quote;
    use syn::parse_quote;

    use super::*;

    #[test]
    fn types_as_rustfmt_prints_them() {
        let t = |ty: Type| text(ty.to_token_stream());
        assert_eq!(t(parse_quote!(Parser)), "Parser");
        assert_eq!(t(parse_quote!(r#Type)), "Type");
        assert_eq!(t(parse_quote!(Stack<T>)), "Stack<T>");
        assert_eq!(t(parse_quote!(HashMap<K,V>)), "HashMap<K, V>");
        assert_eq!(t(parse_quote!(OffsetIter<'a>)), "OffsetIter<'a>");
        assert_eq!(t(parse_quote!(Parser<'_, T>)), "Parser<'_, T>");
        assert_eq!(t(parse_quote!(&'a mut [u8])), "&'a mut [u8]");
        assert_eq!(t(parse_quote!(&&T)), "&&T");
        assert_eq!(t(parse_quote!(*const T)), "*const T");
        assert_eq!(t(parse_quote!([u8; 4])), "[u8; 4]");
        assert_eq!(t(parse_quote!((A, B))), "(A, B)");
        assert_eq!(t(parse_quote!((u8,))), "(u8,)");
        assert_eq!(t(parse_quote!(())), "()");
        assert_eq!(t(parse_quote!(crate::a::Parser)), "crate::a::Parser");
        assert_eq!(t(parse_quote!(::std::vec::Vec<u8>)), "::std::vec::Vec<u8>");
        assert_eq!(t(parse_quote!(Vec<Vec<T>>)), "Vec<Vec<T>>");
        assert_eq!(t(parse_quote!(dyn Read + Send)), "dyn Read + Send");
        assert_eq!(
            t(parse_quote!(Box<dyn Fn(u8) -> u8 + Send + 'static>)),
            "Box<dyn Fn(u8) -> u8 + Send + 'static>"
        );
        assert_eq!(
            t(parse_quote!(Box<dyn for<'a> Fn(&'a str) -> &'a str>)),
            "Box<dyn for<'a> Fn(&'a str) -> &'a str>"
        );
        assert_eq!(t(parse_quote!(fn(u8) -> u8)), "fn(u8) -> u8");
        assert_eq!(t(parse_quote!(&mut (A, B))), "&mut (A, B)");
        assert_eq!(t(parse_quote!(<T as Tr>::Out)), "<T as Tr>::Out");
        assert_eq!(t(parse_quote!(Buf<{ N + 1 }>)), "Buf<{ N + 1 }>");
        assert_eq!(t(parse_quote!(Buf<-1>)), "Buf<-1>");
        assert_eq!(t(parse_quote!(Array<T, 4>)), "Array<T, 4>");
    }

    #[test]
    fn traits_as_rustfmt_prints_them() {
        let p = |path: syn::Path| text(path.to_token_stream());
        assert_eq!(p(parse_quote!(Iterator)), "Iterator");
        assert_eq!(p(parse_quote!(fmt::Display)), "fmt::Display");
        assert_eq!(p(parse_quote!(From<u8>)), "From<u8>");
        assert_eq!(text(quote!(Fn(u8)->u8)), "Fn(u8) -> u8");
        assert_eq!(
            p(parse_quote!(Tr<Item = u8, Assoc: Clone>)),
            "Tr<Item = u8, Assoc: Clone>"
        );
    }

    #[test]
    fn impl_prefixes() {
        let prefix = |imp: ItemImpl| impl_prefix(&imp);
        assert_eq!(prefix(parse_quote!(impl Parser {})), "Parser");
        assert_eq!(
            prefix(parse_quote!(
                impl<T: Clone> Stack<T> where T: Default {}
            )),
            "Stack<T>"
        );
        assert_eq!(
            prefix(parse_quote!(impl Iterator for Parser {})),
            "<Parser as Iterator>"
        );
        assert_eq!(
            prefix(parse_quote!(
                impl<'a> Iterator for OffsetIter<'a> {}
            )),
            "<OffsetIter<'a> as Iterator>"
        );
        assert_eq!(
            prefix(parse_quote!(
                impl<T> From<T> for Wrapper<T> {}
            )),
            "<Wrapper<T> as From<T>>"
        );
        assert_eq!(
            prefix(parse_quote!(impl fmt::Display for &Parser {})),
            "<&Parser as fmt::Display>"
        );
        assert_eq!(prefix(parse_quote!(impl dyn Shape {})), "<dyn Shape>");
        assert_eq!(
            prefix(parse_quote!(impl crate::a::Parser {})),
            "<crate::a::Parser>"
        );
        assert_eq!(
            prefix(parse_quote!(impl !Send for Parser {})),
            "<Parser as !Send>"
        );
    }

    #[test]
    fn names() {
        let name = |args: TokenStream, sig: Signature, owner: Option<&str>| {
            let mut errors = crate::errors::Errors::default();
            let args = Args::parse(args, &mut errors);
            match SiteName::of(&args, &sig, owner) {
                SiteName::Given(lit) => format!("given {}", lit.value()),
                SiteName::Path(path) => format!("path {path}"),
                SiteName::Method(method) => format!("method {method}"),
            }
        };
        assert_eq!(name(quote!(), parse_quote!(fn run()), None), "path run");
        assert_eq!(
            name(quote!(), parse_quote!(fn r#match()), None),
            "path match"
        );
        assert_eq!(
            name(quote!(), parse_quote!(fn run(&self)), None),
            "method run"
        );
        assert_eq!(
            name(quote!(), parse_quote!(fn run(self: Box<Self>)), None),
            "method run"
        );
        assert_eq!(
            name(quote!(), parse_quote!(fn new() -> Self), None),
            "method new"
        );
        assert_eq!(
            name(quote!(), parse_quote!(fn of<T: Into<Self>>(t: T)), None),
            "method of"
        );
        assert_eq!(
            name(
                quote!(),
                parse_quote!(fn next(&mut self)),
                Some("<Parser as Iterator>")
            ),
            "path <Parser as Iterator>::next"
        );
        assert_eq!(
            name(quote!(name = "n"), parse_quote!(fn next(&mut self)), None),
            "given n"
        );
    }
}
