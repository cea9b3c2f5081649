//! MySQL and MariaDB driver of the `migrate` toolkit, over the `mysql` crate.
//!
//! MySQL commits DDL implicitly, so no transaction can make a revision atomic. Every revision therefore runs
//! statement by statement: its history row is written as dirty (`upgrading` / `downgrading`) before the first
//! statement, its progress (statements done and a checksum of them) after each one, and on failure the row keeps the
//! failing statement, its line and the server's error. The next run refuses until the revision is resumed or
//! resolved (`Migrator::resume`, `Migrator::resolve` in `migrate_core`).
//!
//! # The session's protocol
//!
//! Every byte to the server goes through `Mysql::settled` or `Mysql::run_all`, which put the session's autocommit
//! where the work needs it (off inside a revision's statements, on outside them) and send the deferred write first.
//! Autocommit is left off between revisions with nothing pending, and turned on by anything else, the last
//! revision, unlock and `Drop`, so the session goes back to its owner as it came with every history write
//! committed. The write completing a DDL statement whose doubt the catalog settles (`doubt::check`) rides in the
//! next round trip (before a statement without an implicit commit, committed first): until then the committed
//! intent names that statement in doubt, which is true, and `resume` settles it; the write recording a revision's
//! real time (`RowWrite::Timed`) rides with it. A failure in what goes ahead of a statement is a history failure,
//! never the statement's. A history write that fails with autocommit off rolls back what is pending (statements with
//! their writes, never one without the other), so nothing commits a statement whose record did not follow. A
//! revision's statement that may set autocommit itself makes the driver set it again on the next round trip; a run
//! starts (history read, lock) with no revision in progress.
//!
//! The lock is `GET_LOCK` on a name derived from the history table, polled until the configured wait runs out;
//! while waiting, the connection that holds it is logged and named in the timeout error. On a Galera cluster node
//! (`wsrep_on`), where `GET_LOCK` holds on one node only, it is a leased row of `<history>_lock` instead, renewed by a
//! heartbeat on a second connection ([`Mysql::cluster_heartbeat`]; ARCHITECTURE.md says why no two runners hold it).
//!
//! ```no_run
//! let mut conn = mysql::Conn::new("mysql://root@127.0.0.1:3306/test")?;
//! let mut driver = migrate_mysql::Mysql::new(&mut conn);
//! # use migrate_core::Driver;
//! assert_eq!(driver.backend(), migrate_core::Backend::Mysql);
//! # Ok::<(), mysql::Error>(())
//! ```

mod schema;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use migrate_core::doubt::{self, CatalogObject, Check, ObjectKind, Presence};
use migrate_core::history::{self, Cells, Reader, ADDED_COLUMNS, COLUMNS};
use migrate_core::{lock, sql};
use migrate_core::{
    AppliedRow, Backend, Checksum, Continuity, DbError, Driver, ExecFailure, HistoryTable, LockFailure, RowWrite,
};
use mysql::prelude::Queryable;
use mysql::{Conn, Value};

/// A [`Driver`] over a borrowed `mysql::Conn`.
pub struct Mysql<'c> {
    // Reached through `settled` (or `run_all`), which put the session's autocommit where the work needs it.
    raw: &'c mut Conn,
    /// The bound history table.
    table: HistoryTable,
    lock_name: Option<String>,
    restore_autocommit: bool,
    database: Option<String>,
    /// A revision's statements are running (between `before_statements` and `after_statements`): they and their
    /// history writes run with autocommit off.
    grouping: bool,
    /// Whether the session's autocommit is off, as this driver last set it; `None` once a statement of a revision
    /// may have set it itself, so the next round trip sets it again. Between revisions it is left off, with nothing
    /// pending, until something other than a revision's statements is sent: switching at every revision's start and
    /// end cost two round trips per revision.
    autocommit_off: Option<bool>,
    /// Writes may be pending (autocommit off and not committed since).
    pending: bool,
    /// The history write that completes a statement run alone, not sent yet: the statement's intent, committed
    /// before it ran, says it is in doubt, and the catalog can settle that (`doubt::check`), so the write rides in
    /// the next round trip (committed by the next statement's implicit commit) instead of costing a commit of its
    /// own. Everything but a revision's statements sends it first, committed; so do the last revision, unlock and
    /// drop.
    /// One statement each: the preamble counts the results of what goes ahead of the revision's statements, so
    /// a failure is put on the right one.
    deferred: Vec<String>,
    /// The tables that take no part in transactions ([`Mysql::nontransactional`]), once read this run.
    nontransactional: Option<Vec<String>>,
    /// The bound on a revision's metadata-lock waits, in seconds ([`Driver::set_lock_timeout`]).
    lock_wait_timeout: Option<u64>,
    /// The session's `lock_wait_timeout` as this driver set it, its own value saved in a session variable; `None`
    /// while the session has its own. Set in the first round trip of a revision's statements, restored in the first
    /// round trip after them: never a round trip of its own.
    session_lock_wait: Option<u64>,
    /// How to open a second connection to the same server, for the heartbeat that keeps the cluster lock's lease
    /// on a Galera node ([`Mysql::cluster_heartbeat`]).
    heartbeat: Option<mysql::Opts>,
    /// The cluster lock held, on a Galera node.
    cluster: Option<ClusterLock>,
}

/// How long the cluster lock's lease lasts, and how often the heartbeat renews it.
const LEASE_SECS: u64 = 15;
const RENEW_EVERY: Duration = Duration::from_secs(5);

/// The lock of a run on a Galera node: a row of `<history>_lock` the run owns until its lease ends, renewed by a
/// heartbeat on a connection of its own (see ARCHITECTURE.md for why no two runners ever hold it at once).
struct ClusterLock {
    table: String,
    owner: String,
    /// Set by the heartbeat when a renewal fails: the run stops before its next statement.
    lost: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    heartbeat: Option<std::thread::JoinHandle<()>>,
}

impl ClusterLock {
    fn stop_heartbeat(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.heartbeat.take() {
            let _ = thread.join();
        }
    }
}

