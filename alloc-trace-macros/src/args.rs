//! The attribute's arguments: `name`, `crate`, `max_allocs` and `max_bytes`.
//!
//! Parsed with `syn::meta::parser`. A mistake that leaves the list readable (an unknown or
//! repeated key, a value of the wrong kind) is pushed to the macro's [`Errors`] and parsing
//! goes on, so one build shows every mistake; only a list that cannot be read further stops
//! at the first error. What was read correctly is kept, so the item can still be checked.

use proc_macro2::{Span, TokenStream};
use syn::meta::ParseNestedMeta;
use syn::{Attribute, Expr, ExprLit, ExprUnary, Lit, LitInt, LitStr, Meta, Path, UnOp};

use crate::errors::Errors;

/// `#[track_allocs(name = "...", crate = path, max_allocs = N, max_bytes = N)]`
#[derive(Clone, Default)]
pub(crate) struct Args {
    pub name: Option<LitStr>,
    pub krate: Option<Path>,
    pub max_allocs: Option<Count>,
    pub max_bytes: Option<Count>,
}

/// A validated budget number, kept with the span of the literal the user wrote.
#[derive(Clone)]
pub(crate) struct Count {
    value: u64,
    span: Span,
}

impl Count {
    /// The number as a `u64` literal, so the generated code never depends on inference.
    /// It sits where the user's literal is but counts as macro output, so literal-style
    /// lints (`clippy::unreadable_literal`) judge only what the user wrote.
    pub(crate) fn to_lit(&self) -> LitInt {
        LitInt::new(
            &format!("{}u64", self.value),
            Span::call_site().located_at(self.span),
        )
    }
}

const KEYS: [&str; 4] = ["name", "crate", "max_allocs", "max_bytes"];
const EXPECTED: &str = "expected `name`, `crate`, `max_allocs` or `max_bytes`";

impl Args {
    /// The arguments of the attribute this macro was invoked as; mistakes go to `errors`.
    pub(crate) fn parse(tokens: TokenStream, errors: &mut Errors) -> Self {
        let mut args = Self::default();
        let mut seen = Vec::new();
        let parser = syn::meta::parser(|meta| args.parse_one(&meta, &mut seen, errors));
        if let Err(fatal) = syn::parse::Parser::parse2(parser, tokens) {
            errors.push(fatal);
        }
        args
    }

    /// The arguments of a `#[track_allocs]` found on a method inside a tracked `impl`
    /// block, which the block's expansion takes over.
    pub(crate) fn from_attr(attr: &Attribute, errors: &mut Errors) -> Self {
        match &attr.meta {
            Meta::Path(_) => Self::default(),
            Meta::List(list) => Self::parse(list.tokens.clone(), errors),
            Meta::NameValue(nv) => {
                errors.push(syn::Error::new_spanned(
                    nv.eq_token,
                    "expected `#[track_allocs]` or `#[track_allocs(...)]`",
                ));
                Self::default()
            }
        }
    }

    /// A method's own arguments, falling back to its `impl` block's.
    pub(crate) fn or(self, block: &Self) -> Self {
        Self {
            name: self.name,
            krate: self.krate.or_else(|| block.krate.clone()),
            max_allocs: self.max_allocs.or_else(|| block.max_allocs.clone()),
            max_bytes: self.max_bytes.or_else(|| block.max_bytes.clone()),
        }
    }

    pub(crate) fn has_budget(&self) -> bool {
        self.max_allocs.is_some() || self.max_bytes.is_some()
    }

    /// Parses one `key = value`; `seen` holds the keys given so far, valid or not. An
    /// `Err` return means the rest of the list cannot be read.
    fn parse_one(
        &mut self,
        meta: &ParseNestedMeta<'_>,
        seen: &mut Vec<String>,
        errors: &mut Errors,
    ) -> syn::Result<()> {
        let key = path_text(&meta.path);
        if !KEYS.contains(&key.as_str()) {
            errors.push(meta.error(format_args!("unknown argument `{key}`; {EXPECTED}")));
            return skip_value(meta);
        }
        // A repeat is an error even after a bad value.
        if seen.contains(&key) {
            errors.push(meta.error(format_args!("duplicate argument `{key}`")));
            return skip_value(meta);
        }
        seen.push(key.clone());
        let Some(value) = value_of(meta, &key, errors)? else {
            return Ok(());
        };
        match key.as_str() {
            "name" => self.name = errors.keep(parse_name(&value)),
            "crate" => self.krate = errors.keep(parse_crate(&value)),
            "max_allocs" => self.max_allocs = errors.keep(parse_count(&value, &key)),
            _ => self.max_bytes = errors.keep(parse_count(&value, &key)),
        }
        Ok(())
    }
}

/// `a::b` for a path, without the spaces `to_string` puts in.
fn path_text(path: &Path) -> String {
    let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    segments.join("::")
}

/// The expression after `key =`, or `None` (with an error) if there is no `=`.
fn value_of(
    meta: &ParseNestedMeta<'_>,
    key: &str,
    errors: &mut Errors,
) -> syn::Result<Option<Expr>> {
    if meta.input.peek(syn::Token![=]) {
        return Ok(Some(meta.value()?.parse()?));
    }
    let example = match key {
        "name" => "name = \"...\"",
        "crate" => "crate = path::to::alloc_trace",
        "max_allocs" => "max_allocs = 10",
        _ => "max_bytes = 1024",
    };
    errors.push(meta.error(format_args!("expected `{example}`")));
    skip_value(meta)?;
    Ok(None)
}

