//! The `migrations!()` macro: reads a folder of SQL revisions at compile time and embeds it as static data.
//!
//! The work runs in stages, each testable on its own: `input` parses the macro's arguments, the folder is scanned
//! by `migrate_core::scan` (the same code the command line uses), and `expand` turns the scan into tokens, or
//! every problem found into one `compile_error!` each, spanned on the path literal, beside a well-typed empty value.
//! The macro never panics on user input.

use proc_macro::TokenStream;

mod expand;
mod input;

/// Embeds the revisions of a folder, checked at compile time. See the `migrate` crate for the forms it takes.
#[proc_macro]
pub fn migrations(tokens: TokenStream) -> TokenStream {
    match syn::parse::<input::Input>(tokens) {
        Ok(input) => expand::expand(&input).into(),
        Err(err) => err.to_compile_error().into(),
    }
}
