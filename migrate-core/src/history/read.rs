//! The read of the history table, written once for every driver.
//!
//! A driver runs one `SELECT` ([`Driver::select`]) and hands a [`Reader`] the names of the columns, then each row's
//! [`Cells`]. This module finds each column by its name, so a table made by an earlier version (without the columns
//! added since, [`ADDED`]) reads the same way as today's, and one made by a later version (with more) too; a table
//! without the added columns says so ([`History::missing`]), and gets them under the lock before the first write
//! ([`add_columns_sql`]).
//!
//! Three reads, each one statement:
//! - [`Selection::Full`]: every column of every row, for everything that plans or writes;
//! - [`Selection::Brief`]: what planning an upgrade needs (versions, names, checksums, states, progress), for a
//!   start-up that goes on to take the lock;
//! - [`Selection::Visit`]: versions, checksums and states, visited without a copy ([`BriefRow`]), for the start-up
//!   with nothing pending.
//!
//! [`Driver::select`]: crate::Driver::select
//! [`add_columns_sql`]: super::add_columns_sql

use crate::db::DbError;
use crate::revision::{Backend, Checksum};

use super::{AppliedRow, RowState, IN_DOUBT, RUNNER, TRIES};

/// The cells of one row a driver read, by their place in the columns it named first ([`Reader::columns`]).
pub trait Cells {
    /// The cell at `index` as text; `None` for NULL. An error for a cell that is not text.
    fn text(&self, index: usize) -> Result<Option<&str>, DbError>;

    /// The cell at `index` as an integer; `None` for NULL. An error for a cell that is not an integer.
    fn integer(&self, index: usize) -> Result<Option<i64>, DbError>;
}

/// What a driver hands the rows of a `SELECT` to ([`Driver::select`](crate::Driver::select)).
pub trait Reader {
    /// The names of the columns, in the order of the cells of every row; called once, before any row, even when
    /// there is none.
    fn columns(&mut self, names: &[&str]) -> Result<(), DbError>;

    /// One row; `false` when the reader has seen enough (the driver then reads the rest off the connection and
    /// drops them).
    fn row(&mut self, cells: &dyn Cells) -> Result<bool, DbError>;
}

/// What a read of the history table selects; see the module documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Selection {
    /// Every column.
    Full,
    /// What planning an upgrade needs.
    Brief,
    /// What deciding that an upgrade has nothing to do needs.
    Visit,
}

impl Selection {
    /// The statement that makes this read of the history table `name` (qualified and quoted).
    pub fn sql(self, name: &str) -> String {
        let columns = match self {
            Selection::Full => "*",
            Selection::Brief => "version, name, up_checksum, down_checksum, state, statements_done",
            Selection::Visit => "version, up_checksum, down_checksum, state",
        };
        format!("SELECT {columns} FROM {name} ORDER BY version")
    }
}

/// The statement that reads every column of the row of `version` in the history table `name` (qualified and quoted)
/// on `backend`, for [`Rows`] with [`Selection::Full`].
pub fn row_sql(name: &str, backend: Backend, version: &str) -> String {
    format!("SELECT * FROM {name} WHERE version = {}", super::sql_literal(backend, version))
}

/// The columns of the history table, each with its place in [`Layout`]. Every version of the table has the first
/// eleven; [`ADDED`] came later.
#[derive(Clone, Copy)]
enum Column {
    Version,
    Name,
    UpChecksum,
    DownChecksum,
    DownSql,
    AppliedAt,
    DurationMs,
    State,
    StatementsDone,
    ProgressChecksum,
    Error,
    InDoubt,
    Runner,
    Tries,
}

