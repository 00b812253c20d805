//! The model of a router definition, parsed from the user's trait.
//!
//! Parsing reads the shape of each item and goes on after a mistake: an
//! item whose attributes or shape are wrong is reported and left out of the
//! model (its name kept in [`Router::skipped`]), and the other items are
//! parsed as usual. The rules a well-shaped item must follow (async or not,
//! receivers, names, middleware references, ...) are checked by `valid`,
//! which reads the user's syntax through each model item's `original`.

use crate::attr::{ItemAttrs, ItemKind, LINTS, RouterArgs, param_source};
use crate::ctxt::{Ctxt, Reported};
use crate::names::camel_case;
use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{
    Attribute, FnArg, Ident, ItemTrait, LitStr, Pat, PatType, ReturnType, Signature, TraitItem,
    TraitItemFn, Type, Visibility,
};

/// A router definition: the trait and what its items declare.
pub(crate) struct Router<'a> {
    /// The user's trait.
    pub(crate) original: &'a ItemTrait,
    /// The trait's visibility, given to everything generated.
    pub(crate) vis: Visibility,
    /// The trait's name, given to the generated unit struct.
    pub(crate) ident: Ident,
    /// The trait's doc comment.
    pub(crate) docs: Vec<Attribute>,
    /// `headers = H`.
    pub(crate) headers: Option<Type>,
    /// `namespace = "..."`, already part of every route and event name.
    pub(crate) namespace: Option<LitStr>,
    /// Calls and messages, in declaration order.
    pub(crate) routes: Vec<Route<'a>>,
    /// Events, in declaration order.
    pub(crate) events: Vec<EventDef<'a>>,
    /// Middleware, in declaration order.
    pub(crate) middleware: Vec<MiddlewareDef<'a>>,
    /// Middleware that runs before every route, in order.
    pub(crate) global_middleware: Vec<Ident>,
    /// Router definitions nested in this one.
    pub(crate) nested: Vec<NestDef<'a>>,
    /// Items left out because of an error already reported: references to
    /// them (`uses = [auth]`) are not reported a second time.
    pub(crate) skipped: Vec<&'a Ident>,
}

/// `#[zocket(nest)] fn users() -> Users;`: another definition's routes and
/// events, under their own names, served by the same implementation.
pub(crate) struct NestDef<'a> {
    /// The user's item.
    pub(crate) original: &'a TraitItemFn,
    /// The accessor on the typed client.
    pub(crate) ident: Ident,
    /// The nested definition (`Users`).
    pub(crate) path: syn::Path,
    /// Its handlers' trait (`UsersServer`).
    pub(crate) server_trait: syn::Path,
    /// Its typed client (`UsersClient`).
    pub(crate) client: syn::Path,
    /// A `name = "..."` given anyway (`valid` rejects it).
    pub(crate) wire_name: Option<LitStr>,
}

/// `#[zocket(middleware)] async fn auth() -> Result<User, E>;`: runs before
/// the routes that use it, may refuse, and hands its value to handlers.
pub(crate) struct MiddlewareDef<'a> {
    /// The user's item.
    pub(crate) original: &'a TraitItemFn,
    /// Its name, as `uses = [...]` and `from = ...` write it.
    pub(crate) ident: Ident,
    /// What it returns.
    pub(crate) output: Output,
    /// Doc comments and lint attributes, carried over.
    pub(crate) doc_attrs: Vec<Attribute>,
    /// A `name = "..."` given anyway (`valid` rejects it).
    pub(crate) wire_name: Option<LitStr>,
}

impl MiddlewareDef<'_> {
    /// The type of the value it hands to handlers, if any.
    pub(crate) fn value_type(&self) -> Option<&Type> {
        match &self.output {
            Output::Unit => None,
            Output::Plain(ty) => Some(ty),
            Output::Result { ok, .. } => Some(ok)
                .filter(|ty| !matches!(&***ty, Type::Tuple(t) if t.elems.is_empty()))
                .map(|t| &**t),
        }
    }
}

/// One parameter of a route's handler after `ctx`.
pub(crate) struct Param<'a> {
    /// The user's parameter.
    pub(crate) original: &'a PatType,
    /// Its name (`input` when it is a pattern).
    pub(crate) ident: Ident,
    /// Its type.
    pub(crate) ty: Type,
    /// `#[zocket(from = auth)]`: the middleware whose value it receives;
    /// `None` for the route's input.
    pub(crate) from: Option<Ident>,
}

/// Whether a route answers.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A request with a reply.
    Call,
    /// A request without a reply.
    Message,
    /// A request answered with items, then a reply that ends them.
    Stream,
}

