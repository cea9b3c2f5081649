// up.postgres.sql without down.postgres.sql
static MIGRATIONS: migrate::Migrations = migrate::migrations!("tests/ui/override-without-counterpart");

fn main() {
    let _ = &MIGRATIONS;
}
