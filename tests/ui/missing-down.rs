// a revision without down.sql
static MIGRATIONS: migrate::Migrations = migrate::migrations!("tests/ui/missing-down");

fn main() {
    let _ = &MIGRATIONS;
}
