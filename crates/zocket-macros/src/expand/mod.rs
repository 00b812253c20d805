//! Code generation: the server trait and router (`server`), the typed
//! event sender (`events`) and the API schema (`schema`). Everything is
//! reached through `::zocket` paths, so the user needs no other import.

mod client;
mod events;
mod schema;
mod server;

use crate::ast::{Output, Route, Router};
use crate::ctxt::Ctxt;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

/// The header type: the one given, or `::zocket::NoHeaders`.
fn headers(router: &Router) -> TokenStream {
    match &router.headers {
        Some(ty) => quote!(#ty),
        None => quote!(::zocket::NoHeaders),
    }
}

/// The type a handler's output is serialized from.
fn output_ok(output: &Output) -> TokenStream {
    match output {
        Output::Unit => quote!(()),
        Output::Plain(ty) => quote!(#ty),
        Output::Result { ok, .. } => quote!(#ok),
    }
}

/// A route's input type; `()` when it takes none.
fn input_type(route: &Route<'_>) -> TokenStream {
    match route.input() {
        Some(input) => {
            let ty = &input.ty;
            quote!(#ty)
        }
        None => quote!(()),
    }
}

/// Where errors about a route's input belong: on the user's input type.
fn input_span(route: &Route<'_>) -> proc_macro2::Span {
    use syn::spanned::Spanned;
    route
        .input()
        .map_or_else(proc_macro2::Span::call_site, |input| input.ty.span())
}

/// Everything the macro generates for a definition that broke no rule;
/// `cx` takes what expansion still finds wrong.
pub(crate) fn router(cx: &Ctxt, router: &Router<'_>) -> TokenStream {
    let vis = &router.vis;
    let ident = &router.ident;
    let docs = &router.docs;
    let server_trait = format_ident!("{}Server", ident);
    let server = server::expand(cx, router, &server_trait);
    let events = events::expand(router);
    let schema = schema::expand(router);
    let client = client::expand(router);
    let doc = format!(
        "The `{ident}` API: build a server from a [`{server_trait}`] implementation with \
         [`{ident}::server`], send its events with [`{ident}::events`], describe it with [`{ident}::schema`], and (with zocket's `client` feature) call it with `{ident}Client`."
    );
    quote! {
        #(#docs)*
        #[doc = #doc]
        #[derive(Clone, Copy, Debug, Default)]
        #[allow(dead_code)]
        #vis struct #ident;

        #server
        #events
        #schema
        #client
    }
}
