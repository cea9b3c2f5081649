// an up.sql with nothing but comments
static MIGRATIONS: migrate::Migrations = migrate::migrations!("tests/ui/empty-up");

fn main() {
    let _ = &MIGRATIONS;
}
