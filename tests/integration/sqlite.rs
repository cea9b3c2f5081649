//! SQLite end to end: every command, failures, the lock across processes, and the refusals.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use migrate::{Error, FailureOutcome, Migrator, OutOfOrder, Resolution, RowState};

use crate::common::{has_table, versions, Folder, TempDb};

migrate::migrations!(mod shapes = "tests/fixtures/shapes");
migrate::migrations!(mod failing = "tests/fixtures/failing");
migrate::migrations!(mod counted = "tests/fixtures/counted");

fn labels(conn: &rusqlite::Connection) -> Vec<String> {
    let mut stmt = conn.prepare("SELECT label FROM items ORDER BY id").unwrap();
    stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
}

#[test]
fn upgrade_downgrade_and_stamp() {
    let db = TempDb::new();
    let mut conn = db.open();
    let m = shapes::MIGRATIONS.migrator();

    let report = m.upgrade_to(&mut conn, "+2").unwrap();
    assert_eq!(report.steps.len(), 2);
    assert_eq!(report.after.unwrap().version, "0002");
    // The no-transaction revision ran statement by statement and ended applied, not dirty.
    let rows = m.applied(&mut conn).unwrap();
    assert!(rows.iter().all(|r| r.state == RowState::Applied));
    assert_eq!(rows[1].statements_done, 2);

    m.upgrade_to(&mut conn, shapes::OVERRIDE).unwrap();
    // The SQLite override replaced the generic file.
    assert_eq!(labels(&conn), ["from no-transaction", "sqlite override"]);
    m.upgrade(&mut conn).unwrap();
    assert_eq!(versions(&mut conn), ["0001", "0002", "0003", "0004"]);

    // 0004 is irreversible: no downgrade passes it.
    for target in ["-1", "base", "0003"] {
        let err = m.downgrade_to(&mut conn, target).unwrap_err();
        assert!(matches!(err, Error::Irreversible { .. }), "{target}: {err}");
    }
    assert_eq!(versions(&mut conn), ["0001", "0002", "0003", "0004"]);

    // Stamp moves the record only.
    let report = m.stamp(&mut conn, shapes::OVERRIDE).unwrap();
    assert_eq!(report.steps.len(), 1);
    assert_eq!(versions(&mut conn), ["0001", "0002", "0003"]);
    conn.query_row("SELECT note FROM items LIMIT 1", [], |_| Ok(())).expect("0004's column is still there");

    m.downgrade_to(&mut conn, "-1").unwrap();
    assert_eq!(labels(&conn), ["from no-transaction"]);
    m.downgrade_to(&mut conn, shapes::BASE).unwrap();
    assert_eq!(versions(&mut conn), ["0001"]);
    assert!(labels(&conn).is_empty());
    m.downgrade_to(&mut conn, "base").unwrap();
    assert!(!has_table(&conn, "items"));
    assert!(versions(&mut conn).is_empty());

    m.stamp(&mut conn, "head").unwrap();
    assert_eq!(versions(&mut conn), ["0001", "0002", "0003", "0004"]);
    assert!(!has_table(&conn, "items"), "stamp runs no SQL");
}

#[test]
fn failure_in_the_middle_keeps_what_was_applied_and_leaves_no_trace_of_the_rest() {
    let db = TempDb::new();
    let mut conn = db.open();
    let err = failing::MIGRATIONS.upgrade(&mut conn).unwrap_err();
    let Error::Migration { revision, file, line, statement, outcome, applied, source, .. } = &err else {
        panic!("expected a migration error, got {err}")
    };
    assert_eq!(revision.version, "0003");
    assert_eq!(file, "0003_broken/up.sql");
    assert_eq!(*line, 4);
    assert_eq!(statement, "INSERT INTO missing_table");
    assert_eq!(*outcome, FailureOutcome::RolledBack);
    assert_eq!(applied.iter().map(|(_, r)| r.version.as_str()).collect::<Vec<_>>(), ["0001", "0002"]);
    assert!(source.message.contains("no such table: missing_table"), "{source}");
    let text = err.to_string();
    assert!(
        text.contains("0003_broken/up.sql:4") && text.contains("applied 0001 (first), applied 0002 (second)"),
        "{text}"
    );

    assert_eq!(versions(&mut conn), ["0001", "0002"]);
    assert!(has_table(&conn, "first") && has_table(&conn, "second"));
    assert!(!has_table(&conn, "broken"), "the failing revision left no trace");
    assert!(!has_table(&conn, "after"));
    // The lock is free again: another writer gets in at once.
    let other = db.open();
    other.busy_timeout(Duration::ZERO).unwrap();
    other.execute_batch("BEGIN IMMEDIATE; ROLLBACK;").expect("lock released after a failed run");
}

#[test]
fn single_transaction_rolls_back_the_whole_run() {
    let db = TempDb::new();
    let mut conn = db.open();
    let err = failing::MIGRATIONS.migrator().single_transaction(true).upgrade(&mut conn).unwrap_err();
    assert!(matches!(err, Error::Migration { outcome: FailureOutcome::RunRolledBack, .. }), "{err}");
    assert!(versions(&mut conn).is_empty());
    assert!(!has_table(&conn, "first"));
}