impl<'c> Mysql<'c> {
    /// A driver over `conn`.
    pub fn new(conn: &'c mut Conn) -> Self {
        Mysql {
            raw: conn,
            table: HistoryTable::default(),
            lock_name: None,
            restore_autocommit: false,
            database: None,
            grouping: false,
            autocommit_off: Some(false),
            pending: false,
            deferred: Vec::new(),
            nontransactional: None,
            lock_wait_timeout: None,
            session_lock_wait: None,
            heartbeat: None,
            cluster: None,
        }
    }

    /// On a Galera cluster node (`wsrep_on`), `GET_LOCK` holds on that node only, so the migration lock is a row of
    /// `<history>_lock` that the run owns under a lease, written through the cluster's certification; `opts` opens
    /// a second connection to the same node that renews the lease while the run lasts. Without it a run on a
    /// Galera node is refused. Elsewhere it is not used.
    #[must_use]
    pub fn cluster_heartbeat(mut self, opts: mysql::Opts) -> Self {
        self.heartbeat = Some(opts);
        self
    }

    /// Whether the server is a Galera cluster node with replication on.
    fn galera(&mut self) -> Result<bool, DbError> {
        match self.settled()?.query_first::<i64, _>("SELECT @@wsrep_on") {
            Ok(on) => Ok(on == Some(1)),
            // MySQL without Galera has no such variable.
            Err(mysql::Error::MySqlError(e)) if e.code == 1193 => Ok(false),
            Err(err) => Err(db_error(err)),
        }
    }

