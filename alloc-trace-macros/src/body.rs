//! Splitting a sync function's body around the guard: its leading items, the statements,
//! and the final expression, each kept as the tokens the user wrote (never re-printed).
//!
//! - Leading items (`fn`, `use`, `struct`, ...) go before the guard, so the user's items
//!   do not turn into "items after statements" (`clippy::items_after_statements`). Items
//!   are visible in the whole block wherever they stand, so this changes nothing else.
//! - The final expression is bound to a local before the guard drops. In editions before
//!   2024 the temporaries of a block's final expression live until after the block's
//!   locals, the guard included: freeing them would count for the caller (a body ending
//!   in `make_vec().len()` would seem to keep its vector).

use proc_macro2::{TokenStream, TokenTree};
use syn::buffer::Cursor;
use syn::parse::discouraged::Speculative;
use syn::parse::{ParseStream, Parser};
use syn::{Expr, MacroDelimiter, Stmt, StmtMacro, Token};

/// A body in three parts; concatenated, they are the original tokens.
pub(crate) struct Split {
    pub items: TokenStream,
    pub stmts: TokenStream,
    /// The final expression, if the body has one that can be bound to a local: not a
    /// macro in braces, which may expand to items rather than to a value.
    pub tail: Option<TokenStream>,
}

/// Splits `body`; a body syn cannot parse is all `stmts`.
pub(crate) fn split(body: TokenStream) -> Split {
    let whole = Split {
        items: TokenStream::new(),
        stmts: body.clone(),
        tail: None,
    };
    Parser::parse2(split_stream, body).unwrap_or(whole)
}

fn split_stream(input: ParseStream<'_>) -> syn::Result<Split> {
    let mut split = Split {
        items: TokenStream::new(),
        stmts: TokenStream::new(),
        tail: None,
    };
    let mut leading = true;
    while !input.is_empty() {
        let start = input.cursor();
        let mut is_tail = false;
        if input.peek(Token![;]) {
            input.parse::<Token![;]>()?;
        } else {
            let fork = input.fork();
            if let Ok(stmt) = fork.parse::<Stmt>() {
                input.advance_to(&fork);
                leading &= matches!(stmt, Stmt::Item(_));
                is_tail = input.is_empty() && is_value(&stmt);
            } else {
                // Only a final expression may go without its `;` (`v.len()`).
                input.parse::<Expr>()?;
                if !input.is_empty() {
                    return Err(input.error("expected `;`"));
                }
                leading = false;
                is_tail = true;
            }
        }
        let tokens = tokens_between(start, input.cursor());
        // An attribute is allowed on a final expression (as `#[tokio::test]` writes one)
        // but not on a `let` initializer: such a tail stays as written.
        if is_tail && !starts_with_attribute(&tokens) {
            split.tail = Some(tokens);
        } else if leading {
            split.items.extend(tokens);
        } else {
            split.stmts.extend(tokens);
        }
    }
    Ok(split)
}

/// Whether a statement without a `;` at the end of the body is its value.
fn is_value(stmt: &Stmt) -> bool {
    match stmt {
        Stmt::Expr(_, semi) => semi.is_none(),
        Stmt::Macro(StmtMacro {
            semi_token, mac, ..
        }) => semi_token.is_none() && !matches!(mac.delimiter, MacroDelimiter::Brace(_)),
        Stmt::Local(_) | Stmt::Item(_) => false,
    }
}

fn starts_with_attribute(tokens: &TokenStream) -> bool {
    matches!(tokens.clone().into_iter().next(), Some(TokenTree::Punct(p)) if p.as_char() == '#')
}

fn tokens_between(mut from: Cursor<'_>, to: Cursor<'_>) -> TokenStream {
    let mut tokens = TokenStream::new();
    while from != to {
        let Some((tree, next)) = from.token_tree() else {
            break;
        };
        tokens.extend([tree]);
        from = next;
    }
    tokens
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::*;

    fn parts(body: TokenStream) -> [String; 3] {
        let s = split(body);
        [
            s.items.to_string(),
            s.stmts.to_string(),
            s.tail.map(|t| t.to_string()).unwrap_or_default(),
        ]
    }

    #[test]
    fn items_statements_and_tail() {
        let body = quote! {
            use std::fmt;
            fn helper() -> usize { 1 }
            let x = helper();
            struct Late;
            for i in 0..x {}
            x.max(2) + helper()
        };
        assert_eq!(
            parts(body),
            [
                quote!(
                    use std::fmt;
                    fn helper() -> usize {
                        1
                    }
                )
                .to_string(),
                quote!(let x = helper(); struct Late; for i in 0..x {}).to_string(),
                quote!(x.max(2) + helper()).to_string(),
            ]
        );
    }

    #[test]
    fn tails() {
        let tail = |body: TokenStream| split(body).tail.map(|t| t.to_string());
        let m = quote!(match v {
            _ => v,
        });
        assert_eq!(tail(quote!(let v = 1; #m)), Some(m.to_string()));
        assert_eq!(
            tail(quote!(vec![1, 2])),
            Some(quote!(vec![1, 2]).to_string())
        );
        assert_eq!(tail(quote!(x)), Some("x".to_owned()));
        // No value: a `;`, a `let`, an item, or a braced macro (it may expand to items).
        assert_eq!(tail(quote!(f();)), None);
        assert_eq!(tail(quote!(let x = 1;)), None);
        assert_eq!(
            tail(quote!(
                fn f() {}
            )),
            None
        );
        assert_eq!(tail(quote!(thread_local! { static X: u8 = 1; })), None);
        assert_eq!(tail(quote!()), None);
        // Attributes are not allowed on a `let` initializer.
        assert_eq!(
            tail(quote!(
                #[allow(unused)]
                {
                    1
                }
            )),
            None
        );
    }

    #[test]
    fn stray_semicolons_stay_where_they_are() {
        assert_eq!(
            parts(quote!(fn f() {}; ; let x = 1;; x)),
            [
                quote!(fn f() {}; ;).to_string(),
                quote!(let x = 1;;).to_string(),
                "x".to_owned(),
            ]
        );
    }

    #[test]
    fn what_syn_cannot_parse_is_kept_whole() {
        let body = quote!(fn ok() {} let x = ; x);
        assert_eq!(
            parts(body.clone()),
            [String::new(), body.to_string(), String::new()]
        );
        let body = quote!(a.len() b.len());
        assert_eq!(
            parts(body.clone()),
            [String::new(), body.to_string(), String::new()]
        );
    }
}
