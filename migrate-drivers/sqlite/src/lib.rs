//! SQLite driver of the `migrate` toolkit, over `rusqlite`.
//!
//! The migration lock is SQLite's own write lock, a `BEGIN IMMEDIATE` transaction, taken with a bounded wait; for a
//! database file it is joined by an advisory lock on a file beside it (`<database>-migrate-lock`), held for the whole
//! run, so a runner that starts while another is between revisions, or running a `no-transaction` revision outside
//! the write transaction, waits for it instead of finding its revision half done. The operating system lets that
//! lock go when its process dies; a run that ends removes the file (on Unix), still holding its lock, and a runner
//! that then gets the lock on the removed file takes the one at the path instead. Each revision commits with its
//! history row; since SQLite cannot commit and keep its write lock, the driver takes the lock again at once and reports, through `PRAGMA data_version`, whether another connection wrote in the gap, so the
//! runner re-reads the history before going on. A `no-transaction` revision runs outside the lock transaction,
//! statement by statement, behind a history row marked dirty.
//!
//! ```
//! let conn = rusqlite::Connection::open_in_memory()?;
//! let mut driver = migrate_sqlite::Sqlite::new(&conn);
//! # use migrate_core::Driver;
//! assert_eq!(driver.backend(), migrate_core::Backend::Sqlite);
//! let mut rows = migrate_core::history::read::Rows::new(migrate_core::history::Selection::Full);
//! assert!(!driver.select("SELECT * FROM _migrate_history", &mut rows).unwrap(), "no history table yet");
//! # Ok::<(), rusqlite::Error>(())
//! ```

mod schema;

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read as _, Seek as _, Write as _};
use std::time::{Duration, Instant};

use migrate_core::history::{self, Cells, Reader, COLUMNS, IN_DOUBT, RUNNER, TRIES};
use migrate_core::lock;
use migrate_core::{
    AppliedRow, Backend, Checksum, Continuity, DbError, Driver, ExecFailure, HistoryTable, LockFailure, RowWrite,
};
use rusqlite::types::ValueRef;
use rusqlite::{params, Connection, ErrorCode};

/// A [`Driver`] over a borrowed `rusqlite::Connection`.
pub struct Sqlite<'c> {
    conn: &'c Connection,
    in_transaction: bool,
    locked: bool,
    lock_wait: Duration,
    data_version: i64,
    saved_busy_timeout: Option<i64>,
    /// The bound history table's statements.
    queries: Queries,
    /// The runners' lock file and its path, locked, while the lock is held.
    runner_lock: Option<(File, String)>,
}

/// The history statements for one table, formatted once.
struct Queries {
    table: HistoryTable,
    name: String,
    insert: String,
    update: String,
    delete: String,
}

impl Queries {
    fn new(table: &HistoryTable) -> Queries {
        let name = table.qualified(quote);
        Queries {
            table: table.clone(),
            insert: format!(
                "INSERT INTO {name} ({COLUMNS}, {IN_DOUBT}, {RUNNER}, {TRIES}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, \
                 ?10, ?11, ?12, ?13, ?14)"
            ),
            update: format!(
                "UPDATE {name} SET name = ?2, up_checksum = ?3, down_checksum = ?4, down_sql = ?5, applied_at = ?6, \
                 duration_ms = ?7, state = ?8, statements_done = ?9, progress_checksum = ?10, error = ?11, \
                 in_doubt = ?12, runner = ?13, tries = ?14 WHERE version = ?1"
            ),
            delete: format!("DELETE FROM {name} WHERE version = ?1"),
            name,
        }
    }
}

impl<'c> Sqlite<'c> {
    /// A driver over `conn`. It changes the connection's busy timeout only while it holds the lock, and restores it.
    pub fn new(conn: &'c Connection) -> Self {
        Sqlite {
            conn,
            in_transaction: false,
            locked: false,
            lock_wait: Duration::ZERO,
            data_version: 0,
            saved_busy_timeout: None,
            queries: Queries::new(&HistoryTable::default()),
            runner_lock: None,
        }
    }

