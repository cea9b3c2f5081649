// a down.sql marked irreversible that still has statements
static MIGRATIONS: migrate::Migrations = migrate::migrations!("tests/ui/irreversible-with-statements");

fn main() {
    let _ = &MIGRATIONS;
}
