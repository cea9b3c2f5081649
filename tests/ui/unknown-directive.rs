// a misspelt directive
static MIGRATIONS: migrate::Migrations = migrate::migrations!("tests/ui/unknown-directive");

fn main() {
    let _ = &MIGRATIONS;
}