const NAMES: [(&str, Column); 14] = [
    ("version", Column::Version),
    ("name", Column::Name),
    ("up_checksum", Column::UpChecksum),
    ("down_checksum", Column::DownChecksum),
    ("down_sql", Column::DownSql),
    ("applied_at", Column::AppliedAt),
    ("duration_ms", Column::DurationMs),
    ("state", Column::State),
    ("statements_done", Column::StatementsDone),
    ("progress_checksum", Column::ProgressChecksum),
    ("error", Column::Error),
    (IN_DOUBT, Column::InDoubt),
    (RUNNER, Column::Runner),
    (TRIES, Column::Tries),
];

/// The columns every version of the history table has.
const FIRST: [Column; 11] = {
    let mut first = [Column::Version; 11];
    let mut i = 0;
    while i < 11 {
        first[i] = NAMES[i].1;
        i += 1;
    }
    first
};

/// The columns added to the history table after its first version, which a table made before them lacks.
pub const ADDED: [&str; 3] = [IN_DOUBT, RUNNER, TRIES];

/// Where each column of the history table is among the cells of a row: found by name, once per read.
#[derive(Default)]
struct Layout {
    at: [Option<usize>; 14],
}

impl Layout {
    fn new(names: &[&str]) -> Layout {
        let mut layout = Layout::default();
        for (index, name) in names.iter().enumerate() {
            if let Some((_, column)) = NAMES.iter().find(|(known, _)| known.eq_ignore_ascii_case(name)) {
                layout.at[*column as usize] = Some(index);
            }
        }
        layout
    }

    fn index(&self, column: Column) -> Option<usize> {
        self.at[column as usize]
    }

    /// The names of `columns` this layout lacks.
    fn lacking(&self, columns: &[Column]) -> Vec<&'static str> {
        columns.iter().filter(|c| self.index(**c).is_none()).map(|c| NAMES[*c as usize].0).collect()
    }

    fn text<'c>(&self, cells: &'c dyn Cells, column: Column) -> Result<Option<&'c str>, DbError> {
        match self.index(column) {
            Some(index) => cells.text(index).map_err(|err| in_column(column, err)),
            None => Ok(None),
        }
    }

    fn required<'c>(&self, cells: &'c dyn Cells, column: Column) -> Result<&'c str, DbError> {
        self.text(cells, column)?.ok_or_else(|| in_column(column, DbError::new("NULL where a value is required")))
    }

    fn integer(&self, cells: &dyn Cells, column: Column) -> Result<i64, DbError> {
        match self.index(column) {
            Some(index) => Ok(cells.integer(index).map_err(|err| in_column(column, err))?.unwrap_or(0)),
            None => Ok(0),
        }
    }

    fn checksum(&self, cells: &dyn Cells, column: Column) -> Result<Option<Checksum>, DbError> {
        self.text(cells, column)?
            .map(|hex| {
                Checksum::from_hex(hex)
                    .ok_or_else(|| in_column(column, DbError::new(format!("`{hex}` is not a SHA-256 checksum"))))
            })
            .transpose()
    }

    /// The row whose cells are `cells`; a column this read did not select keeps its empty value.
    fn row(&self, cells: &dyn Cells) -> Result<AppliedRow, DbError> {
        let state = self.required(cells, Column::State)?;
        let state = RowState::parse(state)
            .ok_or_else(|| in_column(Column::State, DbError::new(format!("unknown state `{state}`"))))?;
        let up = self
            .checksum(cells, Column::UpChecksum)?
            .ok_or_else(|| in_column(Column::UpChecksum, DbError::new("NULL where a value is required")))?;
        let owned = |text: Option<&str>| text.map(str::to_owned);
        let mut row = AppliedRow::read(
            self.required(cells, Column::Version)?.to_owned(),
            self.required(cells, Column::Name)?.to_owned(),
            up,
            state,
        );
        row.down_checksum = self.checksum(cells, Column::DownChecksum)?;
        row.down_sql = owned(self.text(cells, Column::DownSql)?);
        row.applied_at = owned(self.text(cells, Column::AppliedAt)?).unwrap_or_default();
        row.duration_ms = self.integer(cells, Column::DurationMs)?;
        row.statements_done = self.integer(cells, Column::StatementsDone)?;
        row.progress_checksum = self.checksum(cells, Column::ProgressChecksum)?;
        row.error = owned(self.text(cells, Column::Error)?);
        row.in_doubt = self.integer(cells, Column::InDoubt)? != 0;
        row.runner = owned(self.text(cells, Column::Runner)?);
        // A table made before tries were recorded says none: 1.
        row.tries = self.integer(cells, Column::Tries)?.max(1);
        Ok(row)
    }
}

