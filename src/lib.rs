//! Schema migrations as a folder of plain SQL revisions, checked at compile time and applied under a real lock.
//!
//! Three things to add to an application:
//!
//! ```toml
//! # Cargo.toml (used by path for now: `migrate` on crates.io is an unrelated tool)
//! [dependencies]
//! migrate = { path = "/path/to/migrate" }   # features: sqlite (default), postgres, mysql, testing
//!
//! [build-dependencies]
//! migrate-core = { path = "/path/to/migrate/migrate-core" }
//! ```
//!
//! ```ignore
//! // build.rs: rebuild when a revision folder is added (editing a file already rebuilds)
//! fn main() {
//!     migrate_core::build::watch("migrations");
//! }
//! ```
//!
//! ```
//! // At start-up: the folder of `<version>_<name>/up.sql` + `down.sql` revisions, embedded and checked at compile
//! // time (this example embeds the repository's `examples/migrations`; yours is `"migrations"`), applied in one
//! // blocking call under the migration lock.
//! static MIGRATIONS: migrate::Migrations = migrate::migrations!("examples/migrations");
//!
//! let mut conn = migrate::client::rusqlite::Connection::open_in_memory()?;
//! let report = MIGRATIONS.upgrade(&mut conn)?;
//! assert_eq!(report.steps.len(), MIGRATIONS.revisions().len());
//! assert!(MIGRATIONS.upgrade(&mut conn)?.is_empty()); // the second time, nothing is pending
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The client crates come re-exported from [`client`] (`rusqlite`, and `postgres` and `mysql` with their
//! features), so no version has to match. The `migrate` command line (`cargo install --locked --path migrate-cli`)
//! runs the same folder with Alembic's commands: `init`, `revision -m`, `upgrade`, `downgrade`, `status`, ….
//!
//! The item form also generates one constant per revision, so a target is checked by the compiler:
//!
//! ```
//! migrate::migrations!(mod schema = "examples/migrations");
//!
//! let mut conn = migrate::client::rusqlite::Connection::open_in_memory()?;
//! schema::MIGRATIONS.migrator().upgrade_to(&mut conn, schema::ADD_EMAIL)?;
//! schema::MIGRATIONS.migrator().downgrade_to(&mut conn, schema::CREATE_USERS)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Features: `sqlite` (default) implements [`Database`] for `rusqlite::Connection`; `bundled-sqlite` (default)
//! compiles SQLite from source; `postgres` for `postgres::Client`; `mysql` for `mysql::Conn` (MySQL and MariaDB);
//! `testing` (for dev-dependencies) adds `migrate::testing`: a fresh database per test on each backend, migrated
//! from a template, and the `#[migrate::test]` attribute that runs one test body on all three. docs.rs documents
//! them all.

use std::time::Duration;

use migrate_core::packed::{Embedded, Packed};

pub use migrate_core::{
    build, fleet, roundtrip, scan, schema, sql, Action, AppliedRow, Backend, Backends, BriefRow, Cancel, Cells,
    ChangedFile, Checksum, Command, Config, Continuity, DbError, Direction, Driver, Error, ErrorKind, ExecFailure,
    FailureOutcome, Foreign, HistoryTable, Imported, InDoubt, LockFailure, MigrationFailure, Observer, OutOfOrder,
    Problem, ProblemKind, Reader, RedoRefusal, Refusal, Report, Resolution, Revision, RevisionId, RoundTrip, RowChange,
    RowState, RowWrite, Scan, ScanOptions, Schema, Script, ScriptFailure, ScriptKind, Step, StepFailure, StepReport,
    StopPoint, Target, DEFAULT_LOCK_RETRY, DEFAULT_LOCK_TIMEOUT, DEFAULT_LOCK_WAIT,
};
pub use migrate_macros::migrations;
#[cfg(feature = "testing")]
pub use migrate_macros::test;
#[cfg(feature = "mysql")]
pub use migrate_mysql as mysql;
#[cfg(feature = "postgres")]
pub use migrate_postgres as postgres;
#[cfg(feature = "sqlite")]
pub use migrate_sqlite as sqlite;

/// The database client crates this crate is built with, for each backend feature that is on: use them from here
/// (`migrate::client::rusqlite::Connection`) and no version in your `Cargo.toml` has to match this crate's.
pub mod client {
    #[cfg(feature = "mysql")]
    pub use ::mysql;
    #[cfg(feature = "postgres")]
    pub use ::postgres;
    #[cfg(feature = "sqlite")]
    pub use ::rusqlite;
}

#[cfg(feature = "testing")]
pub mod testing;

/// What generated code names. Not part of the public API.
#[doc(hidden)]
pub mod __private {
    pub use migrate_core::packed::{Embedded, Packed};
}

/// A connection the revisions can be applied to: `rusqlite::Connection` (feature `sqlite`), any [`Driver`].
pub trait Database {
    /// Calls `f` with a driver over this connection.
    fn with_driver<R>(&mut self, f: impl FnOnce(&mut dyn Driver) -> R) -> R;
}

impl Database for dyn Driver + '_ {
    fn with_driver<R>(&mut self, f: impl FnOnce(&mut dyn Driver) -> R) -> R {
        f(self)
    }
}

