// sequence numbers of different widths: 10 sorts before 2 as text
static MIGRATIONS: migrate::Migrations = migrate::migrations!("tests/ui/ambiguous-order");

fn main() {
    let _ = &MIGRATIONS;
}
