//! `Api::schema()`: every route and event with its JSON Schemas.

use super::{headers, output_ok, unit};
use crate::ast::{Kind, Router};
use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

pub(crate) fn expand(router: &Router) -> TokenStream {
    let ident = &router.ident;
    let headers = headers(router);
    let routes = router.routes.iter().map(|route| {
        let name = &route.name;
        let docs = &route.docs;
        let input = match &route.input {
            Some((_, ty)) => quote!(#ty),
            None => {
                let unit = unit();
                quote!(#unit)
            }
        };
        let output = output_ok(&route.output);
        let kind = match route.kind {
            Kind::Call => quote!(::zocket::RouteKind::Call),
            Kind::Message => quote!(::zocket::RouteKind::Message),
        };
        // Missing bounds are reported on the user's input type.
        let span = route
            .input
            .as_ref()
            .map_or_else(proc_macro2::Span::call_site, |(_, ty)| ty.span());
        quote_spanned!(span=> schema.route::<#input, #output>(#name, #kind, #docs);)
    });
    let events = router.events.iter().map(|event| {
        let name = &event.name;
        let docs = &event.docs;
        let ty = &event.payload;
        quote_spanned!(ty.span()=> schema.event::<#ty>(#name, #docs);)
    });
    let nested = router.nested.iter().map(|nest| {
        let path = &nest.path;
        quote!(#path::describe(schema);)
    });
    quote! {
        #[allow(dead_code)]
        impl #ident {
            /// The JSON Schema of the whole API: headers, every route with its
            /// kind, input, output and error, and every event's payload
            /// (nested definitions included).
            pub fn schema() -> ::zocket::__private::serde_json::Value {
                let mut schema = ::zocket::ApiSchema::new::<#headers>();
                Self::describe(&mut schema);
                schema.finish()
            }

            /// Adds this definition's routes and events (nested ones
            /// included) to `schema`.
            pub fn describe(schema: &mut ::zocket::ApiSchema) {
                #(#routes)*
                #(#events)*
                #(#nested)*
            }
        }
    }
}
