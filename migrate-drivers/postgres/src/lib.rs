//! PostgreSQL driver of the `migrate` toolkit, over the synchronous `postgres` crate.
//!
//! - Each revision, its history row and the commit go to the server in **one round trip** (one simple-query
//!   message); a failing statement is found from PostgreSQL's error position and reported with its line.
//! - The lock is an advisory lock keyed on the history table's name, tried and retried until the configured wait
//!   runs out (never an unbounded blocking call); while waiting, the holder (pid, application, client, since when)
//!   is logged and named in the timeout error. [`LockMode::Transaction`] takes a transaction-scoped lock instead,
//!   for connection poolers in transaction mode.
//! - `search_path` is restored after each revision, so a revision that changes it cannot misdirect the next one.
//!
//! ```no_run
//! let mut client = postgres::Client::connect("host=127.0.0.1 user=postgres", postgres::NoTls)?;
//! let mut driver = migrate_postgres::Postgres::new(&mut client);
//! # use migrate_core::Driver;
//! assert_eq!(driver.backend(), migrate_core::Backend::Postgres);
//! # Ok::<(), postgres::Error>(())
//! ```

mod schema;

use std::fmt::Write as _;
use std::time::Duration;

use migrate_core::doubt::{CatalogObject, ObjectKind, Presence};
use migrate_core::history::{self, Cells, Reader, ADDED_COLUMNS, COLUMNS};
use migrate_core::lock;
use migrate_core::sql::{self, Statement};
use migrate_core::{
    AppliedRow, Backend, Continuity, DbError, Driver, ExecFailure, HistoryTable, LockFailure, RowChange, RowWrite,
    ScriptFailure, StepFailure,
};
use postgres::error::ErrorPosition;
use postgres::{Client, SimpleQueryMessage};

/// How the migration lock is held.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LockMode {
    /// A session-level advisory lock held for the whole run (the default).
    #[default]
    Session,
    /// A transaction-level advisory lock, taken again for each revision's transaction: for connection poolers in
    /// transaction mode, which cannot keep a session lock. Between revisions another runner may step in; the runner
    /// then re-reads the history before going on. A runner's id is its own, not the server session's (which the
    /// pooler shares): whether another runner is alive cannot be looked up, so its dirty revision is waited for
    /// while its row changes.
    Transaction,
}

/// A [`Driver`] over a borrowed `postgres::Client`.
pub struct Postgres<'c> {
    client: &'c mut Client,
    /// The bound history table.
    table: HistoryTable,
    mode: LockMode,
    in_transaction: bool,
    locked: bool,
    lock_wait: Duration,
    /// The bound on a revision's lock waits ([`Driver::set_lock_timeout`]), set with `SET LOCAL` in the
    /// transactions that run it.
    lock_timeout: Option<Duration>,
    key: i64,
    search_path: Option<String>,
    schema: Option<String>,
    /// The session's statement counter (see [`COUNTER`]): not made yet, made, or not to be had (a role without the
    /// TEMP privilege).
    counter: Option<bool>,
    /// This session's identity (backend pid and start), once read.
    runner: Option<String>,
}

/// A temporary sequence that counts the statements of a revision as they complete. Sequences ignore rollbacks, so
/// after a failed revision it says which statement failed without running any statement again.
const COUNTER: &str = "pg_temp.migrate_statements_done";

impl<'c> Postgres<'c> {
    /// A driver over `client`, with a session-level lock.
    pub fn new(client: &'c mut Client) -> Self {
        Postgres {
            client,
            table: HistoryTable::default(),
            mode: LockMode::Session,
            in_transaction: false,
            locked: false,
            lock_wait: Duration::ZERO,
            lock_timeout: None,
            key: 0,
            search_path: None,
            schema: None,
            counter: None,
            runner: None,
        }
    }

    /// Chooses how the lock is held.
    pub fn lock_mode(mut self, mode: LockMode) -> Self {
        self.mode = mode;
        self
    }

