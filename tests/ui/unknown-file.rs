// a file the macro does not understand inside a revision folder
static MIGRATIONS: migrate::Migrations = migrate::migrations!("tests/ui/unknown-file");

fn main() {
    let _ = &MIGRATIONS;
}