/// A call or a message.
pub(crate) struct Route<'a> {
    /// The user's item.
    pub(crate) original: &'a TraitItemFn,
    /// The handler's name.
    pub(crate) ident: Ident,
    /// Call or message.
    pub(crate) kind: Kind,
    /// The wire name, namespace included.
    pub(crate) name: String,
    /// Where the name comes from: the `name = "..."` literal or the ident.
    pub(crate) name_span: Span,
    /// The handler's parameters after `ctx`, in declaration order: the
    /// input (at most one, checked by `valid`) and middleware values.
    pub(crate) params: Vec<Param<'a>>,
    /// Middleware named by `#[zocket(uses = [...])]`.
    pub(crate) uses: Vec<Ident>,
    /// What the handler returns.
    pub(crate) output: Output,
    /// The doc comment, for the schema.
    pub(crate) docs: String,
    /// Doc comments and lint attributes, carried over.
    pub(crate) doc_attrs: Vec<Attribute>,
}

impl Route<'_> {
    /// The type of a successful reply, when there is one besides `()`.
    pub(crate) fn output_type(&self) -> Option<&Type> {
        match &self.output {
            Output::Unit => None,
            Output::Plain(ty) => Some(ty),
            Output::Result { ok, .. } => Some(ok),
        }
    }

    /// The route's input: its parameter without `from`.
    pub(crate) fn input(&self) -> Option<&Param<'_>> {
        self.params.iter().find(|p| p.from.is_none())
    }

    /// The parameters filled by middleware, each with its middleware.
    pub(crate) fn values(&self) -> impl Iterator<Item = (&Param<'_>, &Ident)> {
        self.params
            .iter()
            .filter_map(|p| p.from.as_ref().map(|from| (p, from)))
    }
}

/// `#[zocket(event)] fn name(payload: T);`: sent by the server.
pub(crate) struct EventDef<'a> {
    /// The user's item.
    pub(crate) original: &'a TraitItemFn,
    /// The sender's method.
    pub(crate) ident: Ident,
    /// The wire name, namespace included.
    pub(crate) name: String,
    /// Where the name comes from: the `name = "..."` literal or the ident.
    pub(crate) name_span: Span,
    /// The payload's type.
    pub(crate) payload: Type,
    /// The doc comment, for the schema.
    pub(crate) docs: String,
    /// Doc comments and lint attributes, carried over.
    pub(crate) doc_attrs: Vec<Attribute>,
    /// `when_full = "..."`: its name and the `zocket::WhenFull` variant.
    pub(crate) when_full: Option<(&'static str, &'static str)>,
}

/// What a handler or middleware returns.
pub(crate) enum Output {
    /// No return type: `null`.
    Unit,
    /// `-> T`: the handler cannot fail.
    Plain(Box<Type>),
    /// `-> Result<T, E>`.
    Result {
        /// The reply.
        ok: Box<Type>,
        /// The error, turned into an `RpcError`.
        err: Box<Type>,
    },
}

impl Output {
    /// Reads a return type.
    fn of(ret: &ReturnType) -> Self {
        let ReturnType::Type(_, ty) = ret else {
            return Self::Unit;
        };
        if let Type::Tuple(t) = &**ty
            && t.elems.is_empty()
        {
            return Self::Unit;
        }
        if let Type::Path(path) = &**ty
            && path.qself.is_none()
            && let Some(last) = path.path.segments.last()
            && last.ident == "Result"
            && let syn::PathArguments::AngleBracketed(args) = &last.arguments
            && args.args.len() == 2
            && let (Some(syn::GenericArgument::Type(ok)), Some(syn::GenericArgument::Type(err))) =
                (args.args.first(), args.args.last())
        {
            return Self::Result {
                ok: Box::new(ok.clone()),
                err: Box::new(err.clone()),
            };
        }
        Self::Plain(ty.clone())
    }
}

/// The typed parameters of a signature (the receiver left out).
pub(crate) fn typed_params(sig: &Signature) -> impl Iterator<Item = &PatType> {
    sig.inputs.iter().filter_map(|input| match input {
        FnArg::Typed(pat) => Some(pat),
        FnArg::Receiver(_) => None,
    })
}

/// `path` with `suffix` added to its last segment: `a::Users` → `a::UsersServer`.
fn with_suffix(path: &syn::Path, suffix: &str) -> syn::Path {
    let mut path = path.clone();
    if let Some(last) = path.segments.last_mut() {
        last.ident = quote::format_ident!("{}{}", last.ident, suffix, span = last.ident.span());
    }
    path
}

/// Doc comments and lint attributes: what generated items carry over.
fn doc_attrs(f: &TraitItemFn) -> Vec<Attribute> {
    f.attrs
        .iter()
        .filter(|a| a.path().is_ident("doc") || LINTS.iter().any(|l| a.path().is_ident(l)))
        .cloned()
        .collect()
}

impl<'a> Router<'a> {
    /// Parses the trait's items into the model, reporting every item that
    /// cannot be read and leaving it out.
    pub(crate) fn from_trait(cx: &Ctxt, args: RouterArgs, item: &'a ItemTrait) -> Self {
        let mut router = Self {
            original: item,
            vis: item.vis.clone(),
            ident: item.ident.clone(),
            docs: item
                .attrs
                .iter()
                .filter(|a| a.path().is_ident("doc"))
                .cloned()
                .collect(),
            headers: args.headers,
            namespace: args.namespace,
            routes: Vec::new(),
            events: Vec::new(),
            middleware: Vec::new(),
            global_middleware: args.middleware,
            nested: Vec::new(),
            skipped: Vec::new(),
        };
        for trait_item in &item.items {
            let TraitItem::Fn(f) = trait_item else {
                cx.error_at(
                    trait_item.span(),
                    "a router definition holds only `async fn` routes and `#[zocket(event)] fn` events",
                );
                continue;
            };
            if router.add_item(cx, f).is_err() {
                router.skipped.push(&f.sig.ident);
            }
        }
        router
    }

