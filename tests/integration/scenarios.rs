//! The scenario suite: each scenario is written once and runs on SQLite, PostgreSQL and MySQL.

use std::time::Duration;

use migrate::{
    Database, Driver, Error, FailureOutcome, HistoryTable, MigrationFailure, Migrator, OutOfOrder, Resolution,
    RowState, StopPoint,
};

use crate::backend::{on_every_backend, Conn, ConnExt, Db, Kind};
use crate::common::{versions, Folder};

migrate::migrations!(mod shapes = "tests/fixtures/shapes");
migrate::migrations!(mod failing = "tests/fixtures/failing");
migrate::migrations!(mod counted = "tests/fixtures/counted");
migrate::migrations!(mod accounts = "tests/fixtures/accounts");

/// Set in child processes of the concurrency scenario: `kind:ident|url` of the database to migrate.
pub const CHILD_ENV: &str = "MIGRATE_TEST_CHILD";

on_every_backend!(
    statements_read_as_the_database_reads_them,
    upgrade_downgrade_and_stamp,
    failure_in_the_middle,
    single_transaction_run,
    a_rerun_applies_nothing,
    concurrent_processes_apply_each_revision_once,
    a_held_lock_times_out_naming_the_holder,
    the_lock_is_free_after_a_failure_and_after_a_panic,
    a_changed_file_is_refused_until_accepted,
    unknown_applied_revisions,
    out_of_order_policy,
    dirty_revision_resumed_or_resolved,
    accounts_schema_up_down_to_the_irreversible_revision_and_up,
    resume_after_the_first_statement_failed,
    comment_only_files_are_deliberate_no_ops,
    a_named_history_table_is_the_only_one_used,
    a_stop_asked_for_ends_at_a_safe_point,
);

/// Cancels its handle when the step or statement it waits for starts.
struct CancelAt {
    cancel: migrate::Cancel,
    step: Option<&'static str>,
    statement: Option<usize>,
}

impl migrate::Observer for CancelAt {
    fn step_started(&mut self, step: &migrate::Step<'_>, _: usize, _: usize) {
        if self.step == Some(step.revision.version.as_str()) {
            self.cancel.cancel();
        }
    }
    fn statement_started(&mut self, _: &migrate::Step<'_>, index: usize, _: usize) {
        if self.statement == Some(index) {
            self.cancel.cancel();
        }
    }
}

/// A stop asked for ([`migrate::Cancel`]) ends the run at its next safe point: a revision under way in one
/// transaction commits and the next does not start; one run statement by statement stops after the statement that
/// is running, its record complete, and resume goes on from there.
fn a_stop_asked_for_ends_at_a_safe_point(kind: Kind) {
    let Some(db) = Db::new(kind, "stop_asked_for") else { return };
    let folder = Folder::new();
    folder
        .write("0001_a/up.sql", "CREATE TABLE a (id INTEGER);")
        .write("0001_a/down.sql", "DROP TABLE a;")
        .write("0002_b/up.sql", "CREATE TABLE b (id INTEGER);")
        .write("0002_b/down.sql", "DROP TABLE b;")
        .write(
            "0003_c/up.sql",
            "-- migrate:no-transaction\nCREATE TABLE c (id INTEGER);\nINSERT INTO c VALUES (1);\nINSERT INTO c VALUES (2);\n",
        )
        .write("0003_c/down.sql", "DROP TABLE c;");
    let revisions = folder.revisions();
    let mut conn = db.connect();
    let run = |conn: &mut Conn, observer: &mut CancelAt| {
        let migrator = Migrator::new(&revisions).cancel_with(observer.cancel.clone());
        conn.with_driver(|d| migrator.core().run(d, &migrate::Command::Upgrade(migrate::Target::Head), observer))
    };
    // Asked as the first revision is about to start: a revision in one transaction does not start (no interrupter
    // was given, so one already under way would have committed); on MySQL, where it runs statement by statement, its
    // first statement runs, which is all of it.
    let mut at_first = CancelAt { cancel: migrate::Cancel::new(), step: Some("0001"), statement: None };
    let err = run(&mut conn, &mut at_first).unwrap_err();
    let Error::Stopped { completed, at: StopPoint::Between } = &err else { panic!("{err}") };
    let ran: &[&str] = if kind == Kind::Mysql { &["0001"] } else { &[] };
    assert_eq!(completed.len(), ran.len(), "{err}");
    assert_eq!(versions(&mut conn), ran);
    assert_eq!(err.kind().name(), "stopped");
    Migrator::new(&revisions).upgrade_to(&mut conn, "0001").unwrap();
    // Inside a revision run statement by statement: after statement 2 of 3.
    let mut inside = CancelAt { cancel: migrate::Cancel::new(), step: None, statement: Some(1) };
    let err = run(&mut conn, &mut inside).unwrap_err();
    let Error::Stopped { completed, at: StopPoint::Inside(revision, 2) } = &err else { panic!("{err}") };
    assert_eq!((completed.len(), revision.version.as_str()), (1, "0003"), "{err}");
    assert!(err.to_string().contains("resuming goes on from statement 3"), "{err}");
    let rows = Migrator::new(&revisions).applied(&mut conn).unwrap();
    assert_eq!((rows[2].state, rows[2].statements_done), (RowState::Upgrading, 2));
    assert_eq!(conn.strings("SELECT CAST(count(*) AS CHAR) FROM c"), ["1"]);
    Migrator::new(&revisions).resume(&mut conn).unwrap();
    assert_eq!(conn.strings("SELECT CAST(count(*) AS CHAR) FROM c"), ["2"]);
    assert_eq!(versions(&mut conn), ["0001", "0002", "0003"]);
    assert_lock_free(&db);
}

