//! The macro's arguments and the `#[zocket(...)]` attribute on items.
//! Unknown or repeated keys are errors naming the allowed ones; a bad key is
//! reported and skipped, and the keys after it are still read.

use crate::ctxt::{Ctxt, Reported};
use crate::names::did_you_mean;
use proc_macro2::{Span, TokenStream};
use syn::meta::ParseNestedMeta;
use syn::parse::Parser;
use syn::{Attribute, Ident, LitStr, Meta, Token, Type};

/// `#[zocket::router(headers = H, namespace = "chat")]`.
#[derive(Default)]
pub(crate) struct RouterArgs {
    /// The type of the connection's headers.
    pub(crate) headers: Option<Type>,
    /// The prefix of every route and event name.
    pub(crate) namespace: Option<LitStr>,
    /// Middleware that runs before every route.
    pub(crate) middleware: Vec<Ident>,
}

/// The keys of the macro's arguments.
const ROUTER_KEYS: &[&str] = &["headers", "namespace", "middleware"];
/// The keys of `#[zocket(...)]` on an item.
const ITEM_KEYS: &[&str] = &[
    "message",
    "stream",
    "event",
    "middleware",
    "nest",
    "name",
    "uses",
    "when_full",
];

/// The values of `when_full`, with the `zocket::WhenFull` variant each
/// names.
const WHEN_FULL: &[(&str, &str)] = &[
    ("close", "Close"),
    ("drop", "Drop"),
    ("drop_oldest", "DropOldest"),
    ("latest", "Latest"),
];

/// Lint attributes, carried over to the generated items.
pub(crate) const LINTS: &[&str] = &["allow", "expect", "warn", "deny"];

/// `[a, b]`: a list of middleware names. A bad element is reported and
/// left out.
fn ident_list(cx: &Ctxt, expr: &syn::Expr) -> Vec<Ident> {
    let syn::Expr::Array(array) = expr else {
        cx.error_spanned_by(expr, "expected a list of middleware names, e.g. `[auth]`");
        return Vec::new();
    };
    array
        .elems
        .iter()
        .filter_map(|elem| match elem {
            syn::Expr::Path(p) if p.attrs.is_empty() && p.qself.is_none() => {
                let ident = p.path.get_ident().cloned();
                if ident.is_none() {
                    cx.error_spanned_by(
                        elem,
                        "expected the name of a `#[zocket(middleware)]` item",
                    );
                }
                ident
            }
            other => {
                cx.error_spanned_by(other, "expected the name of a `#[zocket(middleware)]` item");
                None
            }
        })
        .collect()
}

/// The error for a key not in `allowed`, with the closest one as a hint.
fn unknown(path: &syn::Path, allowed: &[&str]) -> syn::Error {
    let key = path
        .get_ident()
        .map(ToString::to_string)
        .unwrap_or_default();
    let message = match (allowed, did_you_mean(&key, allowed)) {
        ([only], _) => format!("unknown key `{key}`: expected `{only}`"),
        (_, Some(close)) => format!(
            "unknown key `{key}`: expected one of `{}`; did you mean `{close}`?",
            allowed.join("`, `")
        ),
        (_, None) => format!(
            "unknown key `{key}`: expected one of `{}`",
            allowed.join("`, `")
        ),
    };
    syn::Error::new_spanned(path, message)
}

/// Reports a key given a second time; the first one stays.
fn repeated(cx: &Ctxt, path: &syn::Path) {
    cx.error_spanned_by(path, "this key is given twice");
}

/// Consumes what follows a key that was rejected (`= value` or `(...)`),
/// so that the keys after it are still read.
fn skip_value(meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.input.peek(Token![=]) {
        meta.value()?.parse::<syn::Expr>()?;
    } else if meta.input.peek(syn::token::Paren) {
        meta.input.parse::<proc_macro2::TokenTree>()?;
    }
    Ok(())
}

/// A string literal, or an error on `expr` showing `example`.
fn string(cx: &Ctxt, expr: &syn::Expr, example: &str) -> Option<LitStr> {
    if let syn::Expr::Lit(syn::ExprLit {
        lit: syn::Lit::Str(lit),
        ..
    }) = expr
    {
        return Some(lit.clone());
    }
    cx.error_spanned_by(expr, example);
    None
}

