//! The embedded list equals what the scanner reads at run time, on every naming variant of a diesel folder.

use std::path::Path;

use migrate::{Backend, ScanOptions, ScriptKind};

use crate::common::{scan_ok, TempDb};

migrate::migrations!(mod diesel = "tests/fixtures/diesel", allow_empty_down);
static EXAMPLES: migrate::Migrations = migrate::migrations!("examples/migrations");
static SHAPES: migrate::Migrations = migrate::migrations!("tests/fixtures/shapes");
static ACCOUNTS: migrate::Migrations = migrate::migrations!("tests/fixtures/accounts");

#[test]
fn embedded_lists_equal_the_scanned_lists() {
    let cases: [(&migrate::Migrations, &str, bool); 4] = [
        (&ACCOUNTS, "tests/fixtures/accounts", false),
        (&diesel::MIGRATIONS, "tests/fixtures/diesel", true),
        (&EXAMPLES, "examples/migrations", false),
        (&SHAPES, "tests/fixtures/shapes", false),
    ];
    for (embedded, dir, allow_empty_down) in cases {
        let scanned = scan_ok(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join(dir),
            ScanOptions::default().allow_empty_down(allow_empty_down),
        );
        assert_eq!(embedded.revisions(), scanned.as_slice(), "{dir}");
    }
}

#[test]
fn diesel_folder_with_every_naming_variant() {
    let revisions = diesel::MIGRATIONS.revisions();
    let folders: Vec<(&str, &str, &str)> = revisions.iter().map(|r| (r.version(), r.name(), r.folder())).collect();
    assert_eq!(
        folders,
        [
            ("00000000000000", "diesel_initial_setup", "00000000000000_diesel_initial_setup"),
            ("20240313", "dated", "2024-03-13_dated"),
            ("20240313170000", "with spaces in name", "2024-03-13-170000_with spaces in name"),
            ("202511190914440000", "long_version", "2025-11-19-091444-0000_long_version"),
            ("20251201120000", "bigint_ids", "2025-12-01-120000_bigint_ids"),
        ]
    );
    // metadata.toml's run_in_transaction = false governs both files; the placeholder down.sql is a no-op.
    let long = &revisions[3];
    assert!(!long.up(Backend::Sqlite).transaction());
    assert_eq!(long.down(Backend::Sqlite).kind(), ScriptKind::Empty);
    // Files of comments only are deliberate no-ops, embedded as such.
    let noop = &revisions[4];
    assert_eq!(
        (noop.up(Backend::Sqlite).kind(), noop.down(Backend::Sqlite).kind()),
        (ScriptKind::NoOp, ScriptKind::NoOp)
    );
    // CRLF files checksum like their LF twins.
    let spaced = revisions[2].up(Backend::Sqlite);
    assert!(spaced.sql().contains("\r\n"));
    assert_eq!(spaced.checksum(), migrate::Checksum::of(&spaced.sql().replace("\r\n", "\n")));
    // Generated constants name each revision.
    let ids = [
        diesel::DIESEL_INITIAL_SETUP,
        diesel::DATED,
        diesel::WITH_SPACES_IN_NAME,
        diesel::LONG_VERSION,
        diesel::BIGINT_IDS,
    ];
    assert_eq!(ids.map(|id| id.folder()), revisions.iter().map(|r| r.folder()).collect::<Vec<_>>().as_slice());

    let db = TempDb::new();
    let mut conn = db.open();
    let report = diesel::MIGRATIONS.upgrade(&mut conn).unwrap();
    assert_eq!(report.steps.len(), 5);
    let migrator = diesel::MIGRATIONS.migrator();
    migrator.downgrade_to(&mut conn, diesel::DATED).unwrap();
    assert_eq!(crate::common::versions(&mut conn), ["00000000000000", "20240313"]);
    migrator.downgrade_to(&mut conn, "base").unwrap();
    assert!(crate::common::versions(&mut conn).is_empty());
}

// Copies of EXAMPLES that nothing else touches, so each test below sees a list not decoded yet.
static UNTOUCHED: migrate::Migrations = migrate::migrations!("examples/migrations");
static PENDING: migrate::Migrations = migrate::migrations!("examples/migrations");

/// The start-up with nothing pending compares the history with the embedded form and decodes nothing; one with
/// work to do decodes the list and does it.
#[migrate::test(EXAMPLES)]
fn a_start_with_nothing_pending_reads_the_embedded_form(db: &mut migrate::testing::TestDatabase) {
    assert!(!UNTOUCHED.__is_decoded());
    let report = UNTOUCHED.upgrade(db).unwrap();
    assert!(report.steps.is_empty());
    assert_eq!(report.after.map(|id| id.version), Some("0003".to_owned()));
    assert!(!UNTOUCHED.__is_decoded(), "decoded although nothing was pending");

    PENDING.migrator().downgrade_to(db, "0002").unwrap();
    let report = PENDING.upgrade(db).unwrap();
    assert_eq!(report.steps.len(), 1);
    assert!(PENDING.__is_decoded());
    assert_eq!(db.value("SELECT COUNT(*) FROM _migrate_history").as_deref(), Some("3"));
}