/// A history table of another name is the only one any command reads, writes or locks: the table bound at the first
/// read or lock reaches every path (a failed upgrade, resume, redo, stamp, downgrade, the snapshot).
fn a_named_history_table_is_the_only_one_used(kind: Kind) {
    let Some(db) = Db::new(kind, "named_history_table") else { return };
    let folder = Folder::new();
    folder
        .write("0001_a/up.sql", "CREATE TABLE a (id INTEGER);")
        .write("0001_a/down.sql", "DROP TABLE a;")
        .write(
            "0002_b/up.sql",
            "-- migrate:no-transaction\nCREATE TABLE b (id INTEGER);\nINSERT INTO nowhere VALUES (1);\n",
        )
        .write("0002_b/down.sql", "DROP TABLE c;\nDROP TABLE b;");
    let table = HistoryTable::new("schema_revisions").unwrap();
    let revisions = folder.revisions();
    let mut conn = db.connect();
    let err = Migrator::new(&revisions).history_table(table.clone()).upgrade(&mut conn).unwrap_err();
    assert!(matches!(&err, Error::Migration(f) if f.outcome == FailureOutcome::Dirty { statements_done: 1 }), "{err}");
    folder.write(
        "0002_b/up.sql",
        "-- migrate:no-transaction\nCREATE TABLE b (id INTEGER);\nCREATE TABLE c (id INTEGER);\n",
    );
    let fixed = folder.revisions();
    let named = Migrator::new(&fixed).history_table(table);
    named.resume(&mut conn).unwrap();
    named.redo(&mut conn, 2).unwrap();
    named.downgrade_to(&mut conn, "0001").unwrap();
    named.stamp(&mut conn, "0002").unwrap();
    named.stamp(&mut conn, "0001").unwrap();
    assert_eq!(named.applied(&mut conn).unwrap().len(), 1);
    let schema = named.snapshot(&mut conn).unwrap().to_string();
    assert!(schema.contains("a") && !schema.contains("schema_revisions"), "the history table is left out: {schema}");
    named.downgrade_to(&mut conn, "base").unwrap();
    assert!(conn.has_table("schema_revisions") && !conn.has_table("_migrate_history"));
    assert!(versions(&mut conn).is_empty(), "nothing in the default table");
}

/// A file of comments only is a no-op on purpose (diesel runs it and does nothing): applied and reverted, recorded,
/// running nothing; the statement-by-statement path (every revision on MySQL, `no-transaction` elsewhere) too.
fn comment_only_files_are_deliberate_no_ops(kind: Kind) {
    let Some(db) = Db::new(kind, "comment_only_no_ops") else { return };
    let folder = Folder::new();
    folder
        .write("0001_a/up.sql", "CREATE TABLE a (id INTEGER);")
        .write("0001_a/down.sql", "DROP TABLE a;")
        .write("0002_noop/up.sql", "-- Integer size in SQLite is already i64, so we don't need to do anything\n")
        .write("0002_noop/down.sql", "-- Nothing to undo.\n")
        .write("0003_noop_alone/up.sql", "-- migrate:no-transaction\n-- Kept for the numbering.\n")
        .write("0003_noop_alone/down.sql", "-- migrate:no-transaction\n-- Kept for the numbering.\n");
    let revisions = folder.revisions();
    let mut conn = db.connect();
    let report = Migrator::new(&revisions).upgrade(&mut conn).unwrap();
    assert_eq!(report.steps.len(), 3);
    assert_eq!(versions(&mut conn), ["0001", "0002", "0003"]);
    let report = Migrator::new(&revisions).downgrade_to(&mut conn, "0001").unwrap();
    assert_eq!(report.steps.len(), 2);
    assert_eq!(versions(&mut conn), ["0001"]);
    assert!(conn.has_table("a"));
}

