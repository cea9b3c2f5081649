// every problem of a folder is reported in one build
static MIGRATIONS: migrate::Migrations = migrate::migrations!("tests/ui/many-problems");

fn main() {
    let _ = &MIGRATIONS;
}
