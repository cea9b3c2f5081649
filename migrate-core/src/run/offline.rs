//! Scripts written ahead of time (Alembic's offline mode): the SQL a plan would run, with its history writes,
//! transaction boundaries and the migration lock, for a person to review and a database client to run.
//!
//! A script follows the protocol of a live run, so running it leaves the history table a live run would leave
//! (only `applied_at` and `duration_ms` differ: the script takes the time from the database and records no
//! duration). A transactional revision and its history row commit together; a statement-by-statement revision (a
//! `no-transaction` file, and every revision on MySQL) writes its row as dirty first and its progress after each
//! statement, so a script stopped by an error leaves the record that `resume` and `resolve` act on.

use std::fmt::Write as _;
use std::time::Duration;

use crate::config::{Config, HistoryTable};
use crate::history::{self, AppliedRow, RowState, COLUMNS};
use crate::plan::{Action, Plan, Step};
use crate::revision::Backend;
use crate::sql;

/// How a script is written.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ScriptOptions {
    /// The dialect.
    pub backend: Backend,
    /// Where the history table lives.
    pub table: HistoryTable,
    /// Take the migration lock a live run takes (PostgreSQL advisory lock, MySQL `GET_LOCK`; SQLite's write lock is
    /// taken by each revision's `BEGIN IMMEDIATE` in any case).
    pub lock: bool,
    /// How long the script waits for the lock.
    pub lock_wait: Duration,
}

impl ScriptOptions {
    /// The defaults for `backend`: as a run with the default [`Config`] would do it.
    pub fn new(backend: Backend) -> ScriptOptions {
        ScriptOptions::of(backend, &Config::default())
    }

    /// As a run with `config` would do it on `backend`.
    pub fn of(backend: Backend, config: &Config) -> ScriptOptions {
        ScriptOptions { backend, table: config.table.clone(), lock: config.lock, lock_wait: config.lock_wait }
    }
}

/// The script that carries out `plan`, headed by `header` (each line becomes an SQL comment).
pub fn script(plan: &Plan<'_>, options: &ScriptOptions, header: &[String]) -> String {
    let mut w = Writer { out: String::new(), backend: options.backend, table: options.table.qualified(quote(options)) };
    for line in header {
        w.comment(line);
    }
    // A client that went on after an error would record statements that failed as done: the script tells psql and
    // sqlite3 to stop (the mysql client stops by default); any other client must be told to.
    match options.backend {
        Backend::Postgres => {
            w.comment("run with psql: psql -f <this file> (other clients: stop at the first error)");
            w.out.push_str("\\set ON_ERROR_STOP on\n");
            // A revision may change search_path; as in a live run it is restored before each history write.
            w.out.push_str(&format!("{SAVE_SEARCH_PATH};\n"));
        }
        Backend::Mysql => {
            w.comment("run with the mysql client: mysql <database> < <this file> (it stops at the first error)");
            w.statement("SET NAMES utf8mb4");
        }
        Backend::Sqlite => {
            w.comment(
                "run with sqlite3: sqlite3 <database file> < <this file> (other clients: stop at the first error)",
            );
            w.out.push_str(".bail on\n");
            // Each revision's BEGIN IMMEDIATE waits for SQLite's write lock as long as a live run would.
            w.statement(&format!("PRAGMA busy_timeout = {}", options.lock_wait.as_millis().min(i32::MAX as u128)));
        }
    }
    w.out.push('\n');
    let lock = options.lock.then(|| lock_statements(options)).flatten();
    if let Some((take, _)) = &lock {
        w.out.push_str(take);
        w.out.push('\n');
    }
    if let Some(schema) = options.table.schema() {
        let q = history::quote_identifier(options.backend, schema);
        match options.backend {
            Backend::Postgres => w.statement(&format!("CREATE SCHEMA IF NOT EXISTS {q}")),
            Backend::Mysql => w.statement(&format!("CREATE DATABASE IF NOT EXISTS {q}")),
            Backend::Sqlite => {}
        }
    }
    w.statement(&history::create_table_sql(options.backend, &w.table));
    for step in &plan.steps {
        w.step(step);
    }
    if let Some((_, release)) = &lock {
        w.out.push('\n');
        w.out.push_str(release);
    }
    w.out
}

/// Keeps the session's `search_path` in a custom setting, to restore it after each revision.
const SAVE_SEARCH_PATH: &str = "DO $m$ BEGIN PERFORM pg_catalog.set_config('migrate.search_path', \
                                pg_catalog.current_setting('search_path'), false); END $m$";
/// Restores it (every name qualified: the revision may have emptied `search_path`).
const RESTORE_SEARCH_PATH: &str = "DO $m$ BEGIN PERFORM pg_catalog.set_config('search_path', \
                                   pg_catalog.current_setting('migrate.search_path'), false); END $m$";

fn quote(options: &ScriptOptions) -> impl Fn(&str) -> String + '_ {
    move |ident| history::quote_identifier(options.backend, ident)
}

