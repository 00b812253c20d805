//! The model of a router definition, parsed from the user's trait.

use crate::attr::{ItemAttrs, RouterArgs};
use crate::names::camel_case;
use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{FnArg, Ident, ItemTrait, Pat, ReturnType, TraitItem, Type, Visibility};

pub(crate) struct Router {
    pub(crate) vis: Visibility,
    pub(crate) ident: Ident,
    pub(crate) docs: Vec<syn::Attribute>,
    pub(crate) headers: Option<Type>,
    pub(crate) routes: Vec<Route>,
    pub(crate) events: Vec<EventDef>,
    pub(crate) middleware: Vec<MiddlewareDef>,
    /// Middleware that runs before every route, in order.
    pub(crate) global_middleware: Vec<Ident>,
    /// Router definitions nested in this one.
    pub(crate) nested: Vec<NestDef>,
}

/// `#[zocket(nest)] fn users() -> Users;`: another definition's routes and
/// events, under their own names, served by the same implementation.
pub(crate) struct NestDef {
    /// The accessor on the typed client.
    pub(crate) ident: Ident,
    /// The nested definition (`Users`).
    pub(crate) path: syn::Path,
    /// Its handlers' trait (`UsersServer`).
    pub(crate) server_trait: syn::Path,
    /// Its typed client (`UsersClient`).
    pub(crate) client: syn::Path,
}

fn with_suffix(path: &syn::Path, suffix: &str) -> syn::Path {
    let mut path = path.clone();
    if let Some(last) = path.segments.last_mut() {
        last.ident = quote::format_ident!("{}{}", last.ident, suffix, span = last.ident.span());
    }
    path
}

/// `#[zocket(middleware)] async fn auth() -> Result<User, E>;`: runs before
/// the routes that use it, may refuse, and hands its value to handlers.
pub(crate) struct MiddlewareDef {
    pub(crate) ident: Ident,
    pub(crate) output: Output,
    pub(crate) doc_attrs: Vec<syn::Attribute>,
}

impl MiddlewareDef {
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

/// A route parameter filled by a middleware: `#[zocket(from = auth)] user: User`.
pub(crate) struct ValueParam {
    pub(crate) ident: Ident,
    pub(crate) ty: Type,
    pub(crate) from: Ident,
}

/// One parameter of a route's handler, in declaration order.
pub(crate) enum Param {
    Input,
    Value(usize),
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Call,
    Message,
}

pub(crate) struct Route {
    pub(crate) ident: Ident,
    pub(crate) kind: Kind,
    /// The wire name, namespace included.
    pub(crate) name: String,
    /// Where the name comes from: the `name = "..."` literal or the ident.
    pub(crate) name_span: Span,
    pub(crate) input: Option<(Ident, Type)>,
    /// Parameters filled by middleware.
    pub(crate) values: Vec<ValueParam>,
    /// The handler's parameters after `ctx`, in declaration order.
    pub(crate) params: Vec<Param>,
    /// Middleware named by `#[zocket(uses = [...])]`.
    pub(crate) uses: Vec<Ident>,
    pub(crate) output: Output,
    pub(crate) docs: String,
    pub(crate) doc_attrs: Vec<syn::Attribute>,
}

pub(crate) struct EventDef {
    pub(crate) ident: Ident,
    pub(crate) name: String,
    pub(crate) name_span: Span,
    pub(crate) payload: Type,
    pub(crate) docs: String,
    pub(crate) doc_attrs: Vec<syn::Attribute>,
}

pub(crate) enum Output {
    /// No return type: `null`.
    Unit,
    /// `-> T`: the handler cannot fail.
    Plain(Box<Type>),
    /// `-> Result<T, E>`.
    Result { ok: Box<Type>, err: Box<Type> },
}

impl Route {
    /// The type of a successful reply, when there is one besides `()`.
    pub(crate) fn output_type(&self) -> Option<&Type> {
        match &self.output {
            Output::Unit => None,
            Output::Plain(ty) => Some(ty),
            Output::Result { ok, .. } => Some(ok),
        }
    }
}

/// Collects errors so that one pass reports them all.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, err: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(err),
            None => self.0 = Some(err),
        }
    }

    pub(crate) fn at(&mut self, span: Span, message: impl std::fmt::Display) {
        self.push(syn::Error::new(span, message));
    }

    pub(crate) fn finish(self) -> syn::Result<()> {
        match self.0 {
            Some(err) => Err(err),
            None => Ok(()),
        }
    }
}

