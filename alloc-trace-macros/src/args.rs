//! Parsing and validating the attribute's arguments.

use proc_macro2::TokenStream;
use syn::meta::ParseNestedMeta;
use syn::{LitInt, LitStr, Path};

/// `#[track_allocs(name = "...", crate = path, max_allocs = N, max_bytes = N)]`
#[derive(Default)]
pub(crate) struct Args {
    pub name: Option<LitStr>,
    pub krate: Option<Path>,
    pub max_allocs: Option<LitInt>,
    pub max_bytes: Option<LitInt>,
}

impl Args {
    pub(crate) fn parse(tokens: TokenStream) -> syn::Result<Self> {
        let mut args = Args::default();
        let parser = syn::meta::parser(|meta| args.parse_one(&meta));
        syn::parse::Parser::parse2(parser, tokens)?;
        Ok(args)
    }

    fn parse_one(&mut self, meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
        let key = meta.path.get_ident().map(ToString::to_string).unwrap_or_default();
        match key.as_str() {
            "name" => {
                let name: LitStr = meta.value()?.parse()?;
                if name.value().is_empty() {
                    return Err(syn::Error::new(name.span(), "`name` must not be empty"));
                }
                set_once(&mut self.name, name, meta)
            }
            "crate" => set_once(&mut self.krate, meta.value()?.parse()?, meta),
            "max_allocs" => set_once(&mut self.max_allocs, parse_count(meta)?, meta),
            "max_bytes" => set_once(&mut self.max_bytes, parse_count(meta)?, meta),
            _ => Err(meta.error(
                "unknown argument; expected `name`, `crate`, `max_allocs` or `max_bytes`",
            )),
        }
    }
}

fn set_once<T>(slot: &mut Option<T>, value: T, meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    if slot.is_some() {
        let key = meta.path.get_ident().map(ToString::to_string).unwrap_or_default();
        return Err(syn::Error::new_spanned(&meta.path, format!("duplicate argument `{key}`")));
    }
    *slot = Some(value);
    Ok(())
}

/// A non-negative integer literal that fits a `u64`.
fn parse_count(meta: &ParseNestedMeta<'_>) -> syn::Result<LitInt> {
    let key = meta.path.get_ident().map(ToString::to_string).unwrap_or_default();
    let lit: LitInt = meta.value()?.parse().map_err(|e| {
        syn::Error::new(e.span(), format!("`{key}` takes a whole number, e.g. `{key} = 2`"))
    })?;
    lit.base10_parse::<u64>()
        .map_err(|_| syn::Error::new(lit.span(), format!("`{key}` must fit in a `u64`")))?;
    Ok(lit)
}