    /// Takes the cluster lock: the lock row made, or taken over once its lease has ended; of two nodes' writes at
    /// once the cluster commits one, and the other fails certification (1213) and tries again.
    fn cluster_lock(&mut self, wait: Duration) -> Result<(), LockFailure> {
        let Some(opts) = self.heartbeat.clone() else {
            return Err(DbError::new(
                "this server is a Galera cluster node (wsrep_on): GET_LOCK would hold on this node only, and the \
                 cluster-wide lock needs a second connection to keep its lease (Mysql::cluster_heartbeat in the \
                 library; the command line opens one itself)",
            )
            .into());
        };
        // Under RSU a node runs DDL by itself, while the history rows still replicate: every node would record
        // revisions only this one applied.
        let method: Option<String> = self.settled()?.query_first("SELECT @@wsrep_OSU_method").map_err(db_error)?;
        if method.as_deref().is_some_and(|m| !m.eq_ignore_ascii_case("TOI")) {
            return Err(DbError::new(format!(
                "wsrep_OSU_method is {} on this connection: this node would run the revisions' DDL alone while their \
                 history rows replicate to every node; run migrations with TOI (the default)",
                method.unwrap_or_default()
            ))
            .into());
        }
        let table = self.qualified(&format!("{}_lock", self.table.name()));
        let make = format!(
            "CREATE TABLE IF NOT EXISTS {table} (id TINYINT NOT NULL PRIMARY KEY, owner VARCHAR(255) NOT NULL, \
             expires_at DATETIME(6) NOT NULL) ENGINE=InnoDB"
        );
        self.settled()?.query_drop(make).map_err(db_error)?;
        let owner: String = self
            .settled()?
            .query_first("SELECT CONCAT(@@hostname, ':', @@port, ' connection ', CONNECTION_ID(), ' run ', UUID())")
            .map_err(db_error)?
            .unwrap_or_default();
        let take =
            format!("INSERT INTO {table} (id, owner, expires_at) VALUES (1, ?, NOW(6) + INTERVAL {LEASE_SECS} SECOND)");
        let takeover = format!(
            "UPDATE {table} SET owner = ?, expires_at = NOW(6) + INTERVAL {LEASE_SECS} SECOND \
             WHERE id = 1 AND expires_at < NOW(6)"
        );
        // A conflict with another node's write, or with a row already there: not this time.
        let busy =
            |err: &mysql::Error| matches!(err, mysql::Error::MySqlError(e) if matches!(e.code, 1062 | 1213 | 1205));
        let attempt = |my: &mut Self| -> Result<bool, DbError> {
            let conn = my.settled()?;
            match conn.exec_drop(&take, (&owner,)) {
                Ok(()) => return Ok(true),
                Err(err) if busy(&err) => {}
                Err(err) => return Err(db_error(err)),
            }
            match conn.exec_drop(&takeover, (&owner,)) {
                Ok(()) => Ok(conn.affected_rows() == 1),
                Err(err) if busy(&err) => Ok(false),
                Err(err) => Err(db_error(err)),
            }
        };
        let holder_sql = format!("SELECT CONCAT(owner, ', its lease until ', expires_at) FROM {table} WHERE id = 1");
        let holder = move |my: &mut Self| -> Option<String> {
            my.settled().ok()?.query_first::<String, _>(holder_sql.as_str()).ok().flatten()
        };
        lock::poll(wait, self, attempt, holder)?;
        let (lost, stop) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false)));
        let heartbeat = {
            let (lost, stop, owner) = (lost.clone(), stop.clone(), owner.clone());
            let renew = format!(
                "UPDATE {table} SET expires_at = NOW(6) + INTERVAL {LEASE_SECS} SECOND WHERE id = 1 AND owner = ?"
            );
            std::thread::spawn(move || {
                let Ok(mut conn) = Conn::new(opts) else {
                    lost.store(true, Ordering::SeqCst);
                    return;
                };
                loop {
                    let since = std::time::Instant::now();
                    while since.elapsed() < RENEW_EVERY {
                        if stop.load(Ordering::SeqCst) {
                            return;
                        }
                        std::thread::sleep(Duration::from_millis(50));
                    }
                    let renewed = conn.exec_drop(&renew, (&owner,)).map(|()| conn.affected_rows() == 1);
                    if !matches!(renewed, Ok(true)) {
                        lost.store(true, Ordering::SeqCst);
                        return;
                    }
                }
            })
        };
        self.cluster = Some(ClusterLock { table, owner, lost, stop, heartbeat: Some(heartbeat) });
        Ok(())
    }

    /// Refuses to send a revision's statement once the cluster lock's lease could not be renewed: another runner
    /// may hold the lock by now.
    fn still_locked(&self) -> Result<(), DbError> {
        match &self.cluster {
            Some(lock) if lock.lost.load(Ordering::SeqCst) => Err(DbError::new(
                "the cluster lock's lease could not be renewed (the heartbeat's connection failed, or the node left \
                 the cluster's primary component): the run stops here; run it again",
            )),
            _ => Ok(()),
        }
    }

    /// The connection, with autocommit as the work needs it (off inside a revision's statements, on outside them,
    /// where each history write commits by itself) and the deferred write sent and committed.
    fn settled(&mut self) -> Result<&mut Conn, DbError> {
        if let Some((text, _, switch)) = self.preamble(true) {
            self.send(&text, switch).map_err(Failed::into_error)?;
        }
        // Inside a revision anything sent may leave a write pending; outside, autocommit is on.
        self.pending = self.grouping;
        Ok(self.raw)
    }

    /// A run begins (it reads the history or takes the lock): a revision left part way by an earlier run through
    /// this driver (one without the lock stops without ending it) is over, and what it left pending is committed by
    /// the next round trip's switch.
    fn run_starts(&mut self) {
        self.grouping = false;
        self.nontransactional = None;
    }

    /// The tables of the session's database that take no part in transactions (lower case), read once per run and
    /// again after DDL that may change an engine; an empty name in the list means the default engine takes none
    /// either, so any new table may be one.
    fn nontransactional(&mut self) -> Result<&[String], DbError> {
        if self.nontransactional.is_none() {
            let sql = "SELECT LOWER(t.TABLE_NAME) FROM information_schema.TABLES t \
                       JOIN information_schema.ENGINES e ON e.ENGINE = t.ENGINE \
                       WHERE t.TABLE_SCHEMA = DATABASE() AND e.TRANSACTIONS = 'NO' \
                       UNION ALL SELECT '' FROM information_schema.ENGINES \
                       WHERE ENGINE = @@default_storage_engine AND TRANSACTIONS = 'NO'";
            let names: Vec<String> = self.settled()?.query(sql).map_err(db_error)?;
            self.nontransactional = Some(names);
        }
        Ok(self.nontransactional.as_deref().unwrap_or_default())
    }

    /// A history write failed with autocommit off: what is pending (statements with their writes, never one
    /// without the other, or a script's own transaction with its progress writes) is rolled back, so that nothing
    /// later commits a statement whose record did not follow.
    fn abandon_pending(&mut self) {
        if self.autocommit_off != Some(false) && self.pending {
            if let Err(err) = self.raw.query_drop("ROLLBACK") {
                log::warn!("rolling back after a failed history write: {err}");
            }
            self.pending = false;
        }
    }

    /// `result` of a history write, with what is pending rolled back if it failed (see [`Mysql::abandon_pending`]).
    fn checked<T>(&mut self, result: Result<T, DbError>) -> Result<T, DbError> {
        if result.is_err() {
            self.abandon_pending();
        }
        result
    }

    /// What must go before the next statement, as one text: the deferred write (with a `COMMIT` after it if
    /// `commit` and autocommit stays off), the session's `lock_wait_timeout` as the work needs it (the bound inside a
    /// revision's statements, the session's own outside them), then the autocommit switch the work needs (turning
    /// it on commits). With the number of parts before the switch's end, if there is a switch.
    fn preamble(&mut self, commit: bool) -> Option<(String, usize, Option<usize>)> {
        let mut parts: Vec<String> = std::mem::take(&mut self.deferred);
        let switch = self.autocommit_off != Some(self.grouping);
        if commit && !parts.is_empty() && !switch {
            parts.push("COMMIT".to_owned());
        }
        let wanted = if self.grouping { self.lock_wait_timeout } else { None };
        if wanted != self.session_lock_wait {
            match wanted {
                Some(seconds) => {
                    if self.session_lock_wait.is_none() {
                        parts.push(format!("SET {SAVED_LOCK_WAIT} = @@SESSION.lock_wait_timeout"));
                    }
                    parts.push(format!("SET SESSION lock_wait_timeout = {seconds}"));
                }
                None => parts.push(format!("SET SESSION lock_wait_timeout = {SAVED_LOCK_WAIT}")),
            }
            self.session_lock_wait = wanted;
        }
        if switch {
            parts.push(if self.grouping { "SET autocommit = 0" } else { "SET autocommit = 1" }.to_owned());
        }
        let count = parts.len();
        (count > 0).then(|| (parts.join("\n;\n"), count, switch.then_some(count)))
    }

    /// Sends `text` as one round trip and reads every result (see [`Mysql::run_all`]); once `switch` results have
    /// come back, the autocommit switch at that place has taken effect.
    fn send(&mut self, text: &str, switch: Option<usize>) -> Result<usize, Failed> {
        let mut result = self.raw.query_iter(text).map_err(|err| Failed::At(0, err))?;
        let mut done: usize = 0;
        while let Some(set) = result.iter() {
            for row in set {
                row.map_err(|err| Failed::At(done, err))?;
            }
            done += 1;
            if Some(done) == switch {
                self.autocommit_off = Some(self.grouping);
            }
        }
        Ok(done)
    }

    /// Runs `sql`, which the server may read as several statements, and reads every result, so the error of any
    /// of them is returned (dropping a result, as `query_drop` does, drops the errors after the first), with the
    /// number of statements of `sql` that completed before it.
    ///
    /// The preamble (the deferred write, an autocommit switch) goes in the same round trip, ahead of `sql`; a
    /// failure there is [`Failed::Preamble`]: nothing of `sql` ran. `commit` puts a `COMMIT` after the deferred
    /// write, for `sql` that does not begin with an implicit commit: the write is durable before `sql` runs, however
    /// long that takes.
    fn run_all(&mut self, sql: &str, commit: bool) -> Result<usize, Failed> {
        if let Err(err) = self.still_locked() {
            return Err(Failed::Lost(err));
        }
        let (text, skip, switch) = match self.preamble(commit) {
            Some((preamble, skip, switch)) => (format!("{preamble}\n;\n{sql}"), skip, switch),
            None => (sql.to_owned(), 0, None),
        };
        self.pending = self.grouping;
        Self::relative(self.send(&text, switch), skip)
    }

    /// After a revision's `statement` was sent: if it may set autocommit itself, the session's setting is unknown
    /// here, and the next round trip sets it again (a false alarm, the word in a string, costs one `SET`).
    fn after_statement(&mut self, statement: &str) {
        if statement.to_ascii_lowercase().contains("autocommit") {
            self.autocommit_off = None;
        }
    }

    /// A result of [`Mysql::send`] with the preamble's `skip` parts taken off the indices.
    fn relative(result: Result<usize, Failed>, skip: usize) -> Result<usize, Failed> {
        match result {
            Ok(done) => Ok(done - skip),
            Err(Failed::At(at, err)) if at < skip => Err(Failed::Preamble(err)),
            Err(Failed::At(at, err)) => Err(Failed::At(at - skip, err)),
            Err(failed) => Err(failed),
        }
    }

    /// The history table's name, qualified with the database that was current when the lock was taken, so a
    /// revision's `USE` cannot send the history elsewhere.
    fn name(&self) -> String {
        self.qualified(self.table.name())
    }

    /// `table` in the history table's schema, or else in the database that was current when the lock was taken.
    fn qualified(&self, table: &str) -> String {
        match (self.table.schema(), &self.database) {
            (Some(schema), _) => format!("{}.{}", quote(schema), quote(table)),
            (None, Some(database)) => format!("{}.{}", quote(database), quote(table)),
            (None, None) => quote(table),
        }
    }

    /// One round trip for a statement that commits by itself (DDL): the intent, then the statement. The implicit
    /// commit that opens the statement makes the intent durable before the statement runs, so a crash or a cut
    /// connection leaves either what ran or this one statement in doubt. Where the catalog can settle that doubt
    /// (`doubt::check`), the history write that completes the statement is deferred to the next round trip, whose
    /// own implicit commit (or `COMMIT`) makes it durable: until then the row says "in doubt", which is true and
    /// which the next run settles by itself. Otherwise the write and a `COMMIT` follow in this round trip. `intent` is
    /// a progress write, or for a revision's first statement the whole row ([`RowWrite::Started`]).
    fn in_doubt(&mut self, statement: &str, intent: &RowWrite<'_>, write: &RowWrite<'_>) -> Result<(), ExecFailure> {
        let name = self.name();
        let (intent, write) = (intent.sql(Backend::Mysql, &name), write.sql(Backend::Mysql, &name));
        let history = |my: &mut Self, failed: Failed| {
            my.abandon_pending();
            ExecFailure::History(failed.into_error())
        };
        if sql::split(statement, Backend::Mysql).len() > 1 {
            if let Err(failed) = self.run_parts(&[&intent, "COMMIT"], false) {
                return Err(history(self, failed));
            }
            self.execute(statement).map_err(ExecFailure::Statement)?;
            if let Err(failed) = self.run_parts(&[&write, "COMMIT"], false) {
                return Err(history(self, failed));
            }
            self.pending = false;
            return Ok(());
        }
        // A statement that commits by itself and whose doubt the catalog settles leaves its write for the next
        // round trip; any other has it committed now.
        let implicit = sql::commits_implicitly(statement);
        let defer = implicit && doubt::check(statement, Backend::Mysql) != Check::Unknown;
        let parts: &[&str] = if defer { &[&intent, statement] } else { &[&intent, statement, &write, "COMMIT"] };
        let result = self.run_parts(parts, !implicit);
        self.after_statement(statement);
        match result {
            Ok(()) => {
                self.pending = false;
                if defer {
                    self.deferred.push(write);
                }
                Ok(())
            }
            Err(Failed::At(1, err)) => Err(ExecFailure::Statement(statement_error(statement, 0, err))),
            Err(failed) => Err(history(self, failed)),
        }
    }

    /// Runs `parts` as one multi-statement query; on failure, which part failed (by index) and the error.
    fn run_parts(&mut self, parts: &[&str], commit: bool) -> Result<(), Failed> {
        // A newline before each `;`: a part may end in a `--` or `#` comment.
        self.run_all(&parts.join("\n;\n"), commit).map(drop)
    }

    fn holder(&mut self, name: &str) -> Option<String> {
        let id: Option<u64> =
            self.settled().ok()?.exec_first("SELECT IS_USED_LOCK(?)", (name,)).ok().flatten().flatten();
        let id = id?;
        /// USER, HOST, DB, TIME of a PROCESSLIST row.
        type Process = (Option<String>, Option<String>, Option<String>, Option<i64>);
        let info: Option<Process> = self
            .settled()
            .ok()?
            .exec_first("SELECT USER, HOST, DB, TIME FROM information_schema.PROCESSLIST WHERE ID = ?", (id,))
            .ok()
            .flatten();
        Some(match info {
            Some((user, host, db, time)) => format!(
                "connection {id} (user `{}` from {}, database `{}`, in its current state for {}s)",
                user.unwrap_or_default(),
                host.unwrap_or_default(),
                db.unwrap_or_default(),
                time.unwrap_or(0)
            ),
            None => format!("connection {id}"),
        })
    }
}

