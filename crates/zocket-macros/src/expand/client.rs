//! The typed client: one method per call and message, one stream per
//! event, on `zocket::client::Client`. Emitted inside `::zocket::__client!`
//! so that it exists only in builds with zocket's `client` feature.

use super::{headers, input_span, output_ok};
use crate::ast::{Kind, Output, Router};
use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

/// The typed client, behind zocket's `client` feature.
pub(crate) fn expand(router: &Router<'_>) -> TokenStream {
    let vis = &router.vis;
    let ident = &router.ident;
    let client = format_ident!("{}Client", ident);
    let headers = headers(router);
    let mut checks = Vec::new();
    let routes: Vec<TokenStream> = router.routes.iter().map(|route| {
        let method = &route.ident;
        let name = &route.name;
        let docs = &route.doc_attrs;
        let span = input_span(route);
        let (param, arg) = match route.input().map(|input| (&input.ident, &input.ty)) {
            Some((input, ty)) => {
                checks.push(quote_spanned!(ty.span()=> ::zocket::__private::assert_client_input::<#ty>();));
                (quote!(, #input: &#ty), quote!(#input))
            }
            None => (quote!(), quote!(&())),
        };
        match route.kind {
            Kind::Call => {
                let mut send = quote_spanned!(span=> self.client.call(#name, #arg).await);
                let mut error = quote!(::zocket::client::CallError);
                // A call with its own error type returns it decoded.
                if let Output::Result { err, .. } = &route.output
                    && !super::schema::is_rpc_error(err)
                {
                    error = quote!(::zocket::client::CallError<#err>);
                    send = quote! {
                        {
                            #[allow(unused_imports)]
                            use ::zocket::__private::{DecodeAppError as _, KeepServerError as _};
                            #send.map_err(|err| (&::zocket::__private::AppError::<#err>::new()).decode(err))
                        }
                    };
                }
                let output = output_ok(&route.output);
                if let Some(ty) = route.output_type() {
                    checks.push(quote_spanned!(ty.span()=> ::zocket::__private::assert_client_output::<#ty>();));
                }
                let doc = format!("Calls `{name}`.");
                quote! {
                    #(#docs)*
                    #[doc = ""]
                    #[doc = #doc]
                    pub async fn #method(&self #param) -> ::core::result::Result<#output, #error> {
                        #send
                    }
                }
            }
            Kind::Stream => {
                let item = output_ok(&route.output);
                if let Some(ty) = route.output_type() {
                    checks.push(quote_spanned!(ty.span()=> ::zocket::__private::assert_client_output::<#ty>();));
                }
                let open = quote_spanned!(span=> self.client.stream::<_, #item>(#name, #arg).await?);
                let (stream, body) = match &route.output {
                    // A stream with its own error type yields it decoded.
                    Output::Result { err, .. } if !super::schema::is_rpc_error(err) => (
                        quote!(::zocket::client::ItemStream<#item, #err>),
                        quote! {
                            #[allow(unused_imports)]
                            use ::zocket::__private::{DecodeAppError as _, KeepServerError as _};
                            let stream = #open;
                            ::core::result::Result::Ok(stream.decode_errors(|err| (&::zocket::__private::AppError::<#err>::new()).decode(err)))
                        },
                    ),
                    _ => (
                        quote!(::zocket::client::ItemStream<#item>),
                        quote!(::core::result::Result::Ok(#open)),
                    ),
                };
                let doc = format!(
                    "Opens the stream `{name}`: its items, in order, then its end (dropping it cancels the stream on the server)."
                );
                quote! {
                    #(#docs)*
                    #[doc = ""]
                    #[doc = #doc]
                    pub async fn #method(&self #param) -> ::core::result::Result<#stream, ::zocket::client::CallError> {
                        #body
                    }
                }
            }
            Kind::Message => {
                let send = quote_spanned!(span=> self.client.message(#name, #arg).await);
                let doc = format!("Sends the message `{name}` (no reply).");
                quote! {
                    #(#docs)*
                    #[doc = ""]
                    #[doc = #doc]
                    pub async fn #method(&self #param) -> ::core::result::Result<(), ::zocket::client::CallError> {
                        #send
                    }
                }
            }
        }
    }).collect();
    let events: Vec<TokenStream> = router
        .events
        .iter()
        .map(|event| {
            let method = format_ident!("on_{}", event.ident, span = event.ident.span());
            let name = &event.name;
            let ty = &event.payload;
            let docs = &event.doc_attrs;
            checks.push(
                quote_spanned!(ty.span()=> ::zocket::__private::assert_client_event::<#ty>();),
            );
            let subscribe = quote_spanned!(ty.span()=> self.client.events(#name));
            let doc = format!("The stream of `{name}` events.");
            quote! {
                #(#docs)*
                #[doc = ""]
                #[doc = #doc]
                pub fn #method(&self) -> ::zocket::client::EventStream<#ty> {
                    #subscribe
                }
            }
        })
        .collect();
    let nested: Vec<TokenStream> = router
        .nested
        .iter()
        .map(|nest| {
            let method = &nest.ident;
            let client = &nest.client;
            let doc = format!(
                "The client of the nested definition `{}`, on the same connection.",
                quote!(#client)
            );
            quote! {
                #[doc = #doc]
                pub fn #method(&self) -> #client {
                    #client::from_client(self.client.clone())
                }
            }
        })
        .collect();
    if let Some(ty) = &router.headers {
        checks
            .push(quote_spanned!(ty.span()=> ::zocket::__private::assert_client_headers::<#ty>();));
    }
    let doc =
        format!("The typed client of [`{ident}`]: one method per route, one stream per event.");
    quote! {
        ::zocket::__client! {
            const _: () = { #(#checks)* };

            #[doc = #doc]
            #[derive(Clone, Debug)]
            #[allow(dead_code)]
            #vis struct #client {
                client: ::zocket::client::Client,
            }

            #[allow(dead_code)]
            impl #client {
                /// Connects to `url` (`ws://...`), sending `headers` as HTTP
                /// headers, and waits for the server's `__ready`.
                pub async fn connect(url: &str, headers: &#headers) -> ::core::result::Result<Self, ::zocket::client::ConnectError> {
                    ::core::result::Result::Ok(Self { client: Self::builder().connect(url, headers).await? })
                }

                /// A client builder that compares the server's schema hash
                /// with this definition's and logs a warning when they
                /// differ (`.expect_schema(..., SchemaCheck::Refuse)` to
                /// refuse such a server instead); finish with
                /// `.connect(url, &headers)` and [`from_client`](Self::from_client).
                pub fn builder() -> ::zocket::client::ClientBuilder {
                    ::zocket::client::Client::builder()
                        .expect_schema(#ident::schema_hash(), ::zocket::client::SchemaCheck::Warn)
                }

                /// Wraps a client connected with its own settings
                /// (`zocket::client::Client::builder()`).
                pub fn from_client(client: ::zocket::client::Client) -> Self {
                    Self { client }
                }

                /// A handle to the same connection whose calls wait `timeout`
                /// for their reply: `client.with_timeout(d).route(..)`.
                pub fn with_timeout(&self, timeout: ::core::time::Duration) -> Self {
                    Self { client: self.client.with_timeout(timeout) }
                }

                /// The untyped client underneath (ready frame, timeouts, raw calls).
                pub fn client(&self) -> &::zocket::client::Client {
                    &self.client
                }

                /// The stream of the server's `__error` frames.
                pub fn errors(&self) -> ::zocket::client::ErrorStream {
                    self.client.errors()
                }

                /// Closes the connection (code 1000).
                pub async fn close(&self) {
                    self.client.close().await
                }

                #(#routes)*
                #(#events)*
                #(#nested)*
            }
        }
    }
}