fn labels(conn: &mut Conn) -> Vec<String> {
    conn.strings("SELECT label FROM items ORDER BY label")
}

/// Statements the splitter once read differently from the databases, run statement by statement: the history
/// counts each as the database does, and each had its effect (none merged into another, none split).
fn statements_read_as_the_database_reads_them(kind: Kind) {
    let Some(db) = Db::new(kind, "statements_read_as_the_database_reads_them") else { return };
    let (up, down, statements, check) = match kind {
        Kind::Postgres => (
            "-- migrate:no-transaction\nCREATE TABLE shifts (id int, trigger text, begin date);\n\
             CREATE TABLE n (v int);\n\
             CREATE RULE shifts_n AS ON INSERT TO shifts DO ALSO (INSERT INTO n VALUES (1); INSERT INTO n VALUES (2));\n\
             INSERT INTO shifts (id) VALUES (1);\n",
            "DROP TABLE shifts;\nDROP TABLE n;\n",
            4,
            "SELECT CAST(sum(v) AS TEXT) FROM n",
        ),
        Kind::Mysql => (
            "CREATE TABLE shifts (id int, event text, begin date);\nCREATE TABLE n (v int);\n\
             INSERT INTO n VALUES (5--2);\nINSERT INTO n VALUES (-4);\n\
             DELIMITER x\nCREATE PROCEDURE p() BEGIN SELECT 1; ENDx\nDELIMITER ;\n\
             INSERT INTO shifts (id) VALUES (1);\n",
            "DROP PROCEDURE p;\nDROP TABLE shifts;\nDROP TABLE n;\n",
            6,
            "SELECT CAST(sum(v) AS CHAR) FROM n",
        ),
        Kind::Sqlite => (
            "-- migrate:no-transaction\nCREATE TABLE shifts (id int, trigger text, begin date);\n\
             CREATE TABLE n (v int);\n\
             CREATE TRIGGER shifts_n AFTER INSERT ON shifts BEGIN INSERT INTO n VALUES (1); INSERT INTO n VALUES (2); END;\n\
             INSERT INTO shifts (id) VALUES (1);\n",
            "DROP TABLE shifts;\nDROP TABLE n;\n",
            4,
            "SELECT CAST(sum(v) AS TEXT) FROM n",
        ),
    };
    let folder = Folder::new();
    folder.write("0001_words/up.sql", up).write("0001_words/down.sql", down);
    let revisions = folder.revisions();
    let m = migrate::Migrator::new(&revisions);
    let mut conn = db.connect();
    m.upgrade(&mut conn).unwrap();
    let rows = m.applied(&mut conn).unwrap();
    assert_eq!((rows[0].state, rows[0].statements_done), (RowState::Applied, statements));
    assert_eq!(conn.strings(check), ["3"], "each statement ran once, whole");
    m.downgrade_to(&mut conn, "base").unwrap();
    assert!(!conn.has_table("shifts") && !conn.has_table("n"));
}

fn upgrade_downgrade_and_stamp(kind: Kind) {
    let Some(db) = Db::new(kind, "upgrade_downgrade_and_stamp") else { return };
    let mut conn = db.connect();
    let m = shapes::MIGRATIONS.migrator();

    let report = m.upgrade_to(&mut conn, "+2").unwrap();
    assert_eq!(report.steps.len(), 2);
    assert_eq!(report.after.unwrap().version, "0002");
    // The no-transaction revision ran statement by statement and ended applied, not dirty.
    let rows = m.applied(&mut conn).unwrap();
    assert!(rows.iter().all(|r| r.state == RowState::Applied));
    assert_eq!(rows[1].statements_done, 2);

    m.upgrade_to(&mut conn, shapes::OVERRIDE).unwrap();
    // The backend's override replaced the generic file.
    assert_eq!(labels(&mut conn), ["from no-transaction".to_owned(), format!("{} override", kind.name())]);
    m.upgrade(&mut conn).unwrap();
    assert_eq!(versions(&mut conn), ["0001", "0002", "0003", "0004"]);

    // 0004 is irreversible: no downgrade passes it, and nothing runs.
    for target in ["-1", "base", "0003"] {
        let err = m.downgrade_to(&mut conn, target).unwrap_err();
        assert!(matches!(err, Error::Irreversible { .. }), "{target}: {err}");
    }
    assert_eq!(versions(&mut conn), ["0001", "0002", "0003", "0004"]);

    // Stamp moves the record only.
    assert_eq!(m.stamp(&mut conn, shapes::OVERRIDE).unwrap().steps.len(), 1);
    assert_eq!(versions(&mut conn), ["0001", "0002", "0003"]);
    assert_eq!(conn.strings("SELECT CAST(count(note) AS CHAR(10)) FROM items"), ["0"], "0004's column is still there");

    m.downgrade_to(&mut conn, "-1").unwrap();
    assert_eq!(labels(&mut conn), ["from no-transaction"]);
    m.downgrade_to(&mut conn, shapes::BASE).unwrap(); // the revision named `base`, not the target `base`
    assert_eq!(versions(&mut conn), ["0001"]);
    assert!(labels(&mut conn).is_empty());
    m.downgrade_to(&mut conn, "base").unwrap();
    assert!(!conn.has_table("items"));
    assert!(versions(&mut conn).is_empty());

    m.stamp(&mut conn, "head").unwrap();
    assert_eq!(versions(&mut conn), ["0001", "0002", "0003", "0004"]);
    assert!(!conn.has_table("items"), "stamp runs no SQL");
    m.stamp(&mut conn, "base").unwrap();
    m.upgrade_to(&mut conn, "0001_base").unwrap();
    m.upgrade_to(&mut conn, "no_transaction").unwrap();
    assert_eq!(versions(&mut conn), ["0001", "0002"]);
}

