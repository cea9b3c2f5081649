//! Nothing is planned outside the lock: each history read a run makes between taking the lock and letting it go
//! must find the lock held, as another connection sees it. A redo (a downgrade and an upgrade under one hold of the
//! lock) is the case that can go wrong on the backends whose lock is a transaction: SQLite, and PostgreSQL's
//! transaction-scoped lock, which end the lock with each revision's commit and must take it again before the next
//! command is planned. The same test runs on the backends whose lock outlives commits (PostgreSQL session lock,
//! MySQL), which must pass it trivially.

use std::time::Duration;

use migrate::postgres::{LockMode, Postgres};
use migrate::sqlite::Sqlite;
use migrate::{
    AppliedRow, Backend, Continuity, DbError, Driver, ExecFailure, HistoryTable, LockFailure, Migrator, Reader,
    RowChange, RowWrite, ScriptFailure, StepFailure,
};

use mysql::prelude::Queryable;

use crate::backend::{Conn, Db, Kind};
use crate::common::Folder;

/// A real driver, watched: at every history read made while it is between `lock` and `unlock`, `held` asks another
/// connection whether the migration lock is held.
struct Watched<'d> {
    inner: &'d mut dyn Driver,
    held: Box<dyn FnMut() -> bool + 'd>,
    locked: bool,
    /// For each history read made between `lock` and `unlock`: whether the lock was held.
    reads: Vec<bool>,
}

