// A PL/pgSQL body read as SQLite reads it: `BEGIN` after `;` is a statement there. Refused for a crate that runs
// the folder on SQLite, and only there (tests/ui/pass/plpgsql-on-postgres.rs compiles the same folder).
static MIGRATIONS: migrate::Migrations = migrate::migrations!("tests/ui/plpgsql", backends(sqlite));

fn main() {}