fn failure_in_the_middle(kind: Kind) {
    let Some(db) = Db::new(kind, "failure_in_the_middle") else { return };
    let mut conn = db.connect();
    let err = failing::MIGRATIONS.upgrade(&mut conn).unwrap_err();
    let Error::Migration(failure) = &err else { panic!("expected a migration error, got {err}") };
    let MigrationFailure { revision, file, line, statement, outcome, applied, source, .. } = &**failure;
    assert_eq!(revision.version, "0003");
    assert_eq!(file, "0003_broken/up.sql");
    assert_eq!(*line, 4, "{err}");
    assert_eq!(statement, "INSERT INTO missing_table");
    assert_eq!(applied.iter().map(|(_, r)| r.version.as_str()).collect::<Vec<_>>(), ["0001", "0002"]);
    assert!(source.message.contains("missing_table"), "{source}");
    let text = err.to_string();
    assert!(text.contains("0003_broken/up.sql:4"), "{text}");
    assert!(conn.has_table("first_t") && conn.has_table("second_t"));
    assert!(!conn.has_table("after_t"));
    match kind {
        // MySQL commits DDL as it goes: the row says exactly what ran.
        Kind::Mysql => {
            assert_eq!(*outcome, FailureOutcome::Dirty { statements_done: 2 });
            assert_eq!(source.code.as_deref(), Some("1146"));
            assert!(conn.has_table("broken_t"));
            let rows = failing::MIGRATIONS.migrator().applied(&mut conn).unwrap();
            assert_eq!(rows.len(), 3);
            assert_eq!(rows[2].state, RowState::Upgrading);
            assert!(rows[2].error.as_deref().unwrap().contains("line 4"), "{:?}", rows[2].error);
        }
        _ => {
            assert_eq!(*outcome, FailureOutcome::RolledBack);
            if kind == Kind::Postgres {
                assert_eq!(source.code.as_deref(), Some("42P01"));
            }
            assert!(!conn.has_table("broken_t"), "the failing revision left no trace");
            assert_eq!(versions(&mut conn), ["0001", "0002"]);
        }
    }
}

fn single_transaction_run(kind: Kind) {
    let Some(db) = Db::new(kind, "single_transaction_run") else { return };
    let mut conn = db.connect();
    let err = failing::MIGRATIONS.migrator().single_transaction(true).upgrade(&mut conn).unwrap_err();
    if kind == Kind::Mysql {
        assert!(matches!(err, Error::NotTransactional { .. }), "{err}");
    } else {
        assert!(matches!(&err, Error::Migration(f) if f.outcome == FailureOutcome::RunRolledBack), "{err}");
    }
    assert!(versions(&mut conn).is_empty());
    assert!(!conn.has_table("first_t"));
}

fn a_rerun_applies_nothing(kind: Kind) {
    let Some(db) = Db::new(kind, "a_rerun_applies_nothing") else { return };
    let mut conn = db.connect();
    assert_eq!(counted::MIGRATIONS.upgrade(&mut conn).unwrap().steps.len(), 10);
    // The runner asks the driver for one thing only: the history, visited row by row in one statement on every
    // backend, an irreversible revision (no down checksum) included.
    let irreversible = Folder::new();
    irreversible
        .write("0011_kept/up.sql", "CREATE TABLE kept (id INTEGER);")
        .write("0011_kept/down.sql", "-- migrate:irreversible\n");
    let mut revisions = counted::MIGRATIONS.revisions().to_vec();
    revisions.extend(irreversible.revisions());
    Migrator::new(&revisions).upgrade(&mut conn).unwrap();
    let mut calls = Vec::new();
    let report = conn.with_driver(|d| {
        let mut spy = Spy { inner: d, calls: &mut calls };
        Migrator::new(&revisions).upgrade(&mut spy as &mut dyn Driver)
    });
    let report = report.unwrap();
    assert!(report.is_empty());
    assert_eq!(report.before, report.after);
    assert_eq!(report.after.unwrap().version, "0011");
    assert_eq!(calls, ["select"]);
    if let Conn::Mysql(client) = &mut conn {
        // The server agrees: count the statements it received.
        let (a, b) = (questions(client), questions(client));
        let before = questions(client);
        assert!(Migrator::new(&revisions).upgrade(&mut **client).unwrap().is_empty());
        let received = questions(client) - before - (b - a);
        assert_eq!(received, 1, "statements MySQL received for a start-up with nothing pending");
    }
}

