//! `Errors`: every mistake found while parsing and validating, shown together.
//!
//! Each stage pushes what it finds and goes on, so one build shows every mistake, each at
//! its own tokens; nothing is generated if any was found.

use proc_macro2::TokenStream;

/// The mistakes found so far, combined into one `syn::Error`.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(first) => first.combine(error),
            None => self.0 = Some(error),
        }
    }

    /// The value, or `None` with its error pushed.
    pub(crate) fn keep<T>(&mut self, result: syn::Result<T>) -> Option<T> {
        result.map_err(|e| self.push(e)).ok()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    /// `compile_error!`s for every mistake (nothing if there is none).
    pub(crate) fn to_compile_errors(&self) -> TokenStream {
        self.0
            .as_ref()
            .map(syn::Error::to_compile_error)
            .unwrap_or_default()
    }

    #[cfg(test)]
    pub(crate) fn into_result(self) -> syn::Result<()> {
        self.0.map_or(Ok(()), Err)
    }
}

#[cfg(test)]
mod tests {
    use proc_macro2::Span;

    use super::*;

    #[test]
    fn combines_in_order() {
        let mut errors = Errors::default();
        assert!(errors.is_empty());
        assert_eq!(errors.keep(Ok::<_, syn::Error>(1)), Some(1));
        errors.push(syn::Error::new(Span::call_site(), "first"));
        assert_eq!(
            errors.keep::<u8>(Err(syn::Error::new(Span::call_site(), "second"))),
            None
        );
        assert!(!errors.is_empty());
        let messages: Vec<String> = errors
            .into_result()
            .unwrap_err()
            .into_iter()
            .map(|e| e.to_string())
            .collect();
        assert_eq!(messages, ["first", "second"]);
    }
}
