//! The typed event sender: one constant and one method per event.

use crate::ast::Router;
use crate::names::screaming;
use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

/// The event constants on the definition's struct and its typed sender.
pub(crate) fn expand(router: &Router<'_>) -> TokenStream {
    let vis = &router.vis;
    let ident = &router.ident;
    let sender = format_ident!("{}Events", ident);
    let consts = router.events.iter().map(|event| {
        let konst = format_ident!(
            "{}",
            screaming(&event.ident.to_string()),
            span = event.ident.span()
        );
        let ty = &event.payload;
        let name = &event.name;
        let docs = &event.doc_attrs;
        let doc = format!("The event `{name}`.");
        let policy = match event.when_full {
            Some((_, variant)) => {
                let variant = format_ident!("{variant}");
                quote!(.when_full(::zocket::WhenFull::#variant))
            }
            None => quote!(),
        };
        quote! {
            #(#docs)*
            #[doc = ""]
            #[doc = #doc]
            pub const #konst: ::zocket::Event<#ty> = ::zocket::Event::new(#name) #policy;
        }
    });
    let methods = router.events.iter().map(|event| {
        let method = &event.ident;
        let konst = format_ident!("{}", screaming(&event.ident.to_string()));
        let ty = &event.payload;
        let docs = &event.doc_attrs;
        let doc = format!("Sends `{}`; pick recipients on the result.", event.name);
        let emit = quote_spanned!(ty.span()=> ::zocket::__private::Emitter::emit_event(self.from, #ident::#konst, payload));
        quote! {
            #(#docs)*
            #[doc = ""]
            #[doc = #doc]
            pub fn #method(&self, payload: &#ty) -> ::zocket::send::Emit<'a> {
                #emit
            }
        }
    });
    let sender_doc = format!("The typed sender of [`{ident}`]'s events, from [`{ident}::events`].");
    quote! {
        #[allow(dead_code)]
        impl #ident {
            #(#consts)*

            /// The typed event sender, from a handler's `Ctx` or a `ServerHandle`:
            /// `Api::events(&ctx).name(&payload).to_room("room")`.
            pub fn events<E: ::zocket::__private::Emitter>(from: &E) -> #sender<'_, E> {
                #sender { from }
            }
        }

        #[doc = #sender_doc]
        #[allow(dead_code)]
        #vis struct #sender<'a, E> {
            from: &'a E,
        }

        #[allow(dead_code)]
        impl<'a, E: ::zocket::__private::Emitter> #sender<'a, E> {
            #(#methods)*
        }
    }
}
