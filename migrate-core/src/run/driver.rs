//! The `Driver` trait: what the runner needs from a database, and nothing more. A driver runs SQL, reads and writes
//! the history table, and takes the migration lock; planning and the order of operations live in the runner, once.
//!
//! The trait is object-safe (the runner works on `&mut dyn Driver`). Methods added later get default bodies, so a
//! driver written against an older version keeps compiling.

use std::time::Duration;

use crate::config::HistoryTable;
use crate::error::DbError;
use crate::history::{AppliedRow, Reader, RowWrite};
use crate::revision::Backend;
use crate::schema::Schema;
use crate::sql::doubt::{CatalogObject, Presence};
use crate::sql::Statement;

/// Whether the lock was held without a gap across a commit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Continuity {
    /// The lock was held throughout: what the runner read before is still true.
    Held,
    /// The lock was released and taken again, and another connection may have written in between: the runner must
    /// read the history again before going on. (SQLite, whose lock is its write transaction, reports this when
    /// another connection wrote while it was committing.)
    Interrupted,
}

/// Why the lock was not taken.
#[derive(Debug)]
pub enum LockFailure {
    /// The wait ran out.
    Timeout {
        /// Who holds the lock, where the database can tell.
        holder: Option<String>,
    },
    /// The database failed.
    Database(DbError),
}

impl ScriptFailure {
    /// Statement `index` failed with `error`.
    pub fn new(index: usize, error: DbError) -> ScriptFailure {
        ScriptFailure { index, error }
    }
}

impl From<DbError> for LockFailure {
    fn from(err: DbError) -> Self {
        LockFailure::Database(err)
    }
}

/// A statement of a script failed.
#[derive(Debug)]
#[non_exhaustive]
pub struct ScriptFailure {
    /// Index of the failing statement in the list given.
    pub index: usize,
    /// The database's error; its `position`, if set, is relative to that statement.
    pub error: DbError,
}

/// A change to the history table that commits together with a revision.
#[derive(Clone, Debug)]
pub enum RowChange<'a> {
    /// Insert this row; its `duration_ms` is set by the driver to the time the statements took.
    Insert(Box<AppliedRow>),
    /// Remove the row of this version.
    Delete(&'a str),
}

/// Why [`Driver::apply_in_transaction`] failed. The transaction has been rolled back in either case.
#[derive(Debug)]
pub enum StepFailure {
    /// A statement of the script failed.
    Script(ScriptFailure),
    /// Something else failed before the commit: the history write, the commit, the connection.
    Database(DbError),
    /// The revision committed, but taking the lock again afterwards failed.
    Committed(DbError),
}

/// Why [`Driver::execute_and_record`] or [`Driver::execute_in_doubt`] failed.
#[derive(Debug)]
pub enum ExecFailure {
    /// The statement failed; the progress write did not happen (and a transaction around both is rolled back).
    Statement(DbError),
    /// A history write failed: the one before the statement (nothing ran), or the one after it, in which case the
    /// statement is rolled back with it where they shared a transaction, and otherwise stays in doubt.
    History(DbError),
}

/// A database the runner can migrate. See the module documentation.
pub trait Driver {
    /// The database family, which picks override files and the SQL dialect.
    fn backend(&self) -> Backend;

    /// `false` where DDL commits implicitly (MySQL): every revision then runs statement by statement with its
    /// progress recorded, since no transaction could undo it.
    fn transactional_ddl(&self) -> bool {
        true
    }

    /// Binds the history table that every later call reads, writes and keys the lock on. The runner binds it once
    /// per use of the driver, before anything else; until then a driver uses [`HistoryTable::default`].
    fn bind_history(&mut self, table: &HistoryTable);

    /// The bound history table's name as this driver's statements name it, qualified and quoted: a driver whose
    /// session's default schema (or database) a revision could change qualifies it with the one it resolved when
    /// the lock was taken.
    fn history_name(&self) -> String;

    /// Runs `sql`, one query, and hands `reader` the names of its columns, then each row, in one round trip, until
    /// the reader has seen enough. `Ok(false)` if the query failed because a table (or a schema) it reads does not
    /// exist. The runner reads the history table through this ([`crate::history::read`]), so drivers decode no rows.
    fn select(&mut self, sql: &str, reader: &mut dyn Reader) -> Result<bool, DbError>;

    /// Creates the history table (and its schema) if it does not exist.
    fn create_history(&mut self) -> Result<(), DbError>;

    /// Takes the migration lock, waiting at most `wait`. Must not block longer than that.
    fn lock(&mut self, wait: Duration) -> Result<(), LockFailure>;

    /// Releases the lock (and rolls back anything left uncommitted). Must be safe to call when the lock is not held.
    fn unlock(&mut self) -> Result<(), DbError>;

