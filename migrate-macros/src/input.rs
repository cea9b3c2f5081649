//! Parsing the macro's arguments:
//!
//! - `migrations!("migrations")`: an expression of type `migrate::Migrations`;
//! - `migrations!(pub mod schema = "migrations")`: a module holding `MIGRATIONS` and one constant per revision;
//! - either followed by `, allow_empty_down` to accept empty `down.sql` files as no-op downgrades.

use syn::parse::{Parse, ParseStream};
use syn::{Ident, LitStr, Token, Visibility};

/// The parsed arguments.
pub struct Input {
    /// `Some((visibility, name))` for the item form.
    pub module: Option<(Visibility, Ident)>,
    /// The folder, relative to the crate's `Cargo.toml`.
    pub path: LitStr,
    /// Accept empty `down.sql` files as no-op downgrades.
    pub allow_empty_down: bool,
}

impl Parse for Input {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let module = if input.peek(LitStr) {
            None
        } else {
            let vis: Visibility = input.parse()?;
            input.parse::<Token![mod]>().map_err(|e| {
                syn::Error::new(e.span(), "expected a folder path (`migrations!(\"migrations\")`) or a module (`migrations!(pub mod schema = \"migrations\")`)")
            })?;
            let name: Ident = input.parse()?;
            input.parse::<Token![=]>()?;
            Some((vis, name))
        };
        let path: LitStr = input.parse()?;
        let mut allow_empty_down = false;
        while !input.is_empty() {
            input.parse::<Token![,]>()?;
            if input.is_empty() {
                break;
            }
            let option: Ident = input.parse()?;
            match option.to_string().as_str() {
                "allow_empty_down" => allow_empty_down = true,
                other => {
                    return Err(syn::Error::new(
                        option.span(),
                        format!("unknown option `{other}`; the only option is `allow_empty_down`"),
                    ))
                }
            }
        }
        Ok(Input { module, path, allow_empty_down })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_forms_and_the_option() {
        let plain: Input = syn::parse_str(r#""migrations""#).unwrap();
        assert!(plain.module.is_none() && !plain.allow_empty_down);
        assert_eq!(plain.path.value(), "migrations");
        let item: Input = syn::parse_str(r#"pub(crate) mod schema = "db", allow_empty_down,"#).unwrap();
        assert_eq!(item.module.unwrap().1, "schema");
        assert!(item.allow_empty_down);
        assert!(syn::parse_str::<Input>(r#""db", allow_everything"#).is_err());
        assert!(syn::parse_str::<Input>("schema").is_err());
    }
}
