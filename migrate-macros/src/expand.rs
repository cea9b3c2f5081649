//! From arguments to tokens: scan the folder with `migrate_core::scan`, then emit either the embedded revision list
//! or one compile error per problem (all of them, in one build) beside a well-typed empty value.
//!
//! Generated code names only absolute paths (`::migrate::…`, `::core::…`) and builds the list through
//! `#[doc(hidden)] const fn` constructors, in the compact form of `migrate_core::packed`. Each SQL file is embedded
//! with `include_str!` on its absolute path, so editing a file rebuilds the crate and re-runs the checks.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use migrate_core::lint::{Finding, Level, LintOptions};
use migrate_core::{scan, Backend, Backends, ProblemKind, Revision, Scan, ScanOptions, Severity};
use proc_macro2::{Span, TokenStream};
use quote::quote;

use crate::input::Input;

/// Expands the macro: the revision list, or every problem as a compile error.
pub fn expand(input: &Input) -> TokenStream {
    let Some(manifest_dir) = std::env::var_os("CARGO_MANIFEST_DIR") else {
        let err = syn::Error::new(input.path.span(), "CARGO_MANIFEST_DIR is not set: build with cargo");
        return with_errors(input, &[], err.to_compile_error());
    };
    expand_in(input, Path::new(&manifest_dir))
}