impl RouterArgs {
    /// Parses the macro's arguments; bad keys are reported and left out.
    pub(crate) fn parse(cx: &Ctxt, tokens: TokenStream) -> Self {
        let mut args = Self::default();
        let metas =
            match syn::punctuated::Punctuated::<Meta, Token![,]>::parse_terminated.parse2(tokens) {
                Ok(metas) => metas,
                Err(err) => {
                    cx.push(err);
                    return args;
                }
            };
        let mut seen_middleware = false;
        for meta in metas {
            let Meta::NameValue(nv) = &meta else {
                cx.error_spanned_by(
                    &meta,
                    format!(
                        "expected `key = value`, one of `{}`",
                        ROUTER_KEYS.join("`, `")
                    ),
                );
                continue;
            };
            if nv.path.is_ident("headers") {
                if args.headers.is_some() {
                    repeated(cx, &nv.path);
                }
                match syn::parse2::<Type>(quote::ToTokens::to_token_stream(&nv.value)) {
                    Ok(ty) => args.headers = Some(ty),
                    Err(err) => cx.push(err),
                }
            } else if nv.path.is_ident("namespace") {
                if args.namespace.is_some() {
                    repeated(cx, &nv.path);
                }
                if let Some(lit) = string(
                    cx,
                    &nv.value,
                    "`namespace` takes a string, e.g. `namespace = \"chat\"`",
                ) {
                    args.namespace = Some(lit);
                }
            } else if nv.path.is_ident("middleware") {
                if std::mem::replace(&mut seen_middleware, true) {
                    repeated(cx, &nv.path);
                }
                args.middleware = ident_list(cx, &nv.value);
            } else {
                cx.push(unknown(&nv.path, ROUTER_KEYS));
            }
        }
        args
    }
}

/// What kind of item `#[zocket(...)]` makes of a trait method.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum ItemKind {
    /// No kind key: a call, answered with a reply.
    Call,
    /// `message`: a route without a reply.
    Message,
    /// `stream`: a route answered with items, then a reply.
    Stream,
    /// `event`: a message the server sends.
    Event,
    /// `middleware`: runs before the routes that use it.
    Middleware,
    /// `nest`: another definition's routes and events.
    Nest,
}

/// What `#[zocket(...)]` says about one item.
pub(crate) struct ItemAttrs {
    /// The kind key, or `Call` when there is none.
    pub(crate) kind: ItemKind,
    /// `name = "..."`: the wire name, instead of the camelCase ident.
    pub(crate) name: Option<LitStr>,
    /// `#[zocket(uses = [a])]`: middleware this route runs.
    pub(crate) uses: Vec<Ident>,
    /// `#[zocket(event, when_full = "latest")]`: the `zocket::WhenFull`
    /// variant and its name as written.
    pub(crate) when_full: Option<(&'static str, &'static str)>,
    /// The doc comment's lines.
    pub(crate) docs: Vec<String>,
}

/// The kind keys, in the order the conflict message names them.
const KINDS: &[(&str, ItemKind)] = &[
    ("message", ItemKind::Message),
    ("stream", ItemKind::Stream),
    ("event", ItemKind::Event),
    ("middleware", ItemKind::Middleware),
    ("nest", ItemKind::Nest),
];