/// Eight processes migrate one database at once: each revision runs exactly once and none fails. The test binary
/// runs itself as the child processes, with [`CHILD_ENV`] set.
fn concurrent_processes_apply_each_revision_once(kind: Kind) {
    if let Ok(value) = std::env::var(CHILD_ENV) {
        let db = Db::from_child_env(&value);
        if db.kind == kind {
            let mut conn = db.connect();
            counted::MIGRATIONS.migrator().lock_wait(Duration::from_secs(120)).upgrade(&mut conn).unwrap();
        }
        return;
    }
    let Some(db) = Db::new(kind, "concurrent_processes") else { return };
    let exe = std::env::current_exe().unwrap();
    let name = format!("scenarios::{}::concurrent_processes_apply_each_revision_once", kind.name());
    let children: Vec<_> = (0..8)
        .map(|_| {
            std::process::Command::new(&exe)
                .args(["--exact", &name, "--test-threads=1"])
                .env(CHILD_ENV, db.child_env())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "a migrating process failed:\n{}", String::from_utf8_lossy(&output.stdout));
    }
    let mut conn = db.connect();
    let counts = conn.strings("SELECT CAST(count(*) AS CHAR(10)) FROM run_log GROUP BY version ORDER BY version");
    assert_eq!(counts, vec!["1"; 10], "each revision ran exactly once");
    assert_eq!(versions(&mut conn).len(), 10);
}

/// MySQL's count of statements received on this session.
fn questions(conn: &mut ::mysql::Conn) -> i64 {
    use ::mysql::prelude::Queryable;
    let row: (String, String) = conn.query_first("SHOW SESSION STATUS LIKE 'Questions'").unwrap().unwrap();
    row.1.parse().unwrap()
}

fn hold_lock(db: &Db) -> Conn {
    let mut holder = db.connect();
    holder.with_driver(|d| d.lock(Duration::from_secs(5))).expect("take the lock");
    holder
}

fn a_held_lock_times_out_naming_the_holder(kind: Kind) {
    let Some(db) = Db::new(kind, "a_held_lock_times_out") else { return };
    let mut conn = db.connect();
    let holder = hold_lock(&db);
    let err = counted::MIGRATIONS.migrator().lock_wait(Duration::from_millis(300)).upgrade(&mut conn).unwrap_err();
    let Error::LockTimeout { waited, holder: who } = &err else { panic!("expected a lock timeout, got {err}") };
    assert!(*waited >= Duration::from_millis(250), "{waited:?}");
    let who = who.as_deref().unwrap_or_default();
    let expected = match kind {
        // The holder's driver is gone (and its lock file with it); its connection still holds the write lock.
        Kind::Sqlite => "write lock",
        Kind::Postgres => "PostgreSQL backend pid",
        Kind::Mysql => "connection ",
    };
    assert!(who.contains(expected), "holder named as `{who}`");
    assert!(err.advice().unwrap().contains("raise the lock timeout"), "{err}");
    assert!(versions(&mut conn).is_empty(), "nothing ran");
    let mut applied = 0;
    if kind != Kind::Sqlite {
        // Locking can be turned off (SQLite's lock is its write lock, which no writer can do without).
        let report = counted::MIGRATIONS.migrator().lock(false).upgrade_to(&mut conn, "+1").unwrap();
        applied = report.steps.len();
        assert_eq!(applied, 1);
    }
    drop(holder);
    assert_eq!(counted::MIGRATIONS.upgrade(&mut conn).unwrap().steps.len(), 10 - applied);
}

/// Delegates to a real driver, records which methods were called, and panics when asked to run a statement that
/// mentions `panic_here`.
struct Spy<'a> {
    inner: &'a mut dyn Driver,
    calls: &'a mut Vec<&'static str>,
}

impl Spy<'_> {
    fn call(&mut self, name: &'static str) -> &mut dyn Driver {
        self.calls.push(name);
        self.inner
    }
}

