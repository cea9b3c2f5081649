// a file that is not valid UTF-8
static MIGRATIONS: migrate::Migrations = migrate::migrations!("tests/ui/not-utf8");

fn main() {
    let _ = &MIGRATIONS;
}
