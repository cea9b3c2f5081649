//! Adopting a database another tool migrated: its history table (diesel's `__diesel_schema_migrations`, sqlx's
//! `_sqlx_migrations`, refinery's `refinery_schema_history`) is read, each version it records is matched to a
//! revision of the folder, and each match is recorded as applied in this history table, with the folder's checksums
//! and `runner` saying where it came from. The other tool's table is left as it is.

use crate::config::Config;
use crate::db::DbError;
use crate::error::Error;
use crate::history::{self, AppliedRow, Cells, Reader};
use crate::revision::{Backend, Revision, RevisionId};
use crate::run::driver::Driver;
use crate::run::lock::Transaction;
use crate::run::runner::{db, lock, read_for_writing};

/// A history table another tool keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Foreign {
    /// diesel: `__diesel_schema_migrations (version, run_on)`; the version is the folder's with dashes removed.
    Diesel,
    /// sqlx: `_sqlx_migrations (version, description, installed_on, success, …)`; only successful rows count.
    Sqlx,
    /// refinery: `refinery_schema_history (version, name, applied_on, checksum)`.
    Refinery,
}

impl Foreign {
    /// The tool's name, as the command line spells it.
    pub const fn name(self) -> &'static str {
        match self {
            Foreign::Diesel => "diesel",
            Foreign::Sqlx => "sqlx",
            Foreign::Refinery => "refinery",
        }
    }

    /// Its history table.
    pub const fn table(self) -> &'static str {
        match self {
            Foreign::Diesel => "__diesel_schema_migrations",
            Foreign::Sqlx => "_sqlx_migrations",
            Foreign::Refinery => "refinery_schema_history",
        }
    }

    /// The columns read, each as text: the version, when it was applied, and (sqlx) whether it succeeded.
    pub const fn columns(self) -> &'static [&'static str] {
        match self {
            Foreign::Diesel => &["version", "run_on"],
            Foreign::Sqlx => &["version", "installed_on", "success"],
            Foreign::Refinery => &["version", "applied_on"],
        }
    }

    /// The tool named `name`.
    pub fn from_name(name: &str) -> Option<Foreign> {
        [Foreign::Diesel, Foreign::Sqlx, Foreign::Refinery].into_iter().find(|f| f.name() == name)
    }
}

/// What an import records, or would record.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Imported {
    /// Revisions recorded as applied (or that would be, in a dry run).
    pub recorded: Vec<RevisionId>,
    /// Revisions this history table already had: left as they are.
    pub already: Vec<RevisionId>,
    /// Versions the other tool records that the folder does not have: left out (only when allowed).
    pub unknown: Vec<String>,
}

/// Versions compare as numbers where both are digits (sqlx and refinery keep integers; a folder may zero-pad).
fn same_version(folder: &str, foreign: &str) -> bool {
    let digits = |v: &str| v.bytes().all(|b| b.is_ascii_digit());
    folder == foreign
        || digits(folder) && digits(foreign) && folder.trim_start_matches('0') == foreign.trim_start_matches('0')
}

/// `2024-01-02 03:04:05.678901` (or with a `T`, a zone, fewer digits) as `2024-01-02T03:04:05.678Z`; `None` if it
/// is not a timestamp.
fn applied_at(text: &str) -> Option<String> {
    let text = text.trim();
    let (date, time) = text.split_once([' ', 'T'])?;
    let valid_date = date.len() == 10 && date.bytes().enumerate().all(|(i, b)| (i == 4 || i == 7) == (b == b'-'));
    let (clock, fraction) = match time.get(..8) {
        Some(clock) if clock.bytes().enumerate().all(|(i, b)| (i == 2 || i == 5) == (b == b':')) => {
            let rest = &time[8..];
            let digits: String =
                rest.strip_prefix('.').unwrap_or("").chars().take_while(char::is_ascii_digit).collect();
            (clock, format!("{digits:0<3}")[..3].to_owned())
        }
        _ => return None,
    };
    valid_date.then(|| format!("{date}T{clock}.{fraction}Z"))
}