    fn begin_immediate(&mut self) -> Result<(), LockFailure> {
        match self.conn.execute_batch("BEGIN IMMEDIATE") {
            Ok(()) => {
                self.in_transaction = true;
                Ok(())
            }
            Err(err) if is_busy(&err) => Err(LockFailure::Timeout {
                holder: Some("another connection holding the database's write lock".to_owned()),
            }),
            Err(err) => Err(LockFailure::Database(db_error(err))),
        }
    }

    /// Takes the lock on the file beside the database that runners hold for a whole run, waiting at most `wait`.
    /// `Ok(None)` for a database without a file (in memory, temporary), which no other process can reach, and for a
    /// file whose directory cannot take the lock file (logged; the write lock still keeps runners apart, but one
    /// may then find another's `no-transaction` revision in progress).
    fn lock_runners(&self, wait: Duration) -> Result<Option<(File, String)>, LockFailure> {
        let Some(path) = self.conn.path().filter(|p| !p.is_empty()) else { return Ok(None) };
        let lock_path = format!("{path}-migrate-lock");
        let deadline = Instant::now() + wait;
        loop {
            let mut file = match OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&lock_path)
            {
                Ok(file) => file,
                Err(err) => {
                    log::warn!(
                        "cannot open the runners' lock file {lock_path}: {err}; relying on the write lock alone"
                    );
                    return Ok(None);
                }
            };
            let attempt = |file: &mut File| match file.try_lock() {
                Ok(()) => Ok(true),
                Err(TryLockError::WouldBlock) => Ok(false),
                Err(TryLockError::Error(err)) => Err(DbError::new(format!("locking {lock_path}: {err}"))),
            };
            let holder = |file: &mut File| {
                let mut text = String::new();
                let read = file.rewind().and_then(|()| file.read_to_string(&mut text));
                let who = text.trim();
                Some(match read {
                    Ok(_) if !who.is_empty() => {
                        format!("another runner of this database ({who}; lock file {lock_path})")
                    }
                    _ => format!("another runner of this database (lock file {lock_path})"),
                })
            };
            lock::poll(deadline.saturating_duration_since(Instant::now()), &mut file, attempt, holder)?;
            if !is_at(&file, &lock_path) {
                // The runner before this one removed it as it finished (and another may have made a new one): the
                // lock that counts is the one on the file at the path now.
                if Instant::now() >= deadline {
                    let holder = Some(format!("another runner of this database (lock file {lock_path})"));
                    return Err(LockFailure::Timeout { holder });
                }
                continue;
            }
            // Who holds it, for the message of a runner that waits; the lock itself is what counts.
            let who = format!("process {} since {}", std::process::id(), history::now_utc());
            let noted = file.set_len(0).and_then(|()| file.rewind()).and_then(|()| file.write_all(who.as_bytes()));
            if let Err(err) = noted {
                log::info!("could not note the lock holder in {lock_path}: {err}");
            }
            return Ok(Some((file, lock_path)));
        }
    }

    fn data_version(&self) -> Result<i64, DbError> {
        let mut stmt = self.conn.prepare_cached("PRAGMA data_version").map_err(db_error)?;
        stmt.query_row([], |row| row.get(0)).map_err(db_error)
    }

    fn relock(&mut self) -> Result<Continuity, DbError> {
        self.begin_immediate().map_err(|failure| match failure {
            LockFailure::Timeout { .. } => {
                DbError::new("could not take the write lock again between revisions within the lock wait")
            }
            LockFailure::Database(err) => err,
        })?;
        let version = self.data_version()?;
        if version == self.data_version {
            Ok(Continuity::Held)
        } else {
            self.data_version = version;
            Ok(Continuity::Interrupted)
        }
    }
}

/// Whether `file` is the file at `path` now (not one removed from it since it was opened).
#[cfg(unix)]
fn is_at(file: &File, path: &str) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(open), Ok(there)) => open.dev() == there.dev() && open.ino() == there.ino(),
        _ => false,
    }
}