    /// The history table's name, qualified with the schema it resolved to when the lock was taken, so a revision
    /// that changes `search_path` cannot send the history elsewhere.
    fn name(&self) -> String {
        let table = &self.table;
        match (table.schema(), &self.schema) {
            (None, Some(schema)) if !schema.is_empty() => format!("{}.{}", quote(schema), quote(table.name())),
            _ => table.qualified(quote),
        }
    }

    fn batch(&mut self, sql: &str) -> Result<(), DbError> {
        self.client.batch_execute(sql).map_err(db_error)
    }

    fn first_value(&mut self, sql: &str) -> Result<Option<String>, DbError> {
        for message in self.client.simple_query(sql).map_err(db_error)? {
            if let SimpleQueryMessage::Row(row) = message {
                return Ok(row.get(0).map(str::to_owned));
            }
        }
        Ok(None)
    }

    /// Tries the advisory lock until `lock_wait` runs out.
    fn acquire(&mut self) -> Result<(), LockFailure> {
        let function = match self.mode {
            LockMode::Session => "pg_try_advisory_lock",
            LockMode::Transaction => "pg_try_advisory_xact_lock",
        };
        let attempt = format!("SELECT {function}({})", self.key);
        lock::poll(self.lock_wait, self, |pg| Ok(pg.first_value(&attempt)?.as_deref() == Some("t")), Self::holder)
    }

    /// A session lock taken through a pooler in transaction mode (PgBouncer's `pool_mode = transaction`) is held by
    /// whichever server session ran that statement, and the next statement may run on another: the lock would
    /// strand there, and another client handed that session would take it again. Seen when it happens, as here:
    /// the session running this statement does not hold the lock just taken. The lock is then given back (tried on
    /// the sessions the pooler hands out next) and the run refused. A quiet pool that hands the same session back
    /// shows nothing; `LockMode::Transaction` is then the user's choice to make.
    fn check_not_pooled(&mut self) -> Result<(), LockFailure> {
        let held = format!("SELECT count(*) FROM pg_locks l WHERE {} AND l.pid = pg_backend_pid()", self.granted("l"));
        if self.first_value(&held)?.as_deref() == Some("1") {
            return Ok(());
        }
        let unlock = format!("SELECT pg_advisory_unlock({})", self.key);
        for _ in 0..32 {
            if self.first_value(&unlock).ok().flatten().as_deref() == Some("t") {
                break;
            }
        }
        self.locked = false;
        Err(LockFailure::Database(DbError::new(
            "the migration lock was taken on one server session and the next statement ran on another: this \
             connection goes through a pooler in transaction mode (PgBouncer's pool_mode = transaction), where a \
             session lock does not hold; run with --pooler transaction (LockMode::Transaction), or connect to \
             PostgreSQL directly",
        )))
    }

    /// The condition on `pg_locks` (as `alias`) that matches the migration lock, granted: a bigint key is
    /// `classid` (high half), `objid` (low half), `objsubid = 1`.
    fn granted(&self, alias: &str) -> String {
        let key = self.key as u64;
        format!(
            "{alias}.locktype = 'advisory' AND {alias}.granted AND {alias}.classid = {} AND {alias}.objid = {} \
             AND {alias}.objsubid = 1",
            key >> 32,
            key & 0xffff_ffff
        )
    }

    /// Who holds the advisory lock, as PostgreSQL sees it.
    fn holder(&mut self) -> Option<String> {
        let sql = format!(
            "SELECT a.pid::text, coalesce(a.application_name, ''), coalesce(host(a.client_addr), 'local socket'), \
             coalesce(to_char(a.xact_start, 'YYYY-MM-DD HH24:MI:SS TZ'), to_char(a.backend_start, 'YYYY-MM-DD HH24:MI:SS TZ')) \
             FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE {} LIMIT 1",
            self.granted("l")
        );
        let messages = self.client.simple_query(&sql).ok()?;
        messages.into_iter().find_map(|m| match m {
            SimpleQueryMessage::Row(row) => Some(format!(
                "PostgreSQL backend pid {} (application `{}`, client {}, since {})",
                row.get(0).unwrap_or("?"),
                row.get(1).unwrap_or(""),
                row.get(2).unwrap_or("?"),
                row.get(3).unwrap_or("?")
            )),
            _ => None,
        })
    }