/// What an import of `foreign` would record, read through `driver` without the lock (nothing is written), where
/// our own history table holds `ours`.
///
/// # Errors
/// [`Error::Import`] when the other tool's table is not there, or records versions the folder does not have and
/// `allow_unknown` is off; database errors.
pub(crate) fn plan_import(
    revisions: &[Revision],
    driver: &mut dyn Driver,
    foreign: Foreign,
    allow_unknown: bool,
    ours: &[AppliedRow],
) -> Result<(Imported, Vec<AppliedRow>), Error> {
    let backend = driver.backend();
    let theirs = read_foreign(driver, foreign.table(), foreign.columns())
        .map_err(db(format!("reading {}'s history table {}", foreign.name(), foreign.table())))?
        .ok_or_else(|| Error::Import {
            unknown: Vec::new(),
            message: format!(
                "there is no {} table here, so there is no {} history to import",
                foreign.table(),
                foreign.name()
            ),
        })?;
    let mut imported = Imported::default();
    let mut rows = Vec::new();
    for row in theirs {
        let version = row.first().cloned().flatten().unwrap_or_default();
        if foreign == Foreign::Sqlx && !matches!(row.get(2).cloned().flatten().as_deref(), Some("1" | "t" | "true")) {
            // A failed sqlx migration is not in effect.
            continue;
        }
        let Some(revision) = revisions.iter().find(|r| same_version(r.version(), &version)) else {
            imported.unknown.push(version);
            continue;
        };
        let id = RevisionId { version: revision.version().to_owned(), name: revision.name().to_owned() };
        if ours.iter().any(|r| r.version == revision.version()) {
            imported.already.push(id);
            continue;
        }
        let mut applied = AppliedRow::for_revision(revision, backend);
        if let Some(at) = row.get(1).cloned().flatten().as_deref().and_then(applied_at) {
            applied.applied_at = at;
        }
        applied.runner = Some(format!("imported from {} ({})", foreign.table(), foreign.name()));
        rows.push(applied);
        imported.recorded.push(id);
    }
    imported.recorded.sort_by(|a, b| a.version.cmp(&b.version));
    rows.sort_by(|a, b| a.version.cmp(&b.version));
    if !imported.unknown.is_empty() && !allow_unknown {
        return Err(Error::Import {
            message: format!(
                "{} records version(s) the folder does not have: {}; nothing was imported. Restore those revisions, \
                 or import the others and leave these out (allow unknown versions)",
                foreign.table(),
                imported.unknown.join(", ")
            ),
            unknown: imported.unknown.clone(),
        });
    }
    Ok((imported, rows))
}

/// Every row of another tool's history table `table` (unqualified: the connection's own schema or database),
/// `columns` each read as text, in no particular order; `Ok(None)` if the table does not exist.
fn read_foreign(
    driver: &mut dyn Driver,
    table: &str,
    columns: &[&str],
) -> Result<Option<Vec<Vec<Option<String>>>>, DbError> {
    let backend = driver.backend();
    let text = if backend == Backend::Mysql { "CHAR" } else { "TEXT" };
    let list: Vec<String> =
        columns.iter().map(|c| format!("CAST({} AS {text})", history::quote_identifier(backend, c))).collect();
    let sql = format!("SELECT {} FROM {}", list.join(", "), history::quote_identifier(backend, table));
    let mut texts = Texts { width: columns.len(), rows: Vec::new() };
    Ok(driver.select(&sql, &mut texts)?.then_some(texts.rows))
}

/// A [`Reader`] that keeps each row's first `width` cells as text.
struct Texts {
    width: usize,
    rows: Vec<Vec<Option<String>>>,
}

impl Reader for Texts {
    fn columns(&mut self, _: &[&str]) -> Result<(), DbError> {
        Ok(())
    }

    fn row(&mut self, cells: &dyn Cells) -> Result<bool, DbError> {
        let row = (0..self.width).map(|i| Ok(cells.text(i)?.map(str::to_owned))).collect::<Result<_, DbError>>()?;
        self.rows.push(row);
        Ok(true)
    }
}

/// Imports the history of `foreign` under the lock, in one transaction: see the module documentation.
///
/// # Errors
/// As [`plan_import`]; lock and database errors.
pub(crate) fn import(
    revisions: &[Revision],
    config: &Config,
    driver: &mut dyn Driver,
    foreign: Foreign,
    allow_unknown: bool,
) -> Result<Imported, Error> {
    let mut guard = lock(driver, config)?;
    let driver = guard.driver();
    // Nothing is created before the import is known to record something.
    let ours = read_for_writing(driver, &config.table, false)?;
    let (imported, rows) = plan_import(revisions, driver, foreign, allow_unknown, &ours.rows)?;
    if !rows.is_empty() {
        if !ours.found {
            driver.create_history().map_err(db("creating the history table"))?;
        }
        let mut tx = Transaction::begin(driver).map_err(db("opening a transaction"))?;
        for row in &rows {
            tx.driver()
                .insert_row(row)
                .map_err(db(format!("recording revision {} {} as imported", row.version, row.name)))?;
        }
        tx.commit().map_err(db(format!("committing the import of {}'s history", foreign.name())))?;
    }
    guard.release()?;
    Ok(imported)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_and_times() {
        assert!(same_version("20240101120000", "20240101120000"));
        assert!(same_version("0007", "7"));
        assert!(!same_version("0007", "70"));
        assert_eq!(applied_at("2024-01-02 03:04:05.678901").as_deref(), Some("2024-01-02T03:04:05.678Z"));
        assert_eq!(applied_at("2024-01-02 03:04:05").as_deref(), Some("2024-01-02T03:04:05.000Z"));
        assert_eq!(applied_at("2024-01-02T03:04:05.5+00").as_deref(), Some("2024-01-02T03:04:05.500Z"));
        assert_eq!(applied_at("yesterday"), None);
    }
}
