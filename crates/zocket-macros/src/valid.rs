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

/// A middleware name must name a `#[zocket(middleware)]` item.
fn check_middleware(errors: &mut Errors, router: &Router, name: &syn::Ident) {
    if router.middleware.iter().any(|m| m.ident == *name) {
        return;
    }
    let declared: Vec<String> = router
        .middleware
        .iter()
        .map(|m| m.ident.to_string())
        .collect();
    let options: Vec<&str> = declared.iter().map(String::as_str).collect();
    let hint = match crate::names::did_you_mean(&name.to_string(), &options) {
        Some(close) => format!("; did you mean `{close}`?"),
        None if declared.is_empty() => {
            "; declare one with `#[zocket(middleware)] async fn name() -> Result<Value, Error>;`"
                .to_owned()
        }
        None => format!("; declared: `{}`", declared.join("`, `")),
    };
    errors.at(
        name.span(),
        format!("no middleware `{name}` in this router{hint}"),
    );
}

pub(crate) fn check(router: &Router) -> syn::Result<()> {
    let mut errors = Errors::default();
    for name in &router.global_middleware {
        check_middleware(&mut errors, router, name);
    }
    for route in &router.routes {
        for name in &route.uses {
            check_middleware(&mut errors, router, name);
        }
        for value in &route.values {
            check_middleware(&mut errors, router, &value.from);
            if let Some(m) = router.middleware.iter().find(|m| m.ident == value.from)
                && m.value_type().is_none()
            {
                errors.at(value.from.span(), format!("middleware `{}` hands no value to handlers: it returns nothing or `Result<(), E>`", value.from));
            }
        }
    }
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