    /// Bounds how long the statements of the revision that runs next wait for a lock on what they change
    /// ([`Config::lock_timeout`]; `None`: the session's own setting). Called before each revision; a driver applies
    /// it in the round trips that run the revision, not in one of its own, and leaves the session's setting as it
    /// found it. The default does nothing (SQLite, whose waits the lock wait bounds).
    ///
    /// [`Config::lock_timeout`]: crate::Config::lock_timeout
    fn set_lock_timeout(&mut self, timeout: Option<Duration>) {
        let _ = timeout;
    }

    /// Who holds a lock that `statement` waited for until its lock wait ran out, in one line for the operator: each
    /// session's id, user, client, state, how long its transaction has been open and its query with every value
    /// masked ([`crate::sql::masked`]); where the database cannot tell which sessions hold what the statement needs,
    /// the sessions with the oldest open transactions, said so. `Ok(None)` where it cannot tell at all (the
    /// default). Asked after the statement failed, on the same session.
    fn lock_holders(&mut self, statement: &str) -> Result<Option<String>, DbError> {
        let _ = statement;
        Ok(None)
    }

    /// Opens a transaction.
    fn begin(&mut self) -> Result<(), DbError>;

    /// Commits the transaction. A driver whose lock is a transaction takes it again in
    /// [`Driver::after_statements`], not here.
    fn commit(&mut self) -> Result<(), DbError>;

    /// Rolls the transaction back.
    fn rollback(&mut self) -> Result<(), DbError>;

    /// Called before a script runs statement by statement (a `no-transaction` script, or every script where DDL
    /// commits implicitly), after its dirty history row is written. A driver whose lock is itself a transaction ends
    /// it here; the MySQL driver turns autocommit off so each progress write rides on the next commit.
    fn before_statements(&mut self) -> Result<(), DbError> {
        Ok(())
    }

    /// Called when such a script is over, and when the transaction of a transactional revision has committed: a
    /// driver that ended its lock transaction takes it again here (`more` says whether work follows), and anything
    /// still pending is committed.
    fn after_statements(&mut self, more: bool) -> Result<Continuity, DbError> {
        let _ = more;
        Ok(Continuity::Held)
    }

    /// Runs one statement.
    fn execute(&mut self, statement: &str) -> Result<(), DbError>;

    /// Runs one statement of a statement-by-statement script and makes `write` to the history table, so that both
    /// take effect or neither: in one transaction where the database has transactional DDL (the runner calls this
    /// only for statements that can run in one), with the same commit on MySQL. The default opens a transaction,
    /// makes both calls and commits; a driver may send it all at once, as long as it tells which part failed.
    fn execute_and_record(&mut self, statement: &str, write: &RowWrite<'_>) -> Result<(), ExecFailure> {
        self.begin().map_err(ExecFailure::History)?;
        let result = self
            .execute(statement)
            .map_err(ExecFailure::Statement)
            .and_then(|()| self.write_row(write).map_err(ExecFailure::History))
            .and_then(|()| self.commit().map_err(ExecFailure::History));
        if result.is_err() {
            if let Err(err) = self.rollback() {
                log::warn!("rolling back a failed statement failed: {err}");
            }
        }
        result
    }

    /// Runs one statement that cannot share a transaction with its progress write ([`Recording::Alone`]): `intent`
    /// (the row with [`AppliedRow::in_doubt`] set) is committed before it runs, and `write` after, so a run stopped
    /// in between leaves the statement in doubt, never counted wrongly. The default makes three calls.
    ///
    /// [`Recording::Alone`]: crate::sql::Recording::Alone
    fn execute_in_doubt(
        &mut self,
        statement: &str,
        intent: &AppliedRow,
        write: &RowWrite<'_>,
    ) -> Result<(), ExecFailure> {
        self.write_row(&RowWrite::Progress(intent)).map_err(ExecFailure::History)?;
        self.execute(statement).map_err(ExecFailure::Statement)?;
        self.write_row(write).map_err(ExecFailure::History)
    }

    /// Whether `statement`, which [`sql::recording`] would run with its progress write in one transaction, cannot
    /// share one after all: it writes a table that takes no part in transactions (MySQL's MyISAM, Aria, MEMORY), so
    /// it takes effect at once, before any commit, and a stop before its write commits would leave the row a
    /// statement behind. The runner then runs it alone, behind its intent ([`Driver::execute_in_doubt`]). Called for
    /// every statement of a statement-by-statement revision outside a transaction the script opens, in order, so a
    /// driver can note what DDL changes. The default: never.
    ///
    /// [`sql::recording`]: crate::sql::recording
    fn outside_transactions(&mut self, statement: &str) -> Result<bool, DbError> {
        let _ = statement;
        Ok(false)
    }

    /// Whether the first statement of a statement-by-statement revision, when it runs alone
    /// ([`Driver::execute_in_doubt`]), can carry the revision's first row write in its intent
    /// ([`Driver::start_in_doubt`]), instead of a write and a commit of its own before it. True where the lock is not
    /// a transaction the row must be written in (MySQL's `GET_LOCK`) and the statement's own implicit commit makes
    /// the intent durable before it runs. The default is `false`.
    fn intent_starts_row(&self) -> bool {
        false
    }

