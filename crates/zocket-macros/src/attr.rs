//! The macro's arguments and the `#[zocket(...)]` attribute on items.
//! Unknown or repeated keys are errors naming the allowed ones.

use crate::names::did_you_mean;
use proc_macro2::{Span, TokenStream};
use syn::parse::Parser;
use syn::{Attribute, Ident, LitStr, Meta, Token, Type};

/// `#[zocket::router(headers = H, namespace = "chat")]`.
pub(crate) struct RouterArgs {
    pub(crate) headers: Option<Type>,
    pub(crate) namespace: Option<LitStr>,
    /// Middleware that runs before every route.
    pub(crate) middleware: Vec<Ident>,
}

const ROUTER_KEYS: &[&str] = &["headers", "namespace", "middleware"];
const ITEM_KEYS: &[&str] = &["message", "event", "middleware", "nest", "name", "uses"];

/// `[a, b]`: a list of middleware names.
fn ident_list(expr: &syn::Expr) -> syn::Result<Vec<Ident>> {
    let syn::Expr::Array(array) = expr else {
        return Err(syn::Error::new_spanned(
            expr,
            "expected a list of middleware names, e.g. `[auth]`",
        ));
    };
    array
        .elems
        .iter()
        .map(|elem| match elem {
            syn::Expr::Path(p) if p.path.get_ident().is_some() => Ok(p
                .path
                .get_ident()
                .cloned()
                .unwrap_or_else(|| unreachable!())),
            other => Err(syn::Error::new_spanned(
                other,
                "expected the name of a `#[zocket(middleware)]` item",
            )),
        })
        .collect()
}
/// Lint attributes, carried over to the generated items.
pub(crate) const LINTS: &[&str] = &["allow", "expect", "warn", "deny"];

fn unknown(path: &syn::Path, allowed: &[&str]) -> syn::Error {
    let key = path
        .get_ident()
        .map(ToString::to_string)
        .unwrap_or_default();
    let hint = match did_you_mean(&key, allowed) {
        Some(close) => format!("; did you mean `{close}`?"),
        None => String::new(),
    };
    syn::Error::new_spanned(
        path,
        format!(
            "unknown key `{key}`: expected one of `{}`{hint}",
            allowed.join("`, `")
        ),
    )
}

fn repeated(path: &syn::Path) -> syn::Error {
    syn::Error::new_spanned(path, "this key is given twice")
}

impl RouterArgs {
    pub(crate) fn parse(tokens: TokenStream) -> syn::Result<Self> {
        let metas =
            syn::punctuated::Punctuated::<Meta, Token![,]>::parse_terminated.parse2(tokens)?;
        let mut args = Self {
            headers: None,
            namespace: None,
            middleware: Vec::new(),
        };
        let mut seen_middleware = false;
        let mut errors: Option<syn::Error> = None;
        let mut push = |err: syn::Error| match &mut errors {
            Some(all) => all.combine(err),
            None => errors = Some(err),
        };
        for meta in metas {
            let Meta::NameValue(nv) = &meta else {
                push(syn::Error::new_spanned(
                    &meta,
                    format!(
                        "expected `key = value`, one of `{}`",
                        ROUTER_KEYS.join("`, `")
                    ),
                ));
                continue;
            };
            if nv.path.is_ident("headers") {
                if args.headers.is_some() {
                    push(repeated(&nv.path));
                }
                match syn::parse2::<Type>(quote::ToTokens::to_token_stream(&nv.value)) {
                    Ok(ty) => args.headers = Some(ty),
                    Err(err) => push(err),
                }
            } else if nv.path.is_ident("namespace") {
                if args.namespace.is_some() {
                    push(repeated(&nv.path));
                }
                match syn::parse2::<LitStr>(quote::ToTokens::to_token_stream(&nv.value)) {
                    Ok(lit) => args.namespace = Some(lit),
                    Err(_) => push(syn::Error::new_spanned(
                        &nv.value,
                        "`namespace` takes a string, e.g. `namespace = \"chat\"`",
                    )),
                }
            } else if nv.path.is_ident("middleware") {
                if std::mem::replace(&mut seen_middleware, true) {
                    push(repeated(&nv.path));
                }
                match ident_list(&nv.value) {
                    Ok(list) => args.middleware = list,
                    Err(err) => push(err),
                }
            } else {
                push(unknown(&nv.path, ROUTER_KEYS));
            }
        }
        match errors {
            Some(err) => Err(err),
            None => Ok(args),
        }
    }
}