    /// `SET LOCAL lock_timeout` for the transaction it is sent in, with its line end; empty without a bound. A
    /// revision's own `SET` comes after it and wins.
    fn lock_timeout_sql(&self) -> String {
        match self.lock_timeout {
            // Zero would turn PostgreSQL's bound off: a millisecond is the least.
            Some(timeout) => format!("SET LOCAL lock_timeout = '{}ms';\n", timeout.as_millis().max(1)),
            None => String::new(),
        }
    }

    fn restore_search_path_sql(&self) -> String {
        match &self.search_path {
            Some(path) => format!("SELECT pg_catalog.set_config('search_path', {}, false)", literal(path)),
            None => String::new(),
        }
    }

    fn relock_after_commit(&mut self, more: bool) -> Result<Continuity, DbError> {
        if self.mode == LockMode::Transaction && self.locked && more {
            self.batch("BEGIN")?;
            self.in_transaction = true;
            self.acquire().map_err(|failure| match failure {
                LockFailure::Timeout { holder } => DbError::new(format!(
                    "could not take the transaction-scoped migration lock again between revisions (held by {})",
                    holder.as_deref().unwrap_or("another session")
                )),
                LockFailure::Database(err) => err,
            })?;
            return Ok(Continuity::Interrupted);
        }
        Ok(Continuity::Held)
    }

    /// Makes the statement counter if this session can have one; `true` if it has it.
    fn has_counter(&mut self) -> bool {
        if self.mode != LockMode::Session {
            // A pooler in transaction mode may answer the count's read from another session.
            return false;
        }
        if self.counter.is_none() {
            let made = self.batch(&format!("CREATE TEMPORARY SEQUENCE IF NOT EXISTS {COUNTER}"));
            if let Err(err) = &made {
                log::info!("failures without a position will not be placed at their statement: {err}");
            }
            self.counter = Some(made.is_ok());
        }
        self.counter == Some(true)
    }

    /// How many statements of the revision that just failed had completed, read from [`COUNTER`].
    fn statements_completed(&mut self) -> Option<usize> {
        let sql = format!("SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM {COUNTER}");
        self.first_value(&sql).ok().flatten()?.parse().ok()
    }
}

/// Converts a `postgres` error, keeping the SQLSTATE and the error position.
pub fn db_error(err: postgres::Error) -> DbError {
    match err.as_db_error() {
        Some(db) => {
            let mut message = db.message().to_owned();
            if let Some(detail) = db.detail() {
                let _ = write!(message, " ({detail})");
            }
            if let Some(hint) = db.hint() {
                let _ = write!(message, "; hint: {hint}");
            }
            let position = match db.position() {
                Some(ErrorPosition::Original(p)) => Some((*p as usize).saturating_sub(1)),
                _ => None,
            };
            DbError::new(message).with_code(db.code().code()).with_position(position).with_source(err)
        }
        None => DbError::new(err.to_string()).with_source(err),
    }
}

fn quote(ident: &str) -> String {
    history::quote_identifier(Backend::Postgres, ident)
}

/// A string literal in dollar quotes, with a tag that does not occur in the text.
fn literal(text: &str) -> String {
    history::sql_literal(Backend::Postgres, text)
}

/// The row's values in [`COLUMNS`] and then [`ADDED_COLUMNS`] order.
fn values(row: &AppliedRow, duration: &str) -> String {
    let runner = row.runner.as_deref().map_or_else(|| "NULL".to_owned(), literal);
    let base = history::row_values(Backend::Postgres, row, &literal(&row.applied_at), duration);
    format!("{base}, {}, {runner}, {}", i32::from(row.in_doubt), row.tries)
}

/// A row of a simple query, whose every cell comes as text.
struct Row<'r>(&'r postgres::SimpleQueryRow);

impl Cells for Row<'_> {
    fn text(&self, index: usize) -> Result<Option<&str>, DbError> {
        self.0.try_get(index).map_err(db_error)
    }

    fn integer(&self, index: usize) -> Result<Option<i64>, DbError> {
        self.text(index)?
            .map(|text| text.parse().map_err(|_| DbError::new(format!("`{text}` where an integer is expected"))))
            .transpose()
    }
}

