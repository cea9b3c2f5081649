// a diesel placeholder down.sql, without allow_empty_down
static MIGRATIONS: migrate::Migrations = migrate::migrations!("tests/ui/empty-down");

fn main() {
    let _ = &MIGRATIONS;
}
