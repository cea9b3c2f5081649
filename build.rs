//! Rebuilds the crate's examples and tests when a revision folder is added or removed (editing a file already
//! rebuilds through `include_str!`).

fn main() {
    migrate_core::build::watch("examples/migrations");
    migrate_core::build::watch("tests/fixtures");
}
