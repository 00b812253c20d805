//! Checks of the whole model: names unique, well-formed and not reserved.

use crate::ast::{Errors, Router};
use proc_macro2::Span;
use std::collections::HashMap;

fn check_name(errors: &mut Errors, name: &str, span: Span) {
    if name.split('.').any(|part| part.starts_with("__")) {
        errors.at(
            span,
            format!("`{name}`: names starting with `__` are reserved for the protocol"),
        );
    } else if name.is_empty() || name.split('.').any(str::is_empty) {
        errors.at(
            span,
            format!("`{name}`: a name is a non-empty dot-separated path"),
        );
    } else if name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        errors.at(span, format!("`{name}`: a name cannot contain whitespace"));
    }
}

pub(crate) fn check(router: &Router) -> syn::Result<()> {
    let mut errors = Errors::default();
    let mut seen: HashMap<&str, &syn::Ident> = HashMap::new();
    for route in &router.routes {
        check_name(&mut errors, &route.name, route.name_span);
        if let Some(first) = seen.insert(&route.name, &route.ident) {
            errors.at(
                route.name_span,
                format!(
                    "duplicate route name `{}`: `{first}` already uses it",
                    route.name
                ),
            );
        }
    }
    let mut seen: HashMap<&str, &syn::Ident> = HashMap::new();
    for event in &router.events {
        check_name(&mut errors, &event.name, event.name_span);
        if let Some(first) = seen.insert(&event.name, &event.ident) {
            errors.at(
                event.name_span,
                format!(
                    "duplicate event name `{}`: `{first}` already uses it",
                    event.name
                ),
            );
        }
    }
    errors.finish()
}