#[cfg(feature = "sqlite")]
impl Database for rusqlite::Connection {
    fn with_driver<R>(&mut self, f: impl FnOnce(&mut dyn Driver) -> R) -> R {
        f(&mut migrate_sqlite::Sqlite::new(self))
    }
}

#[cfg(feature = "sqlite")]
impl Database for migrate_sqlite::Sqlite<'_> {
    fn with_driver<R>(&mut self, f: impl FnOnce(&mut dyn Driver) -> R) -> R {
        f(self)
    }
}

#[cfg(feature = "postgres")]
impl Database for ::postgres::Client {
    fn with_driver<R>(&mut self, f: impl FnOnce(&mut dyn Driver) -> R) -> R {
        f(&mut migrate_postgres::Postgres::new(self))
    }
}

#[cfg(feature = "postgres")]
impl Database for migrate_postgres::Postgres<'_> {
    fn with_driver<R>(&mut self, f: impl FnOnce(&mut dyn Driver) -> R) -> R {
        f(self)
    }
}

#[cfg(feature = "mysql")]
impl Database for ::mysql::Conn {
    fn with_driver<R>(&mut self, f: impl FnOnce(&mut dyn Driver) -> R) -> R {
        f(&mut migrate_mysql::Mysql::new(self))
    }
}

#[cfg(feature = "mysql")]
impl Database for migrate_mysql::Mysql<'_> {
    fn with_driver<R>(&mut self, f: impl FnOnce(&mut dyn Driver) -> R) -> R {
        f(self)
    }
}

/// A revision of an embedded list, named by a constant that `migrations!(mod name = "...")` generates: a target the
/// compiler checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RevisionTarget {
    version: &'static str,
    folder: &'static str,
}

impl RevisionTarget {
    #[doc(hidden)]
    pub const fn __new(version: &'static str, folder: &'static str) -> Self {
        RevisionTarget { version, folder }
    }

    /// The revision's version.
    pub const fn version(&self) -> &'static str {
        self.version
    }

    /// The revision's folder name.
    pub const fn folder(&self) -> &'static str {
        self.folder
    }
}

impl From<RevisionTarget> for Target {
    fn from(id: RevisionTarget) -> Target {
        Target::version(id.version)
    }
}

/// The revisions `migrations!()` embedded: static data, ordered and checksummed at compile time.
///
/// The list is stored compactly (a few literals for all revisions, which keeps large folders cheap to compile). A
/// start-up with nothing pending compares the history with it as it is; anything more decodes it once into
/// [`Revision`]s that borrow the embedded text. Declare it `static`, so that happens once per process.
#[derive(Debug)]
pub struct Migrations {
    list: Embedded,
    allow_empty_down: bool,
    folder: Option<&'static str>,
}

impl Migrations {
    #[doc(hidden)]
    pub const fn __embedded(packed: Packed, allow_empty_down: bool) -> Self {
        Migrations { list: Embedded::new(packed), allow_empty_down, folder: None }
    }

    /// Names the folder the list was read from, by a short hash of its path (no path is kept in the binary): test
    /// templates of one folder replace each other as its files change.
    #[doc(hidden)]
    pub const fn __folder(mut self, id: &'static str) -> Self {
        self.folder = Some(id);
        self
    }

    /// The revisions, in order.
    pub fn revisions(&self) -> &[Revision] {
        self.list.revisions()
    }

    /// Whether the list has been decoded (for tests of the start-up path).
    #[doc(hidden)]
    pub fn __is_decoded(&self) -> bool {
        self.list.is_decoded()
    }

    /// A migrator with the default configuration, to set options on.
    pub fn migrator(&self) -> Migrator<'_> {
        Migrator { core: migrate_core::Migrator::embedded(&self.list), folder: self.folder }
            .allow_empty_down(self.allow_empty_down)
    }

    /// Applies every pending revision, under the migration lock: the start-up call.
    ///
    /// # Errors
    /// See [`Migrator::upgrade`].
    pub fn upgrade<D: Database + ?Sized>(&self, db: &mut D) -> Result<Report, Error> {
        self.migrator().upgrade(db)
    }
}

