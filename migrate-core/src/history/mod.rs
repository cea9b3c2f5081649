//! The history table: what a database records about the revisions applied to it.
//!
//! One row per applied revision: version, name, the checksums of the up and down files that were current when it
//! was applied, the down SQL itself (so an older binary can revert a revision it does not know), when it was applied
//! and how long it took, its state, the progress of a statement-by-statement run and the last error.
//! Its shape, its meaning and how it is read ([`read`]) are defined here, once; drivers run the statements.

pub mod read;

pub use read::{BriefRow, Cells, History, Reader, Selection, ADDED};

use std::fmt;

use crate::db::DbError;
use crate::revision::{Backend, Checksum, Revision, RevisionId, ScriptKind};

/// The default table name.
pub const DEFAULT_TABLE: &str = "_migrate_history";

/// A file of an applied revision whose checksum no longer matches the one recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChangedFile {
    /// The revision.
    pub revision: RevisionId,
    /// `folder/file` of the changed file.
    pub file: String,
    /// Checksum recorded when the revision was applied.
    pub recorded: Option<Checksum>,
    /// Checksum of the file now.
    pub current: Option<Checksum>,
}

/// The state of a history row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RowState {
    /// Applied completely.
    Applied,
    /// Being applied statement by statement, or stopped part way (dirty).
    Upgrading,
    /// Being reverted statement by statement, or stopped part way (dirty).
    Downgrading,
}

impl RowState {
    /// The text stored in the `state` column.
    pub const fn as_str(self) -> &'static str {
        match self {
            RowState::Applied => "applied",
            RowState::Upgrading => "upgrading",
            RowState::Downgrading => "downgrading",
        }
    }

    /// Reads the `state` column; `None` for a value this version does not know.
    pub fn parse(text: &str) -> Option<RowState> {
        match text {
            "applied" => Some(RowState::Applied),
            "upgrading" => Some(RowState::Upgrading),
            "downgrading" => Some(RowState::Downgrading),
            _ => None,
        }
    }

    /// `true` for the states a failed statement-by-statement run leaves behind.
    pub fn is_dirty(self) -> bool {
        self != RowState::Applied
    }
}

impl fmt::Display for RowState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One row of the history table.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AppliedRow {
    /// The revision's version.
    pub version: String,
    /// The revision's name.
    pub name: String,
    /// Checksum of the up file run on this database.
    pub up_checksum: Checksum,
    /// Checksum of the down file current when the revision was applied; `None` if irreversible.
    pub down_checksum: Option<Checksum>,
    /// The down SQL current when the revision was applied; `None` if irreversible.
    pub down_sql: Option<String>,
    /// When the revision was applied, UTC, `YYYY-MM-DDTHH:MM:SS.mmmZ`.
    pub applied_at: String,
    /// How long applying took, in milliseconds.
    pub duration_ms: i64,
    /// Applied, or dirty.
    pub state: RowState,
    /// Statements completed by a statement-by-statement run (0 for a transactional revision).
    pub statements_done: i64,
    /// Checksum of the statements completed, in order, for resuming safely.
    pub progress_checksum: Option<Checksum>,
    /// The failing statement, its line and the database's error, when a statement-by-statement run failed; or,
    /// with [`AppliedRow::in_doubt`], the statement that was running when the run stopped.
    pub error: Option<String>,
    /// Statement `statements_done + 1` was about to run, alone (it cannot share a transaction with its progress
    /// write), when this row was written: if the run stopped there, whether it took effect is not known.
    pub in_doubt: bool,
    /// The session that wrote the row last ([`Driver::runner_id`]): while the row is dirty, a runner that finds that
    /// session alive waits for it instead of calling the revision dirty.
    ///
    /// [`Driver::runner_id`]: crate::Driver::runner_id
    pub runner: Option<String>,
    /// How many times the revision was tried before it applied: more than 1 when its lock wait ran out and it was
    /// tried again ([`Config::lock_retry`](crate::Config::lock_retry)); 1 in a table made before it was recorded.
    pub tries: i64,
}

