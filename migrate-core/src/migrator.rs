//! The [`Migrator`]: the one type that owns every use case. Callers give it the revisions and the options, then call
//! a method: plan (the dry run), upgrade, downgrade or stamp to a target, redo, resume, resolve, accept, status and
//! the offline script. Each method takes the database as a `&mut dyn Driver` and makes every decision itself, so
//! the command line, the `migrate` facade and a library user do the same thing to a database.
//!
//! Every method that writes takes the migration lock, plans under it, and releases it on every path; the methods
//! named `plan…` are their dry runs: the same checks on the same history read, and nothing written.

use std::time::Duration;

use crate::config::{Cancel, Config, HistoryTable};
use crate::error::{Error, RedoRefusal};
use crate::folder::packed::{Embedded, List};
use crate::history::AppliedRow;
use crate::history::ChangedFile;
use crate::plan::status::{self, Entry};
use crate::plan::{self, Command, OutOfOrder, Plan, Target};
use crate::repair::import::{self, Foreign, Imported};
use crate::repair::{self, Resolution, ResumePoint, Settled};
use crate::revision::{Backend, Revision, RevisionId};
use crate::run::driver::Driver;
use crate::run::offline::{self, ScriptOptions};
use crate::run::runner::{self, Observer, Report};
use crate::schema::roundtrip::{Failure, Outcome, Phase, RoundTrip};
use crate::schema::{self, Schema};
use crate::sql::doubt::InDoubt;

/// What a redo will do: revert the newest revisions, then apply the same ones again.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Redo<'r> {
    /// The downgrade, newest first.
    pub down: Plan<'r>,
    /// The upgrade that follows it, oldest first: the same revisions.
    pub up: Plan<'r>,
}

/// A script written ahead of time: its plan, where it leaves the database, and its text.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Offline<'r> {
    /// The steps the script carries out, planned from the position it assumes.
    pub plan: Plan<'r>,
    /// The revision the database is at once the script has run.
    pub after: Option<RevisionId>,
    options: ScriptOptions,
}

impl Offline<'_> {
    /// The SQL text, headed by `header` (each line becomes an SQL comment).
    pub fn text(&self, header: &[String]) -> String {
        offline::script(&self.plan, &self.options, header)
    }
}

/// Plans and applies a list of revisions to one database at a time. See the module documentation.
///
/// ```
/// use migrate_core::{Migrator, Revision};
/// let revisions: Vec<Revision> = Vec::new();
/// let migrator = Migrator::new(&revisions).lock_wait(std::time::Duration::from_secs(5));
/// assert_eq!(migrator.config().lock_wait.as_secs(), 5);
/// ```
#[derive(Clone, Debug)]
pub struct Migrator<'r> {
    revisions: List<'r>,
    config: Config,
}

impl<'r> Migrator<'r> {
    /// A migrator over `revisions` (embedded, or scanned at run time) with the default configuration.
    pub fn new(revisions: &'r [Revision]) -> Self {
        Migrator { revisions: List::Slice(revisions), config: Config::default() }
    }

    /// A migrator over a list `migrations!()` embedded, with the default configuration.
    pub fn embedded(embedded: &'r Embedded) -> Self {
        Migrator { revisions: List::Embedded(embedded), config: Config::default() }
    }

    /// A migrator over `revisions` with `config`.
    pub fn with_config(revisions: &'r [Revision], config: Config) -> Self {
        Migrator { revisions: List::Slice(revisions), config }
    }

    /// Keeps the history in `table` (default `_migrate_history`, no schema).
    #[must_use]
    pub fn history_table(mut self, table: HistoryTable) -> Self {
        self.config.table = table;
        self
    }

    /// Waits at most `wait` for the migration lock (default [`DEFAULT_LOCK_WAIT`](crate::DEFAULT_LOCK_WAIT)).
    #[must_use]
    pub fn lock_wait(mut self, wait: Duration) -> Self {
        self.config.lock_wait = wait;
        self
    }

