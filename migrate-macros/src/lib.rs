//! The `migrations!()` macro: reads a folder of SQL revisions at compile time and embeds it as static data.
//!
//! The work runs in stages, each testable on its own: `input` parses the macro's arguments, the folder is scanned
//! by `migrate_core::scan` (the same code the command line uses), and `expand` turns the scan into tokens, or
//! every problem found into one `compile_error!` each, spanned on the path literal, beside a well-typed empty value.
//! The macro never panics on user input.

use proc_macro::TokenStream;

mod config;
mod expand;
mod input;
mod test;

/// Embeds the revisions of a folder, checked at compile time. See the `migrate` crate for the forms it takes.
#[proc_macro]
pub fn migrations(tokens: TokenStream) -> TokenStream {
    match syn::parse::<input::Input>(tokens) {
        Ok(input) => expand::expand(&input).into(),
        Err(err) => err.to_compile_error().into(),
    }
}

/// Runs a test function once per backend, each time on a database of its own (feature `testing` of `migrate`):
/// `#[migrate::test]` for an empty database, `#[migrate::test(MIGRATIONS)]` for one with every revision of a
/// `Migrations` (or a `Migrator`) applied, copied from a template migrated once. The function takes
/// `&mut migrate::testing::TestDatabase` and returns `()` or a `Result`.
///
/// It becomes a module of the same name with one `#[test]` per backend (`users::sqlite`, `users::postgres`,
/// `users::mysql`); `backends(sqlite, postgres)` chooses among them. A backend whose URL is not set is skipped with a
/// note, or fails when `MIGRATE_TEST_REQUIRE` lists it. `#[ignore]` applies to each test; `#[should_panic]` is
/// refused, as a skipped backend would not panic: assert a panic in the body with `std::panic::catch_unwind`.
///
/// ```ignore
/// static MIGRATIONS: migrate::Migrations = migrate::migrations!("migrations");
///
/// #[migrate::test(MIGRATIONS)]
/// fn users_have_unique_logins(db: &mut migrate::testing::TestDatabase) {
///     db.execute("INSERT INTO users (login) VALUES ('ada')");
///     assert!(std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
///         db.execute("INSERT INTO users (login) VALUES ('ada')")
///     })).is_err());
/// }
/// ```
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    test::expand(args.into(), item.into()).into()
}
