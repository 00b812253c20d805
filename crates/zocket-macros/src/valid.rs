//! The rules of a router definition, checked on the parsed model: what each
//! kind of item may look like, names unique, well-formed and not reserved,
//! and middleware references pointing at declared middleware. Every broken
//! rule is reported, each on the user's tokens.

use crate::ast::{EventDef, Kind, MiddlewareDef, NestDef, Output, Route, Router, typed_params};
use crate::ctxt::Ctxt;
use crate::names::did_you_mean;
use proc_macro2::Span;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use syn::spanned::Spanned;
use syn::{FnArg, Ident, ReturnType, TraitItemFn, Type};

/// Checks the whole definition, reporting every broken rule.
pub(crate) fn check(cx: &Ctxt, router: &Router<'_>) {
    check_trait(cx, router);
    for name in &router.global_middleware {
        check_middleware_ref(cx, router, name);
    }
    for route in &router.routes {
        check_route(cx, router, route);
    }
    for event in &router.events {
        check_event(cx, event);
    }
    for m in &router.middleware {
        check_middleware(cx, m);
    }
    for nest in &router.nested {
        check_nest(cx, nest);
    }
    let prefix = router
        .namespace
        .as_ref()
        .map(|ns| format!("{}.", ns.value()));
    let prefix = prefix.as_deref().unwrap_or_default();
    let routes = router
        .routes
        .iter()
        .map(|r| (&r.name, r.name_span, &r.ident));
    check_names(cx, "route", prefix, routes);
    let events = router
        .events
        .iter()
        .map(|e| (&e.name, e.name_span, &e.ident));
    check_names(cx, "event", prefix, events);
}

/// The trait itself: not generic, no supertraits, not `unsafe`, and a
/// well-formed namespace.
fn check_trait(cx: &Ctxt, router: &Router<'_>) {
    let item = router.original;
    if !item.generics.params.is_empty() || item.generics.where_clause.is_some() {
        cx.error_at(
            item.generics.span(),
            "a router definition cannot be generic",
        );
    }
    if let Some(colon) = &item.colon_token {
        cx.error_at(colon.span, "a router definition cannot have supertraits");
    }
    if let Some(unsafety) = &item.unsafety {
        cx.error_at(unsafety.span, "a router definition cannot be `unsafe`");
    }
    if let Some(lit) = &router.namespace {
        let ns = lit.value();
        if ns.split('.').any(str::is_empty) {
            cx.error_at(
                lit.span(),
                "a namespace is a non-empty dot-separated path, e.g. `chat` or `admin.users`",
            );
        } else {
            check_name(cx, &ns, lit.span());
        }
    }
}

/// What every item must be: a declaration, not generic, with `&self` or no
/// receiver (events: no receiver).
fn check_signature(cx: &Ctxt, f: &TraitItemFn, event: bool) {
    if let Some(body) = &f.default {
        cx.error_at(
            body.span(),
            "router items are declarations: remove the body (handlers go in the server impl)",
        );
    }
    if !f.sig.generics.params.is_empty() {
        cx.error_at(f.sig.generics.span(), "routes and events cannot be generic");
    }
    for input in &f.sig.inputs {
        if let FnArg::Receiver(recv) = input {
            if recv.reference.is_none() || recv.mutability.is_some() {
                cx.error_at(recv.span(), "a route takes `&self` (or no receiver)");
            } else if event {
                cx.error_at(
                    recv.span(),
                    "an event has no receiver: write `fn name(payload: Type);`",
                );
            }
        }
    }
}

/// A call or message: async, at most one input, the middleware it names
/// declared, and no reply for a message.
fn check_route(cx: &Ctxt, router: &Router<'_>, route: &Route<'_>) {
    let f = route.original;
    check_signature(cx, f, false);
    if f.sig.asyncness.is_none() {
        cx.error_at(
            f.sig.fn_token.span,
            "route handlers are async: write `async fn`",
        );
    }
    for extra in route.params.iter().filter(|p| p.from.is_none()).skip(1) {
        cx.error_at(
            extra.original.span(),
            "a route takes at most one input: put several values in one struct, or mark a middleware value with `#[zocket(from = middleware)]`",
        );
    }
    for name in &route.uses {
        check_middleware_ref(cx, router, name);
    }
    for (_, from) in route.values() {
        check_middleware_ref(cx, router, from);
        if let Some(m) = router.middleware.iter().find(|m| m.ident == *from)
            && m.value_type().is_none()
        {
            cx.error_at(
                from.span(),
                format!("middleware `{from}` hands no value to handlers: it returns nothing or `Result<(), E>`"),
            );
        }
    }
    if route.kind == Kind::Stream {
        let item = match &route.output {
            Output::Unit => None,
            Output::Plain(ty) => Some(&**ty),
            Output::Result { ok, .. } => Some(&**ok),
        };
        match item {
            None => cx.error_at(
                f.sig.ident.span(),
                "a stream returns the type of its items: `-> Line`, or `-> Result<Line, E>` for a stream that may end with an error",
            ),
            Some(ty @ Type::Tuple(t)) if t.elems.is_empty() => cx.error_at(
                ty.span(),
                "a stream's items are values: name their type (`-> Line` or `-> Result<Line, E>`)",
            ),
            Some(_) => {}
        }
    }
    if route.kind == Kind::Message
        && let Some(ty) = match &route.output {
            Output::Unit => None,
            Output::Plain(ty) => Some(&**ty),
            Output::Result { ok, .. } => Some(&**ok),
        }
        && !matches!(ty, Type::Tuple(t) if t.elems.is_empty())
    {
        cx.error_at(
            ty.span(),
            "a message has no reply: return nothing or `Result<(), E>`",
        );
    }
}

