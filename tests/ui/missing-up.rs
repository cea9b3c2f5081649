// a revision without up.sql
static MIGRATIONS: migrate::Migrations = migrate::migrations!("tests/ui/missing-up");

fn main() {
    let _ = &MIGRATIONS;
}
