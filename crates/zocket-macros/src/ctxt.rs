//! The error context every pass writes to, so that one compile reports
//! every mistake of a definition.
//!
//! Parsing, validation and expansion take a `&Ctxt` and report into it
//! instead of returning at the first error; the macro combines everything
//! collected into one `syn::Error` at the end.

use proc_macro2::Span;
use quote::ToTokens;
use std::cell::RefCell;
use std::fmt::Display;

/// The errors collected so far, each on the user's tokens.
pub(crate) struct Ctxt {
    /// In the order they were reported.
    errors: RefCell<Vec<syn::Error>>,
}

/// An error was reported to the context and the thing it concerns was left
/// out; the caller goes on with the rest of the definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Reported;

impl Ctxt {
    /// An empty context.
    pub(crate) fn new() -> Self {
        Self {
            errors: RefCell::new(Vec::new()),
        }
    }

    /// Reports `message` on the tokens of `tokens` (first to last).
    pub(crate) fn error_spanned_by<A: ToTokens, T: Display>(&self, tokens: A, message: T) {
        self.push(syn::Error::new_spanned(tokens.into_token_stream(), message));
    }

    /// Reports `message` at `span`.
    pub(crate) fn error_at<T: Display>(&self, span: Span, message: T) {
        self.push(syn::Error::new(span, message));
    }

    /// Reports an error built elsewhere (a `syn` parse error, say).
    pub(crate) fn push(&self, err: syn::Error) {
        self.errors.borrow_mut().push(err);
    }

    /// How many errors were reported so far; comparing two counts tells
    /// whether a step reported anything.
    pub(crate) fn error_count(&self) -> usize {
        self.errors.borrow().len()
    }

    /// Whether anything was reported.
    pub(crate) fn has_errors(&self) -> bool {
        self.error_count() > 0
    }

    /// `Err(Reported)` when the step that started at `count` reported
    /// something since.
    pub(crate) fn reported_since(&self, count: usize) -> Result<(), Reported> {
        if self.error_count() > count {
            Err(Reported)
        } else {
            Ok(())
        }
    }

    /// Ends the context: every error reported, combined into one.
    pub(crate) fn check(self) -> syn::Result<()> {
        let mut errors = self.errors.into_inner().into_iter();
        match errors.next() {
            None => Ok(()),
            Some(mut all) => {
                all.extend(errors);
                Err(all)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_context_checks_out() {
        assert!(Ctxt::new().check().is_ok());
    }

    #[test]
    fn every_error_reported_comes_out_in_order() {
        let cx = Ctxt::new();
        cx.error_at(Span::call_site(), "first");
        let count = cx.error_count();
        assert_eq!(cx.reported_since(count), Ok(()));
        cx.error_spanned_by(quote::quote!(a b), "second");
        assert_eq!(cx.reported_since(count), Err(Reported));
        let messages: Vec<String> = cx
            .check()
            .err()
            .into_iter()
            .flatten()
            .map(|e| e.to_string())
            .collect();
        assert_eq!(messages, ["first", "second"]);
    }
}