/// An event: not async, no receiver, returns nothing.
fn check_event(cx: &Ctxt, event: &EventDef<'_>) {
    let f = event.original;
    check_signature(cx, f, true);
    if let Some(asyncness) = &f.sig.asyncness {
        cx.error_at(asyncness.span, "an event is not a handler: remove `async`");
    }
    if let ReturnType::Type(arrow, _) = &f.sig.output {
        cx.error_at(
            arrow.span(),
            "an event returns nothing: its payload is its only parameter",
        );
    }
}

/// A middleware: async, no parameters, no wire name.
fn check_middleware(cx: &Ctxt, m: &MiddlewareDef<'_>) {
    let f = m.original;
    check_signature(cx, f, false);
    if f.sig.asyncness.is_none() {
        cx.error_at(f.sig.fn_token.span, "middleware is async: write `async fn`");
    }
    if let Some(param) = typed_params(&f.sig).next() {
        cx.error_at(
            param.span(),
            "middleware takes no parameters: it receives the call's `Ctx`",
        );
    }
    if let Some(name) = &m.wire_name {
        cx.error_at(name.span(), "middleware has no wire name");
    }
}

/// A nested definition: not async, no parameters, no wire name.
fn check_nest(cx: &Ctxt, nest: &NestDef<'_>) {
    let f = nest.original;
    check_signature(cx, f, false);
    if let Some(asyncness) = &f.sig.asyncness {
        cx.error_at(
            asyncness.span,
            "a nested router is not a handler: remove `async`",
        );
    }
    if let Some(param) = typed_params(&f.sig).next() {
        cx.error_at(param.span(), "a nested router takes no parameters");
    }
    if let Some(name) = &nest.wire_name {
        cx.error_at(
            name.span(),
            "a nested router keeps the names of its own definition (set its `namespace`)",
        );
    }
}

/// A middleware name must name a `#[zocket(middleware)]` item (or one
/// already reported and left out of the model).
fn check_middleware_ref(cx: &Ctxt, router: &Router<'_>, name: &Ident) {
    if router.middleware.iter().any(|m| m.ident == *name) || router.skipped.contains(&name) {
        return;
    }
    let declared: Vec<String> = router
        .middleware
        .iter()
        .map(|m| m.ident.to_string())
        .collect();
    let options: Vec<&str> = declared.iter().map(String::as_str).collect();
    let hint = match did_you_mean(&name.to_string(), &options) {
        Some(close) => format!("; did you mean `{close}`?"),
        None if declared.is_empty() => {
            "; declare one with `#[zocket(middleware)] async fn name() -> Result<Value, Error>;`"
                .to_owned()
        }
        None => format!("; declared: `{}`", declared.join("`, `")),
    };
    cx.error_at(
        name.span(),
        format!("no middleware `{name}` in this router{hint}"),
    );
}

/// A wire name: not reserved (`__`), a non-empty dot-separated path, no
/// whitespace. The rules apply to `own`, the part the item gives at
/// `span`; the namespace is checked once, on its own.
fn check_name(cx: &Ctxt, own: &str, span: Span) {
    if own.split('.').any(|part| part.starts_with("__")) {
        cx.error_at(
            span,
            format!("`{own}`: names starting with `__` are reserved for the protocol"),
        );
    } else if own.split('.').any(str::is_empty) {
        cx.error_at(
            span,
            format!("`{own}`: a name is a non-empty dot-separated path"),
        );
    } else if own.chars().any(|c| c.is_whitespace() || c.is_control()) {
        cx.error_at(span, format!("`{own}`: a name cannot contain whitespace"));
    }
}

/// Every name well-formed and used once (camelCase collisions included:
/// `get_profile` and `getProfile` are both `getProfile`).
fn check_names<'a>(
    cx: &Ctxt,
    what: &str,
    prefix: &str,
    names: impl Iterator<Item = (&'a String, Span, &'a Ident)>,
) {
    let mut seen: HashMap<&str, &Ident> = HashMap::new();
    for (name, span, ident) in names {
        let own = name.strip_prefix(prefix).unwrap_or(name);
        check_name(cx, own, span);
        match seen.entry(name) {
            Entry::Occupied(first) => cx.error_at(
                span,
                format!(
                    "duplicate {what} name `{name}`: `{}` already uses it",
                    first.get()
                ),
            ),
            Entry::Vacant(slot) => {
                slot.insert(ident);
            }
        }
    }
}
