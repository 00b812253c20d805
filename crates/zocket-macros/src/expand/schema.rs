//! `Api::schema()`: every route and event with its JSON Schemas.

use super::{headers, output_ok, unit};
use crate::ast::{Kind, Router};
use proc_macro2::TokenStream;
use quote::quote;

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
        quote!(schema.route::<#input, #output>(#name, #kind, #docs);)
    });
    let events = router.events.iter().map(|event| {
        let name = &event.name;
        let docs = &event.docs;
        let ty = &event.payload;
        quote!(schema.event::<#ty>(#name, #docs);)
    });
    quote! {
        #[allow(dead_code)]
        impl #ident {
            /// The JSON Schema of the whole API: headers, every route with its
            /// kind, input, output and error, and every event's payload.
            pub fn schema() -> ::zocket::__private::serde_json::Value {
                let mut schema = ::zocket::ApiSchema::new::<#headers>();
                #(#routes)*
                #(#events)*
                schema.finish()
            }
        }
    }
}
