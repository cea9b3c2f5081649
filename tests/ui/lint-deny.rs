// a table dropped while the running application may still read it, at level deny; the allowed statement passes
static MIGRATIONS: migrate::Migrations =
    migrate::migrations!("tests/ui/lint-deny", backends(postgres), lint(deny(drop_table, drop_column)));

fn main() {
    let _ = &MIGRATIONS;
}