static STATEMENTS: AtomicUsize = AtomicUsize::new(0);

fn count_statement(_: rusqlite::trace::TraceEvent<'_>) {
    STATEMENTS.fetch_add(1, Ordering::SeqCst);
}

#[test]
fn a_rerun_applies_nothing_and_sends_one_statement() {
    let db = TempDb::new();
    let mut conn = db.open();
    assert_eq!(counted::MIGRATIONS.upgrade(&mut conn).unwrap().steps.len(), 10);
    conn.trace_v2(rusqlite::trace::TraceEventCodes::SQLITE_TRACE_STMT, Some(count_statement));
    let report = counted::MIGRATIONS.upgrade(&mut conn).unwrap();
    conn.trace_v2(rusqlite::trace::TraceEventCodes::empty(), None);
    assert!(report.is_empty());
    assert_eq!(report.before, report.after);
    assert_eq!(STATEMENTS.load(Ordering::SeqCst), 1, "only the history read");
}

const CHILD_ENV: &str = "MIGRATE_TEST_CHILD_DB";

/// Eight processes migrate one file at once: each revision runs exactly once and none fails. The test runs itself
/// as the child processes (with `CHILD_ENV` set).
#[test]
fn concurrent_processes_apply_each_revision_once() {
    if let Ok(path) = std::env::var(CHILD_ENV) {
        let mut conn = rusqlite::Connection::open(path).unwrap();
        counted::MIGRATIONS.migrator().lock_wait(Duration::from_secs(120)).upgrade(&mut conn).unwrap();
        return;
    }
    let db = TempDb::new();
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..8)
        .map(|_| {
            std::process::Command::new(&exe)
                .args(["--exact", "sqlite::concurrent_processes_apply_each_revision_once", "--test-threads=1"])
                .env(CHILD_ENV, &db.path)
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success(), "a migrating process failed");
    }
    let mut conn = db.open();
    let mut stmt = conn.prepare("SELECT version, count(*) FROM run_log GROUP BY version ORDER BY version").unwrap();
    let counts: Vec<(String, i64)> =
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect();
    drop(stmt);
    assert_eq!(counts.len(), 10);
    assert!(counts.iter().all(|(_, n)| *n == 1), "{counts:?}");
    assert_eq!(versions(&mut conn).len(), 10);
}

#[test]
fn a_held_lock_times_out_with_a_clear_error() {
    let db = TempDb::new();
    let mut conn = db.open();
    let holder = db.open();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let err = counted::MIGRATIONS.migrator().lock_wait(Duration::from_millis(200)).upgrade(&mut conn).unwrap_err();
    let Error::LockTimeout { waited, holder: who } = &err else { panic!("expected a lock timeout, got {err}") };
    assert!(*waited >= Duration::from_millis(150), "{waited:?}");
    assert!(who.as_deref().unwrap().contains("write lock"));
    assert!(err.to_string().contains("raise the lock timeout"), "{err}");
    holder.execute_batch("ROLLBACK").unwrap();
    assert_eq!(counted::MIGRATIONS.upgrade(&mut conn).unwrap().steps.len(), 10);
    // The busy timeout the application set is restored after the run.
    let timeout: i64 = conn.query_row("PRAGMA busy_timeout", [], |r| r.get(0)).unwrap();
    assert_eq!(timeout, 5000);
}

#[test]
fn a_changed_file_is_refused_until_accepted() {
    let folder = Folder::new();
    folder.write("0001_a/up.sql", "CREATE TABLE a (id INTEGER);").write("0001_a/down.sql", "DROP TABLE a;");
    let db = TempDb::new();
    let mut conn = db.open();
    Migrator::new(&folder.revisions()).upgrade(&mut conn).unwrap();

    folder.write("0001_a/up.sql", "CREATE TABLE a (id INTEGER, extra TEXT);");
    let changed = folder.revisions();
    let err = Migrator::new(&changed).upgrade(&mut conn).unwrap_err();
    let Error::ChecksumMismatch { changes } = &err else { panic!("expected a checksum error, got {err}") };
    assert_eq!(changes[0].file, "0001_a/up.sql");
    let accepted = Migrator::new(&changed).accept(&mut conn, "0001").unwrap();
    assert_eq!(accepted.len(), 1);
    Migrator::new(&changed).upgrade(&mut conn).unwrap();
    assert!(Migrator::new(&changed).accept(&mut conn, "0001").unwrap().is_empty());
}

#[test]
fn unknown_applied_revisions_are_refused_and_can_be_reverted_by_an_older_binary() {
    let db = TempDb::new();
    let mut conn = db.open();
    counted::MIGRATIONS.upgrade(&mut conn).unwrap();
    let older = &counted::MIGRATIONS.revisions()[..5];
    let err = Migrator::new(older).upgrade(&mut conn).unwrap_err();
    assert!(matches!(&err, Error::UnknownApplied { revisions } if revisions.len() == 5), "{err}");
    // The down SQL kept in the history lets the older binary revert what it does not know.
    Migrator::new(older).downgrade_to(&mut conn, "0005").unwrap();
    assert_eq!(versions(&mut conn).len(), 5);
    assert!(!has_table(&conn, "t10") && has_table(&conn, "t05"));
}