fn in_column(column: Column, err: DbError) -> DbError {
    DbError { message: format!("history column {}: {}", NAMES[column as usize].0, err.message), ..err }
}

/// The rows of the history table, as a read found them.
#[derive(Debug, Default)]
pub struct History {
    /// The rows, oldest first.
    pub rows: Vec<AppliedRow>,
    /// The columns of [`ADDED`] a [`Selection::Full`] read found missing: the table was made by an earlier version.
    pub missing: Vec<&'static str>,
    /// The table is there (a read of a table that does not exist finds no rows, and this `false`).
    pub found: bool,
}

/// A [`Reader`] that keeps every row ([`Selection::Full`] or [`Selection::Brief`]).
pub struct Rows {
    selection: Selection,
    layout: Layout,
    history: History,
}

impl Rows {
    /// A reader for `selection`.
    pub fn new(selection: Selection) -> Rows {
        Rows { selection, layout: Layout::default(), history: History::default() }
    }

    /// What was read.
    pub fn into_history(self) -> History {
        self.history
    }
}

impl Reader for Rows {
    fn columns(&mut self, names: &[&str]) -> Result<(), DbError> {
        self.layout = Layout::new(names);
        use Column::*;
        let needed: &[Column] = match self.selection {
            Selection::Full => &FIRST,
            Selection::Brief => &[Version, Name, UpChecksum, DownChecksum, State, StatementsDone],
            Selection::Visit => &[Version, UpChecksum, DownChecksum, State],
        };
        let lacking = self.layout.lacking(needed);
        if !lacking.is_empty() {
            return Err(DbError::new(format!(
                "the history table has no column {}: it is not a table this tool made, or another tool changed it",
                lacking.join(", ")
            )));
        }
        if self.selection == Selection::Full {
            self.history.missing = self.layout.lacking(&[InDoubt, Runner, Tries]);
        }
        Ok(())
    }

    fn row(&mut self, cells: &dyn Cells) -> Result<bool, DbError> {
        self.history.rows.push(self.layout.row(cells)?);
        Ok(true)
    }
}

/// The columns of a row that decide whether an upgrade has anything to do ([`Selection::Visit`]), borrowed from the
/// driver's row: what [`Visit`] hands its closure.
#[derive(Clone, Copy, Debug)]
pub struct BriefRow<'a> {
    /// The revision's version.
    pub version: &'a str,
    /// The up checksum, as stored (64 hexadecimal digits).
    pub up_checksum: &'a str,
    /// The down checksum, as stored; `None` for an irreversible revision.
    pub down_checksum: Option<&'a str>,
    /// The state, as stored ([`RowState::as_str`]).
    pub state: &'a str,
}

/// A [`Reader`] that hands each row's [`BriefRow`] to a closure, in order, until it returns `false`
/// ([`Selection::Visit`]).
pub struct Visit<'v> {
    layout: Layout,
    visit: &'v mut dyn FnMut(&BriefRow<'_>) -> bool,
}

impl<'v> Visit<'v> {
    /// A reader that hands each row to `visit`.
    pub fn new(visit: &'v mut dyn FnMut(&BriefRow<'_>) -> bool) -> Visit<'v> {
        Visit { layout: Layout::default(), visit }
    }
}