fn output_of(ret: &ReturnType) -> Output {
    let ReturnType::Type(_, ty) = ret else {
        return Output::Unit;
    };
    if let Type::Tuple(t) = &**ty
        && t.elems.is_empty()
    {
        return Output::Unit;
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
        return Output::Result {
            ok: Box::new(ok.clone()),
            err: Box::new(err.clone()),
        };
    }
    Output::Plain(ty.clone())
}

impl Router {
    pub(crate) fn from_trait(args: RouterArgs, item: &ItemTrait) -> syn::Result<Self> {
        let mut errors = Errors::default();
        if !item.generics.params.is_empty() || item.generics.where_clause.is_some() {
            errors.at(
                item.generics.span(),
                "a router definition cannot be generic",
            );
        }
        if let Some(colon) = &item.colon_token {
            errors.at(colon.span, "a router definition cannot have supertraits");
        }
        if let Some(unsafety) = &item.unsafety {
            errors.at(unsafety.span, "a router definition cannot be `unsafe`");
        }
        let namespace = args.namespace.as_ref().map(|lit| (lit.value(), lit.span()));
        if let Some((ns, span)) = &namespace
            && (ns.is_empty() || ns.starts_with('.') || ns.ends_with('.'))
        {
            errors.at(
                *span,
                "a namespace is a non-empty dot-separated path, e.g. `chat` or `admin.users`",
            );
        }
        let qualify = |name: String| match &namespace {
            Some((ns, _)) => format!("{ns}.{name}"),
            None => name,
        };
        let mut routes = Vec::new();
        let mut events = Vec::new();
        let mut middleware = Vec::new();
        let mut nested = Vec::new();
        for trait_item in &item.items {
            let TraitItem::Fn(f) = trait_item else {
                errors.at(trait_item.span(), "a router definition holds only `async fn` routes and `#[zocket(event)] fn` events");
                continue;
            };
            let attrs = match ItemAttrs::parse(&f.attrs) {
                Ok(attrs) => attrs,
                Err(err) => {
                    errors.push(err);
                    continue;
                }
            };
            let doc_attrs: Vec<syn::Attribute> = f
                .attrs
                .iter()
                .filter(|a| {
                    a.path().is_ident("doc")
                        || crate::attr::LINTS.iter().any(|l| a.path().is_ident(l))
                })
                .cloned()
                .collect();
            let docs = attrs.docs.join("\n");
            let sig = &f.sig;
            if let Some(body) = &f.default {
                errors.at(body.span(), "router items are declarations: remove the body (handlers go in the server impl)");
            }
            if !sig.generics.params.is_empty() {
                errors.at(sig.generics.span(), "routes and events cannot be generic");
            }
            let (name, name_span) = match &attrs.name {
                Some(lit) => (lit.value(), lit.span()),
                None => (camel_case(&sig.ident.to_string()), sig.ident.span()),
            };
            let name = qualify(name);
            let mut typed = Vec::new();
            for input in &sig.inputs {
                match input {
                    FnArg::Receiver(recv) => {
                        if recv.reference.is_none() || recv.mutability.is_some() {
                            errors.at(recv.span(), "a route takes `&self` (or no receiver)");
                        } else if attrs.event.is_some() {
                            errors.at(
                                recv.span(),
                                "an event has no receiver: write `fn name(payload: Type);`",
                            );
                        }
                    }
                    FnArg::Typed(pat) => typed.push(pat),
                }
            }
            let kinds = [attrs.message, attrs.event, attrs.middleware, attrs.nest];
            if let Some(second) = kinds.iter().flatten().nth(1) {
                errors.at(
                    *second,
                    "an item is one of `message`, `event`, `middleware` or `nest`",
                );
                continue;
            }
            if attrs.nest.is_some() {
                if let Some(asyncness) = &sig.asyncness {
                    errors.at(
                        asyncness.span,
                        "a nested router is not a handler: remove `async`",
                    );
                }
                if let Some(param) = typed.first() {
                    errors.at(param.span(), "a nested router takes no parameters");
                }
                if let Some(name) = &attrs.name {
                    errors.at(name.span(), "a nested router keeps the names of its own definition (set its `namespace`)");
                }
                match &sig.output {
                    ReturnType::Type(_, ty) => match &**ty {
                        Type::Path(p)
                            if p.qself.is_none()
                                && p.path.segments.iter().all(|s| s.arguments.is_none()) =>
                        {
                            nested.push(NestDef {
                                ident: sig.ident.clone(),
                                server_trait: with_suffix(&p.path, "Server"),
                                client: with_suffix(&p.path, "Client"),
                                path: p.path.clone(),
                            });
                        }
                        other => errors.at(
                            other.span(),
                            "expected the name of another `#[zocket::router]` definition",
                        ),
                    },
                    ReturnType::Default => errors.at(
                        sig.paren_token.span.join(),
                        "name the nested definition as the return type: `fn users() -> Users;`",
                    ),
                }
                continue;
            }
            if attrs.middleware.is_some() {
                if sig.asyncness.is_none() {
                    errors.at(sig.fn_token.span, "middleware is async: write `async fn`");
                }
                if let Some(param) = typed.first() {
                    errors.at(
                        param.span(),
                        "middleware takes no parameters: it receives the call's `Ctx`",
                    );
                }
                if let Some(name) = &attrs.name {
                    errors.at(name.span(), "middleware has no wire name");
                }
                middleware.push(MiddlewareDef {
                    ident: sig.ident.clone(),
                    output: output_of(&sig.output),
                    doc_attrs,
                });
                continue;
            }
            if attrs.event.is_some() {
                if let Some(asyncness) = &sig.asyncness {
                    errors.at(asyncness.span, "an event is not a handler: remove `async`");
                }
                if let ReturnType::Type(arrow, _) = &sig.output {
                    errors.at(
                        arrow.span(),
                        "an event returns nothing: its payload is its only parameter",
                    );
                }
                match typed.as_slice() {
                    [payload] => events.push(EventDef {
                        ident: sig.ident.clone(),
                        name,
                        name_span,
                        payload: (*payload.ty).clone(),
                        docs,
                        doc_attrs,
                    }),
                    _ => errors.at(
                        sig.paren_token.span.join(),
                        "an event takes exactly one parameter: its payload",
                    ),
                }
                continue;
            }
            if sig.asyncness.is_none() {
                errors.at(
                    sig.fn_token.span,
                    "route handlers are async: write `async fn`",
                );
            }
            let mut input = None;
            let mut values = Vec::new();
            let mut params = Vec::new();
            for param in &typed {
                let ident = match &*param.pat {
                    Pat::Ident(p) => p.ident.clone(),
                    _ => Ident::new("input", param.pat.span()),
                };
                match crate::attr::param_source(&param.attrs) {
                    Err(err) => errors.push(err),
                    Ok(Some(from)) => {
                        params.push(Param::Value(values.len()));
                        values.push(ValueParam {
                            ident,
                            ty: (*param.ty).clone(),
                            from,
                        });
                    }
                    Ok(None) if input.is_some() => errors.at(
                        param.span(),
                        "a route takes at most one input: put several values in one struct, or mark a middleware value with `#[zocket(from = middleware)]`",
                    ),
                    Ok(None) => {
                        params.push(Param::Input);
                        input = Some((ident, (*param.ty).clone()));
                    }
                }
            }
            let kind = if attrs.message.is_some() {
                Kind::Message
            } else {
                Kind::Call
            };
            let output = output_of(&sig.output);
            if kind == Kind::Message
                && let Some(ty) = match &output {
                    Output::Unit => None,
                    Output::Plain(ty) => Some(&**ty),
                    Output::Result { ok, .. } => Some(&**ok),
                }
                && !matches!(ty, Type::Tuple(t) if t.elems.is_empty())
            {
                errors.at(
                    ty.span(),
                    "a message has no reply: return nothing or `Result<(), E>`",
                );
            }
            routes.push(Route {
                ident: sig.ident.clone(),
                kind,
                name,
                name_span,
                input,
                values,
                params,
                uses: attrs.uses,
                output,
                docs,
                doc_attrs,
            });
        }
        errors.finish()?;
        Ok(Self {
            vis: item.vis.clone(),
            ident: item.ident.clone(),
            docs: item
                .attrs
                .iter()
                .filter(|a| a.path().is_ident("doc"))
                .cloned()
                .collect(),
            headers: args.headers,
            routes,
            events,
            middleware,
            global_middleware: args.middleware,
            nested,
        })
    }
}
