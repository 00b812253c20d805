//! Procedural macros for zocket, re-exported by the `zocket` crate as
//! `zocket::router`. See that crate's documentation for the tour.
//!
//! The macro works in three passes sharing one error context (`ctxt`):
//! `ast` parses the trait into a model, `valid` checks its rules, and
//! `expand` generates the server trait, the router, the typed event sender
//! and the schema. Every pass reports into the context and goes on, so one
//! compile shows every mistake of a definition, each on the user's tokens.

mod ast;
mod attr;
mod ctxt;
mod expand;
mod headers;
mod names;
mod valid;

use ctxt::Ctxt;
use proc_macro::TokenStream;

/// Turns a router definition (a trait) into a server trait, a router, a
/// typed event sender and a JSON Schema. See `zocket`'s crate docs.
#[proc_macro_attribute]
pub fn router(args: TokenStream, item: TokenStream) -> TokenStream {
    let args = proc_macro2::TokenStream::from(args);
    let item = proc_macro2::TokenStream::from(item);
    match expand_router(args, item.clone()) {
        Ok(tokens) => tokens.into(),
        Err(err) => {
            let errors = err.to_compile_error();
            let item = fallback(item);
            quote::quote!(#errors #item).into()
        }
    }
}

/// Marks a struct as a handshake header type after checking, at compile
/// time, that every field is a flat value (`zocket::HeaderValue`): a nested
/// struct, a list or a map is an error on that field. See `zocket::Headers`.
#[proc_macro_derive(Headers, attributes(serde))]
pub fn derive_headers(item: TokenStream) -> TokenStream {
    derive(item, headers::derive_headers)
}

/// Marks an enum of unit variants, or a newtype over a header value, as a
/// value a header field may have. See `zocket::HeaderValue`.
#[proc_macro_derive(HeaderValue)]
pub fn derive_header_value(item: TokenStream) -> TokenStream {
    derive(item, headers::derive_header_value)
}

fn derive(
    item: TokenStream,
    expand: fn(syn::DeriveInput) -> syn::Result<proc_macro2::TokenStream>,
) -> TokenStream {
    syn::parse::<syn::DeriveInput>(item)
        .and_then(expand)
        .unwrap_or_else(|err| err.to_compile_error())
        .into()
}

/// The three passes; every error any of them reports, combined.
fn expand_router(
    args: proc_macro2::TokenStream,
    item: proc_macro2::TokenStream,
) -> syn::Result<proc_macro2::TokenStream> {
    let cx = Ctxt::new();
    let args = attr::RouterArgs::parse(&cx, args);
    let tokens = match syn::parse2::<syn::ItemTrait>(item) {
        Ok(item) => {
            let model = ast::Router::from_trait(&cx, args, &item);
            valid::check(&cx, &model);
            // Expansion reads a model that broke no rule.
            (!cx.has_errors()).then(|| expand::router(&cx, &model))
        }
        Err(err) => {
            cx.push(err);
            None
        }
    };
    cx.check()?;
    Ok(tokens.unwrap_or_default())
}

/// The user's trait as it was, with only the attributes the compiler
/// understands there, emitted beside the errors so that one mistake does
/// not cascade into errors about a missing trait.
fn fallback(item: proc_macro2::TokenStream) -> proc_macro2::TokenStream {
    let Ok(mut item) = syn::parse2::<syn::ItemTrait>(item.clone()) else {
        return item;
    };
    for trait_item in &mut item.items {
        if let syn::TraitItem::Fn(f) = trait_item {
            f.attrs.retain(|a| {
                a.path().is_ident("doc") || attr::LINTS.iter().any(|l| a.path().is_ident(l))
            });
            for input in &mut f.sig.inputs {
                if let syn::FnArg::Typed(param) = input {
                    param.attrs.retain(|a| !a.path().is_ident("zocket"));
                }
            }
        }
    }
    quote::quote!(#item)
}

#[cfg(test)]
mod tests {
    use quote::quote;

    /// The messages the macro reports for a definition, in order.
    fn messages(args: proc_macro2::TokenStream, item: proc_macro2::TokenStream) -> Vec<String> {
        match super::expand_router(args, item) {
            Ok(_) => Vec::new(),
            Err(err) => err.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn a_definition_without_mistakes_expands() {
        let item = quote! {
            trait Chat {
                #[zocket(middleware)]
                async fn auth() -> Result<u64, E>;
                async fn send(#[zocket(from = auth)] user: u64, text: String) -> u64;
                #[zocket(message, uses = [auth])]
                async fn typing(on: bool);
                #[zocket(event)]
                fn message(payload: String);
            }
        };
        assert_eq!(
            messages(quote!(namespace = "chat"), item),
            Vec::<String>::new()
        );
    }

    #[test]
    fn every_mistake_of_a_definition_is_reported_at_once() {
        let item = quote! {
            trait Chat {
                #[zocket(mesage, nmae = "x")]
                async fn typing(on: bool);
                async fn send(text: String);
                #[zocket(name = "send")]
                async fn send_again(text: String);
                #[zocket(uses = [auht])]
                fn join(room: String);
                #[zocket(event)]
                fn joined(room: String) -> bool;
            }
        };
        let messages = messages(quote!(namspace = "chat"), item);
        let expected = [
            "unknown key `namspace`",
            "unknown key `mesage`",
            "unknown key `nmae`",
            "route handlers are async",
            "no middleware `auht`",
            "an event returns nothing",
            "duplicate route name `send`",
        ];
        assert_eq!(messages.len(), expected.len(), "{messages:#?}");
        for (message, start) in messages.iter().zip(expected) {
            assert!(
                message.starts_with(start),
                "{message:?} should start with {start:?}"
            );
        }
    }

    #[test]
    fn references_to_an_item_left_out_are_not_reported_again() {
        let item = quote! {
            trait Admin {
                #[zocket(middlware)]
                async fn auth() -> Result<u64, E>;
                #[zocket(uses = [auth])]
                async fn ban(user: u64);
            }
        };
        let messages = messages(quote!(middleware = [auth]), item);
        assert_eq!(messages.len(), 1, "{messages:#?}");
        assert!(messages[0].starts_with("unknown key `middlware`"));
    }
}