impl AppliedRow {
    /// A row of revision `version` (`name`) in `state`, with its up checksum; no down file recorded, applied now in
    /// no time, no progress and no error. Drivers reading the table set the other fields from its columns.
    pub fn new(version: String, name: String, up_checksum: Checksum, state: RowState) -> AppliedRow {
        AppliedRow { applied_at: now_utc(), ..AppliedRow::read(version, name, up_checksum, state) }
    }

    /// A row as a driver reads it from the table: `version`, `name`, `up_checksum` and `state`, every other field
    /// empty until the driver sets it from its column (no clock is read, nothing else is allocated).
    pub fn read(version: String, name: String, up_checksum: Checksum, state: RowState) -> AppliedRow {
        AppliedRow {
            version,
            name,
            up_checksum,
            down_checksum: None,
            down_sql: None,
            applied_at: String::new(),
            duration_ms: 0,
            state,
            statements_done: 0,
            progress_checksum: None,
            error: None,
            in_doubt: false,
            runner: None,
            tries: 1,
        }
    }

    /// The row `revision` gets when it is applied on `backend` now: its checksums and down SQL, state applied,
    /// duration 0 (the runner sets the time it took).
    pub fn for_revision(revision: &Revision, backend: Backend) -> AppliedRow {
        let mut row = AppliedRow::new(
            revision.version().to_owned(),
            revision.name().to_owned(),
            Checksum([0; 32]),
            RowState::Applied,
        );
        row.record_files(revision, backend);
        row
    }

    /// Records what the files of `revision` on `backend` are now: the up and down checksums and the down SQL
    /// (none for an irreversible revision).
    pub fn record_files(&mut self, revision: &Revision, backend: Backend) {
        let down = revision.down(backend);
        self.up_checksum = revision.up(backend).checksum();
        self.down_checksum = down.recorded_checksum();
        self.down_sql = (down.kind() != ScriptKind::Irreversible).then(|| down.sql().to_owned());
    }
}

/// The columns every version of the history table has, in the order writes name them (offline scripts write
/// these; [`IN_DOUBT`] keeps its default there).
pub const COLUMNS: &str = "version, name, up_checksum, down_checksum, down_sql, applied_at, duration_ms, state, \
                           statements_done, progress_checksum, error";

/// A column added after the first version of the table ([`AppliedRow::in_doubt`], 0 or 1).
pub const IN_DOUBT: &str = "in_doubt";

/// A column added after the first version of the table ([`AppliedRow::runner`]).
pub const RUNNER: &str = "runner";

/// A column added after the first version of the table ([`AppliedRow::tries`]).
pub const TRIES: &str = "tries";

/// The columns added after the first version of the table ([`ADDED`]), as writes name them after [`COLUMNS`].
pub const ADDED_COLUMNS: &str = "in_doubt, runner, tries";

/// `ALTER TABLE` statements adding `missing` (columns of [`ADDED`], as a read found them missing) to the history
/// table `name` (qualified and quoted) made by an earlier version. PostgreSQL says `IF NOT EXISTS`; on SQLite and
/// MySQL one fails if its column is there already ([`is_duplicate_column`]), which its caller takes as done.
pub fn add_columns_sql(backend: Backend, name: &str, missing: &[&str]) -> Vec<String> {
    let guard = if backend == Backend::Postgres { "IF NOT EXISTS " } else { "" };
    missing
        .iter()
        .filter_map(|column| match *column {
            IN_DOUBT => Some(format!("{IN_DOUBT} {} NOT NULL DEFAULT 0", in_doubt_type(backend))),
            RUNNER => Some(format!("{RUNNER} {} NULL", runner_type(backend))),
            TRIES => Some(format!("{TRIES} {} NOT NULL DEFAULT 1", tries_type(backend))),
            _ => None,
        })
        .map(|definition| format!("ALTER TABLE {name} ADD COLUMN {guard}{definition}"))
        .collect()
}

/// Whether `err`, from a statement of [`add_columns_sql`] on `backend`, says the column is there already (another
/// runner added it first).
pub fn is_duplicate_column(backend: Backend, err: &DbError) -> bool {
    match backend {
        // ER_DUP_FIELDNAME.
        Backend::Mysql => err.code.as_deref() == Some("1060"),
        Backend::Sqlite => err.message.starts_with("duplicate column name"),
        // duplicate_column (IF NOT EXISTS makes it a notice).
        Backend::Postgres => err.code.as_deref() == Some("42701"),
    }
}