/// Where a round trip failed: in the preamble [`Mysql::run_all`] put before the statements (nothing of them ran), or
/// at one of them (by index).
enum Failed {
    Preamble(mysql::Error),
    At(usize, mysql::Error),
    /// Nothing was sent: the cluster lock's lease was lost.
    Lost(DbError),
}

impl Failed {
    fn into_error(self) -> DbError {
        match self {
            Failed::Preamble(err) | Failed::At(_, err) => db_error(err),
            Failed::Lost(err) => err,
        }
    }
}

/// A driver dropped with autocommit off (a run without the lock, or one that stopped part way) turns it back on: the
/// history writes pending say what ran and are committed, and the connection goes back to its owner as it came.
/// The session variable that keeps the session's own `lock_wait_timeout` while revisions run under the bound.
const SAVED_LOCK_WAIT: &str = "@migrate_saved_lock_wait_timeout";

impl Drop for Mysql<'_> {
    fn drop(&mut self) {
        // A run that ended without unlocking (a panic): the heartbeat stops, and the lease ends by itself.
        if let Some(lock) = &mut self.cluster {
            lock.stop_heartbeat();
        }
        self.grouping = false;
        if self.autocommit_off != Some(false) || !self.deferred.is_empty() || self.session_lock_wait.is_some() {
            if let Err(err) = self.settled() {
                log::warn!("turning autocommit back on (committing the history writes pending): {err}");
            }
        }
    }
}

