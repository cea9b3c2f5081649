// The folder a PostgreSQL project wrote compiles for a crate that runs it on PostgreSQL.
static MIGRATIONS: migrate::Migrations = migrate::migrations!("tests/ui/plpgsql", backends(postgres));

fn main() {
    assert_eq!(MIGRATIONS.revisions().len(), 1);
}