    /// Parses one item into the list of its kind.
    fn add_item(&mut self, cx: &Ctxt, f: &'a TraitItemFn) -> Result<(), Reported> {
        let attrs = ItemAttrs::parse(cx, &f.attrs)?;
        match attrs.kind {
            ItemKind::Call => self.routes.push(self.route(cx, f, attrs, Kind::Call)),
            ItemKind::Message => self.routes.push(self.route(cx, f, attrs, Kind::Message)),
            ItemKind::Stream => self.routes.push(self.route(cx, f, attrs, Kind::Stream)),
            ItemKind::Event => self.events.push(self.event(cx, f, attrs)?),
            ItemKind::Middleware => self.middleware.push(MiddlewareDef {
                original: f,
                ident: f.sig.ident.clone(),
                output: Output::of(&f.sig.output),
                doc_attrs: doc_attrs(f),
                wire_name: attrs.name,
            }),
            ItemKind::Nest => self.nested.push(nest(cx, f, attrs)?),
        }
        Ok(())
    }

    /// The wire name of an item: `name = "..."` or the camelCase ident,
    /// under the namespace; and where it comes from.
    fn wire_name(&self, f: &TraitItemFn, attrs: &ItemAttrs) -> (String, Span) {
        let (name, span) = match &attrs.name {
            Some(lit) => (lit.value(), lit.span()),
            None => (camel_case(&f.sig.ident.to_string()), f.sig.ident.span()),
        };
        match &self.namespace {
            Some(ns) => (format!("{}.{name}", ns.value()), span),
            None => (name, span),
        }
    }

    /// A call or message; a parameter with a bad attribute is reported and
    /// left out.
    fn route(&self, cx: &Ctxt, f: &'a TraitItemFn, attrs: ItemAttrs, kind: Kind) -> Route<'a> {
        let (name, name_span) = self.wire_name(f, &attrs);
        let params = typed_params(&f.sig)
            .filter_map(|param| {
                let from = param_source(cx, &param.attrs).ok()?;
                let ident = match &*param.pat {
                    Pat::Ident(p) => p.ident.clone(),
                    _ => Ident::new("input", param.pat.span()),
                };
                Some(Param {
                    original: param,
                    ident,
                    ty: (*param.ty).clone(),
                    from,
                })
            })
            .collect();
        Route {
            original: f,
            ident: f.sig.ident.clone(),
            kind,
            name,
            name_span,
            params,
            uses: attrs.uses,
            output: Output::of(&f.sig.output),
            docs: attrs.docs.join("\n"),
            doc_attrs: doc_attrs(f),
        }
    }

    /// An event: exactly one parameter, its payload.
    fn event(
        &self,
        cx: &Ctxt,
        f: &'a TraitItemFn,
        attrs: ItemAttrs,
    ) -> Result<EventDef<'a>, Reported> {
        let mut params = typed_params(&f.sig);
        let (Some(payload), None) = (params.next(), params.next()) else {
            cx.error_at(
                f.sig.paren_token.span.join(),
                "an event takes exactly one parameter: its payload",
            );
            return Err(Reported);
        };
        let (name, name_span) = self.wire_name(f, &attrs);
        Ok(EventDef {
            original: f,
            ident: f.sig.ident.clone(),
            name,
            name_span,
            payload: (*payload.ty).clone(),
            docs: attrs.docs.join("\n"),
            doc_attrs: doc_attrs(f),
            when_full: attrs.when_full,
        })
    }
}

/// A nested definition: its return type names it.
fn nest<'a>(cx: &Ctxt, f: &'a TraitItemFn, attrs: ItemAttrs) -> Result<NestDef<'a>, Reported> {
    let ty = match &f.sig.output {
        ReturnType::Type(_, ty) => ty,
        ReturnType::Default => {
            cx.error_at(
                f.sig.paren_token.span.join(),
                "name the nested definition as the return type: `fn users() -> Users;`",
            );
            return Err(Reported);
        }
    };
    match &**ty {
        Type::Path(p)
            if p.qself.is_none() && p.path.segments.iter().all(|s| s.arguments.is_none()) =>
        {
            Ok(NestDef {
                original: f,
                ident: f.sig.ident.clone(),
                server_trait: with_suffix(&p.path, "Server"),
                client: with_suffix(&p.path, "Client"),
                path: p.path.clone(),
                wire_name: attrs.name,
            })
        }
        other => {
            cx.error_at(
                other.span(),
                "expected the name of another `#[zocket::router]` definition",
            );
            Err(Reported)
        }
    }
}