/// The error of a statement that completed `done` statements of its own first (a `DELIMITER` chunk holds several),
/// with the line the server named.
fn statement_error(statement: &str, done: usize, err: mysql::Error) -> DbError {
    let mut err = db_error(err);
    err.position = position_from_message(statement, &err.message);
    if done > 0 {
        err.message = format!("{} (after {done} earlier statement(s) of the same chunk had run)", err.message);
    }
    err
}

/// Converts a `mysql` error, keeping the server's error number.
pub fn db_error(err: mysql::Error) -> DbError {
    match &err {
        mysql::Error::MySqlError(e) => DbError::new(e.message.clone()).with_code(e.code.to_string()).with_source(err),
        other => DbError::new(other.to_string()).with_source(err),
    }
}

/// Runs `sql`, one statement or several, and reads every result, so that the error of any statement is returned:
/// the `mysql` crate's `query_drop` returns only the first statement's and drops the others'.
pub fn execute_all(conn: &mut Conn, sql: &str) -> Result<(), mysql::Error> {
    let mut result = conn.query_iter(sql)?;
    while let Some(set) = result.iter() {
        for row in set {
            row?;
        }
    }
    Ok(())
}

fn quote(ident: &str) -> String {
    history::quote_identifier(Backend::Mysql, ident)
}

/// Whether `err` says a table (or a database) the query reads does not exist: ER_NO_SUCH_TABLE, ER_BAD_DB_ERROR.
fn no_table(err: &mysql::Error) -> bool {
    matches!(err, mysql::Error::MySqlError(e) if e.code == 1146 || e.code == 1049)
}

fn params(row: &AppliedRow) -> Vec<Value> {
    let hex = |c: Option<Checksum>| c.map(|c| c.to_hex());
    vec![
        row.version.clone().into(),
        row.name.clone().into(),
        row.up_checksum.to_hex().into(),
        hex(row.down_checksum).into(),
        row.down_sql.clone().into(),
        row.applied_at.clone().into(),
        row.duration_ms.into(),
        row.state.as_str().into(),
        row.statements_done.into(),
        hex(row.progress_checksum).into(),
        row.error.clone().into(),
        i32::from(row.in_doubt).into(),
        row.runner.clone().into(),
        row.tries.into(),
    ]
}

/// A row of a text-protocol query, whose every cell comes as bytes (or NULL).
struct Row<'r>(&'r mysql::Row);

impl Cells for Row<'_> {
    fn text(&self, index: usize) -> Result<Option<&str>, DbError> {
        match self.0.as_ref(index) {
            Some(Value::NULL) => Ok(None),
            Some(Value::Bytes(bytes)) => std::str::from_utf8(bytes).map(Some).map_err(|e| DbError::new(e.to_string())),
            Some(other) => Err(DbError::new(format!("{other:?} where text is expected"))),
            None => Err(DbError::new(format!("no column {index}"))),
        }
    }

    fn integer(&self, index: usize) -> Result<Option<i64>, DbError> {
        match self.0.as_ref(index) {
            Some(Value::Int(n)) => Ok(Some(*n)),
            Some(Value::UInt(n)) => i64::try_from(*n).map(Some).map_err(|e| DbError::new(e.to_string())),
            _ => self
                .text(index)?
                .map(|text| text.parse().map_err(|_| DbError::new(format!("`{text}` where an integer is expected"))))
                .transpose(),
        }
    }
}

/// Whether `text` holds `name` as a word of its own (both in lower case): not inside a longer identifier.
fn mentions(text: &str, name: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '$' || !c.is_ascii();
    text.match_indices(name).any(|(at, _)| {
        !text[..at].chars().next_back().is_some_and(word) && !text[at + name.len()..].chars().next().is_some_and(word)
    })
}

/// MySQL reports syntax errors "near '…' at line N" (N within the statement): turn that into a character offset.
fn position_from_message(statement: &str, message: &str) -> Option<usize> {
    let line: usize = message.rsplit_once("at line ")?.1.trim().parse().ok()?;
    let mut chars = 0;
    for (index, text) in statement.split('\n').enumerate() {
        if index + 1 == line {
            return Some(chars);
        }
        chars += text.chars().count() + 1;
    }
    None
}