/// Elsewhere the lock file is never removed, so the file opened is the one at the path.
#[cfg(not(unix))]
fn is_at(_: &File, _: &str) -> bool {
    true
}

fn is_busy(err: &rusqlite::Error) -> bool {
    matches!(err.sqlite_error_code(), Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked))
}

/// Converts a rusqlite error, keeping SQLite's result code.
pub fn db_error(err: rusqlite::Error) -> DbError {
    let (code, message) = match &err {
        rusqlite::Error::SqliteFailure(e, msg) => {
            (Some(result_code_name(e.extended_code)), msg.clone().unwrap_or_else(|| e.to_string()))
        }
        other => (None, other.to_string()),
    };
    let error = DbError::new(message).with_source(err);
    match code {
        Some(code) => error.with_code(code),
        None => error,
    }
}

/// SQLite's name for the primary result code of `extended`, with the extended code: `SQLITE_CONSTRAINT/2067`.
fn result_code_name(extended: i32) -> String {
    const NAMES: [&str; 29] = [
        "SQLITE_OK",
        "SQLITE_ERROR",
        "SQLITE_INTERNAL",
        "SQLITE_PERM",
        "SQLITE_ABORT",
        "SQLITE_BUSY",
        "SQLITE_LOCKED",
        "SQLITE_NOMEM",
        "SQLITE_READONLY",
        "SQLITE_INTERRUPT",
        "SQLITE_IOERR",
        "SQLITE_CORRUPT",
        "SQLITE_NOTFOUND",
        "SQLITE_FULL",
        "SQLITE_CANTOPEN",
        "SQLITE_PROTOCOL",
        "SQLITE_EMPTY",
        "SQLITE_SCHEMA",
        "SQLITE_TOOBIG",
        "SQLITE_CONSTRAINT",
        "SQLITE_MISMATCH",
        "SQLITE_MISUSE",
        "SQLITE_NOLFS",
        "SQLITE_AUTH",
        "SQLITE_FORMAT",
        "SQLITE_RANGE",
        "SQLITE_NOTADB",
        "SQLITE_NOTICE",
        "SQLITE_WARNING",
    ];
    let primary = usize::try_from(extended & 0xff).unwrap_or(0);
    match NAMES.get(primary) {
        Some(name) => format!("{name}/{extended}"),
        None => format!("SQLITE/{extended}"),
    }
}

fn quote(ident: &str) -> String {
    history::quote_identifier(Backend::Sqlite, ident)
}

/// A row of a query, read as [`Cells`].
struct Row<'r, 's>(&'r rusqlite::Row<'s>);

impl Cells for Row<'_, '_> {
    fn text(&self, index: usize) -> Result<Option<&str>, DbError> {
        match self.0.get_ref(index).map_err(db_error)? {
            ValueRef::Null => Ok(None),
            ValueRef::Text(bytes) => std::str::from_utf8(bytes).map(Some).map_err(|e| DbError::new(e.to_string())),
            other => Err(DbError::new(format!("{:?} where text is expected", other.data_type()))),
        }
    }

    fn integer(&self, index: usize) -> Result<Option<i64>, DbError> {
        match self.0.get_ref(index).map_err(db_error)? {
            ValueRef::Null => Ok(None),
            ValueRef::Integer(n) => Ok(Some(n)),
            other => Err(DbError::new(format!("{:?} where an integer is expected", other.data_type()))),
        }
    }
}

/// Whether `err` says a table the query reads does not exist. A cached statement can outlive the table (a rolled-back
/// first run): SQLite then fails on the step, not on the prepare.
fn no_table(err: &rusqlite::Error) -> bool {
    matches!(err, rusqlite::Error::SqliteFailure(_, Some(msg)) if msg.starts_with("no such table"))
}