impl Driver for Spy<'_> {
    fn backend(&self) -> migrate::Backend {
        self.inner.backend()
    }
    fn transactional_ddl(&self) -> bool {
        self.inner.transactional_ddl()
    }
    fn bind_history(&mut self, table: &HistoryTable) {
        self.inner.bind_history(table)
    }
    fn history_name(&self) -> String {
        self.inner.history_name()
    }
    fn select(&mut self, sql: &str, reader: &mut dyn migrate::Reader) -> Result<bool, migrate::DbError> {
        self.call("select").select(sql, reader)
    }
    fn create_history(&mut self) -> Result<(), migrate::DbError> {
        self.call("create_history").create_history()
    }
    fn lock(&mut self, wait: Duration) -> Result<(), migrate::LockFailure> {
        self.call("lock").lock(wait)
    }
    fn unlock(&mut self) -> Result<(), migrate::DbError> {
        self.call("unlock").unlock()
    }
    fn begin(&mut self) -> Result<(), migrate::DbError> {
        self.call("begin").begin()
    }
    fn commit(&mut self) -> Result<(), migrate::DbError> {
        self.call("commit").commit()
    }
    fn rollback(&mut self) -> Result<(), migrate::DbError> {
        self.call("rollback").rollback()
    }
    fn before_statements(&mut self) -> Result<(), migrate::DbError> {
        self.call("before_statements").before_statements()
    }
    fn after_statements(&mut self, more: bool) -> Result<migrate::Continuity, migrate::DbError> {
        self.call("after_statements").after_statements(more)
    }
    fn execute(&mut self, statement: &str) -> Result<(), migrate::DbError> {
        assert!(!statement.contains("panic_here"), "a panic inside the run");
        self.call("execute").execute(statement)
    }
    fn run_script(
        &mut self,
        script: &str,
        statements: &[migrate::sql::Statement<'_>],
    ) -> Result<(), migrate::ScriptFailure> {
        assert!(!script.contains("panic_here"), "a panic inside the run");
        self.call("run_script").run_script(script, statements)
    }
    fn insert_row(&mut self, row: &migrate::AppliedRow) -> Result<(), migrate::DbError> {
        self.call("insert_row").insert_row(row)
    }
    fn update_row(&mut self, row: &migrate::AppliedRow) -> Result<(), migrate::DbError> {
        self.call("update_row").update_row(row)
    }
    fn delete_row(&mut self, version: &str) -> Result<(), migrate::DbError> {
        self.call("delete_row").delete_row(version)
    }
}

fn assert_lock_free(db: &Db) {
    let mut other = db.connect();
    other
        .with_driver(|d| {
            let result = d.lock(Duration::ZERO);
            let _ = d.unlock();
            result
        })
        .expect("the lock is free");
}

fn the_lock_is_free_after_a_failure_and_after_a_panic(kind: Kind) {
    let Some(db) = Db::new(kind, "the_lock_is_free") else { return };
    let mut conn = db.connect();
    failing::MIGRATIONS.upgrade(&mut conn).unwrap_err();
    assert_lock_free(&db);

    let folder = Folder::new();
    folder
        .write("0001_a/up.sql", "CREATE TABLE a (id INTEGER);")
        .write("0001_a/down.sql", "DROP TABLE a;")
        .write("0002_boom/up.sql", "CREATE TABLE panic_here (id INTEGER);")
        .write("0002_boom/down.sql", "DROP TABLE panic_here;");
    let revisions = folder.revisions();
    let fresh_db = Db::new(kind, "the_lock_is_free_panic").unwrap();
    let mut fresh = fresh_db.connect();
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        fresh.with_driver(|d| {
            let mut calls = Vec::new();
            let mut wrapped = Spy { inner: d, calls: &mut calls };
            let _ = Migrator::new(&revisions).upgrade(&mut wrapped as &mut dyn Driver);
        })
    }));
    assert!(panicked.is_err(), "the run panicked");
    // The panicking connection is still open, yet the lock was released on the way out.
    assert_lock_free(&fresh_db);
    let _still_open = fresh;
}