impl Driver for Mysql<'_> {
    fn backend(&self) -> Backend {
        Backend::Mysql
    }

    fn transactional_ddl(&self) -> bool {
        false
    }

    fn bind_history(&mut self, table: &HistoryTable) {
        self.table = table.clone();
    }

    fn history_name(&self) -> String {
        self.name()
    }

    fn select(&mut self, sql: &str, reader: &mut dyn Reader) -> Result<bool, DbError> {
        self.run_starts();
        let mut result = match self.settled()?.query_iter(sql) {
            Ok(result) => result,
            Err(err) if no_table(&err) => return Ok(false),
            Err(err) => return Err(db_error(err)),
        };
        let columns = result.columns();
        let names: Vec<_> = columns.as_ref().iter().map(|c| c.name_str()).collect();
        let names: Vec<&str> = names.iter().map(|n| n.as_ref()).collect();
        let mut outcome = reader.columns(&names).map(|()| true);
        // Every row is read off the connection, even after the reader has seen enough (or failed).
        for row in result.by_ref() {
            let row = row.map_err(db_error)?;
            if let Ok(true) = outcome {
                outcome = reader.row(&Row(&row));
            }
        }
        outcome.map(|_| true)
    }

    fn create_history(&mut self) -> Result<(), DbError> {
        if let Some(schema) = self.table.schema().map(quote) {
            self.settled()?.query_drop(format!("CREATE DATABASE IF NOT EXISTS {schema}")).map_err(db_error)?;
        }
        let sql = history::create_table_sql(Backend::Mysql, &self.name());
        self.settled()?.query_drop(sql).map_err(db_error)
    }

    fn lock(&mut self, wait: Duration) -> Result<(), LockFailure> {
        self.run_starts();
        // GET_LOCK names are server-wide and at most 64 characters: the database computes one from the database and
        // table, as offline scripts compute it.
        let identity = lock::identity_sql(Backend::Mysql, &self.table)
            .ok_or_else(|| DbError::new("Mysql has no migration lock identity"))?;
        let (database, autocommit, name): (Option<String>, i64, String) = self
            .settled()?
            .query_first(format!("SELECT DATABASE(), @@autocommit, {identity}"))
            .map_err(db_error)?
            .ok_or_else(|| DbError::new("the migration lock's name did not come back"))?;
        if autocommit == 0 {
            // Each history write must commit on its own; the session's setting is restored on unlock.
            self.raw.query_drop("SET autocommit = 1").map_err(db_error)?;
            self.restore_autocommit = true;
        }
        self.database = database;
        if self.galera()? {
            return self.cluster_lock(wait);
        }
        let attempt = |my: &mut Self| -> Result<bool, DbError> {
            let got: Option<i64> =
                my.settled()?.exec_first("SELECT GET_LOCK(?, 0)", (&name,)).map_err(db_error)?.flatten();
            Ok(got == Some(1))
        };
        lock::poll(wait, self, attempt, |my| my.holder(&name))?;
        self.lock_name = Some(name);
        Ok(())
    }

    fn unlock(&mut self) -> Result<(), DbError> {
        // History writes still pending (a revision stopped part way) are committed first, by turning autocommit
        // back on: they say what ran.
        self.grouping = false;
        let mut result = self.settled().map(drop);
        result = result.and(match self.lock_name.take() {
            Some(name) => self.settled().and_then(|c| c.exec_drop("DO RELEASE_LOCK(?)", (name,)).map_err(db_error)),
            None => Ok(()),
        });
        if let Some(mut lock) = self.cluster.take() {
            lock.stop_heartbeat();
            let release = format!("DELETE FROM {} WHERE id = 1 AND owner = ?", lock.table);
            result = result.and(self.settled().and_then(|c| c.exec_drop(release, (&lock.owner,)).map_err(db_error)));
        }
        if std::mem::take(&mut self.restore_autocommit) {
            result = result.and(self.raw.query_drop("SET autocommit = 0").map_err(db_error));
        }
        result
    }

    /// A revision runs with autocommit off: a data statement and the progress write after it commit together (with
    /// the next statement that commits), and the progress write after a statement that commits by itself (DDL) is
    /// committed in the same round trip. (Leaving that one to the implicit commit of the next DDL statement saved a
    /// log flush, but a crash in between left a row one statement short of what had run.) Nothing is sent here: the
    /// revision's first round trip turns autocommit off if an earlier revision has not left it so.
    fn before_statements(&mut self) -> Result<(), DbError> {
        self.grouping = true;
        Ok(())
    }

    /// Ends the revision: what is pending is committed. Autocommit stays off while revisions follow (the next one
    /// wants it so; anything else sent first turns it on), and is turned on after the last.
    fn after_statements(&mut self, more: bool) -> Result<Continuity, DbError> {
        if !std::mem::take(&mut self.grouping) {
            return Ok(Continuity::Held);
        }
        if !more {
            self.settled()?;
        } else if self.pending {
            // The deferred write, if any, stays for the next revision's first round trip.
            self.raw.query_drop("COMMIT").map_err(db_error)?;
            self.pending = false;
        }
        Ok(Continuity::Held)
    }

    /// The sessions holding a metadata lock on a table `statement` names, where the server keeps
    /// `performance_schema.metadata_locks` (MySQL 8 by default; MariaDB with `performance_schema` on); elsewhere the
    /// sessions with the oldest open InnoDB transactions, this database's first, said so. The server shows the
    /// query of a session that is running one; an idle session's last query it does not keep.
    fn lock_holders(&mut self, statement: &str) -> Result<Option<String>, DbError> {
        let tables: Vec<Value> = sql::names_in(statement, Backend::Mysql)
            .iter()
            .filter_map(|name| name.rsplit('.').next())
            .map(|name| Value::from(name.trim_matches('`')))
            .collect();
        let conn = self.settled()?;
        let mut ids: Vec<u64> = Vec::new();
        if !tables.is_empty() {
            let list = vec!["?"; tables.len()].join(", ");
            let sql = format!(
                "SELECT DISTINCT t.PROCESSLIST_ID FROM performance_schema.metadata_locks m \
                 JOIN performance_schema.threads t ON t.THREAD_ID = m.OWNER_THREAD_ID \
                 WHERE m.OBJECT_TYPE = 'TABLE' AND m.OBJECT_SCHEMA = DATABASE() AND m.OBJECT_NAME IN ({list}) \
                 AND m.LOCK_STATUS = 'GRANTED' AND t.PROCESSLIST_ID <> CONNECTION_ID()"
            );
            // Not kept by this server (or not readable by this user): the fallback below.
            ids = conn.exec(sql, tables).unwrap_or_default();
        }
        let exact = !ids.is_empty();
        if !exact {
            ids = conn
                .query(
                    "SELECT t.trx_mysql_thread_id FROM information_schema.INNODB_TRX t \
                     JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id \
                     WHERE t.trx_mysql_thread_id <> CONNECTION_ID() \
                     ORDER BY p.DB <=> DATABASE() DESC, t.trx_started LIMIT 3",
                )
                .map_err(db_error)?;
        }
        if ids.is_empty() {
            return Ok(None);
        }
        let list = ids.iter().map(u64::to_string).collect::<Vec<_>>().join(", ");
        /// ID, USER, HOST, COMMAND, STATE, seconds the transaction has been open, INFO.
        type Session =
            (u64, Option<String>, Option<String>, Option<String>, Option<String>, Option<i64>, Option<String>);
        let sessions: Vec<Session> = conn
            .query(format!(
                "SELECT p.ID, p.USER, p.HOST, p.COMMAND, p.STATE, TIMESTAMPDIFF(SECOND, t.trx_started, NOW()), p.INFO \
                 FROM information_schema.PROCESSLIST p \
                 LEFT JOIN information_schema.INNODB_TRX t ON t.trx_mysql_thread_id = p.ID \
                 WHERE p.ID IN ({list}) ORDER BY p.DB <=> DATABASE() DESC, t.trx_started"
            ))
            .map_err(db_error)?;
        let described: Vec<String> = sessions
            .into_iter()
            .map(|(id, user, host, command, state, open, info)| {
                let state = state.filter(|s| !s.is_empty()).map(|s| format!(", {s}")).unwrap_or_default();
                let open = open.map(|s| format!(", transaction open {s} s")).unwrap_or_default();
                let query = info.map_or_else(|| "(idle)".to_owned(), |q| sql::masked(&q, Backend::Mysql, 120));
                format!(
                    "connection {id} ({}@{}, {}{state}{open}): {query}",
                    user.unwrap_or_default(),
                    host.unwrap_or_default(),
                    command.unwrap_or_default()
                )
            })
            .collect();
        Ok((!described.is_empty()).then(|| match exact {
            true => described.join("; "),
            false => format!(
                "the server does not say which session holds a lock on a table it names; the oldest open \
                 transactions, this database's first: {}",
                described.join("; ")
            ),
        }))
    }

    /// Whole seconds, the server's unit, rounded up: a bound is never shorter than asked.
    fn set_lock_timeout(&mut self, timeout: Option<Duration>) {
        self.lock_wait_timeout = timeout.map(|t| t.as_secs() + u64::from(t.subsec_nanos() > 0)).map(|s| s.max(1));
    }

    fn begin(&mut self) -> Result<(), DbError> {
        self.settled()?.query_drop("START TRANSACTION").map_err(db_error)
    }

    fn commit(&mut self) -> Result<(), DbError> {
        self.settled()?.query_drop("COMMIT").map_err(db_error)
    }

    fn rollback(&mut self) -> Result<(), DbError> {
        self.settled()?.query_drop("ROLLBACK").map_err(db_error)
    }

    fn execute(&mut self, statement: &str) -> Result<(), DbError> {
        // The preamble goes first, on its own: a failure of it is not the statement's.
        self.settled()?;
        let result = self.run_all(statement, true);
        self.after_statement(statement);
        result.map(drop).map_err(|failed| match failed {
            Failed::At(done, err) => statement_error(statement, done, err),
            failed => failed.into_error(),
        })
    }

    /// One round trip: the statement, then the history write, as a multi-statement query (the server stops at the
    /// first error, so the failing part is known). Both commit together, with the next statement that commits (the
    /// session runs with autocommit off). A chunk that holds several statements (a `DELIMITER` block) runs alone,
    /// then its write: which of its results would be the write's is not known.
    fn execute_and_record(&mut self, statement: &str, write: &RowWrite<'_>) -> Result<(), ExecFailure> {
        let write = write.sql(Backend::Mysql, &self.name());
        if sql::split(statement, Backend::Mysql).len() > 1 {
            self.execute(statement).map_err(ExecFailure::Statement)?;
            let result = self.settled().and_then(|conn| conn.query_drop(write).map_err(db_error));
            return self.checked(result).map_err(ExecFailure::History);
        }
        let result = self.run_parts(&[statement, &write], true);
        self.after_statement(statement);
        match result {
            Ok(()) => Ok(()),
            Err(Failed::At(0, err)) => Err(ExecFailure::Statement(statement_error(statement, 0, err))),
            Err(failed) => {
                // The statement may have run and its write not: neither may commit.
                self.abandon_pending();
                Err(ExecFailure::History(failed.into_error()))
            }
        }
    }

    /// One round trip: the intent and the statement, and the history write (see `in_doubt` above).
    fn execute_in_doubt(
        &mut self,
        statement: &str,
        intent: &AppliedRow,
        write: &RowWrite<'_>,
    ) -> Result<(), ExecFailure> {
        self.in_doubt(statement, &RowWrite::Progress(intent), write)
    }

    /// A statement that writes a MyISAM, Aria or MEMORY table of the session's database (named anywhere in it, as
    /// a word: a name in a string or a comment only costs a write) takes effect at once. DDL that names an engine,
    /// or any DDL where the default engine takes no part in transactions, makes the list be read again.
    fn outside_transactions(&mut self, statement: &str) -> Result<bool, DbError> {
        if sql::commits_implicitly(statement) {
            let default_too = self.nontransactional.as_deref().is_some_and(|names| names.iter().any(String::is_empty));
            if default_too || statement.as_bytes().windows(6).any(|w| w.eq_ignore_ascii_case(b"engine")) {
                self.nontransactional = None;
            }
            return Ok(false);
        }
        let names = self.nontransactional()?;
        // Nothing to look for (the usual case): no copy of the statement is made.
        if names.iter().all(String::is_empty) {
            return Ok(false);
        }
        let lower = statement.to_ascii_lowercase();
        Ok(names.iter().any(|name| !name.is_empty() && mentions(&lower, name)))
    }

    /// The first statement's intent is the revision's row: one round trip, one commit (the statement's implicit
    /// one) fewer than writing the row first.
    fn intent_starts_row(&self) -> bool {
        true
    }

    fn start_in_doubt(
        &mut self,
        statement: &str,
        intent: &AppliedRow,
        write: &RowWrite<'_>,
    ) -> Result<(), ExecFailure> {
        self.in_doubt(statement, &RowWrite::Started(intent), write)
    }

    /// Rides in the next round trip with the deferred write, if any (committed as it is): no round trip of its own.
    fn record_timing(&mut self, write: &RowWrite<'_>) -> Result<(), DbError> {
        let sql = write.sql(Backend::Mysql, &self.name());
        self.deferred.push(sql);
        Ok(())
    }

    fn write_row(&mut self, write: &RowWrite<'_>) -> Result<(), DbError> {
        let sql = write.sql(Backend::Mysql, &self.name());
        let result = self.settled().and_then(|conn| conn.query_drop(sql).map_err(db_error));
        self.checked(result)
    }

    fn presence(&mut self, object: &CatalogObject) -> Result<Option<Presence>, DbError> {
        // Names compare as the server stores them; the schema is the statement's, or the session's database.
        let table = object.table.as_ref();
        let schema = object.schema.clone().or_else(|| table.and_then(|(s, _)| s.clone()));
        let schema = Value::from(schema);
        let (sql, params): (&str, Vec<Value>) = match object.kind {
            ObjectKind::Table => (
                "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) \
                 AND TABLE_NAME = ? AND TABLE_TYPE <> 'VIEW'",
                vec![schema, object.name.clone().into()],
            ),
            ObjectKind::View => (
                "SELECT COUNT(*) FROM information_schema.VIEWS WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) \
                 AND TABLE_NAME = ?",
                vec![schema, object.name.clone().into()],
            ),
            ObjectKind::Index => {
                let Some((_, table)) = table else { return Ok(None) };
                (
                    "SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = \
                     COALESCE(?, DATABASE()) AND TABLE_NAME = ? AND INDEX_NAME = ?",
                    vec![schema, table.clone().into(), object.name.clone().into()],
                )
            }
            ObjectKind::Column => {
                let Some((_, table)) = table else { return Ok(None) };
                (
                    "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) \
                     AND TABLE_NAME = ? AND COLUMN_NAME = ?",
                    vec![schema, table.clone().into(), object.name.clone().into()],
                )
            }
            ObjectKind::Procedure | ObjectKind::Function => (
                "SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = COALESCE(?, DATABASE()) \
                 AND ROUTINE_NAME = ? AND ROUTINE_TYPE = ?",
                vec![
                    schema,
                    object.name.clone().into(),
                    if object.kind == ObjectKind::Procedure { "PROCEDURE" } else { "FUNCTION" }.into(),
                ],
            ),
            ObjectKind::Trigger => (
                "SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = COALESCE(?, DATABASE()) \
                 AND TRIGGER_NAME = ?",
                vec![schema, object.name.clone().into()],
            ),
            ObjectKind::Database => (
                "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?",
                vec![object.name.clone().into()],
            ),
            _ => return Ok(None),
        };
        let count: Option<i64> = self.settled()?.exec_first(sql, params).map_err(db_error)?;
        Ok(Some(if count.unwrap_or(0) > 0 { Presence::Present } else { Presence::Absent }))
    }

    fn snapshot(&mut self) -> Result<migrate_core::Schema, DbError> {
        let table = self.table.clone();
        schema::snapshot(self.settled()?, &table).map_err(db_error)
    }

    fn insert_row(&mut self, row: &AppliedRow) -> Result<(), DbError> {
        let sql = format!(
            "INSERT INTO {} ({COLUMNS}, {ADDED_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            self.name()
        );
        let result = self.settled().and_then(|conn| conn.exec_drop(sql, params(row)).map_err(db_error));
        self.checked(result)
    }

    fn update_row(&mut self, row: &AppliedRow) -> Result<(), DbError> {
        let result = self.update_row_now(row);
        self.checked(result)
    }

    fn delete_row(&mut self, version: &str) -> Result<(), DbError> {
        let sql = format!("DELETE FROM {} WHERE version = ?", self.name());
        let result = self.settled().and_then(|conn| conn.exec_drop(sql, (version,)).map_err(db_error));
        self.checked(result)
    }
}