fn runner_type(backend: Backend) -> &'static str {
    if backend == Backend::Mysql {
        "VARCHAR(255)"
    } else {
        "TEXT"
    }
}

fn tries_type(backend: Backend) -> &'static str {
    if backend == Backend::Sqlite {
        "INTEGER"
    } else {
        "INT"
    }
}

fn in_doubt_type(backend: Backend) -> &'static str {
    if backend == Backend::Sqlite {
        "INTEGER"
    } else {
        "SMALLINT"
    }
}

/// A write to the history table that ends a statement of a statement-by-statement run (or stands before one).
#[derive(Clone, Copy, Debug)]
pub enum RowWrite<'a> {
    /// The run's progress changed: only `statements_done`, `progress_checksum`, `in_doubt` and `error` of this row
    /// are written.
    Progress(&'a AppliedRow),
    /// The revision is applied: every column of this row is written.
    Finished(&'a AppliedRow),
    /// The revision is reverted: the row of this version goes.
    Reverted(&'a str),
    /// The revision starts: every column of this row is written, inserted or in place of the row of its version.
    Started(&'a AppliedRow),
    /// The revision is applied and took this long in all, which is known only once its last statement has run
    /// (after [`RowWrite::Finished`] was made): its row's `duration_ms` and `applied_at` are written.
    Timed {
        /// The revision's version.
        version: &'a str,
        /// The time its statements took, in all.
        duration_ms: i64,
        /// When it was applied (as `history::now_utc` gives it).
        applied_at: &'a str,
    },
}

impl RowWrite<'_> {
    /// The statement that makes this write to the history table `name` (qualified and quoted) on `backend`, with
    /// every value a literal of that dialect.
    pub fn sql(&self, backend: Backend, name: &str) -> String {
        let lit = |text: &str| sql_literal(backend, text);
        let opt = |text: Option<String>| text.map_or_else(|| "NULL".to_owned(), |t| lit(&t));
        match self {
            RowWrite::Progress(row) => format!(
                "UPDATE {name} SET statements_done = {}, progress_checksum = {}, {IN_DOUBT} = {}, error = {} \
                 WHERE version = {}",
                row.statements_done,
                opt(row.progress_checksum.map(|c| c.to_hex())),
                i32::from(row.in_doubt),
                opt(row.error.clone()),
                lit(&row.version)
            ),
            RowWrite::Finished(row) | RowWrite::Started(row) => {
                let values = [
                    ("name", lit(&row.name)),
                    ("up_checksum", lit(&row.up_checksum.to_hex())),
                    ("down_checksum", opt(row.down_checksum.map(|c| c.to_hex()))),
                    ("down_sql", opt(row.down_sql.clone())),
                    ("applied_at", lit(&row.applied_at)),
                    ("duration_ms", row.duration_ms.to_string()),
                    ("state", lit(row.state.as_str())),
                    ("statements_done", row.statements_done.to_string()),
                    ("progress_checksum", opt(row.progress_checksum.map(|c| c.to_hex()))),
                    ("error", opt(row.error.clone())),
                    (IN_DOUBT, i32::from(row.in_doubt).to_string()),
                    (RUNNER, opt(row.runner.clone())),
                    (TRIES, row.tries.to_string()),
                ];
                if let RowWrite::Started(_) = self {
                    let columns: Vec<&str> = values.iter().map(|(column, _)| *column).collect();
                    let literals: Vec<&str> = values.iter().map(|(_, value)| value.as_str()).collect();
                    let conflict = match backend {
                        Backend::Mysql => "ON DUPLICATE KEY UPDATE",
                        _ => "ON CONFLICT (version) DO UPDATE SET",
                    };
                    let set: Vec<String> = columns
                        .iter()
                        .map(|c| match backend {
                            Backend::Mysql => format!("{c} = VALUES({c})"),
                            _ => format!("{c} = EXCLUDED.{c}"),
                        })
                        .collect();
                    return format!(
                        "INSERT INTO {name} (version, {}) VALUES ({}, {}) {conflict} {}",
                        columns.join(", "),
                        lit(&row.version),
                        literals.join(", "),
                        set.join(", ")
                    );
                }
                let set: Vec<String> = values.iter().map(|(column, value)| format!("{column} = {value}")).collect();
                format!("UPDATE {name} SET {} WHERE version = {}", set.join(", "), lit(&row.version))
            }
            RowWrite::Reverted(version) => format!("DELETE FROM {name} WHERE version = {}", lit(version)),
            RowWrite::Timed { version, duration_ms, applied_at } => format!(
                "UPDATE {name} SET duration_ms = {duration_ms}, applied_at = {} WHERE version = {}",
                lit(applied_at),
                lit(version)
            ),
        }
    }
}

/// `ident` quoted as an identifier in `backend`'s dialect (double quotes, or backticks on MySQL).
pub fn quote_identifier(backend: Backend, ident: &str) -> String {
    match backend {
        Backend::Mysql => format!("`{}`", ident.replace('`', "``")),
        _ => format!("\"{}\"", ident.replace('"', "\"\"")),
    }
}

/// `text` as a string literal of `backend`'s dialect that reads back exactly, whatever the session's settings:
/// dollar quotes on PostgreSQL (immune to `standard_conforming_strings`), doubled quotes on SQLite, and on MySQL
/// doubled quotes, or a hexadecimal literal when the text holds a backslash or NUL (whose meaning in a quoted string
/// depends on `sql_mode`).
pub fn sql_literal(backend: Backend, text: &str) -> String {
    match backend {
        Backend::Postgres => {
            let mut tag = "$m$".to_owned();
            let mut n = 0;
            // Neither inside the text nor where the text meets the closing tag (`…$m` + `$m$` would close early).
            while text.contains(&tag) || text.ends_with(&tag[..tag.len() - 1]) {
                n += 1;
                tag = format!("$m{n}$");
            }
            format!("{tag}{text}{tag}")
        }
        Backend::Mysql if text.contains(['\\', '\0']) => {
            use fmt::Write;
            let mut hex = String::with_capacity(text.len() * 2 + 32);
            hex.push_str("CONVERT(X'");
            for byte in text.bytes() {
                let _ = write!(hex, "{byte:02x}");
            }
            hex.push_str("' USING utf8mb4)");
            hex
        }
        _ => format!("'{}'", text.replace('\'', "''")),
    }
}

/// The values of `row` in [`COLUMNS`] order, as literals of `backend`'s dialect, for an `INSERT … VALUES (…)` or a
/// row constructor; `applied_at` and `duration` are SQL expressions (a literal, or the database's clock).
pub fn row_values(backend: Backend, row: &AppliedRow, applied_at: &str, duration: &str) -> String {
    let lit = |text: &str| sql_literal(backend, text);
    let opt = |text: Option<String>| text.map_or_else(|| "NULL".to_owned(), |t| lit(&t));
    format!(
        "{}, {}, {}, {}, {}, {applied_at}, {duration}, {}, {}, {}, {}",
        lit(&row.version),
        lit(&row.name),
        lit(&row.up_checksum.to_hex()),
        opt(row.down_checksum.map(|c| c.to_hex())),
        opt(row.down_sql.clone()),
        lit(row.state.as_str()),
        row.statements_done,
        opt(row.progress_checksum.map(|c| c.to_hex())),
        opt(row.error.clone()),
    )
}

/// `CREATE TABLE IF NOT EXISTS` for the history table called `name` (already qualified and quoted) on `backend`.
pub fn create_table_sql(backend: Backend, name: &str) -> String {
    let (text, big, hash, long, short, tail) = match backend {
        Backend::Postgres => ("TEXT", "BIGINT", "TEXT", "TEXT", "TEXT", ""),
        Backend::Sqlite => ("TEXT", "INTEGER", "TEXT", "TEXT", "TEXT", ""),
        Backend::Mysql => (
            "TEXT",
            "BIGINT",
            "CHAR(64)",
            "LONGTEXT",
            "VARCHAR(32)",
            " ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin",
        ),
    };
    let version = if backend == Backend::Mysql { "VARCHAR(64) NOT NULL" } else { "TEXT NOT NULL" };
    let state = if backend == Backend::Mysql { "VARCHAR(16)" } else { "TEXT" };
    format!(
        "CREATE TABLE IF NOT EXISTS {name} (
    version {version} PRIMARY KEY,
    name {text} NOT NULL,
    up_checksum {hash} NOT NULL,
    down_checksum {hash} NULL,
    down_sql {long} NULL,
    applied_at {short} NOT NULL,
    duration_ms {big} NOT NULL,
    state {state} NOT NULL,
    statements_done {big} NOT NULL DEFAULT 0,
    progress_checksum {hash} NULL,
    error {long} NULL,
    {IN_DOUBT} {doubt} NOT NULL DEFAULT 0,
    {RUNNER} {runner} NULL,
    {TRIES} {tries} NOT NULL DEFAULT 1
){tail}",
        doubt = in_doubt_type(backend),
        runner = runner_type(backend),
        tries = tries_type(backend)
    )
}

/// An SQL expression for the current time, UTC, in the form of [`AppliedRow::applied_at`], as `backend` writes it
/// (for scripts written ahead of time, which cannot know when they will run).
pub fn now_sql(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => "to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')",
        Backend::Sqlite => "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
        Backend::Mysql => "CONCAT(SUBSTRING(DATE_FORMAT(UTC_TIMESTAMP(3), '%Y-%m-%dT%H:%i:%s.%f'), 1, 23), 'Z')",
    }
}