/// Steps over whatever follows a key that was reported as an error.
fn skip_value(meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.input.peek(syn::Token![=]) {
        meta.value()?.parse::<Expr>()?;
    } else if meta.input.peek(syn::token::Paren) {
        meta.input.parse::<proc_macro2::Group>()?;
    }
    Ok(())
}

fn parse_name(value: &Expr) -> syn::Result<LitStr> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(name),
            ..
        }) if name.value().is_empty() => {
            Err(syn::Error::new(name.span(), "`name` must not be empty"))
        }
        Expr::Lit(ExprLit {
            lit: Lit::Str(name),
            ..
        }) => Ok(name.clone()),
        other => Err(syn::Error::new_spanned(
            other,
            "`name` takes a string literal, e.g. `name = \"parse\"`",
        )),
    }
}

/// `crate = path` or, as serde and tokio also accept, `crate = "path"`.
fn parse_crate(value: &Expr) -> syn::Result<Path> {
    match value {
        Expr::Path(p) if p.qself.is_none() && p.attrs.is_empty() => Ok(p.path.clone()),
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => s.parse_with(Path::parse_mod_style),
        other => Err(syn::Error::new_spanned(
            other,
            "`crate` takes the path of the alloc-trace crate, e.g. `crate = my_alloc_trace`",
        )),
    }
}

/// A whole number from 0 to `u64::MAX`, without a type suffix.
fn parse_count(value: &Expr, key: &str) -> syn::Result<Count> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Int(lit), ..
        }) => {
            if lit.base10_digits().starts_with('-') {
                return Err(syn::Error::new(
                    lit.span(),
                    format!("`{key}` cannot be negative"),
                ));
            }
            if !lit.suffix().is_empty() {
                return Err(syn::Error::new(
                    lit.span(),
                    format!("`{key}` takes a number without a type suffix, e.g. `{key} = 2`"),
                ));
            }
            let value = lit
                .base10_parse::<u64>()
                .map_err(|_| syn::Error::new(lit.span(), format!("`{key}` must fit in a `u64`")))?;
            Ok(Count {
                value,
                span: lit.span(),
            })
        }
        Expr::Unary(ExprUnary {
            op: UnOp::Neg(_),
            expr,
            ..
        }) if matches!(
            &**expr,
            Expr::Lit(ExprLit {
                lit: Lit::Int(_),
                ..
            })
        ) =>
        {
            Err(syn::Error::new_spanned(
                value,
                format!("`{key}` cannot be negative"),
            ))
        }
        other => Err(syn::Error::new_spanned(
            other,
            format!("`{key}` takes a whole number, e.g. `{key} = 2`"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::*;

    fn errors(tokens: TokenStream) -> Vec<String> {
        let mut errors = Errors::default();
        Args::parse(tokens, &mut errors);
        match errors.into_result() {
            Ok(()) => Vec::new(),
            Err(e) => e.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    /// Arguments without mistakes.
    fn parse(tokens: TokenStream) -> Args {
        let mut errors = Errors::default();
        let args = Args::parse(tokens, &mut errors);
        errors.into_result().unwrap();
        args
    }

    #[test]
    fn every_option() {
        let args = parse(quote!(
            name = "n",
            crate = ::x::y,
            max_allocs = 3,
            max_bytes = 1_024
        ));
        assert_eq!(args.name.unwrap().value(), "n");
        assert_eq!(path_text(&args.krate.unwrap()), "x::y");
        assert_eq!(args.max_allocs.unwrap().value, 3);
        assert_eq!(args.max_bytes.unwrap().value, 1024);
        assert!(parse(TokenStream::new()).name.is_none());
    }

    #[test]
    fn crate_as_a_string() {
        let args = parse(quote!(crate = "renamed::inner"));
        assert_eq!(path_text(&args.krate.unwrap()), "renamed::inner");
    }

    #[test]
    fn every_mistake_is_reported() {
        assert_eq!(
            errors(quote!(
                a::b = 1,
                name = 2,
                name = "x",
                max_bytes,
                max_allocs = u64::MAX
            )),
            [
                format!("unknown argument `a::b`; {EXPECTED}"),
                "`name` takes a string literal, e.g. `name = \"parse\"`".to_owned(),
                "duplicate argument `name`".to_owned(),
                "expected `max_bytes = 1024`".to_owned(),
                "`max_allocs` takes a whole number, e.g. `max_allocs = 2`".to_owned(),
            ]
        );
        assert_eq!(
            errors(quote!(max_bytes = -0)),
            ["`max_bytes` cannot be negative"]
        );
        assert_eq!(errors(quote!(max_bytes = 2.0)).len(), 1);
    }

    #[test]
    fn largest_count() {
        let args = parse(quote!(max_bytes = 18446744073709551615));
        assert_eq!(args.max_bytes.unwrap().value, u64::MAX);
    }

    #[test]
    fn a_method_falls_back_to_its_block() {
        let block = parse(quote!(crate = outer, max_allocs = 1, max_bytes = 2));
        let method = parse(quote!(name = "m", max_allocs = 5)).or(&block);
        assert_eq!(method.name.unwrap().value(), "m");
        assert_eq!(path_text(&method.krate.unwrap()), "outer");
        assert_eq!(method.max_allocs.unwrap().value, 5);
        assert_eq!(method.max_bytes.unwrap().value, 2);
    }
}
