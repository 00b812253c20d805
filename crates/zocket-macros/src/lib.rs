//! Procedural macros for zocket, re-exported by the `zocket` crate as
//! `zocket::router`. See that crate's documentation for the tour.
//!
//! The macro works in three passes: `ast` parses the trait into a model,
//! `valid` checks it (collecting every error, each on the user's tokens),
//! and `expand` generates the server trait, the router, the typed event
//! sender and the schema.

mod ast;
mod attr;
mod expand;
mod names;
mod valid;

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
            // The user's trait stays (with only the attributes the compiler
            // understands there), so one mistake does not cascade.
            let errors = err.to_compile_error();
            let item = match syn::parse2::<syn::ItemTrait>(item.clone()) {
                Ok(mut item) => {
                    for trait_item in &mut item.items {
                        if let syn::TraitItem::Fn(f) = trait_item {
                            f.attrs.retain(|a| {
                                a.path().is_ident("doc")
                                    || attr::LINTS.iter().any(|l| a.path().is_ident(l))
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
                Err(_) => item,
            };
            quote::quote!(#errors #item).into()
        }
    }
}

fn expand_router(
    args: proc_macro2::TokenStream,
    item: proc_macro2::TokenStream,
) -> syn::Result<proc_macro2::TokenStream> {
    let args = attr::RouterArgs::parse(args)?;
    let item: syn::ItemTrait = syn::parse2(item)?;
    let model = ast::Router::from_trait(args, &item)?;
    valid::check(&model)?;
    Ok(expand::router(&model))
}
