// a statement that cannot run in a transaction, in a revision that runs in one
static MIGRATIONS: migrate::Migrations = migrate::migrations!("tests/ui/needs-no-transaction");

fn main() {
    let _ = &MIGRATIONS;
}
