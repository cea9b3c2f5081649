// folders that are not <version>_<name>
static MIGRATIONS: migrate::Migrations = migrate::migrations!("tests/ui/unparsable-name");

fn main() {
    let _ = &MIGRATIONS;
}
