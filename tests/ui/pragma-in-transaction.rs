// A warning of the folder (the pragma does nothing inside the revision's transaction) is a warning of the build:
// denied here so that its text shows in the snapshot. Without the deny, the crate builds.
#![deny(deprecated)]

static MIGRATIONS: migrate::Migrations = migrate::migrations!("tests/ui/pragma-in-transaction", backends(sqlite));

fn main() {}
