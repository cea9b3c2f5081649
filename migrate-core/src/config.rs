//! How a [`crate::Migrator`] behaves: [`Config`], where the history table lives ([`HistoryTable`]), and the defaults,
//! each written once here.

use std::time::Duration;

use crate::error::Error;
use crate::history::DEFAULT_TABLE;
use crate::plan::OutOfOrder;

/// How long a run waits for the migration lock unless told otherwise.
pub const DEFAULT_LOCK_WAIT: Duration = Duration::from_secs(60);

/// How long one statement of a revision may wait for a lock on what it changes, unless told otherwise (see
/// [`Config::lock_timeout`]).
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(2);

/// How long a revision is tried again after its lock wait ran out, unless told otherwise (see
/// [`Config::lock_retry`]).
pub const DEFAULT_LOCK_RETRY: Duration = Duration::from_secs(30);

/// How a migrator behaves. `Config::default()` is what a start-up migration wants; set fields one by one, or use
/// the [`Migrator`](crate::Migrator)'s builder methods.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Config {
    /// Where the history table lives.
    pub table: HistoryTable,
    /// Take the migration lock (default `true`). Turn off only when something else guarantees a single runner.
    pub lock: bool,
    /// How long to wait for the lock before failing with [`Error::LockTimeout`] (default [`DEFAULT_LOCK_WAIT`]).
    pub lock_wait: Duration,
    /// How long a revision's statement may wait for a lock on what it changes (default [`DEFAULT_LOCK_TIMEOUT`];
    /// `None`: as long as the session's own setting says, by default for ever). An `ALTER TABLE` waiting behind a
    /// long transaction makes every later query of that table wait behind it: this bounds that stall. PostgreSQL:
    /// `SET LOCAL lock_timeout` in the round trip that runs the revision (a statement that runs alone, outside a
    /// transaction, such as `CREATE INDEX CONCURRENTLY`, keeps the session's). MySQL and MariaDB: the session's
    /// `lock_wait_timeout` (metadata locks, whole seconds) while revisions run, restored after. SQLite: the
    /// migration lock is the database's write lock, and its waits are bounded by [`Config::lock_wait`].
    pub lock_timeout: Option<Duration>,
    /// How long a revision whose lock wait ran out is tried again (default [`DEFAULT_LOCK_RETRY`]; zero: never),
    /// with pauses between tries that grow from a quarter of a second to five seconds, randomised, and the migration
    /// lock released meanwhile where the revision runs in one transaction. Only a try that left nothing behind is
    /// repeated: a revision in one transaction (rolled back whole), or a statement of one run statement by
    /// statement whose row reads back as it was before it. When the budget is spent the run fails as any failing
    /// statement does; a revision stopped before its first statement took effect is left pending, not dirty.
    pub lock_retry: Duration,
    /// Pending revisions older than the newest applied one (default: refuse).
    pub out_of_order: OutOfOrder,
    /// Run all revisions of the run in one transaction (default `false`: one transaction per revision).
    pub single_transaction: bool,
    /// Run empty down files as no-ops instead of refusing (default `false`).
    pub allow_empty_down: bool,
    /// Problems of a folder scanned at run time, with the folder: a step that would run or rely on a file they name
    /// is refused ([`Error::Scan`]); the rest of the folder can still be run (default none: the embedded list has
    /// none, the macro refused them).
    ///
    /// [`Error::Scan`]: crate::Error::Scan
    pub folder_problems: Option<(std::path::PathBuf, Vec<crate::folder::scan::Problem>)>,
    /// A stop asked for from outside the run (default: never asked): the runner stops at its next safe point.
    pub cancel: Cancel,
}

/// A stop asked for from outside a run: a signal, a shutdown, a caller that gave up. Cheap to clone; every clone is
/// the same handle. The runner stops at safe points: before each revision, and before each statement of a revision
/// run statement by statement, whose record is complete there. A revision running in one transaction is rolled back
/// where the caller gave a way to interrupt its connection ([`Cancel::on_interrupt`]: the command line cancels
/// PostgreSQL's query and interrupts SQLite), and otherwise commits before the run stops; a run in one transaction
/// ([`Config::single_transaction`]) is rolled back whole. The run then ends with [`crate::Error::Stopped`], saying
/// what is done and what the next run does.
#[derive(Clone, Default)]
pub struct Cancel(std::sync::Arc<CancelState>);

#[derive(Default)]
struct CancelState {
    cancelled: std::sync::atomic::AtomicBool,
    /// A revision runs in one transaction now, which interrupting the connection rolls back.
    interruptible: std::sync::atomic::AtomicBool,
    interrupt: std::sync::Mutex<Option<Box<dyn Fn() + Send + Sync>>>,
}

impl std::fmt::Debug for Cancel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cancel").field("cancelled", &self.is_cancelled()).finish_non_exhaustive()
    }
}

impl Cancel {
    /// A handle nobody has asked to stop yet.
    pub fn new() -> Cancel {
        Cancel::default()
    }

    /// Asks every run holding this handle to stop at its next safe point; a revision running in one transaction
    /// is interrupted, where a way to was given.
    pub fn cancel(&self) {
        use std::sync::atomic::Ordering::SeqCst;
        self.0.cancelled.store(true, SeqCst);
        if self.0.interruptible.load(SeqCst) {
            if let Some(interrupt) = self.0.interrupt.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
                interrupt();
            }
        }
    }

    /// Whether a stop was asked for.
    pub fn is_cancelled(&self) -> bool {
        self.0.cancelled.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// How to interrupt the statement running on the run's connection (PostgreSQL's cancel request, SQLite's
    /// interrupt), called by [`Cancel::cancel`] only while a revision runs in one transaction, which the
    /// interruption rolls back. Called from whichever thread cancels.
    pub fn on_interrupt(&self, interrupt: impl Fn() + Send + Sync + 'static) {
        *self.0.interrupt.lock().unwrap_or_else(|e| e.into_inner()) = Some(Box::new(interrupt));
    }

    /// Marks a revision in one transaction as running until the guard is dropped: a stop asked for meanwhile
    /// interrupts it. The runner's.
    pub fn interruptible(&self) -> Interruptible<'_> {
        self.0.interruptible.store(true, std::sync::atomic::Ordering::SeqCst);
        if self.is_cancelled() {
            // Asked before the flag was up: the interruption is not lost.
            self.cancel();
        }
        Interruptible(self)
    }
}

/// See [`Cancel::interruptible`].
pub struct Interruptible<'c>(&'c Cancel);

impl Drop for Interruptible<'_> {
    fn drop(&mut self) {
        (self.0).0.interruptible.store(false, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            table: HistoryTable::default(),
            lock: true,
            lock_wait: DEFAULT_LOCK_WAIT,
            lock_timeout: Some(DEFAULT_LOCK_TIMEOUT),
            lock_retry: DEFAULT_LOCK_RETRY,
            out_of_order: OutOfOrder::Error,
            single_transaction: false,
            allow_empty_down: false,
            folder_problems: None,
            cancel: Cancel::default(),
        }
    }
}

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
}
