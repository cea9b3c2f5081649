// the folder does not exist
static MIGRATIONS: migrate::Migrations = migrate::migrations!("tests/ui/missing-folder");

fn main() {
    let _ = &MIGRATIONS;
}
