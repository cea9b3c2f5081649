// two folders whose versions are equal once dashes are dropped
static MIGRATIONS: migrate::Migrations = migrate::migrations!("tests/ui/duplicate-version");

fn main() {
    let _ = &MIGRATIONS;
}
