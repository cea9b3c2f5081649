// A folder with only warnings builds.
static MIGRATIONS: migrate::Migrations = migrate::migrations!("tests/ui/pragma-in-transaction", backends(sqlite));

fn main() {
    assert_eq!(MIGRATIONS.revisions().len(), 1);
}