/// Runs commands on a list of revisions with a configuration (history table, lock wait, policies), on any
/// [`Database`]: the core [`migrate_core::Migrator`], which owns every rule, over a connection.
#[derive(Clone, Debug)]
pub struct Migrator<'r> {
    core: migrate_core::Migrator<'r>,
    /// See [`Migrations::__folder`]: known for a list the macro embedded.
    folder: Option<&'static str>,
}

impl<'r> Migrator<'r> {
    /// A migrator over `revisions` (embedded, or scanned at run time) with the default configuration.
    pub fn new(revisions: &'r [Revision]) -> Self {
        Migrator { core: migrate_core::Migrator::new(revisions), folder: None }
    }

    fn with(self, f: impl FnOnce(migrate_core::Migrator<'r>) -> migrate_core::Migrator<'r>) -> Self {
        Migrator { core: f(self.core), folder: self.folder }
    }

    /// Keeps the history in `table` (default `_migrate_history`, no schema).
    #[must_use]
    pub fn history_table(self, table: HistoryTable) -> Self {
        self.with(|m| m.history_table(table))
    }

    /// Waits at most `wait` for the migration lock (default [`DEFAULT_LOCK_WAIT`], 60 s).
    #[must_use]
    pub fn lock_wait(self, wait: Duration) -> Self {
        self.with(|m| m.lock_wait(wait))
    }

    /// Bounds how long a revision's statement waits for a lock on what it changes (default
    /// [`DEFAULT_LOCK_TIMEOUT`], 2 s; `None`: the session's own setting, by default for ever). See
    /// [`Config::lock_timeout`].
    #[must_use]
    pub fn lock_timeout(self, timeout: Option<Duration>) -> Self {
        self.with(|m| m.lock_timeout(timeout))
    }

    /// How long a revision whose lock wait ran out is tried again (default [`DEFAULT_LOCK_RETRY`], 30 s; zero:
    /// never). See [`Config::lock_retry`].
    #[must_use]
    pub fn lock_retry(self, budget: Duration) -> Self {
        self.with(|m| m.lock_retry(budget))
    }

    /// Takes the migration lock (default `true`).
    #[must_use]
    pub fn lock(self, lock: bool) -> Self {
        self.with(|m| m.lock(lock))
    }

    /// What to do with pending revisions older than the newest applied one (default: refuse).
    #[must_use]
    pub fn out_of_order(self, policy: OutOfOrder) -> Self {
        self.with(|m| m.out_of_order(policy))
    }

    /// Runs the whole command in one transaction, so a failure leaves nothing of the run (default `false`).
    #[must_use]
    pub fn single_transaction(self, on: bool) -> Self {
        self.with(|m| m.single_transaction(on))
    }

    /// Runs empty down files as no-ops (default: as `migrations!()` was told, else refuse).
    #[must_use]
    pub fn allow_empty_down(self, on: bool) -> Self {
        self.with(|m| m.allow_empty_down(on))
    }

    /// Stops a run at its next safe point once `cancel` is cancelled: before a revision, or between two statements
    /// of one run statement by statement, its record complete. The run ends with [`Error::Stopped`].
    ///
    /// ```no_run
    /// let cancel = migrate::Cancel::new();
    /// let on_shutdown = cancel.clone(); // cancel it from a signal handler or a shutdown hook
    /// # on_shutdown.cancel();
    /// # let mut conn = rusqlite::Connection::open_in_memory()?;
    /// # let revisions: Vec<migrate::Revision> = Vec::new();
    /// migrate::Migrator::new(&revisions).cancel_with(cancel).upgrade(&mut conn)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn cancel_with(self, cancel: Cancel) -> Self {
        self.with(|m| m.cancel_with(cancel))
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        self.core.config()
    }