fn a_changed_file_is_refused_until_accepted(kind: Kind) {
    let Some(db) = Db::new(kind, "a_changed_file") else { return };
    let folder = Folder::new();
    folder.write("0001_a/up.sql", "CREATE TABLE a (id INTEGER);").write("0001_a/down.sql", "DROP TABLE a;");
    let mut conn = db.connect();
    Migrator::new(&folder.revisions()).upgrade(&mut conn).unwrap();

    folder.write("0001_a/up.sql", "CREATE TABLE a (id INTEGER, extra TEXT);");
    let changed = folder.revisions();
    let err = Migrator::new(&changed).upgrade(&mut conn).unwrap_err();
    let Error::ChecksumMismatch { changes } = &err else { panic!("expected a checksum error, got {err}") };
    assert_eq!(changes[0].file, "0001_a/up.sql");
    assert_eq!(Migrator::new(&changed).accept(&mut conn, "0001").unwrap().len(), 1);
    Migrator::new(&changed).upgrade(&mut conn).unwrap();
    assert!(Migrator::new(&changed).accept(&mut conn, "0001").unwrap().is_empty());
    // A changed down file is refused as well: the start-up check compares both checksums.
    folder.write("0001_a/down.sql", "DROP TABLE IF EXISTS a;");
    let err = Migrator::new(&folder.revisions()).upgrade(&mut conn).unwrap_err();
    let Error::ChecksumMismatch { changes } = &err else { panic!("expected a checksum error, got {err}") };
    assert_eq!(changes[0].file, "0001_a/down.sql");
}

fn unknown_applied_revisions(kind: Kind) {
    let Some(db) = Db::new(kind, "unknown_applied") else { return };
    let mut conn = db.connect();
    counted::MIGRATIONS.upgrade(&mut conn).unwrap();
    let older = &counted::MIGRATIONS.revisions()[..5];
    let err = Migrator::new(older).upgrade(&mut conn).unwrap_err();
    assert!(matches!(&err, Error::UnknownApplied { revisions } if revisions.len() == 5), "{err}");
    // The down SQL kept in the history lets the older binary revert what it does not know.
    Migrator::new(older).downgrade_to(&mut conn, "0005").unwrap();
    assert_eq!(versions(&mut conn).len(), 5);
    assert!(!conn.has_table("t10") && conn.has_table("t05"));
}

fn out_of_order_policy(kind: Kind) {
    let Some(db) = Db::new(kind, "out_of_order") else { return };
    let folder = Folder::new();
    for v in ["0001", "0003"] {
        folder.write(&format!("{v}_t/up.sql"), &format!("CREATE TABLE t{v} (id INTEGER);"));
        folder.write(&format!("{v}_t/down.sql"), &format!("DROP TABLE t{v};"));
    }
    let mut conn = db.connect();
    Migrator::new(&folder.revisions()).upgrade(&mut conn).unwrap();
    folder.write("0002_late/up.sql", "CREATE TABLE late (id INTEGER);").write("0002_late/down.sql", "DROP TABLE late;");
    let revisions = folder.revisions();
    let err = Migrator::new(&revisions).upgrade(&mut conn).unwrap_err();
    assert!(matches!(&err, Error::OutOfOrder { pending, .. } if pending[0].version == "0002"), "{err}");
    assert!(!conn.has_table("late"));
    Migrator::new(&revisions).out_of_order(OutOfOrder::Allow).upgrade(&mut conn).unwrap();
    assert_eq!(versions(&mut conn), ["0001", "0002", "0003"]);
}

fn dirty_revision_resumed_or_resolved(kind: Kind) {
    let Some(db) = Db::new(kind, "dirty_revision") else { return };
    let folder = Folder::new();
    let steps = |third: &str| {
        format!(
            "-- migrate:no-transaction\nINSERT INTO a VALUES (1);\nINSERT INTO a VALUES (2);\n{third}\nINSERT INTO a VALUES (4);\n"
        )
    };
    folder
        .write("0001_a/up.sql", "CREATE TABLE a (id INTEGER);")
        .write("0001_a/down.sql", "DROP TABLE a;")
        .write("0002_steps/up.sql", &steps("INSERT INTO nowhere VALUES (3);"))
        .write("0002_steps/down.sql", "-- migrate:no-transaction\nDELETE FROM a;\n");
    let mut conn = db.connect();
    let revisions = folder.revisions();
    let err = Migrator::new(&revisions).upgrade(&mut conn).unwrap_err();
    assert!(
        matches!(&err, Error::Migration(f) if f.outcome == FailureOutcome::Dirty { statements_done: 2 } && f.line == 4),
        "{err}"
    );
    let count = |conn: &mut Conn| conn.strings("SELECT CAST(count(*) AS CHAR(10)) FROM a").remove(0);
    assert_eq!(count(&mut conn), "2", "statements before the failure stay");

    // The next run refuses and says what happened and how to go on.
    let err = Migrator::new(&revisions).upgrade(&mut conn).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::Dirty { statements_done: 2, .. }), "{text}");
    let advice = err.advice().unwrap();
    assert!(text.contains("nowhere") && advice.contains("resume") && advice.contains("resolved"), "{text}");

    // Editing a statement that already ran is caught before resuming.
    folder.write("0002_steps/up.sql", &steps("INSERT INTO a VALUES (3);").replace("(1)", "(10)"));
    let err = Migrator::new(&folder.revisions()).resume(&mut conn).unwrap_err();
    assert!(matches!(err, Error::Resume { .. }), "{err}");

    // Fixing only the failed statement resumes from it.
    folder.write("0002_steps/up.sql", &steps("INSERT INTO a VALUES (3);"));
    let fixed = folder.revisions();
    Migrator::new(&fixed).resume(&mut conn).unwrap();
    assert_eq!(count(&mut conn), "4");
    assert_eq!(Migrator::new(&fixed).applied(&mut conn).unwrap()[1].state, RowState::Applied);
    assert!(Migrator::new(&fixed).upgrade(&mut conn).unwrap().is_empty());

    // The other way out: settle it by hand and mark it resolved.
    folder
        .write(
            "0003_more/up.sql",
            "-- migrate:no-transaction\nINSERT INTO a VALUES (5);\nINSERT INTO nowhere VALUES (6);\n",
        )
        .write("0003_more/down.sql", "DELETE FROM a WHERE id = 5;");
    let more = folder.revisions();
    assert!(Migrator::new(&more).upgrade(&mut conn).is_err());
    let err = Migrator::new(&more).resolve(&mut conn, "0002", Resolution::Applied).unwrap_err();
    assert!(matches!(err, Error::Resume { .. }), "only the dirty revision can be resolved: {err}");
    conn.exec("DELETE FROM a WHERE id = 5");
    Migrator::new(&more).resolve(&mut conn, "0003", Resolution::NotApplied).unwrap();
    assert_eq!(versions(&mut conn), ["0001", "0002"]);
}