impl Mysql<'_> {
    fn update_row_now(&mut self, row: &AppliedRow) -> Result<(), DbError> {
        let sql = format!(
            "UPDATE {} SET version = ?, name = ?, up_checksum = ?, down_checksum = ?, down_sql = ?, applied_at = ?, \
             duration_ms = ?, state = ?, statements_done = ?, progress_checksum = ?, error = ?, in_doubt = ?, \
             runner = ?, tries = ? WHERE version = ?",
            self.name()
        );
        let mut values = params(row);
        values.push(row.version.clone().into());
        self.settled()?.exec_drop(sql, values).map_err(db_error)?;
        // MySQL counts rows changed, not matched: an unchanged row reports 0, so check for the row itself.
        if self.settled()?.affected_rows() == 1 {
            return Ok(());
        }
        let sql = format!("SELECT COUNT(*) FROM {} WHERE version = ?", self.name());
        match self.settled()?.exec_first::<i64, _, _>(sql, (&row.version,)).map_err(db_error)? {
            Some(1) => Ok(()),
            _ => Err(DbError::new(format!("history row {} not found to update", row.version))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_is_mentioned_as_a_word() {
        assert!(mentions("insert into `counts` values (1)", "counts"));
        assert!(mentions("update db.counts set n = 1", "counts"));
        assert!(!mentions("insert into counts_2 values (1)", "counts"));
        assert!(!mentions("insert into my_counts values (1)", "counts"));
        assert!(!mentions("insert into countsé values (1)", "counts"));
    }

    #[test]
    fn syntax_error_lines_become_positions() {
        let statement = "CREATE TABLE t (\n  id INT,\n  oops\n)";
        let message = "You have an error in your SQL syntax; check the manual near ')' at line 3";
        assert_eq!(position_from_message(statement, message), Some(27));
        assert_eq!(position_from_message(statement, "Table 'x' doesn't exist"), None);
    }
}