/// The statements that take and release the lock a live run takes, on the identity it takes it by.
fn lock_statements(options: &ScriptOptions) -> Option<(String, String)> {
    let secs = options.lock_wait.as_secs().max(1);
    let id = crate::run::lock::identity_sql(options.backend, &options.table)?;
    match options.backend {
        Backend::Postgres => Some((
            format!(
                "-- The migration lock a live run takes, waited for up to {secs} s.\nSET lock_timeout = \
                 '{secs}s';\nSELECT pg_advisory_lock({id});\nRESET lock_timeout;\n"
            ),
            format!("SELECT pg_advisory_unlock({id});\n"),
        )),
        Backend::Mysql => Some((
            format!(
                "-- The migration lock a live run takes, waited for up to {secs} s. If another session holds it, \
                 this statement fails\n-- (error 1242, \"Subquery returns more than 1 row\") and nothing below \
                 runs.\nSELECT IF(GET_LOCK({id}, {secs}) = 1, 'migration lock taken', (SELECT 1 UNION ALL \
                 SELECT 2)) AS migrate_lock;\n"
            ),
            format!("DO RELEASE_LOCK({id});\n"),
        )),
        Backend::Sqlite => None,
    }
}

struct Writer {
    out: String,
    backend: Backend,
    table: String,
}

impl Writer {
    fn comment(&mut self, text: &str) {
        for line in text.lines() {
            let _ = writeln!(self.out, "-- {line}");
        }
    }

    /// One statement with its terminator, in a form the dialect's command-line client reads back as one statement.
    fn statement(&mut self, text: &str) {
        let text = text.trim_end();
        if self.backend == Backend::Mysql && text.contains(';') {
            // A compound statement (trigger, routine): the mysql client needs another delimiter around it.
            let delimiter = ["//", "$$", "@@", "%%"].into_iter().find(|d| !text.contains(d)).unwrap_or("//");
            let _ = writeln!(self.out, "DELIMITER {delimiter}\n{text}\n{delimiter}\nDELIMITER ;");
            return;
        }
        let last = text.lines().last().unwrap_or("");
        let comment_at_end = last.contains("--") || self.backend == Backend::Mysql && last.contains('#');
        let _ = writeln!(self.out, "{text}{}", if comment_at_end { "\n;" } else { ";" });
    }

    /// A history write: its only semicolons are inside literals, which every client reads as such.
    fn write(&mut self, sql: &str) {
        let _ = writeln!(self.out, "{sql};");
    }

    fn restore_search_path(&mut self) {
        if self.backend == Backend::Postgres {
            self.write(RESTORE_SEARCH_PATH);
        }
    }

    fn begin(&mut self) {
        self.statement(match self.backend {
            Backend::Postgres => "BEGIN",
            Backend::Sqlite => "BEGIN IMMEDIATE",
            Backend::Mysql => "START TRANSACTION",
        });
    }

    fn lit(&self, text: &str) -> String {
        history::sql_literal(self.backend, text)
    }

    fn insert(&mut self, row: &AppliedRow) {
        // The script cannot know when it will run: the database's clock, and no duration.
        let values = history::row_values(self.backend, row, history::now_sql(self.backend), "0");
        let sql = format!("INSERT INTO {} ({COLUMNS}) VALUES ({values})", self.table);
        self.write(&sql);
    }

    fn update(&mut self, version: &str, assignments: &str) {
        let sql = format!("UPDATE {} SET {assignments} WHERE version = {}", self.table, self.lit(version));
        self.write(&sql);
    }

    fn delete(&mut self, version: &str) {
        let sql = format!("DELETE FROM {} WHERE version = {}", self.table, self.lit(version));
        self.write(&sql);
    }

    fn step(&mut self, step: &Step<'_>) {
        let what = match step.action {
            Action::Apply => format!("apply {}", step.file),
            Action::Revert => format!("revert {}", step.file),
            Action::StampApplied => "record as applied without running anything".to_owned(),
            Action::StampReverted => "remove the record without running anything".to_owned(),
        };
        let _ = writeln!(self.out, "\n-- {}: {what}", step.revision);
        let row = step.known.map(|r| AppliedRow::for_revision(r, self.backend));
        let Some(script) = step.script.as_deref() else {
            // Stamps, and an empty down file run as a no-op: only the history changes.
            self.begin();
            self.history_change(step, row.as_ref());
            self.statement("COMMIT");
            return;
        };
        let statements = sql::split(script.sql(), self.backend);
        if script.transaction() && self.backend != Backend::Mysql {
            self.begin();
            for s in &statements {
                self.statement(s.text);
            }
            self.restore_search_path();
            self.history_change(step, row.as_ref());
            self.statement("COMMIT");
            return;
        }
        self.comment("statement by statement: the history row says what ran if the script stops part way");
        let version = step.revision.version.as_str();
        match (step.action, &row) {
            (Action::Apply, Some(row)) => {
                self.insert(&AppliedRow { state: RowState::Upgrading, ..row.clone() });
            }
            _ => self
                .update(version, "state = 'downgrading', statements_done = 0, progress_checksum = NULL, error = NULL"),
        }
        for (index, s) in statements.iter().enumerate() {
            self.statement(s.text);
            self.restore_search_path();
            if index + 1 < statements.len() {
                let progress = history::progress_checksum(statements[..=index].iter().map(|s| s.text));
                self.update(
                    version,
                    &format!("statements_done = {}, progress_checksum = '{}'", index + 1, progress.to_hex()),
                );
            }
        }
        if step.action == Action::Revert {
            self.delete(version);
        } else {
            let progress = history::progress_checksum(statements.iter().map(|s| s.text));
            let assignments = format!(
                "state = 'applied', statements_done = {}, progress_checksum = '{}', error = NULL, applied_at = {}, \
                 duration_ms = 0",
                statements.len(),
                progress.to_hex(),
                history::now_sql(self.backend)
            );
            self.update(version, &assignments);
        }
    }