fn accounts_schema_up_down_to_the_irreversible_revision_and_up(kind: Kind) {
    let Some(db) = Db::new(kind, "accounts_schema") else { return };
    let mut conn = db.connect();
    let m = accounts::MIGRATIONS.migrator();
    assert!(accounts::MIGRATIONS.revisions().len() >= 30);
    let report = m.upgrade(&mut conn).unwrap();
    assert_eq!(report.steps.len(), accounts::MIGRATIONS.revisions().len());

    // The triggers work on every backend: each membership is audited.
    conn.exec("INSERT INTO organisations (id, slug, name) VALUES ('o1', 'acme', 'Acme')");
    for i in 0..6 {
        conn.exec(&format!("INSERT INTO accounts (id, email) VALUES ('a{i}', 'a{i}@example.com')"));
        conn.exec(&format!("INSERT INTO memberships (organisation_id, account_id) VALUES ('o1', 'a{i}')"));
    }
    conn.exec("UPDATE accounts SET email = 'new@example.com' WHERE id = 'a0'");
    let audited = || "SELECT CAST(count(*) AS CHAR(10)) FROM audit_log WHERE action = 'membership.created'";
    assert_eq!(conn.strings(audited()), ["6"]);

    // Down as far as the irreversible revision, which refuses to be crossed.
    let report = m.downgrade_to(&mut conn, accounts::PURGE_EXPIRED_SESSIONS).unwrap();
    assert_eq!(report.steps.len(), 6);
    assert!(!conn.has_table("billing_events") && conn.has_table("sessions"));
    let err = m.downgrade_to(&mut conn, "-1").unwrap_err();
    assert!(matches!(&err, Error::Irreversible { revision, .. } if revision.name == "purge_expired_sessions"), "{err}");

    // And up again.
    assert_eq!(m.upgrade(&mut conn).unwrap().steps.len(), 6);
    assert!(conn.has_table("billing_events"));
    assert_eq!(conn.strings(audited()), ["6"]);
    assert!(m.upgrade(&mut conn).unwrap().is_empty());
}

fn resume_after_the_first_statement_failed(kind: Kind) {
    let Some(db) = Db::new(kind, "resume_first_statement") else { return };
    let folder = Folder::new();
    folder
        .write(
            "0001_a/up.sql",
            "-- migrate:no-transaction\nINSERT INTO nowhere VALUES (1);\nCREATE TABLE b (id INTEGER);\n",
        )
        .write("0001_a/down.sql", "DROP TABLE b;");
    let mut conn = db.connect();
    let err = Migrator::new(&folder.revisions()).upgrade(&mut conn).unwrap_err();
    assert!(matches!(&err, Error::Migration(f) if f.outcome == FailureOutcome::Dirty { statements_done: 0 }), "{err}");
    folder.write(
        "0001_a/up.sql",
        "-- migrate:no-transaction\nCREATE TABLE a (id INTEGER);\nCREATE TABLE b (id INTEGER);\n",
    );
    let fixed = folder.revisions();
    Migrator::new(&fixed).resume(&mut conn).unwrap();
    assert!(conn.has_table("a") && conn.has_table("b"));
    assert!(Migrator::new(&fixed).upgrade(&mut conn).unwrap().is_empty());
}