impl Driver for Postgres<'_> {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    fn bind_history(&mut self, table: &HistoryTable) {
        self.table = table.clone();
    }

    fn history_name(&self) -> String {
        self.name()
    }

    /// Inside a transaction (the transaction-scoped lock) the query runs under a savepoint in the same round trip:
    /// an error, such as the history table not being there yet, would otherwise abort the lock's transaction.
    fn select(&mut self, sql: &str, reader: &mut dyn Reader) -> Result<bool, DbError> {
        let guarded = self.in_transaction;
        let sent = if guarded {
            format!("SAVEPOINT migrate_read;\n{sql};\nRELEASE SAVEPOINT migrate_read")
        } else {
            sql.to_owned()
        };
        let messages = match self.client.simple_query(&sent).map_err(db_error) {
            Ok(messages) => messages,
            Err(err) => {
                if guarded {
                    self.batch("ROLLBACK TO SAVEPOINT migrate_read; RELEASE SAVEPOINT migrate_read")?;
                }
                // undefined_table, invalid_schema_name.
                return match err.code.as_deref() {
                    Some("42P01" | "3F000") => Ok(false),
                    _ => Err(err),
                };
            }
        };
        for message in &messages {
            match message {
                SimpleQueryMessage::RowDescription(columns) => {
                    let names: Vec<&str> = columns.iter().map(|c| c.name()).collect();
                    reader.columns(&names)?;
                }
                SimpleQueryMessage::Row(row) if !reader.row(&Row(row))? => break,
                _ => {}
            }
        }
        Ok(true)
    }

    fn create_history(&mut self) -> Result<(), DbError> {
        let mut sql = String::new();
        if let Some(schema) = self.table.schema() {
            let _ = write!(sql, "CREATE SCHEMA IF NOT EXISTS {};", quote(schema));
        }
        sql.push_str(&history::create_table_sql(Backend::Postgres, &self.name()));
        self.batch(&sql)
    }

    fn lock(&mut self, wait: Duration) -> Result<(), LockFailure> {
        // One lock per history table, computed by the database as offline scripts compute it: an unqualified table
        // is keyed with the schema it resolves to.
        let identity = lock::identity_sql(Backend::Postgres, &self.table)
            .ok_or_else(|| DbError::new("Postgres has no migration lock identity"))?;
        let sql = format!("SELECT coalesce(current_schema(), ''), current_setting('search_path'), ({identity})::text");
        let messages = self.client.simple_query(&sql).map_err(db_error)?;
        let (schema, search_path, key) = messages
            .iter()
            .find_map(|m| match m {
                SimpleQueryMessage::Row(row) => Some((
                    row.get(0).unwrap_or("").to_owned(),
                    row.get(1).map(str::to_owned),
                    row.get(2).and_then(|key| key.parse::<i64>().ok()),
                )),
                _ => None,
            })
            .unwrap_or_default();
        self.schema = Some(schema);
        self.key = key.ok_or_else(|| DbError::new("the migration lock's key did not come back as a number"))?;
        self.lock_wait = wait;
        self.search_path = search_path;
        if self.mode == LockMode::Transaction {
            self.batch("BEGIN")?;
            self.in_transaction = true;
        }
        match self.acquire() {
            Ok(()) => {
                self.locked = true;
                if self.mode == LockMode::Session {
                    self.check_not_pooled()?;
                }
                Ok(())
            }
            Err(failure) => {
                let _ = self.unlock();
                Err(failure)
            }
        }
    }

    fn unlock(&mut self) -> Result<(), DbError> {
        let mut result = Ok(());
        if self.in_transaction {
            self.in_transaction = false;
            result = self.batch("ROLLBACK");
        }
        if self.locked && self.mode == LockMode::Session {
            let key = self.key;
            result = result.and(self.batch(&format!("SELECT pg_advisory_unlock({key})")));
        }
        if self.locked {
            // A failed revision may have left its own search_path on the application's connection.
            let restore = self.restore_search_path_sql();
            if !restore.is_empty() {
                result = result.and(self.batch(&restore));
            }
        }
        self.locked = false;
        result
    }

    fn begin(&mut self) -> Result<(), DbError> {
        if !self.in_transaction {
            self.batch("BEGIN")?;
            self.in_transaction = true;
        }
        Ok(())
    }

    fn commit(&mut self) -> Result<(), DbError> {
        let sql = format!("COMMIT; {}", self.restore_search_path_sql());
        self.in_transaction = false;
        self.batch(&sql)
    }

    fn rollback(&mut self) -> Result<(), DbError> {
        self.in_transaction = false;
        self.batch("ROLLBACK")
    }

    fn before_statements(&mut self) -> Result<(), DbError> {
        if self.in_transaction {
            self.in_transaction = false;
            self.batch("COMMIT")?;
        }
        Ok(())
    }

    fn after_statements(&mut self, more: bool) -> Result<Continuity, DbError> {
        let restore = self.restore_search_path_sql();
        if !restore.is_empty() {
            self.batch(&restore)?;
        }
        self.relock_after_commit(more)
    }

    /// In a transaction this driver opened (a run in one transaction), the statement carries the bound on its lock
    /// waits; outside one (a statement in a revision's own transaction, or one that runs alone) it runs as written.
    fn execute(&mut self, statement: &str) -> Result<(), DbError> {
        let guard = if self.in_transaction { self.lock_timeout_sql() } else { String::new() };
        if guard.is_empty() {
            return self.batch(statement);
        }
        self.batch(&format!("{guard}{statement}")).map_err(|mut err| {
            // The position is the statement's, not the text's.
            err.position = err.position.map(|chars| chars.saturating_sub(guard.chars().count()));
            err
        })
    }

    fn set_lock_timeout(&mut self, timeout: Option<Duration>) {
        self.lock_timeout = timeout;
    }

    /// The sessions holding a lock on a relation `statement` names (each name it mentions that `to_regclass` finds),
    /// oldest transaction first; where none does, the oldest open transactions of this database, said so.
    fn lock_holders(&mut self, statement: &str) -> Result<Option<String>, DbError> {
        // A name the server cannot parse as one is left out rather than failing the query.
        let names: Vec<String> = sql::names_in(statement, Backend::Postgres)
            .into_iter()
            .filter(|n| n.split('.').count() <= 2 && !n.contains('\0'))
            .collect();
        let columns = "a.pid::text, coalesce(a.usename, '?'), coalesce(host(a.client_addr), 'local socket'), \
                       coalesce(nullif(a.application_name, ''), '-'), coalesce(a.state, '?'), \
                       coalesce(extract(epoch FROM now() - a.xact_start)::bigint::text, '?'), coalesce(a.query, '')";
        let on_them = format!(
            "SELECT {columns}, string_agg(DISTINCT l.mode, ', ') FROM pg_catalog.pg_locks l \
             JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid \
             WHERE l.granted AND l.locktype = 'relation' AND l.pid <> pg_catalog.pg_backend_pid() \
             AND l.relation IN (SELECT pg_catalog.to_regclass(n)::oid FROM unnest($1::text[]) AS n) \
             GROUP BY 1, 2, 3, 4, 5, 6, 7, a.xact_start ORDER BY a.xact_start NULLS LAST LIMIT 3"
        );
        let oldest = format!(
            "SELECT {columns}, '' FROM pg_catalog.pg_stat_activity a WHERE a.datname = pg_catalog.current_database() \
             AND a.xact_start IS NOT NULL AND a.pid <> pg_catalog.pg_backend_pid() ORDER BY a.xact_start LIMIT 3"
        );
        let describe = |rows: Vec<postgres::Row>| -> Vec<String> {
            rows.iter()
                .map(|r| {
                    let get = |i: usize| r.get::<_, Option<String>>(i).unwrap_or_default();
                    let modes = get(7);
                    let holds = if modes.is_empty() { String::new() } else { format!(", holds {modes}") };
                    format!(
                        "pid {} ({}@{}, application {}, {}, transaction open {} s{holds}): {}",
                        get(0),
                        get(1),
                        get(2),
                        get(3),
                        get(4),
                        get(5),
                        sql::masked(&get(6), Backend::Postgres, 120)
                    )
                })
                .collect()
        };
        let holders = describe(self.client.query(&on_them, &[&names]).map_err(db_error)?);
        if !holders.is_empty() {
            return Ok(Some(holders.join("; ")));
        }
        let oldest = describe(self.client.query(&oldest, &[]).map_err(db_error)?);
        Ok((!oldest.is_empty()).then(|| {
            format!("no session holds a lock on a table it names; the oldest open transactions: {}", oldest.join("; "))
        }))
    }

    fn apply_in_transaction(
        &mut self,
        script: &str,
        statements: &[Statement<'_>],
        change: RowChange<'_>,
        more: bool,
    ) -> Result<Continuity, StepFailure> {
        // Which statement failed, when the error has no position, is counted as they complete. Only in session mode:
        // a pooler in transaction mode may answer the count's read from another session.
        let count = statements.len() > 1 && self.has_counter();
        // One message: BEGIN, the statements (each followed by the count), the history change, COMMIT, and the
        // search_path restored.
        let mut sql = String::with_capacity(script.len() + 512 + statements.len() * 64);
        if count {
            let _ = writeln!(sql, "SELECT pg_catalog.setval('{COUNTER}', 1, false);");
        }
        if !self.in_transaction {
            sql.push_str("BEGIN;\n");
        }
        sql.push_str(&self.lock_timeout_sql());
        let mut starts = Vec::with_capacity(statements.len());
        for statement in statements {
            starts.push(sql.len());
            sql.push_str(statement.text);
            // A newline first: the statement may end in a `--` comment.
            sql.push_str("\n;\n");
            if count {
                let _ = writeln!(sql, "SELECT pg_catalog.nextval('{COUNTER}');");
            }
        }
        let history = match &change {
            RowChange::Insert(row) => format!(
                "INSERT INTO {} ({COLUMNS}, {ADDED_COLUMNS}) VALUES ({})",
                self.name(),
                values(row, "(extract(epoch FROM clock_timestamp() - statement_timestamp()) * 1000)::bigint")
            ),
            RowChange::Delete(version) => {
                format!("DELETE FROM {} WHERE version = {}", self.name(), literal(version))
            }
        };
        let _ = write!(sql, "{history};\nCOMMIT;\n{}", self.restore_search_path_sql());
        self.in_transaction = false;
        if let Err(err) = self.client.batch_execute(&sql) {
            let err = db_error(err);
            // The rest of the message was skipped; the transaction is aborted (or was never opened).
            if let Err(rollback) = self.batch("ROLLBACK") {
                log::warn!("rolling back a failed revision failed: {rollback}");
            }
            let _ = self.batch(&self.restore_search_path_sql());
            // Which statement the error position points into, and where within it.
            let located = err.position.map(|chars| char_to_byte(&sql, chars)).and_then(|byte| {
                starts
                    .iter()
                    .rposition(|&start| start <= byte)
                    .filter(|&index| byte <= starts[index] + statements[index].text.len())
                    .map(|index| (index, Some(sql[starts[index]..byte].chars().count())))
            });
            // Without a position: the one statement, or as many as completed before the failure. No statement runs
            // again to find out (its effects outside the transaction, a sequence's for one, would happen twice).
            let located = located.or_else(|| match statements.len() {
                1 => Some((0, None)),
                _ if count => self.statements_completed().filter(|&done| done < statements.len()).map(|i| (i, None)),
                _ => None,
            });
            let failure = match located {
                Some((index, position)) => StepFailure::Script(ScriptFailure::new(index, err.with_position(position))),
                None => StepFailure::Database(err),
            };
            if self.mode == LockMode::Transaction && self.locked {
                // The lock went with the transaction; the runner stops here and unlocks.
                self.locked = false;
            }
            return Err(failure);
        }
        self.relock_after_commit(more).map_err(StepFailure::Committed)
    }

    /// One round trip: `BEGIN`, the statement, the history write, `COMMIT`. Which of them failed comes from the
    /// error's position, or else from the statement counter (nothing runs again to find out); without either (a
    /// role without TEMP privilege, the transaction lock mode) the statement and the write go in two round trips.
    fn execute_and_record(&mut self, statement: &str, write: &RowWrite<'_>) -> Result<(), ExecFailure> {
        let write = write.sql(Backend::Postgres, &self.name());
        if !self.has_counter() {
            // A newline first: the statement may end in a `--` comment.
            if let Err(err) = self.batch(&format!("BEGIN;\n{}{statement}\n;", self.lock_timeout_sql())) {
                let _ = self.batch("ROLLBACK");
                return Err(ExecFailure::Statement(err));
            }
            return self.batch(&format!("{write};\nCOMMIT")).map_err(|err| {
                let _ = self.batch("ROLLBACK");
                ExecFailure::History(err)
            });
        }
        let head = format!("SELECT pg_catalog.setval('{COUNTER}', 1, false);\nBEGIN;\n{}", self.lock_timeout_sql());
        let sql = format!("{head}{statement}\n;\nSELECT pg_catalog.nextval('{COUNTER}');\n{write};\nCOMMIT");
        let Err(err) = self.client.batch_execute(&sql).map_err(db_error) else { return Ok(()) };
        if let Err(rollback) = self.batch("ROLLBACK") {
            log::warn!("rolling back a failed statement failed: {rollback}");
        }
        let within = err.position.map(|chars| char_to_byte(&sql, chars)).and_then(|byte| {
            let start = head.len();
            (start..=start + statement.len()).contains(&byte).then(|| sql[start..byte].chars().count())
        });
        match within {
            Some(position) => Err(ExecFailure::Statement(err.with_position(Some(position)))),
            None if err.position.is_none() && self.statements_completed() == Some(0) => {
                Err(ExecFailure::Statement(err))
            }
            None => Err(ExecFailure::History(err)),
        }
    }

    fn write_row(&mut self, write: &RowWrite<'_>) -> Result<(), DbError> {
        let sql = write.sql(Backend::Postgres, &self.name());
        self.batch(&sql)
    }

    /// `pg:<backend pid>:<backend start>`: a pid is reused, the pair is not.
    fn runner_id(&mut self) -> Option<String> {
        if self.runner.is_none() {
            self.runner = match self.mode {
                LockMode::Session => {
                    let sql = "SELECT 'pg:' || pid || ':' || to_char(backend_start, 'YYYYMMDDHH24MISSUS') FROM \
                               pg_catalog.pg_stat_activity WHERE pid = pg_catalog.pg_backend_pid()";
                    self.first_value(sql).ok().flatten()
                }
                // Behind a pooler in transaction mode the server session is shared by clients: the id is this
                // driver's own, and whether its runner is alive cannot be looked up (`runner_alive` says `None`).
                LockMode::Transaction => {
                    let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
                    Some(format!("pgtx:{}-{}", std::process::id(), stamp.as_nanos()))
                }
            };
        }
        self.runner.clone()
    }

    fn runner_alive(&mut self, id: &str) -> Result<Option<bool>, DbError> {
        let mut parts = id.split(':');
        let (Some("pg"), Some(pid), Some(start), None) = (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Ok(None);
        };
        let Ok(pid) = pid.parse::<i32>() else { return Ok(None) };
        // Inside a transaction (the transaction-scoped lock) the activity view is a snapshot taken at its first
        // read, which may be older than the session asked about: a live runner would pass for gone.
        self.batch("SELECT pg_catalog.pg_stat_clear_snapshot()")?;
        let sql = format!(
            "SELECT count(*)::text FROM pg_catalog.pg_stat_activity WHERE pid = {pid} AND \
             to_char(backend_start, 'YYYYMMDDHH24MISSUS') = {}",
            literal(start)
        );
        Ok(Some(self.first_value(&sql)?.as_deref() == Some("1")))
    }

    fn presence(&mut self, object: &CatalogObject) -> Result<Option<Presence>, DbError> {
        let relation = |schema: &Option<String>, name: &str| {
            let qualified = match schema {
                Some(schema) => format!("{}.{}", quote(schema), quote(name)),
                None => quote(name),
            };
            format!("pg_catalog.to_regclass({})", literal(&qualified))
        };
        let on_table = || object.table.as_ref().map(|(schema, table)| relation(schema, table));
        let sql = match object.kind {
            ObjectKind::Table | ObjectKind::View => {
                let kinds = if object.kind == ObjectKind::Table { "'r', 'p', 'f'" } else { "'v', 'm'" };
                format!(
                    "SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_class WHERE oid = {} AND relkind IN \
                     ({kinds})) THEN 'present' ELSE 'absent' END",
                    relation(&object.schema, &object.name)
                )
            }
            ObjectKind::Index => {
                // An index lives in its table's schema; a name without one resolves through search_path.
                let schema = object.schema.clone().or_else(|| object.table.as_ref().and_then(|(s, _)| s.clone()));
                format!(
                    "SELECT coalesce((SELECT CASE WHEN i.indisvalid THEN 'present' ELSE 'invalid' END \
                     FROM pg_catalog.pg_index i WHERE i.indexrelid = {}), 'absent')",
                    relation(&schema, &object.name)
                )
            }
            ObjectKind::Column => {
                let Some(table) = on_table() else { return Ok(None) };
                format!(
                    "SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_attribute WHERE attrelid = {table} AND \
                     attname = {} AND attnum > 0 AND NOT attisdropped) THEN 'present' ELSE 'absent' END",
                    literal(&object.name)
                )
            }
            ObjectKind::Trigger => {
                let Some(table) = on_table() else { return Ok(None) };
                format!(
                    "SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_trigger WHERE tgrelid = {table} AND \
                     tgname = {}) THEN 'present' ELSE 'absent' END",
                    literal(&object.name)
                )
            }
            ObjectKind::Procedure | ObjectKind::Function => {
                let kind = if object.kind == ObjectKind::Procedure { "'p'" } else { "'f', 'a', 'w'" };
                let scope = match &object.schema {
                    Some(schema) => format!("n.nspname = {}", literal(schema)),
                    None => "pg_catalog.pg_function_is_visible(p.oid)".to_owned(),
                };
                format!(
                    "SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON \
                     n.oid = p.pronamespace WHERE p.proname = {} AND p.prokind IN ({kind}) AND {scope}) THEN \
                     'present' ELSE 'absent' END",
                    literal(&object.name)
                )
            }
            ObjectKind::Database => format!(
                "SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_database WHERE datname = {}) THEN 'present' \
                 ELSE 'absent' END",
                literal(&object.name)
            ),
            _ => return Ok(None),
        };
        Ok(match self.first_value(&sql)?.as_deref() {
            Some("present") => Some(Presence::Present),
            Some("invalid") => Some(Presence::Invalid),
            Some("absent") => Some(Presence::Absent),
            _ => None,
        })
    }

    fn snapshot(&mut self) -> Result<migrate_core::Schema, DbError> {
        schema::snapshot(self.client, &self.table).map_err(db_error)
    }

    fn insert_row(&mut self, row: &AppliedRow) -> Result<(), DbError> {
        let duration = row.duration_ms.to_string();
        self.batch(&format!(
            "INSERT INTO {} ({COLUMNS}, {ADDED_COLUMNS}) VALUES ({})",
            self.name(),
            values(row, &duration)
        ))
    }

    fn update_row(&mut self, row: &AppliedRow) -> Result<(), DbError> {
        let duration = row.duration_ms.to_string();
        self.batch(&format!(
            "UPDATE {} SET ({COLUMNS}, {ADDED_COLUMNS}) = ROW({}) WHERE version = {}",
            self.name(),
            values(row, &duration),
            literal(&row.version)
        ))
    }

    fn delete_row(&mut self, version: &str) -> Result<(), DbError> {
        self.batch(&format!("DELETE FROM {} WHERE version = {}", self.name(), literal(version)))
    }
}

fn char_to_byte(text: &str, chars: usize) -> usize {
    text.char_indices().nth(chars).map_or(text.len(), |(byte, _)| byte)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_characters() {
        assert_eq!(char_to_byte("héllo", 2), 3);
        assert_eq!(char_to_byte("abc", 10), 3);
    }
}