/// [`expand`] for the crate in `manifest_dir`.
pub fn expand_in(input: &Input, manifest_dir: &Path) -> TokenStream {
    let span = input.path.span();
    let relative = PathBuf::from(input.path.value());
    let dir = manifest_dir.join(&relative);
    // migrate.toml's [lint] turns the lint on as it does for `migrate verify`; the macro's `lint(...)` wins over it.
    let (config, configured) = match crate::config::lint_table(manifest_dir) {
        Ok(Some((path, options))) => (Some(path), options),
        Ok(None) => (None, None),
        Err(message) => return with_errors(input, &[], syn::Error::new(span, message).to_compile_error()),
    };
    let lint = match (configured, &input.lint) {
        (Some(file), Some(given)) => Some(file.overlaid(given)),
        (file, given) => file.or_else(|| given.clone()),
    };
    let scanned = scan(&dir, &ScanOptions::default().allow_empty_down(input.allow_empty_down));
    let targets = input.targets();
    let findings = match lint {
        Some(options) => {
            let options = LintOptions { backends: Some(targets), ..options };
            migrate_core::lint::lint(&scanned.revisions, &options)
        }
        None => Vec::new(),
    };
    let denied =
        findings.iter().filter(|f| f.level == Level::Deny).map(|f| syn::Error::new(span, f.display_under(&relative)));
    let refused = errors(&scanned, targets, input.backends.is_some(), &relative, span)
        .into_iter()
        .chain(denied)
        .reduce(|mut all, next| {
            all.combine(next);
            all
        });
    match refused {
        Some(err) => with_errors(input, &scanned.revisions, err.to_compile_error()),
        None => {
            let list = revision_list(&dir, &scanned.revisions, input.allow_empty_down, span);
            let warnings = warnings(&scanned, targets, &findings, &relative, span);
            // Read by the compiler too, so that editing the configuration rebuilds the crate and lints again.
            let config = config.map(|path| path.to_string_lossy().into_owned()).into_iter();
            let tracked = quote! { #(const _: &[u8] = ::core::include_bytes!(#config);)* };
            output(input, &scanned.revisions, &quote! {{ #tracked #warnings #list }})
        }
    }
}

/// Every problem of the scan that refuses a build for `targets` ([`Problem::refuses_build_for`]) as one combined
/// error spanned on the path literal; `None` if there is none. A problem that only some backends' dialects find
/// says which, and how to name the backends the crate really runs the revisions on.
pub fn errors(scanned: &Scan, targets: Backends, named: bool, relative: &Path, span: Span) -> Option<syn::Error> {
    scanned
        .problems
        .iter()
        .filter(|p| p.refuses_build_for(targets))
        .map(|p| {
            let mut message = p.display_under(relative).to_string();
            // A dialect check (not a problem of an override file, which is for its backend alone).
            let dialect = matches!(
                p.kind,
                ProblemKind::NeedsNoTransaction | ProblemKind::TransactionControl | ProblemKind::Unclosed
            );
            if dialect && p.backends != Backends::ALL {
                let others: Vec<&str> =
                    Backend::ALL.into_iter().filter(|b| !p.backends.contains(*b)).map(Backend::name).collect();
                message.push_str(&format!(
                    " (this crate targets {targets}, {}; if it never runs these revisions on {}, name the backends \
                     it does: `migrations!(\"{}\", backends({}))`)",
                    if named { "as `backends(...)` says" } else { "from the driver features of `migrate`" },
                    p.backends,
                    relative.display(),
                    others.join(", ")
                ));
            }
            syn::Error::new(span, message)
        })
        .reduce(|mut all, next| {
            all.combine(next);
            all
        })
}

/// Each warning of the scan that concerns `targets`, and each lint finding at level warn, as a warning of the build.
fn warnings(scanned: &Scan, targets: Backends, findings: &[Finding], relative: &Path, span: Span) -> TokenStream {
    let folder = scanned.problems.iter().filter(|p| p.severity == Severity::Warning && p.backends.intersects(targets));
    let folder = folder.map(|p| format!("migrations: {}", p.display_under(relative)));
    let linted = findings.iter().filter(|f| f.level == Level::Warn);
    let linted = linted.map(|f| format!("migrations lint: {}", f.display_under(relative)));
    let items = folder.chain(linted).map(|note| build_warning(&note, span));
    quote! { #(#items)* }
}

/// A warning of the build: stable proc macros cannot emit one, so it is the use of a deprecated constant whose note
/// is the warning (shown by cargo as ``use of deprecated constant `…`: <warning>``, silenced like any lint with
/// `#[allow(deprecated)]` on the item).
fn build_warning(note: &str, span: Span) -> TokenStream {
    quote::quote_spanned! {span=>
        const _: () = {
            #[deprecated(note = #note)]
            #[allow(non_upper_case_globals)]
            const migration_folder_warning: () = ();
            migration_folder_warning
        };
    }
}

fn with_errors(input: &Input, revisions: &[Revision], errors: TokenStream) -> TokenStream {
    // The empty list keeps the type right, so the user sees the real errors and no cascade.
    let empty = quote! { ::migrate::Migrations::__embedded(::migrate::__private::Packed::EMPTY, false) };
    match &input.module {
        None => quote! {{ #errors #empty }},
        Some(_) => {
            let module = output(input, revisions, &empty);
            quote! { #errors #module }
        }
    }
}

fn output(input: &Input, revisions: &[Revision], value: &TokenStream) -> TokenStream {
    let Some((vis, name)) = &input.module else { return value.clone() };
    let ids = identifiers(revisions);
    let consts = revisions.iter().zip(&ids).map(|(r, id)| {
        let doc = format!("Revision `{}`: a target for `upgrade_to`, `downgrade_to` and `stamp`.", r.folder());
        let (version, folder) = (r.version(), r.folder());
        quote! {
            #[doc = #doc]
            pub const #id: ::migrate::RevisionTarget = ::migrate::RevisionTarget::__new(#version, #folder);
        }
    });
    let doc = format!("The revisions of `{}`, embedded and checked at compile time.", input.path.value());
    quote! {
        #vis mod #name {
            #[doc = #doc]
            pub static MIGRATIONS: ::migrate::Migrations = #value;
            #(#consts)*
        }
    }
}

/// The list in its embedded form (see `migrate_core::packed`): every file's text through one `concat!` of
/// `include_str!`s, so editing a file rebuilds the crate, and the rest in three literals, whatever the number of
/// revisions. A constant assertion checks that the text the compiler embedded has the length the scan read.
fn revision_list(dir: &Path, revisions: &[Revision], allow_empty_down: bool, span: Span) -> TokenStream {
    let encoded = match migrate_core::packed::encode(revisions) {
        Ok(encoded) => encoded,
        Err(err) => return syn::Error::new(span, format!("cannot embed the revisions: {err}")).to_compile_error(),
    };
    let paths = encoded.files.iter().map(|(folder, file)| {
        dir.join(migrate_core::revision::relative_path(folder, file)).to_string_lossy().into_owned()
    });
    let names = &encoded.names;
    let table = proc_macro2::Literal::byte_string(&encoded.table);
    let sums = proc_macro2::Literal::byte_string(&encoded.sums);
    let sql_len = encoded.sql_len;
    // The folder by a hash of its path, so that no path is kept in the binary (see `Migrations::__folder`).
    let folder = migrate_core::Checksum::of(&dir.to_string_lossy()).to_hex()[..8].to_owned();
    quote! {{
        const __MIGRATE_SQL: &str = ::core::concat!(#(::core::include_str!(#paths)),*);
        const _: () = ::core::assert!(
            __MIGRATE_SQL.len() == #sql_len,
            "a migration file changed while this crate was being built: build it again"
        );
        ::migrate::Migrations::__embedded(
            ::migrate::__private::Packed::new(__MIGRATE_SQL, #names, #table, #sums),
            #allow_empty_down,
        )
        .__folder(#folder)
    }}
}

/// One constant name per revision: its name in SCREAMING_SNAKE_CASE; where two revisions would share one (or the
/// name is not an identifier), the version is appended.
pub fn identifiers(revisions: &[Revision]) -> Vec<syn::Ident> {
    let base: Vec<String> = revisions
        .iter()
        .map(|r| {
            let mut out = String::new();
            for c in r.name().chars() {
                if c.is_ascii_alphanumeric() {
                    out.push(c.to_ascii_uppercase());
                } else if !out.ends_with('_') {
                    out.push('_');
                }
            }
            let out = out.trim_matches('_').to_owned();
            if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
                format!("R{}_{out}", r.version()).trim_end_matches('_').to_owned()
            } else {
                out
            }
        })
        .collect();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for name in &base {
        *counts.entry(name.as_str()).or_default() += 1;
    }
    revisions
        .iter()
        .zip(&base)
        .map(|(r, name)| {
            let unique = counts[name.as_str()] == 1 && name != "MIGRATIONS";
            let text = if unique || name.starts_with('R') && name.contains(r.version()) {
                name.clone()
            } else {
                format!("{name}_{}", r.version())
            };
            syn::Ident::new(&text, Span::call_site())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use migrate_core::{Script, ScriptKind};

    fn rev(version: &str, name: &str) -> Revision {
        let s = |f: &str| Script::new_owned(f.into(), None, "select 1;".into(), ScriptKind::Sql, true);
        Revision::new_owned(
            version.into(),
            name.into(),
            format!("{version}_{name}"),
            vec![s("up.sql")],
            vec![s("down.sql")],
        )
    }

    #[test]
    fn identifiers_are_unique_and_valid() {
        let revisions = [
            rev("0001", "create_users"),
            rev("0002", "add index"),
            rev("0003", "add-index"),
            rev("0004", "2fa"),
            rev("0005", "Migrations"),
            rev("0006", "ünïcode"),
        ];
        let ids: Vec<String> = identifiers(&revisions).iter().map(ToString::to_string).collect();
        assert_eq!(ids, ["CREATE_USERS", "ADD_INDEX_0002", "ADD_INDEX_0003", "R0004_2FA", "MIGRATIONS_0005", "N_CODE"]);
    }

    #[test]
    fn problems_become_one_error_each() {
        let scanned = scan(Path::new("/nonexistent/folder"), &ScanOptions::default());
        let err = errors(&scanned, Backends::ALL, false, Path::new("migrations"), Span::call_site()).unwrap();
        assert_eq!(err.into_iter().count(), 1);
    }
}