    /// The folder the macro read the list from, as a short hash of its path.
    #[cfg(feature = "testing")]
    pub(crate) fn folder(&self) -> Option<&'static str> {
        self.folder
    }

    /// The core migrator, for what it offers beyond these methods (statuses, offline scripts, observers).
    pub fn core(&self) -> &migrate_core::Migrator<'r> {
        &self.core
    }

    /// Applies every pending revision.
    ///
    /// # Errors
    /// Before anything runs: [`Error::ChecksumMismatch`], [`Error::UnknownApplied`], [`Error::OutOfOrder`],
    /// [`Error::Dirty`], [`Error::LockTimeout`]. While running: [`Error::Migration`], naming the revision, file and
    /// line and what was applied before (which stays applied).
    pub fn upgrade<D: Database + ?Sized>(&self, db: &mut D) -> Result<Report, Error> {
        self.run(db, &Command::Upgrade(Target::Head))
    }

    /// Applies pending revisions up to `target`: a generated constant, `"+N"`, a version or a name.
    ///
    /// # Errors
    /// As [`Migrator::upgrade`], and [`Error::TargetNotFound`], [`Error::WrongDirection`], [`Error::NotEnough`].
    pub fn upgrade_to<D: Database + ?Sized>(&self, db: &mut D, target: impl Into<Target>) -> Result<Report, Error> {
        self.run(db, &Command::Upgrade(target.into()))
    }

    /// Reverts applied revisions down to `target` (which stays applied): a constant, `"-N"`, a version, `"base"`.
    ///
    /// # Errors
    /// As [`Migrator::upgrade_to`], and [`Error::Irreversible`], [`Error::EmptyDown`].
    pub fn downgrade_to<D: Database + ?Sized>(&self, db: &mut D, target: impl Into<Target>) -> Result<Report, Error> {
        self.run(db, &Command::Downgrade(target.into()))
    }

    /// Records the database as being at `target` without running any SQL (to baseline an existing database).
    ///
    /// # Errors
    /// As [`Migrator::upgrade_to`].
    pub fn stamp<D: Database + ?Sized>(&self, db: &mut D, target: impl Into<Target>) -> Result<Report, Error> {
        self.run(db, &Command::Stamp(target.into()))
    }

    /// Reverts the newest `count` revisions and applies them again, under one hold of the lock.
    ///
    /// # Errors
    /// See [`migrate_core::Migrator::redo`].
    pub fn redo<D: Database + ?Sized>(&self, db: &mut D, count: u32) -> Result<Report, Error> {
        db.with_driver(|driver| self.core.redo(driver, count, &mut ()))
    }

    /// Runs `command`.
    ///
    /// # Errors
    /// See [`migrate_core::Migrator::run`].
    pub fn run<D: Database + ?Sized>(&self, db: &mut D, command: &Command) -> Result<Report, Error> {
        db.with_driver(|driver| self.core.run(driver, command, &mut ()))
    }

    /// Runs `command` on every database of a fleet (a connection per tenant, named as the report should name it),
    /// `options.jobs` at a time, each under its own lock and history; one target's failure does not stop the
    /// others unless [`FleetOptions::fail_fast`](fleet::FleetOptions::fail_fast) says so. Returns each target's
    /// run, in the order given: its [`Report`] (the revision before and after), its error, or that it never
    /// started.
    ///
    /// ```no_run
    /// # let revisions: Vec<migrate::Revision> = Vec::new();
    /// let tenants: Vec<(String, rusqlite::Connection)> = ["a", "b"]
    ///     .iter()
    ///     .map(|t| Ok((t.to_string(), rusqlite::Connection::open(format!("tenants/{t}.db"))?)))
    ///     .collect::<Result<_, rusqlite::Error>>()?;
    /// let runs = migrate::Migrator::new(&revisions).run_fleet(
    ///     tenants,
    ///     &migrate::Command::Upgrade(migrate::Target::Head),
    ///     &migrate::fleet::FleetOptions::default().jobs(8),
    /// );
    /// for run in &runs {
    ///     if let migrate::fleet::Outcome::Failed(err) = &run.outcome {
    ///         eprintln!("{}: {err}", run.name);
    ///     }
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn run_fleet<D: Database + Send>(
        &self,
        targets: Vec<(String, D)>,
        command: &Command,
        options: &fleet::FleetOptions,
    ) -> Vec<fleet::TargetRun<Report, Error>> {
        fleet::run(targets, options, |_, mut db| self.run(&mut db, command), |_, _| {})
    }

    /// The steps `command` would run, without running them (reads the history only).
    ///
    /// # Errors
    /// What planning refuses; [`Error::Database`] if the history cannot be read.
    pub fn plan<D: Database + ?Sized>(
        &self,
        db: &mut D,
        command: &Command,
    ) -> Result<Vec<(Action, RevisionId)>, Error> {
        db.with_driver(|driver| {
            let plan = self.core.plan(driver, command)?;
            Ok(plan.steps.into_iter().map(|s| (s.action, s.revision)).collect())
        })
    }

    /// The rows of the history table, oldest first (empty if the table does not exist yet).
    ///
    /// # Errors
    /// [`Error::Database`] if the table cannot be read.
    pub fn applied<D: Database + ?Sized>(&self, db: &mut D) -> Result<Vec<AppliedRow>, Error> {
        db.with_driver(|driver| self.core.history(driver))
    }

    /// Continues a dirty revision from its failed statement (after checking the statements that ran are unchanged).
    ///
    /// # Errors
    /// See [`migrate_core::Migrator::resume`].
    pub fn resume<D: Database + ?Sized>(&self, db: &mut D) -> Result<Report, Error> {
        db.with_driver(|driver| self.core.resume(driver, &mut ()))
    }

    /// See [`migrate_core::Migrator::plan_import`]: what [`Migrator::import`] would record; nothing is written.
    pub fn plan_import<D: Database + ?Sized>(
        &self,
        db: &mut D,
        foreign: Foreign,
        allow_unknown: bool,
    ) -> Result<Imported, Error> {
        db.with_driver(|driver| self.core.plan_import(driver, foreign, allow_unknown))
    }

    /// See [`migrate_core::Migrator::import`]: adopts a database another tool (diesel, sqlx, refinery) migrated.
    ///
    /// ```no_run
    /// # static MIGRATIONS: migrate::Migrations = migrate::Migrations::__embedded(migrate::__private::Packed::EMPTY, false);
    /// # let mut conn = rusqlite::Connection::open("app.db")?;
    /// use migrate::Foreign;
    /// // Once, at start-up: a database diesel migrated gets this history from diesel's, then upgrades as usual.
    /// let migrator = MIGRATIONS.migrator();
    /// if migrator.applied(&mut conn)?.is_empty() {
    ///     match migrator.import(&mut conn, Foreign::Diesel, false) {
    ///         Ok(_) | Err(migrate::Error::Import { .. }) => {} // imported, or no diesel history here
    ///         Err(err) => return Err(err.into()),
    ///     }
    /// }
    /// migrator.upgrade(&mut conn)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn import<D: Database + ?Sized>(
        &self,
        db: &mut D,
        foreign: Foreign,
        allow_unknown: bool,
    ) -> Result<Imported, Error> {
        db.with_driver(|driver| self.core.import(driver, foreign, allow_unknown))
    }

    /// The database's schema, read from its catalog (the history table left out): print it for the text form,
    /// compare two with [`schema::diff`].
    ///
    /// # Errors
    /// [`Error::Database`] if the catalog cannot be read.
    pub fn snapshot<D: Database + ?Sized>(&self, db: &mut D) -> Result<Schema, Error> {
        db.with_driver(|driver| self.core.snapshot(driver))
    }

    /// Takes every pending revision up, down and up again, checking that each down gives back the schema from before
    /// its up: see [`migrate_core::Migrator::round_trip`]. For a scratch database.
    ///
    /// ```
    /// static MIGRATIONS: migrate::Migrations = migrate::migrations!("examples/migrations");
    ///
    /// let mut conn = rusqlite::Connection::open_in_memory()?;
    /// let trip = MIGRATIONS.migrator().round_trip(&mut conn)?;
    /// assert!(trip.is_ok(), "{trip}");
    /// assert_eq!(trip.checked.len(), MIGRATIONS.revisions().len());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// What the runs fail with; a down that does not undo its up is not an error but the report's failure.
    pub fn round_trip<D: Database + ?Sized>(&self, db: &mut D) -> Result<RoundTrip, Error> {
        db.with_driver(|driver| self.core.round_trip(driver, &mut ()))
    }

    /// See [`migrate_core::Migrator::resume_with`].
    pub fn resume_with<D: Database + ?Sized>(&self, db: &mut D, answer: InDoubt) -> Result<Report, Error> {
        db.with_driver(|driver| self.core.resume_with(driver, &mut (), answer))
    }

    /// Records how a dirty revision was settled by hand.
    ///
    /// # Errors
    /// See [`migrate_core::Migrator::resolve`].
    pub fn resolve<D: Database + ?Sized>(
        &self,
        db: &mut D,
        revision: &str,
        how: Resolution,
    ) -> Result<RevisionId, Error> {
        db.with_driver(|driver| self.core.resolve(driver, revision, how))
    }

    /// Accepts on purpose that an applied revision's files changed, recording their new checksums.
    ///
    /// # Errors
    /// See [`migrate_core::Migrator::accept`].
    pub fn accept<D: Database + ?Sized>(&self, db: &mut D, revision: &str) -> Result<Vec<ChangedFile>, Error> {
        db.with_driver(|driver| self.core.accept(driver, revision))
    }
}