/// The checksum recorded for the first `count` statements of a statement-by-statement run.
pub fn progress_checksum<'a>(statements: impl IntoIterator<Item = &'a str>) -> Checksum {
    let mut joined = String::new();
    for statement in statements {
        joined.push_str(statement);
        joined.push('\0');
    }
    Checksum::of(&joined)
}

/// The current time, UTC, as `YYYY-MM-DDTHH:MM:SS.mmmZ` (the form of [`AppliedRow::applied_at`]).
pub fn now_utc() -> String {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    format_utc(since.as_secs() as i64, since.subsec_millis())
}

fn format_utc(secs: i64, millis: u32) -> String {
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_started_row_is_written_whole_in_place_of_any_other() {
        let row = AppliedRow::new("0001".into(), "a".into(), Checksum::of("x"), RowState::Upgrading);
        let mysql = RowWrite::Started(&row).sql(Backend::Mysql, "`h`");
        assert!(mysql.starts_with("INSERT INTO `h` (version, name, up_checksum,"), "{mysql}");
        assert!(
            mysql.contains("ON DUPLICATE KEY UPDATE name = VALUES(name),")
                && mysql.ends_with("runner = VALUES(runner), tries = VALUES(tries)")
        );
        let postgres = RowWrite::Started(&row).sql(Backend::Postgres, "\"h\"");
        assert!(postgres.contains("ON CONFLICT (version) DO UPDATE SET name = EXCLUDED.name,"), "{postgres}");
    }

    #[test]
    fn literals_read_back() {
        assert_eq!(sql_literal(Backend::Postgres, "it's"), "$m$it's$m$");
        assert_eq!(sql_literal(Backend::Postgres, "a $m$ b"), "$m1$a $m$ b$m1$");
        assert_eq!(sql_literal(Backend::Postgres, "x$m"), "$m1$x$m$m1$");
        assert_eq!(sql_literal(Backend::Sqlite, "it's"), "'it''s'");
        assert_eq!(sql_literal(Backend::Mysql, "it's"), "'it''s'");
        assert_eq!(sql_literal(Backend::Mysql, "a\\b"), "CONVERT(X'615c62' USING utf8mb4)");
        assert_eq!(quote_identifier(Backend::Mysql, "a`b"), "`a``b`");
        assert_eq!(quote_identifier(Backend::Sqlite, "a\"b"), "\"a\"\"b\"");
    }

    #[test]
    fn utc_format() {
        assert_eq!(format_utc(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_utc(1_709_251_200 + 3661, 7), "2024-03-01T01:01:01.007Z");
        assert_eq!(format_utc(951_782_400, 0), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn states_round_trip() {
        for s in [RowState::Applied, RowState::Upgrading, RowState::Downgrading] {
            assert_eq!(RowState::parse(s.as_str()), Some(s));
        }
        assert!(RowState::Upgrading.is_dirty() && !RowState::Applied.is_dirty());
    }
}
