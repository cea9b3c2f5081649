// an option the macro does not know
static MIGRATIONS: migrate::Migrations = migrate::migrations!("tests/ui/missing-down", allow_everything);

fn main() {
    let _ = &MIGRATIONS;
}
