//! Parsing the macro's arguments:
//!
//! - `migrations!("migrations")`: an expression of type `migrate::Migrations`;
//! - `migrations!(pub mod schema = "migrations")`: a module holding `MIGRATIONS` and one constant per revision;
//! - either followed by `, allow_empty_down` to accept empty `down.sql` files as no-op downgrades, and by
//!   `, backends(postgres, sqlite, mysql)` to name the backends the crate runs the revisions on (by default those
//!   whose driver feature of `migrate` is on, or all three when none is), and by `, lint` or
//!   `, lint(deny(drop_column, …), warn(…), allow(…), start_after = "0042")` to run the safety lint at compile time
//!   (a rule at `deny` is a compile error, one at `warn`, the default, a warning of the build).

use migrate_core::lint::{self, Level, LintOptions};
use migrate_core::{Backend, Backends};
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
    /// The backends named with `backends(...)`, if they were.
    pub backends: Option<Backends>,
    /// The safety lint, where `lint` or `lint(...)` asks for it.
    pub lint: Option<LintOptions>,
}

impl Input {
    /// The backends the crate runs its revisions on: those named, or those whose driver feature is on, or all.
    pub fn targets(&self) -> Backends {
        self.backends.unwrap_or_else(|| {
            let enabled: Backends = [
                (cfg!(feature = "postgres"), Backend::Postgres),
                (cfg!(feature = "sqlite"), Backend::Sqlite),
                (cfg!(feature = "mysql"), Backend::Mysql),
            ]
            .into_iter()
            .filter_map(|(on, backend)| on.then_some(backend))
            .collect();
            if enabled.is_empty() {
                Backends::ALL
            } else {
                enabled
            }
        })
    }
}

/// `backends(postgres, sqlite)`: at least one backend, each once.
fn parse_backends(input: ParseStream<'_>) -> syn::Result<Backends> {
    let content;
    let parens = syn::parenthesized!(content in input);
    let mut backends = Backends::NONE;
    let names = content.parse_terminated(Ident::parse, Token![,])?;
    for name in &names {
        let Some(backend) = Backend::from_name(&name.to_string()) else {
            return Err(syn::Error::new(
                name.span(),
                format!("unknown backend `{name}`; the backends are `postgres`, `sqlite` and `mysql`"),
            ));
        };
        if backends.contains(backend) {
            return Err(syn::Error::new(name.span(), format!("`{name}` is named twice")));
        }
        backends = backends.with(backend);
    }
    if backends.is_empty() {
        return Err(syn::Error::new(parens.span.join(), "name at least one backend: `backends(postgres)`"));
    }
    Ok(backends)
}

/// `lint(deny(drop_column, rename_column), warn(all), allow(drop_table), start_after = "0042")`: rules as
/// identifiers with `_` for `-` (`all` for every rule), later lists winning over earlier ones.
fn parse_lint(input: ParseStream<'_>) -> syn::Result<LintOptions> {
    let mut options = LintOptions::default();
    if !input.peek(syn::token::Paren) {
        return Ok(options);
    }
    let content;
    syn::parenthesized!(content in input);
    while !content.is_empty() {
        let key: Ident = content.parse()?;
        if key == "start_after" {
            content.parse::<Token![=]>()?;
            options.start_after = Some(content.parse::<LitStr>()?.value());
        } else {
            let level = Level::parse(&key.to_string()).ok_or_else(|| {
                syn::Error::new(key.span(), "expected `deny(…)`, `warn(…)`, `allow(…)` or `start_after = \"…\"`")
            })?;
            let rules;
            syn::parenthesized!(rules in content);
            for rule in rules.parse_terminated(Ident::parse, Token![,])? {
                let name = rule.to_string().replace('_', "-");
                if name == "all" {
                    lint::RULES.iter().for_each(|r| assert!(options.set_level(r.name, level)));
                } else if !options.set_level(&name, level) {
                    let names: Vec<String> = lint::RULES.iter().map(|r| r.name.replace('-', "_")).collect();
                    return Err(syn::Error::new(
                        rule.span(),
                        format!("no lint rule `{rule}`; the rules are {} (or `all`)", names.join(", ")),
                    ));
                }
            }
        }
        if !content.is_empty() {
            content.parse::<Token![,]>()?;
        }
    }
    Ok(options)
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
        let mut backends = None;
        let mut lint = None;
        while !input.is_empty() {
            input.parse::<Token![,]>()?;
            if input.is_empty() {
                break;
            }
            let option: Ident = input.parse()?;
            match option.to_string().as_str() {
                "allow_empty_down" => allow_empty_down = true,
                "backends" if backends.is_none() => backends = Some(parse_backends(input)?),
                "backends" => return Err(syn::Error::new(option.span(), "`backends(...)` is given twice")),
                "lint" if lint.is_none() => lint = Some(parse_lint(input)?),
                "lint" => return Err(syn::Error::new(option.span(), "`lint` is given twice")),
                other => {
                    return Err(syn::Error::new(
                        option.span(),
                        format!(
                        "unknown option `{other}`; the options are `allow_empty_down`, `backends(...)` and `lint(...)`"
                    ),
                    ))
                }
            }
        }
        Ok(Input { module, path, allow_empty_down, backends, lint })
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
        let targeted: Input = syn::parse_str(r#""db", backends(postgres, mysql), allow_empty_down"#).unwrap();
        assert_eq!(targeted.targets().to_string(), "postgres and mysql");
        assert!(targeted.allow_empty_down);
        for wrong in [r#""db", backends()"#, r#""db", backends(oracle)"#, r#""db", backends(sqlite, sqlite)"#] {
            assert!(syn::parse_str::<Input>(wrong).is_err(), "{wrong}");
        }
    }

    #[test]
    fn the_lint_option() {
        let plain: Input = syn::parse_str(r#""db", lint"#).unwrap();
        let options = plain.lint.unwrap();
        assert!(options.levels.is_empty() && options.start_after.is_none());
        let given: Input =
            syn::parse_str(r#""db", lint(warn(all), deny(drop_column, rename_table), start_after = "0042")"#).unwrap();
        let options = given.lint.unwrap();
        assert_eq!(options.level("drop-column"), Level::Deny);
        assert_eq!(options.level("set-not-null"), Level::Warn);
        assert_eq!(options.start_after.as_deref(), Some("0042"));
        for wrong in [r#""db", lint(deny(no_such_rule))"#, r#""db", lint(forbid(drop_column))"#, r#""db", lint, lint"#]
        {
            assert!(syn::parse_str::<Input>(wrong).is_err(), "{wrong}");
        }
    }
}