    fn history_change(&mut self, step: &Step<'_>, row: Option<&AppliedRow>) {
        match (step.action, row) {
            (Action::Apply | Action::StampApplied, Some(row)) => self.insert(row),
            _ => self.delete(&step.revision.version),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{self, Command, Policy, Target};
    use crate::revision::{Revision, Script, ScriptKind};

    fn revisions() -> Vec<Revision> {
        let script = |file: &str, sql: &str, transaction: bool| {
            Script::new_owned(file.to_owned(), None, sql.to_owned(), ScriptKind::Sql, transaction)
        };
        vec![
            Revision::new_owned(
                "0001".into(),
                "users".into(),
                "0001_users".into(),
                vec![script("up.sql", "CREATE TABLE users (id INT); -- the table\n", true)],
                vec![script("down.sql", "DROP TABLE users;", true)],
            ),
            Revision::new_owned(
                "0002".into(),
                "index".into(),
                "0002_index".into(),
                vec![script("up.sql", "-- migrate:no-transaction\nCREATE INDEX a ON users (id);\nSELECT 1;", false)],
                vec![script("down.sql", "-- migrate:no-transaction\nDROP INDEX a;", false)],
            ),
        ]
    }

    fn upgrade(backend: Backend, lock: bool) -> String {
        let revisions = revisions();
        let plan = plan::plan(&revisions, &[], &Command::Upgrade(Target::Head), &Policy::new(backend)).unwrap();
        script(&plan, &ScriptOptions { lock, ..ScriptOptions::new(backend) }, &["upgrade base → 0002".to_owned()])
    }

    #[test]
    fn transactional_revisions_commit_with_their_row() {
        let text = upgrade(Backend::Sqlite, true);
        let first = text.find("-- 0001 (users)").unwrap();
        let second = text.find("-- 0002 (index)").unwrap();
        let one = &text[first..second];
        assert!(one.contains("BEGIN IMMEDIATE;\nCREATE TABLE users (id INT);\n"), "{one}");
        assert!(one.contains("INSERT INTO \"_migrate_history\""), "{one}");
        assert!(one.trim_end().ends_with("COMMIT;"), "{one}");
        assert!(text.starts_with("-- upgrade base → 0002\n"));
    }

    #[test]
    fn statement_by_statement_revisions_record_progress() {
        let text = upgrade(Backend::Postgres, false);
        let two = &text[text.find("-- 0002 (index)").unwrap()..];
        assert!(!two.contains("BEGIN;"), "{two}");
        let order: Vec<usize> = ["upgrading", "CREATE INDEX a", "statements_done = 1", "SELECT 1;", "'applied'"]
            .iter()
            .map(|needle| two.find(needle).unwrap_or_else(|| panic!("{needle} missing from {two}")))
            .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{two}");
        assert!(!text.contains("pg_advisory_lock"));
    }

    #[test]
    fn locks_and_mysql_delimiters() {
        let pg = upgrade(Backend::Postgres, true);
        assert!(pg.contains("SELECT pg_advisory_lock(") && pg.trim_end().ends_with("::bit(64)::bigint);"), "{pg}");
        let my = upgrade(Backend::Mysql, true);
        assert!(my.contains("GET_LOCK(") && my.contains("DO RELEASE_LOCK("), "{my}");
        // On MySQL every revision runs statement by statement, and only compound statements get a delimiter.
        assert!(!my.contains("START TRANSACTION") && !my.contains("DELIMITER"), "{my}");
        let mut w = Writer { out: String::new(), backend: Backend::Mysql, table: "`h`".into() };
        w.statement("CREATE TRIGGER t BEFORE INSERT ON x FOR EACH ROW BEGIN SET NEW.a = 1; END");
        w.statement("SELECT 1 # done");
        assert_eq!(
            w.out,
            "DELIMITER //\nCREATE TRIGGER t BEFORE INSERT ON x FOR EACH ROW BEGIN SET NEW.a = 1; END\n//\n\
             DELIMITER ;\nSELECT 1 # done\n;\n"
        );
    }
}
