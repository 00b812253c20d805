//! The server trait the application implements, and the router and server
//! builder that call it.

use super::{headers, input_span, input_type};
use crate::ast::{Kind, MiddlewareDef, Output, Route, Router};
use crate::ctxt::Ctxt;
use proc_macro2::{Ident, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

/// The handler method of one route in the server trait.
fn method(route: &Route<'_>) -> TokenStream {
    let ident = &route.ident;
    let docs = &route.doc_attrs;
    let input = route.params.iter().map(|param| {
        let (name, ty) = (&param.ident, &param.ty);
        quote!(, #name: #ty)
    });
    let (output, items, wire) = match (route.kind, &route.output) {
        // A stream's handler sends its items through a sink, and returns
        // how the stream ends.
        (Kind::Stream, output) => {
            let (item, end) = match output {
                Output::Result { ok, err } => {
                    (quote!(#ok), quote!(::core::result::Result<(), #err>))
                }
                Output::Plain(ty) => (quote!(#ty), quote!(())),
                Output::Unit => (quote!(()), quote!(())),
            };
            let wire = format!(
                "Handles the stream `{}`: sends its items through `items` (each waits for the client's credit); returning ends the stream.",
                route.name
            );
            (
                end,
                Some(quote!(, items: ::zocket::StreamSink<#item>)),
                wire,
            )
        }
        (_, Output::Unit) => (quote!(()), None, format!("Handles `{}`.", route.name)),
        (_, Output::Plain(ty)) => (quote!(#ty), None, format!("Handles `{}`.", route.name)),
        (_, Output::Result { ok, err }) => (
            quote!(::core::result::Result<#ok, #err>),
            None,
            format!("Handles `{}`.", route.name),
        ),
    };
    quote! {
        #(#docs)*
        #[doc = ""]
        #[doc = #wire]
        fn #ident(&self, ctx: ::zocket::Ctx<C> #(#input)* #items)
            -> impl ::zocket::__private::Future<Output = #output> + ::core::marker::Send;
    }
}

/// The method of one middleware in the server trait.
fn middleware_method(m: &MiddlewareDef<'_>) -> TokenStream {
    let ident = &m.ident;
    let docs = &m.doc_attrs;
    let output = match &m.output {
        Output::Unit => quote!(()),
        Output::Plain(ty) => quote!(#ty),
        Output::Result { ok, err } => quote!(::core::result::Result<#ok, #err>),
    };
    quote! {
        #(#docs)*
        #[doc = ""]
        #[doc = "Middleware: runs before the handlers that use it; an error refuses the call."]
        fn #ident(&self, ctx: &::zocket::Ctx<C>)
            -> impl ::zocket::__private::Future<Output = #output> + ::core::marker::Send;
    }
}

/// A closure running middleware `index` and storing its value in the call's `Ctx`.
fn middleware_closure(router: &Router<'_>, server_trait: &Ident, index: usize) -> TokenStream {
    let m = &router.middleware[index];
    let ident = &m.ident;
    let call = quote!(<S as #server_trait<C>>::#ident(&server, &ctx));
    let run = match &m.output {
        Output::Unit => quote! { #call.await; },
        Output::Plain(_) => quote! { let value = #call.await; },
        Output::Result { err, .. } => {
            let convert =
                quote_spanned!(err.span()=> ::core::convert::Into::<::zocket::RpcError>::into);
            quote! { let value = #call.await.map_err(#convert)?; }
        }
    };
    let store = m
        .value_type()
        .map(|_| quote! { ctx.insert(__ZocketValue::<#index, _>::new(value)); });
    quote! {{
        let server = server.clone();
        move |mut ctx: ::zocket::Ctx<C>| {
            let server = server.clone();
            async move {
                #run
                #store
                ::core::result::Result::Ok::<_, ::zocket::RpcError>(ctx)
            }
        }
    }}
}

/// The position of middleware `name` among the router's, or an error on
/// the name (which `valid` reports first, so this stays unseen).
fn middleware_index(cx: &Ctxt, router: &Router<'_>, name: &Ident) -> Option<usize> {
    let index = router.middleware.iter().position(|m| m.ident == *name);
    if index.is_none() {
        cx.error_at(
            name.span(),
            format!("no middleware `{name}` in this router"),
        );
    }
    index
}

/// Registration of one route on the router, calling the trait method.
fn register(
    cx: &Ctxt,
    router: &Router<'_>,
    server_trait: &Ident,
    route: &Route<'_>,
) -> TokenStream {
    let ident = &route.ident;
    let name = &route.name;
    let input_ty = input_type(route);
    // The handler's arguments: `input`, or the value of the middleware
    // taken into `__value{i}` (the i-th middleware value).
    let mut values = 0_usize;
    let args: Vec<TokenStream> = route
        .params
        .iter()
        .map(|param| {
            if param.from.is_none() {
                return quote!(input);
            }
            let var = quote::format_ident!("__value{}", values);
            values += 1;
            quote!(#var)
        })
        .collect();
    let stream = route.kind == Kind::Stream;
    let items = stream.then(|| quote!(, items));
    let call = quote!(<S as #server_trait<C>>::#ident(&server, ctx #(, #args)* #items));
    let takes = route.values().enumerate().map(|(i, (value, from))| {
        let var = quote::format_ident!("__value{}", i);
        let index = middleware_index(cx, router, from);
        let ty = &value.ty;
        quote! {
            let ::core::option::Option::Some(#var) = ctx.take::<__ZocketValue<#index, #ty>>().and_then(__ZocketValue::into_inner) else {
                return ::core::result::Result::Err(::zocket::RpcError::internal());
            };
        }
    });
    // Middleware this route runs besides the router's: `uses`, then the
    // sources of its values, each once.
    let mut own: Vec<usize> = Vec::new();
    for name in route
        .uses
        .iter()
        .chain(route.values().map(|(_, from)| from))
    {
        if let Some(index) = middleware_index(cx, router, name)
            && !router.global_middleware.contains(name)
            && !own.contains(&index)
        {
            own.push(index);
        }
    }
    let route_middleware = own.iter().map(|&index| {
        let closure = middleware_closure(router, server_trait, index);
        quote!(let router = router.route_middleware(#name, #closure);)
    });
    let body = match &route.output {
        Output::Plain(_) if stream => quote! {
            #call.await;
            ::core::result::Result::Ok::<(), ::zocket::RpcError>(())
        },
        Output::Unit => quote! {
            #call.await;
            ::core::result::Result::Ok::<(), ::zocket::RpcError>(())
        },
        Output::Plain(ty) => quote! {
            ::core::result::Result::Ok::<#ty, ::zocket::RpcError>(#call.await)
        },
        Output::Result { err, .. } => {
            let convert =
                quote_spanned!(err.span()=> ::core::convert::Into::<::zocket::RpcError>::into);
            quote_spanned!(err.span()=> #call.await.map_err(#convert))
        }
    };
    // A bound the user's input type misses is reported on that type, once
    // (the same error as the assertion's): the method name carries its span.
    let span = input_span(route);
    let method = match route.kind {
        Kind::Call => Ident::new("call", span),
        Kind::Message => Ident::new("message", span),
        Kind::Stream => Ident::new("stream", span),
    };
    let unused = route.input().is_none().then(|| quote!(let _ = input;));
    let mutable = route.values().next().map(|_| quote!(mut));
    let sink = stream.then(|| quote!(, items));
    let handler = quote! {
        move |#mutable ctx: ::zocket::Ctx<C>, input: #input_ty #sink| {
            #unused
            let server = server.clone();
            async move {
                #(#takes)*
                #body
            }
        }
    };
    let register = quote_spanned!(span=> router.#method(#name, #handler));
    quote! {
        let router = {
            let server = server.clone();
            #register
        };
        #(#route_middleware)*
    }
}

/// Bound checks placed on the user's types, so errors point at them.
fn assertions(router: &Router<'_>) -> TokenStream {
    let mut checks = Vec::new();
    if let Some(ty) = &router.headers {
        checks.push(quote_spanned!(ty.span()=> ::zocket::__private::assert_headers::<#ty>();));
    }
    for route in &router.routes {
        if let Some(ty) = route.input().map(|input| &input.ty) {
            checks.push(quote_spanned!(ty.span()=> ::zocket::__private::assert_input::<#ty>();));
        }
        match &route.output {
            Output::Unit => {}
            Output::Plain(ty) => checks
                .push(quote_spanned!(ty.span()=> ::zocket::__private::assert_output::<#ty>();)),
            Output::Result { ok, err } => {
                checks
                    .push(quote_spanned!(ok.span()=> ::zocket::__private::assert_output::<#ok>();));
                checks.push(
                    quote_spanned!(err.span()=> ::zocket::__private::assert_error::<#err>();),
                );
            }
        }
    }
    for m in &router.middleware {
        if let Some(ty) = m.value_type() {
            checks.push(
                quote_spanned!(ty.span()=> ::zocket::__private::assert_middleware_value::<#ty>();),
            );
        }
        if let Output::Result { err, .. } = &m.output {
            checks.push(quote_spanned!(err.span()=> ::zocket::__private::assert_error::<#err>();));
        }
    }
    for route in &router.routes {
        for (value, from) in route.values() {
            let Some(source) = router
                .middleware
                .iter()
                .find(|m| m.ident == *from)
                .and_then(MiddlewareDef::value_type)
            else {
                continue;
            };
            let ty = &value.ty;
            // The handler's parameter has the type its middleware hands over.
            checks.push(quote_spanned!(ty.span()=> let _: fn(#source) -> #ty = |value| value;));
        }
    }
    for event in &router.events {
        let ty = &event.payload;
        checks.push(quote_spanned!(ty.span()=> ::zocket::__private::assert_event::<#ty>();));
    }
    quote! {
        const _: () = { #(#checks)* };
    }
}

/// The server trait and the `router`/`server` constructors.
pub(crate) fn expand(cx: &Ctxt, router: &Router<'_>, server_trait: &Ident) -> TokenStream {
    let vis = &router.vis;
    let ident = &router.ident;
    let headers = headers(router);
    let methods = router.routes.iter().map(method);
    let middleware_methods = router.middleware.iter().map(middleware_method);
    let registrations = router
        .routes
        .iter()
        .map(|route| register(cx, router, server_trait, route));
    let global = router.global_middleware.iter().filter_map(|name| {
        let closure = middleware_closure(router, server_trait, middleware_index(cx, router, name)?);
        Some(quote!(let router = router.middleware(#closure);))
    });
    let nested_traits = router.nested.iter().map(|nest| {
        let path = &nest.server_trait;
        quote!(+ #path<C>)
    });
    let nested_routers = router.nested.iter().map(|nest| {
        let path = &nest.path;
        quote!(let router = router.merge(#path::router_shared::<C, S>(server.clone()));)
    });
    let key = (!router.middleware.is_empty()).then(|| {
        quote! {
            /// A middleware value in the call's `Ctx`, keyed by the middleware;
            /// shared so that the value itself need not be `Clone`.
            struct __ZocketValue<const N: usize, T>(
                ::zocket::__private::Arc<::std::sync::Mutex<::core::option::Option<T>>>,
            );

            impl<const N: usize, T> ::core::clone::Clone for __ZocketValue<N, T> {
                fn clone(&self) -> Self {
                    Self(self.0.clone())
                }
            }

            impl<const N: usize, T> __ZocketValue<N, T> {
                fn new(value: T) -> Self {
                    Self(::zocket::__private::Arc::new(::std::sync::Mutex::new(::core::option::Option::Some(value))))
                }

                fn into_inner(self) -> ::core::option::Option<T> {
                    self.0.lock().ok().and_then(|mut value| value.take())
                }
            }
        }
    });
    let assertions = assertions(router);
    let trait_doc = format!(
        "The handlers of [`{ident}`], for connections whose context is `C`: one async method per route and per middleware. \
         The connection hooks come from [`zocket::Connect`]; [`{ident}::server`] takes both."
    );
    quote! {
        #assertions

        #[doc = #trait_doc]
        #[allow(dead_code)]
        #vis trait #server_trait<C: ::core::marker::Send + ::core::marker::Sync + 'static>:
            ::core::marker::Send + ::core::marker::Sync + ::core::marker::Sized + 'static #(#nested_traits)*
        {
            #(#middleware_methods)*
            #(#methods)*
        }

        #[allow(dead_code)]
        impl #ident {
            /// The routes (nested routers' included), each calling its handler on `server`.
            pub fn router<C, S>(server: S) -> ::zocket::Router<C>
            where
                C: ::core::marker::Send + ::core::marker::Sync + 'static,
                S: #server_trait<C>,
            {
                Self::router_shared(::zocket::__private::Arc::new(server))
            }

            /// Like [`router`](Self::router), for a server already shared:
            /// what a parent definition calls.
            #[doc(hidden)]
            pub fn router_shared<C, S>(server: ::zocket::__private::Arc<S>) -> ::zocket::Router<C>
            where
                C: ::core::marker::Send + ::core::marker::Sync + 'static,
                S: #server_trait<C>,
            {
                #key
                let router = ::zocket::Router::<C>::new();
                #(#global)*
                #(#registrations)*
                #(#nested_routers)*
                router
            }

            /// A server builder with the routes of `server` and its
            /// connection hooks ([`zocket::Connect`]); set limits with
            /// `.config(...)`, then `.build()`.
            pub fn server<S>(server: S) -> ::zocket::ServerBuilder<#headers, <S as ::zocket::Connect<#headers>>::Context>
            where
                S: ::zocket::Connect<#headers> + #server_trait<<S as ::zocket::Connect<#headers>>::Context>,
            {
                let server = ::zocket::__private::Arc::new(server);
                ::zocket::Server::builder(Self::router_shared(server.clone()))
                    .connect_with(server)
                    .schema_hash(Self::schema_hash())
            }

            /// A server builder with the routes of `server`, every
            /// connection starting with a clone of `context` (no
            /// [`zocket::Connect`] hooks needed; add hooks on the
            /// builder); see [`zocket::ServerBuilder::context`].
            pub fn server_with_context<S, C, T>(server: S, context: T) -> ::zocket::ServerBuilder<#headers, C>
            where
                S: #server_trait<C>,
                C: ::core::marker::Send + ::core::marker::Sync + 'static,
                T: ::core::convert::Into<C> + ::core::clone::Clone + ::core::marker::Send + ::core::marker::Sync + 'static,
            {
                let server = ::zocket::__private::Arc::new(server);
                ::zocket::Server::builder(Self::router_shared(server))
                    .context(context)
                    .schema_hash(Self::schema_hash())
            }
        }
    }
}