    /// As [`Driver::execute_in_doubt`] for a revision's first statement, where `intent` is the revision's whole row,
    /// written in place of any row of its version ([`RowWrite::Started`]): the row and the intent are one write. The
    /// default makes the write, then calls [`Driver::execute_in_doubt`].
    fn start_in_doubt(
        &mut self,
        statement: &str,
        intent: &AppliedRow,
        write: &RowWrite<'_>,
    ) -> Result<(), ExecFailure> {
        self.write_row(&RowWrite::Started(intent)).map_err(ExecFailure::History)?;
        self.execute_in_doubt(statement, intent, write)
    }

    /// Makes `write` to the history table, in the current transaction if one is open.
    fn write_row(&mut self, write: &RowWrite<'_>) -> Result<(), DbError> {
        match write {
            RowWrite::Progress(row) | RowWrite::Finished(row) => self.update_row(row),
            RowWrite::Reverted(version) => self.delete_row(version),
            RowWrite::Started(row) => self.delete_row(&row.version).and_then(|()| self.insert_row(row)),
            // A driver that writes rows by parts of its own keeps the duration its Finished write gave.
            RowWrite::Timed { .. } => Ok(()),
        }
    }

    /// Records how long a statement-by-statement revision took ([`RowWrite::Timed`]), once its last statement has
    /// run: the write that ended it was made before that statement ran. The default writes it now; a driver may send
    /// it with its next round trip (MySQL), as long as it is written before the session is handed back.
    fn record_timing(&mut self, write: &RowWrite<'_>) -> Result<(), DbError> {
        self.write_row(write)
    }

    /// Runs the statements of a script, in order, inside the current transaction. The default runs them one by
    /// one; a driver may send them in fewer round trips as long as it reports which statement failed.
    fn run_script(&mut self, script: &str, statements: &[Statement<'_>]) -> Result<(), ScriptFailure> {
        let _ = script;
        for (index, statement) in statements.iter().enumerate() {
            self.execute(statement.text).map_err(|error| ScriptFailure { index, error })?;
        }
        Ok(())
    }

    /// Runs a transactional revision: opens a transaction, runs `statements`, applies `change` to the history table
    /// and commits; on any failure rolls back before returning. The default composes the methods above; a driver may
    /// send it all in fewer round trips, as long as it reports which statement failed.
    fn apply_in_transaction(
        &mut self,
        script: &str,
        statements: &[Statement<'_>],
        change: RowChange<'_>,
        more: bool,
    ) -> Result<Continuity, StepFailure> {
        let started = std::time::Instant::now();
        self.begin().map_err(StepFailure::Database)?;
        let result = self.run_script(script, statements).map_err(StepFailure::Script).and_then(|()| {
            match change {
                RowChange::Insert(mut row) => {
                    row.duration_ms = started.elapsed().as_millis().try_into().unwrap_or(i64::MAX);
                    self.insert_row(&row)
                }
                RowChange::Delete(version) => self.delete_row(version),
            }
            .map_err(StepFailure::Database)
        });
        if let Err(failure) = result {
            if let Err(err) = self.rollback() {
                log::warn!("rolling back a failed revision failed: {err}");
            }
            return Err(failure);
        }
        if let Err(err) = self.commit() {
            let _ = self.rollback();
            return Err(StepFailure::Database(err));
        }
        // The transaction is over: a driver whose lock was that transaction takes it again here.
        self.after_statements(more).map_err(StepFailure::Committed)
    }

    /// This session's identity, recorded in the rows it writes while a revision runs ([`AppliedRow::runner`]), so
    /// another runner can tell whether it is still alive; `None` where the lock alone keeps runners apart (the
    /// default).
    fn runner_id(&mut self) -> Option<String> {
        None
    }

    /// Whether the session `id` (from [`Driver::runner_id`], maybe another process's) is still connected; `Ok(None)`
    /// where this driver cannot tell (the default).
    fn runner_alive(&mut self, id: &str) -> Result<Option<bool>, DbError> {
        let _ = id;
        Ok(None)
    }

    /// Whether `object` is in the catalog, for settling a statement left in doubt; `Ok(None)` where this driver
    /// cannot tell (the default).
    fn presence(&mut self, object: &CatalogObject) -> Result<Option<Presence>, DbError> {
        let _ = object;
        Ok(None)
    }

    /// The schema of the connection's own schema (PostgreSQL) or database (MySQL, SQLite's `main`), read from the
    /// catalog, the bound history table left out. The default says this driver cannot.
    fn snapshot(&mut self) -> Result<Schema, DbError> {
        Err(DbError::new("this driver cannot read its catalog into a schema snapshot"))
    }

    /// Inserts a history row.
    fn insert_row(&mut self, row: &AppliedRow) -> Result<(), DbError>;

    /// Replaces every column of the history row with `row.version`.
    fn update_row(&mut self, row: &AppliedRow) -> Result<(), DbError>;

    /// Deletes the history row of `version`.
    fn delete_row(&mut self, version: &str) -> Result<(), DbError>;
}