impl Driver for Watched<'_> {
    fn backend(&self) -> Backend {
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
    fn select(&mut self, sql: &str, reader: &mut dyn Reader) -> Result<bool, DbError> {
        if self.locked {
            let held = (self.held)();
            self.reads.push(held);
        }
        self.inner.select(sql, reader)
    }
    fn create_history(&mut self) -> Result<(), DbError> {
        self.inner.create_history()
    }
    fn lock(&mut self, wait: Duration) -> Result<(), LockFailure> {
        self.inner.lock(wait)?;
        self.locked = true;
        Ok(())
    }
    fn unlock(&mut self) -> Result<(), DbError> {
        self.locked = false;
        self.inner.unlock()
    }
    fn begin(&mut self) -> Result<(), DbError> {
        self.inner.begin()
    }
    fn commit(&mut self) -> Result<(), DbError> {
        self.inner.commit()
    }
    fn rollback(&mut self) -> Result<(), DbError> {
        self.inner.rollback()
    }
    fn before_statements(&mut self) -> Result<(), DbError> {
        self.inner.before_statements()
    }
    fn after_statements(&mut self, more: bool) -> Result<Continuity, DbError> {
        self.inner.after_statements(more)
    }
    fn execute(&mut self, statement: &str) -> Result<(), DbError> {
        self.inner.execute(statement)
    }
    fn execute_and_record(&mut self, statement: &str, write: &RowWrite<'_>) -> Result<(), ExecFailure> {
        self.inner.execute_and_record(statement, write)
    }
    fn execute_in_doubt(
        &mut self,
        statement: &str,
        intent: &AppliedRow,
        write: &RowWrite<'_>,
    ) -> Result<(), ExecFailure> {
        self.inner.execute_in_doubt(statement, intent, write)
    }
    fn write_row(&mut self, write: &RowWrite<'_>) -> Result<(), DbError> {
        self.inner.write_row(write)
    }
    fn run_script(&mut self, script: &str, statements: &[migrate::sql::Statement<'_>]) -> Result<(), ScriptFailure> {
        self.inner.run_script(script, statements)
    }
    fn apply_in_transaction(
        &mut self,
        script: &str,
        statements: &[migrate::sql::Statement<'_>],
        change: RowChange<'_>,
        more: bool,
    ) -> Result<Continuity, StepFailure> {
        self.inner.apply_in_transaction(script, statements, change, more)
    }
    fn insert_row(&mut self, row: &AppliedRow) -> Result<(), DbError> {
        self.inner.insert_row(row)
    }
    fn update_row(&mut self, row: &AppliedRow) -> Result<(), DbError> {
        self.inner.update_row(row)
    }
    fn delete_row(&mut self, version: &str) -> Result<(), DbError> {
        self.inner.delete_row(version)
    }
}

/// Three revisions; one runs statement by statement, so both kinds of step end a redo's phases.
fn folder() -> Folder {
    let folder = Folder::new();
    folder
        .write("0001_a/up.sql", "CREATE TABLE a (id INTEGER);")
        .write("0001_a/down.sql", "DROP TABLE a;")
        .write("0002_b/up.sql", "-- migrate:no-transaction\nCREATE TABLE b (id INTEGER);\nINSERT INTO b VALUES (1);")
        .write("0002_b/down.sql", "-- migrate:no-transaction\nDROP TABLE b;")
        .write("0003_c/up.sql", "CREATE TABLE c (id INTEGER);")
        .write("0003_c/down.sql", "DROP TABLE c;");
    folder
}

/// Redoes 1, 2 and 3 revisions through `driver`, checking every read under the lock found it held.
fn redo_reads_under_the_lock(driver: &mut Watched<'_>, revisions: &[migrate::Revision]) {
    let migrator = Migrator::new(revisions);
    migrator.upgrade(driver as &mut dyn Driver).unwrap();
    for count in 1..=3 {
        driver.reads.clear();
        let report = migrator.redo(driver as &mut dyn Driver, count).unwrap();
        assert_eq!(report.steps.len(), 2 * count as usize, "redo {count}: {report:?}");
        assert_eq!(report.after.as_ref().map(|r| r.version.as_str()), Some("0003"));
        // The downgrade's plan, the upgrade's plan, and a re-plan wherever the lock was taken again.
        assert!(driver.reads.len() >= 2, "redo {count}: {:?}", driver.reads);
        assert!(driver.reads.iter().all(|held| *held), "redo {count} planned outside the lock: {:?}", driver.reads);
    }
}

#[test]
fn redo_plans_under_the_lock_sqlite() {
    let Some(db) = Db::new(Kind::Sqlite, "redo_lock_sqlite") else { return };
    let Conn::Sqlite(conn) = db.connect() else { unreachable!() };
    let Conn::Sqlite(other) = db.connect() else { unreachable!() };
    other.busy_timeout(Duration::ZERO).unwrap();
    let held = move || match other.execute_batch("BEGIN IMMEDIATE") {
        Ok(()) => {
            other.execute_batch("ROLLBACK").unwrap();
            false
        }
        Err(err) if err.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy) => true,
        Err(err) => panic!("probing the write lock: {err}"),
    };
    let mut inner = Sqlite::new(&conn);
    let mut driver = Watched { inner: &mut inner, held: Box::new(held), locked: false, reads: Vec::new() };
    let folder = folder();
    redo_reads_under_the_lock(&mut driver, &folder.revisions());
}

fn redo_plans_under_the_lock_postgres(mode: LockMode) {
    let Some(db) = Db::new(Kind::Postgres, &format!("redo_lock_pg_{mode:?}")) else { return };
    let Conn::Postgres(mut client) = db.connect() else { unreachable!() };
    let Conn::Postgres(mut other) = db.connect() else { unreachable!() };
    let pid: i32 = client.query_one("SELECT pg_backend_pid()", &[]).unwrap().get(0);
    let held = move || {
        let sql = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = $1";
        other.query_one(sql, &[&pid]).unwrap().get::<_, i64>(0) == 1
    };
    let mut inner = Postgres::new(&mut client).lock_mode(mode);
    let mut driver = Watched { inner: &mut inner, held: Box::new(held), locked: false, reads: Vec::new() };
    let folder = folder();
    redo_reads_under_the_lock(&mut driver, &folder.revisions());
}

#[test]
fn redo_plans_under_the_lock_postgres_transaction_lock() {
    redo_plans_under_the_lock_postgres(LockMode::Transaction);
}

#[test]
fn redo_plans_under_the_lock_postgres_session_lock() {
    redo_plans_under_the_lock_postgres(LockMode::Session);
}

#[test]
fn redo_plans_under_the_lock_mysql() {
    let Some(db) = Db::new(Kind::Mysql, "redo_lock_mysql") else { return };
    let (Conn::Mysql(mut conn), Conn::Mysql(mut other)) = (db.connect(), db.connect()) else { unreachable!() };
    let id: u64 = conn.query_first("SELECT CONNECTION_ID()").unwrap().unwrap();
    let name = crate::common::offline_lock_identity(Backend::Mysql, &HistoryTable::default(), "GET_LOCK(", ", 60)");
    let held = move || {
        let user: Option<Option<u64>> = other.query_first(format!("SELECT IS_USED_LOCK({name})")).unwrap();
        user.flatten() == Some(id)
    };
    let mut inner = migrate::mysql::Mysql::new(&mut conn);
    let mut driver = Watched { inner: &mut inner, held: Box::new(held), locked: false, reads: Vec::new() };
    let folder = folder();
    redo_reads_under_the_lock(&mut driver, &folder.revisions());
}
