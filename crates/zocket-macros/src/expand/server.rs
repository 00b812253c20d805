//! The server trait the application implements, and the router and server
//! builder that call it.

use super::{headers, unit};
use crate::ast::{Kind, Output, Route, Router};
use proc_macro2::{Ident, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

/// The handler method of one route in the server trait.
fn method(route: &Route) -> TokenStream {
    let ident = &route.ident;
    let docs = &route.doc_attrs;
    let input = route.input.as_ref().map(|(name, ty)| quote!(, #name: #ty));
    let output = match &route.output {
        Output::Unit => quote!(()),
        Output::Plain(ty) => quote!(#ty),
        Output::Result { ok, err } => quote!(::core::result::Result<#ok, #err>),
    };
    let wire = format!("Handles `{}`.", route.name);
    quote! {
        #(#docs)*
        #[doc = ""]
        #[doc = #wire]
        fn #ident(&self, ctx: ::zocket::Ctx<Self::Context> #input)
            -> impl ::zocket::__private::Future<Output = #output> + ::core::marker::Send;
    }
}

/// Registration of one route on the router, calling the trait method.
fn register(route: &Route) -> TokenStream {
    let ident = &route.ident;
    let name = &route.name;
    let (input_ty, args) = match &route.input {
        Some((_, ty)) => (quote!(#ty), quote!(ctx, input)),
        None => {
            let unit = unit();
            (quote!(#unit), quote!(ctx))
        }
    };
    let body = match &route.output {
        Output::Unit => quote! {
            server.#ident(#args).await;
            ::core::result::Result::Ok::<(), ::zocket::RpcError>(())
        },
        Output::Plain(ty) => quote! {
            ::core::result::Result::Ok::<#ty, ::zocket::RpcError>(server.#ident(#args).await)
        },
        Output::Result { .. } => quote!(server.#ident(#args).await),
    };
    let method = match route.kind {
        Kind::Call => quote!(call),
        Kind::Message => quote!(message),
    };
    let unused = route.input.is_none().then(|| quote!(let _ = input;));
    quote! {
        let router = {
            let server = server.clone();
            router.#method(#name, move |ctx: ::zocket::Ctx<S::Context>, input: #input_ty| {
                #unused
                let server = server.clone();
                async move { #body }
            })
        };
    }
}

/// Bound checks placed on the user's types, so errors point at them.
fn assertions(router: &Router) -> TokenStream {
    let mut checks = Vec::new();
    if let Some(ty) = &router.headers {
        checks.push(quote_spanned!(ty.span()=> ::zocket::__private::assert_headers::<#ty>();));
    }
    for route in &router.routes {
        if let Some((_, ty)) = &route.input {
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
    for event in &router.events {
        let ty = &event.payload;
        checks.push(quote_spanned!(ty.span()=> ::zocket::__private::assert_event::<#ty>();));
    }
    quote! {
        const _: () = { #(#checks)* };
    }
}

pub(crate) fn expand(router: &Router, server_trait: &Ident) -> TokenStream {
    let vis = &router.vis;
    let ident = &router.ident;
    let headers = headers(router);
    let methods = router.routes.iter().map(method);
    let registrations = router.routes.iter().map(register);
    let assertions = assertions(router);
    let trait_doc = format!(
        "What an application implements to serve [`{ident}`]: the context type, the connection hooks, and one async handler per route."
    );
    quote! {
        #assertions

        #[doc = #trait_doc]
        #vis trait #server_trait: ::core::marker::Send + ::core::marker::Sync + ::core::marker::Sized + 'static {
            /// Each connection's context, built by `on_connect` and given to every handler.
            type Context: ::core::marker::Send + ::core::marker::Sync + 'static;

            /// Builds a connection's context from the validated headers and
            /// the client id. Runs after the upgrade; an error closes the
            /// socket with its code (4000-4999) and reason.
            fn on_connect(&self, headers: ::zocket::__private::Arc<#headers>, client_id: ::zocket::ClientId)
                -> impl ::zocket::__private::Future<Output = ::core::result::Result<Self::Context, ::zocket::Close>> + ::core::marker::Send;

            /// Runs before the upgrade, after header validation; an error is
            /// the HTTP response. Accepts everyone by default.
            fn on_before_connect(&self, _headers: ::zocket::__private::Arc<#headers>)
                -> impl ::zocket::__private::Future<Output = ::core::result::Result<(), ::zocket::Reject>> + ::core::marker::Send {
                async { ::core::result::Result::Ok(()) }
            }

            /// Runs once a connection has ended. Does nothing by default.
            fn on_disconnect(&self, _connection: ::zocket::Connection<Self::Context>, _reason: ::zocket::DisconnectReason)
                -> impl ::zocket::__private::Future<Output = ()> + ::core::marker::Send {
                async {}
            }

            #(#methods)*
        }

        impl #ident {
            /// The routes, each calling its handler on `server`.
            pub fn router<S: #server_trait>(server: S) -> ::zocket::Router<S::Context> {
                Self::router_shared(::zocket::__private::Arc::new(server))
            }

            /// Like [`router`](Self::router), for a server already shared.
            pub fn router_shared<S: #server_trait>(server: ::zocket::__private::Arc<S>) -> ::zocket::Router<S::Context> {
                let router = ::zocket::Router::<S::Context>::new();
                #(#registrations)*
                router
            }

            /// A server builder with the routes and the connection hooks of
            /// `server`; set limits with `.config(...)`, then `.build()`.
            pub fn server<S: #server_trait>(server: S) -> ::zocket::ServerBuilder<#headers, S::Context> {
                let server = ::zocket::__private::Arc::new(server);
                let (before, connect, disconnect) = (server.clone(), server.clone(), server.clone());
                ::zocket::Server::<#headers, S::Context>::builder(Self::router_shared(server))
                    .on_before_connect(move |headers| {
                        let server = before.clone();
                        async move { server.on_before_connect(headers).await }
                    })
                    .on_connect(move |headers, client_id| {
                        let server = connect.clone();
                        async move { server.on_connect(headers, client_id).await }
                    })
                    .on_disconnect(move |connection, reason| {
                        let server = disconnect.clone();
                        async move { server.on_disconnect(connection, reason).await }
                    })
            }
        }
    }
}