/// What `#[zocket(...)]` says about one item.
#[derive(Default)]
pub(crate) struct ItemAttrs {
    pub(crate) message: Option<Span>,
    pub(crate) event: Option<Span>,
    pub(crate) name: Option<LitStr>,
    /// `#[zocket(middleware)]`: the item declares a middleware.
    pub(crate) middleware: Option<Span>,
    /// `#[zocket(nest)]`: the item nests another router definition.
    pub(crate) nest: Option<Span>,
    /// `#[zocket(uses = [a])]`: middleware this route runs.
    pub(crate) uses: Vec<Ident>,
    pub(crate) docs: Vec<String>,
}

impl ItemAttrs {
    pub(crate) fn parse(attrs: &[Attribute]) -> syn::Result<Self> {
        let mut out = Self::default();
        let mut errors: Option<syn::Error> = None;
        let mut push = |err: syn::Error| match &mut errors {
            Some(all) => all.combine(err),
            None => errors = Some(err),
        };
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
                push(syn::Error::new_spanned(
                    attr,
                    "only `#[zocket(...)]`, doc comments and lint attributes are allowed on router items",
                ));
                continue;
            }
            let result = attr.parse_nested_meta(|meta| {
                let flag = match () {
                    () if meta.path.is_ident("message") => Some(&mut out.message),
                    () if meta.path.is_ident("event") => Some(&mut out.event),
                    () if meta.path.is_ident("middleware") => Some(&mut out.middleware),
                    () if meta.path.is_ident("nest") => Some(&mut out.nest),
                    () => None,
                };
                if let Some(flag) = flag {
                    let span = meta
                        .path
                        .get_ident()
                        .map_or_else(Span::call_site, |i| i.span());
                    if flag.replace(span).is_some() {
                        return Err(repeated(&meta.path));
                    }
                } else if meta.path.is_ident("uses") {
                    let expr: syn::Expr = meta.value()?.parse()?;
                    if !out.uses.is_empty() {
                        return Err(repeated(&meta.path));
                    }
                    out.uses = ident_list(&expr)?;
                } else if meta.path.is_ident("name") {
                    let lit: LitStr = meta.value()?.parse()?;
                    if out.name.replace(lit).is_some() {
                        return Err(repeated(&meta.path));
                    }
                } else {
                    return Err(unknown(&meta.path, ITEM_KEYS));
                }
                Ok(())
            });
            if let Err(err) = result {
                push(err);
            }
        }
        match errors {
            Some(err) => Err(err),
            None => Ok(out),
        }
    }
}

/// `#[zocket(from = auth)]` on a route parameter: the value of a middleware.
pub(crate) fn param_source(attrs: &[Attribute]) -> syn::Result<Option<Ident>> {
    let mut from = None;
    for attr in attrs {
        if !attr.path().is_ident("zocket") {
            return Err(syn::Error::new_spanned(
                attr,
                "only `#[zocket(from = middleware)]` is allowed on a route parameter",
            ));
        }
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("from") {
                let ident: Ident = meta.value()?.parse()?;
                if from.replace(ident).is_some() {
                    return Err(repeated(&meta.path));
                }
                Ok(())
            } else {
                Err(unknown(&meta.path, &["from"]))
            }
        })?;
    }
    Ok(from)
}