impl ItemAttrs {
    /// Parses an item's attributes, reporting every bad one; `Err` when
    /// anything was reported, since the item's kind or name may then be
    /// wrong.
    pub(crate) fn parse(cx: &Ctxt, attrs: &[Attribute]) -> Result<Self, Reported> {
        let start = cx.error_count();
        let mut out = Self {
            kind: ItemKind::Call,
            name: None,
            uses: Vec::new(),
            when_full: None,
            docs: Vec::new(),
        };
        let mut kind: Option<Span> = None;
        let mut uses_seen = false;
        let mut uses_span: Option<Span> = None;
        let mut when_full_span: Option<Span> = None;
        for attr in attrs {
            if attr.path().is_ident("doc") {
                if let Meta::NameValue(nv) = &attr.meta
                    && let syn::Expr::Lit(syn::ExprLit {
                        lit: syn::Lit::Str(s),
                        ..
                    }) = &nv.value
                {
                    out.docs.push(s.value().trim().to_owned());
                }
                continue;
            }
            if LINTS.iter().any(|lint| attr.path().is_ident(lint)) {
                continue;
            }
            if !attr.path().is_ident("zocket") {
                cx.error_spanned_by(
                    attr,
                    "only `#[zocket(...)]`, doc comments and lint attributes are allowed on router items",
                );
                continue;
            }
            let result = attr.parse_nested_meta(|meta| {
                if let Some((key, item_kind)) = KINDS.iter().find(|(k, _)| meta.path.is_ident(k)) {
                    if !meta.input.is_empty() && !meta.input.peek(Token![,]) {
                        cx.error_spanned_by(&meta.path, format!("`{key}` takes no value"));
                        return skip_value(&meta);
                    }
                    let span = meta
                        .path
                        .get_ident()
                        .map_or_else(Span::call_site, Ident::span);
                    if kind.is_none() {
                        kind = Some(span);
                        out.kind = *item_kind;
                    } else if out.kind == *item_kind {
                        repeated(cx, &meta.path);
                    } else {
                        cx.error_at(
                            span,
                            "an item is one of `message`, `stream`, `event`, `middleware` or `nest`",
                        );
                    }
                } else if meta.path.is_ident("uses") {
                    uses_span = meta.path.get_ident().map(Ident::span);
                    let expr: syn::Expr = meta.value()?.parse()?;
                    if std::mem::replace(&mut uses_seen, true) {
                        repeated(cx, &meta.path);
                    } else {
                        out.uses = ident_list(cx, &expr);
                    }
                } else if meta.path.is_ident("when_full") {
                    when_full_span = meta.path.get_ident().map(Ident::span);
                    let expr: syn::Expr = meta.value()?.parse()?;
                    let example =
                        "`when_full` takes one of \"close\", \"drop\", \"drop_oldest\", \"latest\"";
                    if out.when_full.is_some() {
                        repeated(cx, &meta.path);
                    } else if let Some(lit) = string(cx, &expr, example) {
                        let value = lit.value();
                        match WHEN_FULL.iter().find(|(name, _)| *name == value) {
                            Some(found) => out.when_full = Some(*found),
                            None => {
                                let names: Vec<&str> = WHEN_FULL.iter().map(|(n, _)| *n).collect();
                                let hint = did_you_mean(&value, &names)
                                    .map(|close| format!("; did you mean \"{close}\"?"))
                                    .unwrap_or_default();
                                cx.error_spanned_by(&lit, format!("{example}{hint}"));
                            }
                        }
                    }
                } else if meta.path.is_ident("name") {
                    let expr: syn::Expr = meta.value()?.parse()?;
                    if out.name.is_some() {
                        repeated(cx, &meta.path);
                    } else {
                        out.name = string(
                            cx,
                            &expr,
                            "`name` takes a string, e.g. `name = \"joinRoom\"`",
                        );
                    }
                } else {
                    cx.push(unknown(&meta.path, ITEM_KEYS));
                    return skip_value(&meta);
                }
                Ok(())
            });
            if let Err(err) = result {
                cx.push(err);
            }
        }
        if let Some(span) = uses_span
            && !matches!(
                out.kind,
                ItemKind::Call | ItemKind::Message | ItemKind::Stream
            )
        {
            cx.error_at(
                span,
                "`uses` is for calls, messages and streams: the middleware a route runs",
            );
        }
        if let Some(span) = when_full_span
            && out.kind != ItemKind::Event
        {
            cx.error_at(
                span,
                "`when_full` is for events: what happens when a recipient's queue is full",
            );
        }
        cx.reported_since(start).map(|()| out)
    }
}

/// `#[zocket(from = auth)]` on a route parameter: the middleware whose value
/// it receives. `Err` when the attributes were wrong (all reported).
pub(crate) fn param_source(cx: &Ctxt, attrs: &[Attribute]) -> Result<Option<Ident>, Reported> {
    let start = cx.error_count();
    let mut from = None;
    for attr in attrs {
        if !attr.path().is_ident("zocket") {
            cx.error_spanned_by(
                attr,
                "only `#[zocket(from = middleware)]` is allowed on a route parameter",
            );
            continue;
        }
        let result = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("from") {
                let ident: Ident = meta.value()?.parse()?;
                if from.is_some() {
                    repeated(cx, &meta.path);
                } else {
                    from = Some(ident);
                }
                Ok(())
            } else {
                cx.push(unknown(&meta.path, &["from"]));
                skip_value(&meta)
            }
        });
        if let Err(err) = result {
            cx.push(err);
        }
    }
    cx.reported_since(start).map(|()| from)
}
