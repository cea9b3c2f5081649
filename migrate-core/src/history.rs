//! The history table: what a database records about the revisions applied to it.
//!
//! One row per applied revision: version, name, the checksums of the up and down files that were current when it
//! was applied, the down SQL itself (so an older binary can revert a revision it does not know), when it was applied
//! and how long it took, its state, the progress of a statement-by-statement run and the last error.
//! Drivers create and write the table; its shape and meaning are defined here, once.

use std::fmt;

use crate::error::Error;
use crate::revision::Checksum;

/// The default table name.
pub const DEFAULT_TABLE: &str = "_migrate_history";

/// Where the history table lives: a validated table name and optional schema (PostgreSQL schema, MySQL database).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryTable {
    schema: Option<String>,
    name: String,
}

impl Default for HistoryTable {
    fn default() -> Self {
        HistoryTable { schema: None, name: DEFAULT_TABLE.to_owned() }
    }
}

impl HistoryTable {
    /// A table called `name` in the connection's default schema.
    ///
    /// # Errors
    /// [`Error::InvalidIdentifier`] unless `name` is 1 to 63 ASCII letters, digits and `_`, not starting with a digit.
    pub fn new(name: &str) -> Result<HistoryTable, Error> {
        validate_identifier("history table name", name)?;
        Ok(HistoryTable { schema: None, name: name.to_owned() })
    }

    /// The same table in schema `schema` (validated like the name).
    ///
    /// # Errors
    /// [`Error::InvalidIdentifier`] as for [`HistoryTable::new`].
    pub fn in_schema(mut self, schema: &str) -> Result<HistoryTable, Error> {
        validate_identifier("history table schema", schema)?;
        self.schema = Some(schema.to_owned());
        Ok(self)
    }

    /// The table name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The schema, if one was set.
    pub fn schema(&self) -> Option<&str> {
        self.schema.as_deref()
    }

    /// The qualified name with each part quoted by `quote` (drivers pass their dialect's identifier quoting).
    pub fn qualified(&self, quote: impl Fn(&str) -> String) -> String {
        match &self.schema {
            Some(schema) => format!("{}.{}", quote(schema), quote(&self.name)),
            None => quote(&self.name),
        }
    }
}

fn validate_identifier(what: &'static str, value: &str) -> Result<(), Error> {
    let ok = !value.is_empty()
        && value.len() <= 63
        && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !value.as_bytes()[0].is_ascii_digit();
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidIdentifier { what, value: value.to_owned() })
    }
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
    /// The failing statement, its line and the database's error, when a statement-by-statement run failed.
    pub error: Option<String>,
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
    fn identifiers_are_validated() {
        assert!(HistoryTable::new("_migrate_history").is_ok());
        assert!(HistoryTable::new("history; drop table x").is_err());
        assert!(HistoryTable::new("1abc").is_err());
        assert!(HistoryTable::new("").is_err());
        assert!(HistoryTable::new("ok").unwrap().in_schema("bad\"name").is_err());
        let t = HistoryTable::new("h").unwrap().in_schema("app").unwrap();
        assert_eq!(t.qualified(|s| format!("\"{s}\"")), "\"app\".\"h\"");
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