impl Reader for Visit<'_> {
    fn columns(&mut self, names: &[&str]) -> Result<(), DbError> {
        self.layout = Layout::new(names);
        Ok(())
    }

    fn row(&mut self, cells: &dyn Cells) -> Result<bool, DbError> {
        let layout = &self.layout;
        let brief = BriefRow {
            version: layout.text(cells, Column::Version)?.unwrap_or(""),
            up_checksum: layout.text(cells, Column::UpChecksum)?.unwrap_or(""),
            down_checksum: layout.text(cells, Column::DownChecksum)?,
            state: layout.text(cells, Column::State)?.unwrap_or(""),
        };
        Ok((self.visit)(&brief))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Row<'a>(Vec<Option<&'a str>>);

    impl Cells for Row<'_> {
        fn text(&self, index: usize) -> Result<Option<&str>, DbError> {
            Ok(self.0[index])
        }
        fn integer(&self, index: usize) -> Result<Option<i64>, DbError> {
            self.0[index].map(|t| t.parse().map_err(|_| DbError::new(format!("`{t}` is not a number")))).transpose()
        }
    }

    const HEX: &str = "0000000000000000000000000000000000000000000000000000000000000001";

    #[test]
    fn columns_are_found_by_name_in_any_order_and_added_ones_may_be_missing() {
        let names = [
            "state",
            "version",
            "name",
            "up_checksum",
            "down_checksum",
            "down_sql",
            "applied_at",
            "duration_ms",
            "statements_done",
            "progress_checksum",
            "error",
            "a_later_column",
        ];
        let mut rows = Rows::new(Selection::Full);
        rows.columns(&names).unwrap();
        let cells = Row(vec![
            Some("upgrading"),
            Some("0001"),
            Some("a"),
            Some(HEX),
            None,
            None,
            Some("2026-01-01T00:00:00.000Z"),
            Some("12"),
            Some("2"),
            None,
            Some("boom"),
            Some("ignored"),
        ]);
        assert!(rows.row(&cells).unwrap());
        let history = rows.into_history();
        assert_eq!(history.missing, ["in_doubt", "runner", "tries"]);
        let row = &history.rows[0];
        assert_eq!((row.version.as_str(), row.name.as_str(), row.state), ("0001", "a", RowState::Upgrading));
        assert_eq!((row.duration_ms, row.statements_done, row.error.as_deref()), (12, 2, Some("boom")));
        assert!(!row.in_doubt && row.runner.is_none());
    }

    #[test]
    fn a_table_without_the_first_columns_is_refused_and_bad_cells_name_their_column() {
        let mut rows = Rows::new(Selection::Full);
        let err = rows.columns(&["version", "name"]).unwrap_err();
        assert!(err.message.contains("no column up_checksum, down_checksum"), "{err}");
        let mut rows = Rows::new(Selection::Brief);
        rows.columns(&["version", "name", "up_checksum", "down_checksum", "state", "statements_done"]).unwrap();
        let err = rows.row(&Row(vec![Some("1"), Some("a"), Some("xyz"), None, Some("applied"), Some("0")]));
        assert!(err.unwrap_err().message.starts_with("history column up_checksum: `xyz` is not"));
        let err = rows.row(&Row(vec![Some("1"), Some("a"), Some(HEX), None, Some("gone"), Some("0")]));
        assert_eq!(err.unwrap_err().message, "history column state: unknown state `gone`");
    }

    #[test]
    fn a_visit_borrows_and_stops_when_told() {
        let mut seen = Vec::new();
        let mut keep = |row: &BriefRow<'_>| {
            seen.push(row.version.to_owned());
            false
        };
        let mut visit = Visit::new(&mut keep);
        visit.columns(&["version", "up_checksum", "down_checksum", "state"]).unwrap();
        assert!(!visit.row(&Row(vec![Some("0001"), Some(HEX), None, Some("applied")])).unwrap());
        assert_eq!(seen, ["0001"]);
    }
}
