// The lint at its default level: findings are warnings of the build (`#[allow(deprecated)]` silences them), and
// the list is embedded.
#[allow(deprecated)]
static MIGRATIONS: migrate::Migrations = migrate::migrations!("tests/ui/lint-deny", backends(postgres), lint);

fn main() {
    assert_eq!(MIGRATIONS.revisions().len(), 2);
}
