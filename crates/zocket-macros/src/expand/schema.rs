//! `Api::schema()`: every route and event with its JSON Schemas.

use super::{headers, input_span, input_type, output_ok};
use crate::ast::{Kind, Output, Router};
use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

/// `schema()` and `describe()` on the definition's struct.
pub(crate) fn expand(router: &Router<'_>) -> TokenStream {
    let ident = &router.ident;
    let name = ident.to_string();
    let headers = headers(router);
    let routes = router.routes.iter().map(|route| {
        let name = &route.name;
        let docs = &route.docs;
        let input = input_type(route);
        let output = output_ok(&route.output);
        let kind = match route.kind {
            Kind::Call => quote!(::zocket::__private::RouteKind::Call),
            Kind::Message => quote!(::zocket::__private::RouteKind::Message),
            Kind::Stream => quote!(::zocket::__private::RouteKind::Stream),
        };
        // Missing bounds are reported on the user's input type.
        let span = input_span(route);
        let route_schema =
            quote_spanned!(span=> schema.route::<#input, #output>(#name, #kind, #docs););
        // An error type with a schema declares the call's codes; any
        // other keeps `RpcError` (chosen by autoref, at compile time).
        let error = match &route.output {
            Output::Result { err, .. } if !is_rpc_error(err) => quote! {
                {
                    #[allow(unused_imports)]
                    use ::zocket::__private::{DescribeAnyError as _, DescribeError as _};
                    (&::zocket::__private::ErrorType::<#err>::new()).describe_error(schema, #name);
                }
            },
            _ => quote!(),
        };
        quote!(#route_schema #error)
    });
    let events = router.events.iter().map(|event| {
        let name = &event.name;
        let docs = &event.docs;
        let ty = &event.payload;
        let add = quote_spanned!(ty.span()=> schema.event::<#ty>(#name, #docs););
        match event.when_full {
            Some((policy, _)) if policy != "close" => {
                quote!(#add schema.event_policy(#name, #policy);)
            }
            _ => add,
        }
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
                let mut schema = ::zocket::__private::ApiSchema::new::<#headers>();
                Self::describe(&mut schema);
                schema.finish()
            }

            /// The hash of [`schema`](Self::schema) that `__ready` carries
            /// (`schemaHash`): typed clients compare it with their own.
            pub fn schema_hash() -> ::std::string::String {
                ::zocket::__private::schema_hash(&Self::schema())
            }

            /// The TypeScript client of this API: one module with a named
            /// type per definition and a typed client factory on the
            /// `@zocket/client` runtime. Commit it and regenerate it when
            /// the definition changes.
            pub fn typescript() -> ::std::string::String {
                ::zocket::schema::typescript(&Self::schema(), #name)
            }

            /// The AsyncAPI 3.0.0 document of this API: one channel for the
            /// WebSocket (the headers as its `ws` binding), an operation per
            /// route (`send`; calls with their `__rpc_res`/`__rpc_err` reply)
            /// and per event (`receive`), each frame's schema as a message,
            /// and the definitions as `components.schemas`. `info.version`
            /// is `0.1.0`; `zocket::schema::asyncapi_with_version` sets another.
            pub fn asyncapi() -> ::zocket::__private::serde_json::Value {
                ::zocket::schema::asyncapi(&Self::schema(), #name)
            }

            /// Adds this definition's routes and events (nested ones
            /// included) to `schema`: what a parent definition calls.
            #[doc(hidden)]
            pub fn describe(schema: &mut ::zocket::__private::ApiSchema) {
                #(#routes)*
                #(#events)*
                #(#nested)*
            }
        }
    }
}

/// Whether `ty` names zocket's own `RpcError` (its schema is the default).
pub(crate) fn is_rpc_error(ty: &syn::Type) -> bool {
    matches!(ty, syn::Type::Path(path) if path.path.segments.last().is_some_and(|s| s.ident == "RpcError"))
}
