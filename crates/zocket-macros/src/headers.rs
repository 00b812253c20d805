//! `#[derive(Headers)]` and `#[derive(HeaderValue)]`: the compile-time
//! check that a header type is flat, so that a nested struct or a list in
//! the handshake headers is an error on the field, not a server that
//! refuses every connection.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields};

/// `impl Headers` for a struct with named fields, each field checked to
/// be a `HeaderValue` (or, when `#[serde(flatten)]`, itself `Headers`).
pub(crate) fn derive_headers(input: DeriveInput) -> syn::Result<TokenStream> {
    no_generics(&input, "Headers")?;
    let ident = &input.ident;
    let fields = match &input.data {
        Data::Struct(data) => match &data.fields {
            Fields::Named(named) => named.named.iter().collect::<Vec<_>>(),
            Fields::Unit => Vec::new(),
            Fields::Unnamed(_) => {
                return Err(syn::Error::new(
                    ident.span(),
                    "a header type is a struct with named fields: each field is one header",
                ));
            }
        },
        _ => {
            return Err(syn::Error::new(
                ident.span(),
                "a header type is a struct with named fields: each field is one header",
            ));
        }
    };
    let mut checks = Vec::new();
    for field in fields {
        let ty = &field.ty;
        if has_serde_flag(&field.attrs, &["skip", "skip_deserializing"]) {
            continue;
        }
        if has_serde_flag(&field.attrs, &["flatten"]) {
            checks.push(
                quote_spanned!(ty.span()=> ::zocket::__private::assert_flat_headers::<#ty>();),
            );
        } else {
            checks.push(
                quote_spanned!(ty.span()=> ::zocket::__private::assert_header_value::<#ty>();),
            );
        }
    }
    Ok(quote! {
        const _: () = {
            impl ::zocket::Headers for #ident {}
            #[allow(dead_code)]
            fn __zocket_header_fields() {
                #(#checks)*
            }
        };
    })
}

/// `impl HeaderValue` for an enum of unit variants (sent by their serialized
/// names) or a newtype over a header value.
pub(crate) fn derive_header_value(input: DeriveInput) -> syn::Result<TokenStream> {
    no_generics(&input, "HeaderValue")?;
    let ident = &input.ident;
    let mut checks = Vec::new();
    match &input.data {
        Data::Enum(data) => {
            let mut errors: Option<syn::Error> = None;
            for variant in &data.variants {
                if !matches!(variant.fields, Fields::Unit) {
                    let err = syn::Error::new(
                        variant.span(),
                        format!(
                            "variant `{}` carries data: a header value enum has unit variants only, sent by their names",
                            variant.ident
                        ),
                    );
                    match &mut errors {
                        Some(errors) => errors.combine(err),
                        None => errors = Some(err),
                    }
                }
            }
            if let Some(errors) = errors {
                return Err(errors);
            }
        }
        Data::Struct(data)
            if data.fields.len() == 1 && !matches!(data.fields, Fields::Named(_)) =>
        {
            let ty = &data.fields.iter().next().map(|field| &field.ty);
            checks.push(
                quote_spanned!(ty.span()=> ::zocket::__private::assert_header_value::<#ty>();),
            );
        }
        _ => {
            return Err(syn::Error::new(
                ident.span(),
                "`HeaderValue` derives for an enum of unit variants or a newtype struct (`struct Token(String);`)",
            ));
        }
    }
    Ok(quote! {
        const _: () = {
            impl ::zocket::HeaderValue for #ident {}
            #[allow(dead_code)]
            fn __zocket_header_value() {
                #(#checks)*
            }
        };
    })
}

fn no_generics(input: &DeriveInput, derive: &str) -> syn::Result<()> {
    if input.generics.params.is_empty() {
        Ok(())
    } else {
        Err(syn::Error::new(
            input.generics.span(),
            format!("`{derive}` derives for types without generic parameters"),
        ))
    }
}

/// Whether a `#[serde(..)]` attribute holds one of the bare `flags`.
fn has_serde_flag(attrs: &[syn::Attribute], flags: &[&str]) -> bool {
    let mut found = false;
    for attr in attrs.iter().filter(|attr| attr.path().is_ident("serde")) {
        // Other serde keys (`rename = "..."`, `default`) are read and skipped.
        let _ = attr.parse_nested_meta(|meta| {
            if flags.iter().any(|flag| meta.path.is_ident(flag)) {
                found = true;
            }
            if meta.input.peek(syn::Token![=]) {
                let _: syn::Expr = meta.value()?.parse()?;
            } else if meta.input.peek(syn::token::Paren) {
                let content;
                syn::parenthesized!(content in meta.input);
                let _: TokenStream = content.parse()?;
            }
            Ok(())
        });
    }
    found
}