/// Calls `f` with the row's columns as parameters `?1` to `?13`, in [`COLUMNS`] order and then [`IN_DOUBT`] and
/// [`RUNNER`].
fn with_row_params<R>(row: &AppliedRow, f: impl FnOnce(&[&dyn rusqlite::ToSql]) -> R) -> R {
    let hex = |c: Option<Checksum>| c.map(|c| c.to_hex());
    f(params![
        row.version,
        row.name,
        row.up_checksum.to_hex(),
        hex(row.down_checksum),
        row.down_sql,
        row.applied_at,
        row.duration_ms,
        row.state.as_str(),
        row.statements_done,
        hex(row.progress_checksum),
        row.error,
        i64::from(row.in_doubt),
        row.runner,
        row.tries,
    ])
}

impl Driver for Sqlite<'_> {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    fn bind_history(&mut self, table: &HistoryTable) {
        if &self.queries.table != table {
            self.queries = Queries::new(table);
        }
    }

    fn history_name(&self) -> String {
        self.queries.name.clone()
    }

    /// Prepared afresh each time: a cached statement keeps the columns `*` had when it was prepared, and a read is
    /// made a few times a run at most (a start-up's connection has an empty cache anyway).
    fn select(&mut self, sql: &str, reader: &mut dyn Reader) -> Result<bool, DbError> {
        let mut failed = None;
        let read = self.conn.prepare(sql).and_then(|mut stmt| {
            if let Err(err) = reader.columns(&stmt.column_names()) {
                failed = Some(err);
                return Ok(());
            }
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                match reader.row(&Row(row)) {
                    Ok(true) => {}
                    Ok(false) => break,
                    Err(err) => {
                        failed = Some(err);
                        break;
                    }
                }
            }
            Ok(())
        });
        match (read, failed) {
            (_, Some(err)) => Err(err),
            (Ok(()), None) => Ok(true),
            (Err(err), None) if no_table(&err) => Ok(false),
            (Err(err), None) => Err(db_error(err)),
        }
    }

    fn create_history(&mut self) -> Result<(), DbError> {
        let sql = history::create_table_sql(Backend::Sqlite, &self.queries.name);
        self.conn.execute_batch(&sql).map_err(db_error)
    }

    fn lock(&mut self, wait: Duration) -> Result<(), LockFailure> {
        let started = Instant::now();
        self.runner_lock = self.lock_runners(wait)?;
        let wait = wait.saturating_sub(started.elapsed());
        let saved: i64 = self.conn.query_row("PRAGMA busy_timeout", [], |row| row.get(0)).map_err(db_error)?;
        self.saved_busy_timeout = Some(saved);
        // SQLite takes the timeout in milliseconds as a C int.
        self.conn.busy_timeout(wait.min(Duration::from_millis(i32::MAX as u64))).map_err(db_error)?;
        self.lock_wait = wait;
        if let Err(failure) = self.begin_immediate() {
            self.unlock()?;
            return Err(failure);
        }
        self.locked = true;
        self.data_version = self.data_version()?;
        Ok(())
    }

    fn unlock(&mut self) -> Result<(), DbError> {
        let mut result = Ok(());
        if self.in_transaction || !self.conn.is_autocommit() {
            self.in_transaction = false;
            result = self.conn.execute_batch("ROLLBACK").map_err(db_error);
        }
        self.locked = false;
        if let Some((file, path)) = self.runner_lock.take() {
            // Removed while still locked, so no file is left beside the database: a runner waiting on it finds,
            // once it has it, that it is no longer the file at the path, and takes the one there (see
            // `lock_runners`). Where a file cannot be told from another (not Unix), it stays.
            if cfg!(unix) {
                if let Err(err) = std::fs::remove_file(&path) {
                    log::info!("could not remove the runners' lock file {path}: {err}");
                }
            }
            // Closing the file lets the lock go too; unlocking first says so when it fails.
            if let Err(err) = file.unlock() {
                log::warn!("releasing the runners' lock file: {err}");
            }
        }
        if let Some(ms) = self.saved_busy_timeout.take() {
            let restored = self.conn.busy_timeout(Duration::from_millis(ms.max(0) as u64)).map_err(db_error);
            result = result.and(restored);
        }
        result
    }

    fn begin(&mut self) -> Result<(), DbError> {
        if self.in_transaction {
            // The lock transaction is open: the revision runs inside it and commits with it.
            return Ok(());
        }
        self.conn.execute_batch("BEGIN IMMEDIATE").map_err(db_error)?;
        self.in_transaction = true;
        Ok(())
    }

    fn commit(&mut self) -> Result<(), DbError> {
        self.conn.execute_batch("COMMIT").map_err(db_error)?;
        self.in_transaction = false;
        Ok(())
    }

    fn rollback(&mut self) -> Result<(), DbError> {
        self.in_transaction = false;
        if self.conn.is_autocommit() {
            // SQLite already rolled back (some errors end the transaction themselves).
            return Ok(());
        }
        self.conn.execute_batch("ROLLBACK").map_err(db_error)
    }

    fn before_statements(&mut self) -> Result<(), DbError> {
        if self.in_transaction {
            self.conn.execute_batch("COMMIT").map_err(db_error)?;
            self.in_transaction = false;
        }
        Ok(())
    }

    fn after_statements(&mut self, more: bool) -> Result<Continuity, DbError> {
        if self.locked && more {
            return self.relock();
        }
        Ok(Continuity::Held)
    }

    fn execute(&mut self, statement: &str) -> Result<(), DbError> {
        self.conn.execute_batch(statement).map_err(db_error)
    }

    /// A transaction of its own: the statement, then the history write, then COMMIT; rolled back on failure.
    fn execute_and_record(&mut self, statement: &str, write: &RowWrite<'_>) -> Result<(), ExecFailure> {
        self.conn.execute_batch("BEGIN IMMEDIATE").map_err(|err| ExecFailure::History(db_error(err)))?;
        let name = self.queries.name.clone();
        let result =
            self.conn.execute_batch(statement).map_err(|err| ExecFailure::Statement(db_error(err))).and_then(|()| {
                let sql = format!("{};\nCOMMIT", write.sql(Backend::Sqlite, &name));
                self.conn.execute_batch(&sql).map_err(|err| ExecFailure::History(db_error(err)))
            });
        if result.is_err() && !self.conn.is_autocommit() {
            if let Err(err) = self.conn.execute_batch("ROLLBACK") {
                log::warn!("rolling back a failed statement failed: {err}");
            }
        }
        result
    }

    fn write_row(&mut self, write: &RowWrite<'_>) -> Result<(), DbError> {
        let name = self.queries.name.clone();
        self.conn.execute_batch(&write.sql(Backend::Sqlite, &name)).map_err(db_error)
    }

    fn snapshot(&mut self) -> Result<migrate_core::Schema, DbError> {
        schema::snapshot(self.conn, &self.queries.table).map_err(db_error)
    }

    fn insert_row(&mut self, row: &AppliedRow) -> Result<(), DbError> {
        let conn = self.conn;
        let mut stmt = conn.prepare_cached(&self.queries.insert).map_err(db_error)?;
        with_row_params(row, |params| stmt.execute(params)).map_err(db_error)?;
        Ok(())
    }

    fn update_row(&mut self, row: &AppliedRow) -> Result<(), DbError> {
        let conn = self.conn;
        let mut stmt = conn.prepare_cached(&self.queries.update).map_err(db_error)?;
        match with_row_params(row, |params| stmt.execute(params)).map_err(db_error)? {
            1 => Ok(()),
            _ => Err(DbError::new(format!("history row {} not found to update", row.version))),
        }
    }

    fn delete_row(&mut self, version: &str) -> Result<(), DbError> {
        let conn = self.conn;
        let mut stmt = conn.prepare_cached(&self.queries.delete).map_err(db_error)?;
        stmt.execute([version]).map_err(db_error)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_codes_are_named() {
        assert_eq!(result_code_name(1), "SQLITE_ERROR/1");
        assert_eq!(result_code_name(2067), "SQLITE_CONSTRAINT/2067");
        assert_eq!(result_code_name(517), "SQLITE_BUSY/517");
        assert_eq!(result_code_name(200), "SQLITE/200");
    }
}
