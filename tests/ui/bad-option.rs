// an option the macro does not know
static MIGRATIONS: migrate::Migrations = migrate::migrations!("../../../../examples/migrations", allow_everything);

fn main() {
    let _ = &MIGRATIONS;
}