#[test]
fn out_of_order_revisions_follow_the_policy() {
    let folder = Folder::new();
    for v in ["0001", "0003"] {
        folder.write(&format!("{v}_t/up.sql"), &format!("CREATE TABLE t{v} (id INTEGER);"));
        folder.write(&format!("{v}_t/down.sql"), &format!("DROP TABLE t{v};"));
    }
    let db = TempDb::new();
    let mut conn = db.open();
    Migrator::new(&folder.revisions()).upgrade(&mut conn).unwrap();
    folder.write("0002_late/up.sql", "CREATE TABLE late (id INTEGER);").write("0002_late/down.sql", "DROP TABLE late;");
    let revisions = folder.revisions();
    let err = Migrator::new(&revisions).upgrade(&mut conn).unwrap_err();
    assert!(matches!(&err, Error::OutOfOrder { pending, .. } if pending[0].version == "0002"), "{err}");
    Migrator::new(&revisions).out_of_order(OutOfOrder::Allow).upgrade(&mut conn).unwrap();
    assert_eq!(versions(&mut conn), ["0001", "0002", "0003"]);
}

#[test]
fn a_failed_no_transaction_revision_is_dirty_until_resumed_or_resolved() {
    let folder = Folder::new();
    folder
        .write("0001_a/up.sql", "CREATE TABLE a (id INTEGER);")
        .write("0001_a/down.sql", "DROP TABLE a;")
        .write(
            "0002_steps/up.sql",
            "-- migrate:no-transaction\nINSERT INTO a VALUES (1);\nINSERT INTO a VALUES (2);\nINSERT INTO nowhere VALUES (3);\nINSERT INTO a VALUES (4);\n",
        )
        .write("0002_steps/down.sql", "-- migrate:no-transaction\nDELETE FROM a;\n");
    let db = TempDb::new();
    let mut conn = db.open();
    let revisions = folder.revisions();
    let err = Migrator::new(&revisions).upgrade(&mut conn).unwrap_err();
    assert!(
        matches!(&err, Error::Migration { outcome: FailureOutcome::Dirty { statements_done: 2 }, line: 4, .. }),
        "{err}"
    );
    let count =
        |conn: &rusqlite::Connection| conn.query_row("SELECT count(*) FROM a", [], |r| r.get::<_, i64>(0)).unwrap();
    assert_eq!(count(&conn), 2, "statements before the failure stay");

    // The next run refuses and says what happened.
    let err = Migrator::new(&revisions).upgrade(&mut conn).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::Dirty { statements_done: 2, .. }), "{text}");
    assert!(text.contains("no such table: nowhere") && text.contains("resume"), "{text}");

    // Editing a statement that already ran is caught before resuming.
    folder.write(
        "0002_steps/up.sql",
        "-- migrate:no-transaction\nINSERT INTO a VALUES (10);\nINSERT INTO a VALUES (2);\nINSERT INTO a VALUES (3);\nINSERT INTO a VALUES (4);\n",
    );
    let err = Migrator::new(&folder.revisions()).resume(&mut conn).unwrap_err();
    assert!(matches!(err, Error::Resume { .. }), "{err}");

    // Fixing only the failed statement resumes from it.
    folder.write(
        "0002_steps/up.sql",
        "-- migrate:no-transaction\nINSERT INTO a VALUES (1);\nINSERT INTO a VALUES (2);\nINSERT INTO a VALUES (3);\nINSERT INTO a VALUES (4);\n",
    );
    let fixed = folder.revisions();
    Migrator::new(&fixed).resume(&mut conn).unwrap();
    assert_eq!(count(&conn), 4);
    let rows = Migrator::new(&fixed).applied(&mut conn).unwrap();
    assert_eq!(rows[1].state, RowState::Applied);
    Migrator::new(&fixed).upgrade(&mut conn).unwrap();

    // The other way out: settle it by hand and mark it resolved.
    folder.write(
        "0003_more/up.sql",
        "-- migrate:no-transaction\nINSERT INTO a VALUES (5);\nINSERT INTO nowhere VALUES (6);\n",
    );
    folder.write("0003_more/down.sql", "DELETE FROM a WHERE id = 5;");
    let more = folder.revisions();
    assert!(Migrator::new(&more).upgrade(&mut conn).is_err());
    Migrator::new(&more).resolve(&mut conn, "0003", Resolution::NotApplied).unwrap();
    assert_eq!(versions(&mut conn), ["0001", "0002"]);
    conn.execute_batch("DELETE FROM a WHERE id = 5").unwrap();
    let err = Migrator::new(&more).resolve(&mut conn, "0002", Resolution::Applied).unwrap_err();
    assert!(matches!(err, Error::Resume { .. }), "{err}");
}