    /// Bounds how long a revision's statement waits for a lock on what it changes (default
    /// [`DEFAULT_LOCK_TIMEOUT`](crate::DEFAULT_LOCK_TIMEOUT); `None`: the session's own setting). See
    /// [`Config::lock_timeout`].
    #[must_use]
    pub fn lock_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.config.lock_timeout = timeout;
        self
    }

    /// How long a revision whose lock wait ran out is tried again (default
    /// [`DEFAULT_LOCK_RETRY`](crate::DEFAULT_LOCK_RETRY); zero: never). See [`Config::lock_retry`].
    #[must_use]
    pub fn lock_retry(mut self, budget: Duration) -> Self {
        self.config.lock_retry = budget;
        self
    }

    /// Takes the migration lock (default `true`).
    #[must_use]
    pub fn lock(mut self, lock: bool) -> Self {
        self.config.lock = lock;
        self
    }

    /// What to do with pending revisions older than the newest applied one (default: refuse).
    #[must_use]
    pub fn out_of_order(mut self, policy: OutOfOrder) -> Self {
        self.config.out_of_order = policy;
        self
    }

    /// Runs the whole command in one transaction, so a failure leaves nothing of the run (default `false`).
    #[must_use]
    pub fn single_transaction(mut self, on: bool) -> Self {
        self.config.single_transaction = on;
        self
    }

    /// The problems of the folder `revisions` were scanned from (at run time; the embedded list has none): a step that
    /// would run or rely on a file one names is refused with [`Error::Scan`], and the rest of the folder still runs.
    #[must_use]
    pub fn folder_problems(mut self, folder: std::path::PathBuf, problems: Vec<crate::folder::scan::Problem>) -> Self {
        self.config.folder_problems = (!problems.is_empty()).then_some((folder, problems));
        self
    }

    /// Runs empty down files as no-ops instead of refusing (default `false`).
    #[must_use]
    pub fn allow_empty_down(mut self, on: bool) -> Self {
        self.config.allow_empty_down = on;
        self
    }

    /// Stops a run at its next safe point once `cancel` is cancelled (see [`Cancel`]): for a signal handler or a
    /// shutdown. The run then ends with [`Error::Stopped`].
    #[must_use]
    pub fn cancel_with(mut self, cancel: Cancel) -> Self {
        self.config.cancel = cancel;
        self
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The revisions, in order.
    pub fn revisions(&self) -> &'r [Revision] {
        self.revisions.revisions()
    }

    /// The rows of the history table, oldest first; empty if the table does not exist yet. One statement, no lock.
    ///
    /// # Errors
    /// [`Error::Database`] if the table cannot be read.
    pub fn history(&self, driver: &mut dyn Driver) -> Result<Vec<AppliedRow>, Error> {
        runner::read_history(driver, &self.config.table)
    }

    /// The revision `reference` names: an exact version (dashes allowed), a folder name, a unique name or a unique
    /// version prefix of the revisions, or the exact version of a row in `rows`.
    ///
    /// # Errors
    /// [`Error::TargetNotFound`] when nothing matches, or several revisions do.
    pub fn find(&self, reference: &str, rows: &[AppliedRow]) -> Result<RevisionId, Error> {
        let rows: Vec<&AppliedRow> = rows.iter().collect();
        plan::resolve(reference, self.revisions(), &rows)
    }

    /// The steps `command` would run, without running them (one statement: the history read; no lock).
    ///
    /// # Errors
    /// What [`plan::plan`] refuses, and [`Error::Database`] if the history cannot be read.
    pub fn plan(&self, driver: &mut dyn Driver, command: &Command) -> Result<Plan<'r>, Error> {
        let rows = self.history(driver)?;
        let plan = plan::plan(self.revisions(), &rows, command, &runner::policy(&self.config, driver.backend()))?;
        runner::refuse_blocked(&self.config, &plan.steps, driver.backend())?;
        Ok(plan)
    }

    /// Runs `command`, telling `observer` (`&mut ()` for none) of each step as it runs. With nothing to do it sends
    /// one statement (the history read) and takes no lock.
    ///
    /// # Errors
    /// Before anything runs: what [`plan::plan`] refuses, [`Error::LockTimeout`], [`Error::Database`]. While
    /// running: [`Error::Migration`] naming the revision, file and line of the failing statement and the revisions
    /// completed before it, which stay completed.
    pub fn run(
        &self,
        driver: &mut dyn Driver,
        command: &Command,
        observer: &mut dyn Observer,
    ) -> Result<Report, Error> {
        runner::run(self.revisions, &self.config, driver, std::slice::from_ref(command), observer, &|_, _| Ok(()))
    }

    /// The schema of the database `driver` is connected to, read from its catalog, the history table left out.
    ///
    /// # Errors
    /// [`Error::Database`] if the catalog cannot be read (or the driver cannot read one).
    pub fn snapshot(&self, driver: &mut dyn Driver) -> Result<Schema, Error> {
        driver.bind_history(&self.config.table);
        driver.snapshot().map_err(runner::db("reading the schema from the catalog"))
    }

    /// Takes each pending revision, in order, up, down and up again, comparing [`Schema`] snapshots: after its down
    /// the schema must be the one before its up, and after the second up the one after the first. A down the planner
    /// would not run (irreversible, or an empty file where empty downs are not allowed) is not tested and said so; a
    /// placeholder down it runs as a no-op is run and checked like any other, and said so. The trip stops at the
    /// first revision that fails, leaving the database as that revision left it, and the report says what differs.
    ///
    /// Meant for a scratch database (see the `migrate::testing` feature): it applies every pending revision.
    ///
    /// # Errors
    /// What the runs themselves refuse or fail with ([`Error::Migration`] for a failing statement), and
    /// [`Error::Database`] if a snapshot cannot be read. A down that does not undo its up is not an error: it is the
    /// report's [`RoundTrip::failure`].
    pub fn round_trip(&self, driver: &mut dyn Driver, observer: &mut dyn Observer) -> Result<RoundTrip, Error> {
        let mut trip = RoundTrip::default();
        let next = Command::Upgrade(Target::Relative(1));
        let back = Command::Downgrade(Target::Relative(-1));
        // One plan says which revisions are pending; each is then taken up, down and up again in its order. The
        // snapshot after a revision's trip is the one before the next revision's up, so it is read once.
        let pending = self.plan(driver, &Command::Upgrade(Target::Head))?;
        let mut carried = None;
        for step in &pending.steps {
            let revision = step.revision.clone();
            let again = Command::Upgrade(Target::Revision(revision.version.clone().into()));
            let before = match carried.take() {
                Some(schema) => schema,
                None => self.snapshot(driver)?,
            };
            self.run(driver, &next, observer)?;
            let after_up = self.snapshot(driver)?;
            let down = match self.plan(driver, &back) {
                Ok(plan) => plan,
                Err(Error::Irreversible { .. }) => {
                    let reason = "its down is marked irreversible".to_owned();
                    trip.checked.push((revision, Outcome::NotReversible(reason)));
                    carried = Some(after_up);
                    continue;
                }
                Err(Error::EmptyDown { file, .. }) => {
                    let reason = format!("{file} is empty and empty downs are not allowed (allow_empty_down)");
                    trip.checked.push((revision, Outcome::NotReversible(reason)));
                    carried = Some(after_up);
                    continue;
                }
                Err(err) => return Err(err),
            };
            let placeholder = down.steps.first().and_then(|s| match (&s.script, s.known) {
                (None, Some(known)) => Some(known.down(driver.backend()).kind()),
                _ => None,
            });
            self.run(driver, &back, observer)?;
            let after_down = self.snapshot(driver)?;
            let differences = schema::diff(&before, &after_down);
            if !differences.is_empty() {
                trip.failure = Some(Failure { revision, phase: Phase::Down, placeholder, differences });
                return Ok(trip);
            }
            self.run(driver, &again, observer)?;
            let after_again = self.snapshot(driver)?;
            let differences = schema::diff(&after_up, &after_again);
            if !differences.is_empty() {
                trip.failure = Some(Failure { revision, phase: Phase::UpAgain, placeholder, differences });
                return Ok(trip);
            }
            let outcome = placeholder.map_or(Outcome::Passed, Outcome::Placeholder);
            trip.checked.push((revision, outcome));
            carried = Some(after_again);
        }
        Ok(trip)
    }

    /// Applies pending revisions up to `target` (`head` for all).
    ///
    /// # Errors
    /// As [`Migrator::run`].
    pub fn upgrade(
        &self,
        driver: &mut dyn Driver,
        target: Target,
        observer: &mut dyn Observer,
    ) -> Result<Report, Error> {
        self.run(driver, &Command::Upgrade(target), observer)
    }

    /// Reverts applied revisions down to `target`, which stays applied (`base` for all).
    ///
    /// # Errors
    /// As [`Migrator::run`], and [`Error::Irreversible`], [`Error::EmptyDown`].
    pub fn downgrade(
        &self,
        driver: &mut dyn Driver,
        target: Target,
        observer: &mut dyn Observer,
    ) -> Result<Report, Error> {
        self.run(driver, &Command::Downgrade(target), observer)
    }

    /// Records the database as being at `target` without running any SQL.
    ///
    /// # Errors
    /// As [`Migrator::run`].
    pub fn stamp(&self, driver: &mut dyn Driver, target: Target, observer: &mut dyn Observer) -> Result<Report, Error> {
        self.run(driver, &Command::Stamp(target), observer)
    }

    /// What [`Migrator::redo`] of the newest `count` revisions would do, checked as the redo checks it.
    ///
    /// # Errors
    /// [`Error::NotRedoable`] when the same revisions could not be applied again (one is not in this binary, has a
    /// placeholder down file, or pending revisions lie between them); what the downgrade and upgrade refuse.
    pub fn plan_redo(&self, driver: &mut dyn Driver, count: u32) -> Result<Redo<'r>, Error> {
        let rows = self.history(driver)?;
        self.redo_plans(&rows, count, driver.backend())
    }

    fn redo_plans(&self, rows: &[AppliedRow], count: u32, backend: Backend) -> Result<Redo<'r>, Error> {
        let policy = plan::Policy { single_transaction: false, ..runner::policy(&self.config, backend) };
        let down = plan::plan(self.revisions(), rows, &redo_down(count), &policy)?;
        if let Some(step) = down.steps.iter().find(|s| s.known.is_none()) {
            return Err(Error::NotRedoable { reason: RedoRefusal::Unknown { revision: step.revision.clone() } });
        }
        if let Some(step) = down.steps.iter().find(|s| s.script.is_none()) {
            return Err(Error::NotRedoable {
                reason: RedoRefusal::EmptyDown { revision: step.revision.clone(), file: step.file.clone() },
            });
        }
        let reverted: Vec<&str> = down.steps.iter().map(|s| s.revision.version.as_str()).collect();
        let after: Vec<AppliedRow> = rows.iter().filter(|r| !reverted.contains(&r.version.as_str())).cloned().collect();
        let up = plan::plan(self.revisions(), &after, &redo_up(&down), &policy)?;
        let pending: Vec<RevisionId> = up
            .steps
            .iter()
            .filter(|s| !reverted.contains(&s.revision.version.as_str()))
            .map(|s| s.revision.clone())
            .collect();
        if !pending.is_empty() {
            return Err(Error::NotRedoable { reason: RedoRefusal::PendingBetween { pending } });
        }
        Ok(Redo { down, up })
    }

    /// Reverts the newest `count` revisions and applies them again, under one hold of the lock, so no other runner
    /// comes between the two; the whole redo is planned under the lock and refused if the database moved.
    ///
    /// # Errors
    /// As [`Migrator::plan_redo`]; [`Error::Moved`] if, under the lock, the database is no longer where the redo was
    /// planned (nothing was run); as [`Migrator::run`] while running. A failure while applying again leaves the
    /// reverted revisions reverted.
    pub fn redo(&self, driver: &mut dyn Driver, count: u32, observer: &mut dyn Observer) -> Result<Report, Error> {
        let planned = self.plan_redo(driver, count)?;
        let reverted: Vec<String> = planned.down.steps.iter().map(|s| s.revision.version.clone()).collect();
        let expected = [reverted.clone(), reverted.iter().rev().cloned().collect::<Vec<_>>()];
        let check = |index: usize, plan: &Plan<'_>| {
            let found: Vec<String> = plan.steps.iter().map(|s| s.revision.version.clone()).collect();
            if found == expected[index] {
                return Ok(());
            }
            let doing = if index == 0 { "revert" } else { "apply again" };
            Err(Error::Moved {
                message: format!(
                    "redo was to {doing} {}, but would now {doing} {}",
                    expected[index].join(", "),
                    if found.is_empty() { "nothing".to_owned() } else { found.join(", ") }
                ),
            })
        };
        let commands = [redo_down(count), redo_up(&planned.down)];
        runner::run(self.revisions, &self.config, driver, &commands, observer, &check)
    }

    /// What [`Migrator::import`] would record, read without the lock; nothing is written.
    ///
    /// # Errors
    /// As [`Migrator::import`], but for the lock.
    pub fn plan_import(
        &self,
        driver: &mut dyn Driver,
        foreign: Foreign,
        allow_unknown: bool,
    ) -> Result<Imported, Error> {
        let ours = runner::read_history(driver, &self.config.table)?;
        Ok(import::plan_import(self.revisions(), driver, foreign, allow_unknown, &ours)?.0)
    }

    /// Adopts a database another tool migrated: each version its history table records (diesel's
    /// `__diesel_schema_migrations`, …) is matched to a revision of this list and recorded as applied here, with
    /// this list's checksums and `runner` saying where it came from, in one transaction under the lock. Versions
    /// already recorded here are left as they are, so importing twice changes nothing; the other tool's table is not
    /// touched. An application can adopt at start-up: import when this history table does not exist yet and the other
    /// tool's does, then upgrade.
    ///
    /// # Errors
    /// [`Error::Import`] when the other tool's table is not there, or records versions this list does not have
    /// (unless `allow_unknown`, which leaves them out); lock and database errors.
    pub fn import(&self, driver: &mut dyn Driver, foreign: Foreign, allow_unknown: bool) -> Result<Imported, Error> {
        import::import(self.revisions(), &self.config, driver, foreign, allow_unknown)
    }

    /// Where [`Migrator::resume`] would continue the dirty revision, checked as resume checks it.
    ///
    /// # Errors
    /// [`Error::Resume`] if nothing is dirty, this binary does not have an upgrading revision, or the statements that
    /// ran changed; [`Error::Irreversible`] for a revert with no down SQL.
    pub fn plan_resume(&self, driver: &mut dyn Driver) -> Result<ResumePoint<'r>, Error> {
        let rows = self.history(driver)?;
        repair::resume_point(self.revisions(), &rows, driver.backend())
    }

    /// Continues the dirty revision from its failed statement, after checking that the statements that already ran
    /// are unchanged in the file.
    ///
    /// # Errors
    /// As [`Migrator::plan_resume`]; [`Error::Migration`] if a statement fails again (the revision stays dirty, with
    /// its progress); lock and database errors.
    pub fn resume(&self, driver: &mut dyn Driver, observer: &mut dyn Observer) -> Result<Report, Error> {
        repair::resume(self.revisions(), &self.config, driver, observer, None)
    }

    /// As [`Migrator::resume`], for a revision whose next statement is in doubt and which the catalog cannot settle:
    /// `answer` says whether that statement took effect (resume goes on after it) or not (it runs again).
    ///
    /// # Errors
    /// As [`Migrator::resume`]; [`Error::Resume`] if no statement is in doubt.
    pub fn resume_with(
        &self,
        driver: &mut dyn Driver,
        observer: &mut dyn Observer,
        answer: InDoubt,
    ) -> Result<Report, Error> {
        repair::resume(self.revisions(), &self.config, driver, observer, Some(answer))
    }

    /// How [`Migrator::resume`] would settle the statement in doubt at `point` (from the catalog, read through
    /// `driver`; nothing is written), or `answer` given.
    ///
    /// # Errors
    /// [`Error::Resume`] when nothing tells and no answer was given; database errors.
    pub fn plan_settle(
        &self,
        driver: &mut dyn Driver,
        point: &ResumePoint<'_>,
        answer: Option<InDoubt>,
    ) -> Result<Option<Settled>, Error> {
        match &point.in_doubt {
            Some(doubtful) => repair::settle(driver, point, doubtful, answer).map(Some),
            None => Ok(None),
        }
    }

    /// The dirty revision [`Migrator::resolve`] would settle, checked as resolve checks it.
    ///
    /// # Errors
    /// [`Error::TargetNotFound`] if `reference` names nothing; [`Error::Resume`] if nothing is dirty, or another
    /// revision is.
    pub fn plan_resolve(&self, driver: &mut dyn Driver, reference: &str) -> Result<RevisionId, Error> {
        let rows = self.history(driver)?;
        Ok(repair::dirty_revision(self.revisions(), &rows, reference)?.0)
    }

    /// Records how the dirty revision `reference` was settled by hand, running nothing of it.
    ///
    /// # Errors
    /// As [`Migrator::plan_resolve`]; lock and database errors.
    pub fn resolve(&self, driver: &mut dyn Driver, reference: &str, how: Resolution) -> Result<RevisionId, Error> {
        repair::resolve(self.revisions(), &self.config, driver, reference, how)
    }

    /// The changed files [`Migrator::accept`] would record for applied revision `reference`.
    ///
    /// # Errors
    /// [`Error::TargetNotFound`] if `reference` names no applied revision of this binary; database errors.
    pub fn plan_accept(&self, driver: &mut dyn Driver, reference: &str) -> Result<Vec<ChangedFile>, Error> {
        let rows = self.history(driver)?;
        let (row, revision) = repair::accept_target(self.revisions(), &rows, reference)?;
        Ok(plan::changed_files(row, revision, driver.backend()))
    }

    /// Accepts on purpose that the files of applied revision `reference` changed: records their current checksums
    /// and down SQL, running nothing. Returns the files whose record changed (empty if none had).
    ///
    /// # Errors
    /// As [`Migrator::plan_accept`]; lock and database errors.
    pub fn accept(&self, driver: &mut dyn Driver, reference: &str) -> Result<Vec<ChangedFile>, Error> {
        repair::accept(self.revisions(), &self.config, driver, reference)
    }

    /// Where each revision stands in the database (applied, pending, dirty; changed, missing, out of order), by the
    /// planner's rules. Reads only; no lock.
    ///
    /// # Errors
    /// [`Error::Database`] if the history cannot be read.
    pub fn status(&self, driver: &mut dyn Driver) -> Result<Vec<Entry<'r>>, Error> {
        let rows = self.history(driver)?;
        Ok(self.status_of(&rows, driver.backend()))
    }

    /// Where each revision stands against history `rows` read from a `backend` database (pure).
    pub fn status_of(&self, rows: &[AppliedRow], backend: Backend) -> Vec<Entry<'r>> {
        status::status(self.revisions(), rows, backend)
    }

    /// The script that carries out `command` on a `backend` database assumed to be at `from` (`base`, `head` or a
    /// revision), written without a connection: planned by the same rules as a live run, with its protocol.
    ///
    /// # Errors
    /// What planning refuses; [`Error::TargetNotFound`] if `from` names no revision or is relative.
    pub fn script(&self, backend: Backend, command: &Command, from: &Target) -> Result<Offline<'r>, Error> {
        let upto = |version: Option<&str>| -> Vec<AppliedRow> {
            self.revisions()
                .iter()
                .filter(|r| version.is_none_or(|v| r.version() <= v))
                .map(|r| AppliedRow::for_revision(r, backend))
                .collect()
        };
        let assumed = match from {
            Target::Base => Vec::new(),
            Target::Head => upto(None),
            Target::Revision(reference) => upto(Some(&self.find(reference, &[])?.version)),
            Target::Relative(_) => {
                return Err(Error::TargetNotFound {
                    target: from.to_string(),
                    detail: "is not a position to write a script from; give a revision, head or base".to_owned(),
                })
            }
        };
        let plan = plan::plan(self.revisions(), &assumed, command, &runner::policy(&self.config, backend))?;
        runner::refuse_blocked(&self.config, &plan.steps, backend)?;
        let after = plan.after(&assumed);
        let options = ScriptOptions::of(backend, &self.config);
        Ok(Offline { plan, after, options })
    }
}

fn redo_down(count: u32) -> Command {
    Command::Downgrade(Target::Relative(-i64::from(count)))
}

/// The upgrade that applies again what `down` reverts: up to the newest revision it reverts.
fn redo_up(down: &Plan<'_>) -> Command {
    let top = down.steps.first().map(|s| s.revision.version.clone()).unwrap_or_default();
    Command::Upgrade(Target::Revision(top.into()))
}
