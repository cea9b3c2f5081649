// a COMMIT inside a revision that runs in a transaction
static MIGRATIONS: migrate::Migrations = migrate::migrations!("tests/ui/transaction-control");

fn main() {
    let _ = &MIGRATIONS;
}
