//! The runner: reads the history, plans, takes the lock, re-plans under it, and applies the steps.
//!
//! The order of operations, the same on every database:
//! 1. read the history table (one statement) and plan; if there is nothing to do, stop: no lock is taken;
//! 2. take the migration lock (bounded wait), create the history table if needed, read it again and re-plan, since
//!    another process may have migrated meanwhile;
//! 3. run each step: a transactional script and its history row commit together; a `no-transaction` script (and,
//!    where DDL commits implicitly, every script) runs statement by statement behind a history row marked dirty,
//!    with its progress recorded after each statement;
//! 4. release the lock, on every path (the guard does it on errors and panics).

use std::time::{Duration, Instant};

use crate::config::{Config, HistoryTable};
use crate::error::{DbError, Error, FailureOutcome, MigrationFailure, StopPoint};
use crate::folder::packed::{Expected, List};
use crate::folder::scan::{Blocks, Severity};
use crate::history::read::{Rows, Visit};
use crate::history::{self, AppliedRow, History, RowState, RowWrite, Selection};
use crate::plan::{self, Action, Command, Plan, Policy, Step, Target};
use crate::revision::{Backend, RevisionId, Script};
use crate::run::driver::{Continuity, Driver, ExecFailure, RowChange, ScriptFailure, StepFailure};
use crate::run::lock::{LockGuard, Transaction};
use crate::run::retry::{self, Retries};
use crate::sql::{self, Statement};

/// One step that ran.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct StepReport {
    /// What it did.
    pub action: Action,
    /// Which revision.
    pub revision: RevisionId,
    /// How long it took.
    pub duration: Duration,
    /// How many times it was tried: more than 1 when its lock wait ran out and it was tried again
    /// ([`Config::lock_retry`]).
    pub tries: u32,
}

/// What a run did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Report {
    /// The newest applied revision before the run.
    pub before: Option<RevisionId>,
    /// The newest applied revision after it.
    pub after: Option<RevisionId>,
    /// The steps that ran, in order; empty when there was nothing to do.
    pub steps: Vec<StepReport>,
    /// The folder's warnings ([`crate::Severity::Warning`]) about files those steps ran, on this backend (from
    /// [`Config::folder_problems`]: a folder scanned at run time), each once.
    pub warnings: Vec<crate::folder::scan::Problem>,
}

impl Report {
    /// `true` when the run changed nothing.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }
}

pub(crate) fn db(context: impl Into<String>) -> impl FnOnce(DbError) -> Error {
    let context = context.into();
    move |source| Error::Database { context, source }
}

/// What `selection` reads of the history table: no rows if the table does not exist yet. One statement.
fn select(driver: &mut dyn Driver, table: &HistoryTable, selection: Selection) -> Result<History, Error> {
    driver.bind_history(table);
    let sql = selection.sql(&driver.history_name());
    let mut rows = Rows::new(selection);
    let found = driver.select(&sql, &mut rows).map_err(db("reading the history table"))?;
    Ok(History { found, ..rows.into_history() })
}

/// The rows of the history table, oldest first; none if the table does not exist yet. One statement, and nothing
/// written: a table made by an earlier version is read as it is.
///
/// # Errors
/// [`Error::Database`] if the table cannot be read.
pub(crate) fn read_history(driver: &mut dyn Driver, table: &HistoryTable) -> Result<Vec<AppliedRow>, Error> {
    Ok(select(driver, table, Selection::Full)?.rows)
}

/// The rows of the history table, as [`read_history`], read under the lock by a command that goes on to write: a
/// table made by an earlier version gets the columns added since ([`history::ADDED`]), and with `create`, a table
/// that is not there is created. A table that is there is never created again, so a role that may write it but not
/// create objects can run data revisions.
///
/// # Errors
/// [`Error::Database`] if the table cannot be read, created or given a column.
pub(crate) fn read_for_writing(driver: &mut dyn Driver, table: &HistoryTable, create: bool) -> Result<History, Error> {
    let read = select(driver, table, Selection::Full)?;
    if !read.found && create {
        driver.create_history().map_err(db("creating the history table"))?;
    }
    if !read.missing.is_empty() {
        let backend = driver.backend();
        for sql in history::add_columns_sql(backend, &driver.history_name(), &read.missing) {
            match driver.execute(&sql) {
                Err(err) if !history::is_duplicate_column(backend, &err) => {
                    return Err(db("adding the columns of this version to the history table")(err));
                }
                _ => {}
            }
        }
    }
    Ok(read)
}

/// The planner's rules for a run of `config` on `backend`.
pub(crate) fn policy(config: &Config, backend: Backend) -> Policy {
    Policy {
        backend,
        out_of_order: config.out_of_order,
        allow_empty_down: config.allow_empty_down,
        single_transaction: config.single_transaction,
    }
}

/// Hears what a run does while it does it, for progress output. Every method has an empty default body, and `()`
/// is the observer that ignores everything.
pub trait Observer {
    /// Step `index` (0-based) of the `total` planned so far is about to run.
    fn step_started(&mut self, step: &Step<'_>, index: usize, total: usize) {
        let _ = (step, index, total);
    }

    /// Statement `index` (0-based) of the `total` in a step that runs statement by statement is about to run.
    fn statement_started(&mut self, step: &Step<'_>, index: usize, total: usize) {
        let _ = (step, index, total);
    }

    /// A step finished.
    fn step_finished(&mut self, report: &StepReport) {
        let _ = report;
    }

    /// The lock wait of try `tries` of `step` ran out with `error`, the lock `held_by` the sessions named where the
    /// database could tell; it is tried again after `pause`.
    fn lock_wait_ran_out(
        &mut self,
        step: &Step<'_>,
        tries: u32,
        error: &DbError,
        held_by: Option<&str>,
        pause: Duration,
    ) {
        let _ = (step, tries, error, held_by, pause);
    }
}

/// How the steps of a plan ended, when no error ended them.
enum Outcome {
    /// They ran; the lock held throughout or not.
    Ran(Continuity),
    /// A step's lock wait ran out and left nothing behind: the plan is made again, after the pause, and the step
    /// tried again.
    TryAgain(Duration),
}

impl Observer for () {}

/// What a run must find: `check(index, plan)` sees each command's first plan made under the lock, before any of its
/// steps run, and may refuse it (typically with [`Error::Moved`]).
pub(crate) type Check<'c> = &'c dyn Fn(usize, &Plan<'_>) -> Result<(), Error>;

/// Runs `commands` one after the other under one hold of the lock (a redo is a downgrade and an upgrade that no
/// other runner may come between), telling `observer` about each step as it runs, with `check` judging each
/// command's first plan under the lock. See the module documentation for the order of operations.
///
/// # Errors
/// Before anything runs: what [`plan::plan`] refuses, [`Error::LockTimeout`], [`Error::Database`]. While running:
/// [`Error::Migration`] naming the revision, file and line of the failing statement and the revisions completed
/// before it, which stay completed. A later command is planned, and may be refused, only once the earlier ones have
/// run; what `check` returns (commands before the refused one have run and stay).
pub(crate) fn run(
    list: List<'_>,
    config: &Config,
    driver: &mut dyn Driver,
    commands: &[Command],
    observer: &mut dyn Observer,
    check: Check<'_>,
) -> Result<Report, Error> {
    let policy = policy(config, driver.backend());
    let upgrade = config.lock && commands.len() == 1 && matches!(commands[0], Command::Upgrade(_));
    // The start-up call: nothing to do is decided from one read of the history, no row copied.
    // An embedded list is read in its embedded form here, and decoded only if there is more to do.
    if upgrade && matches!(commands[0], Command::Upgrade(Target::Head)) {
        let backend = driver.backend();
        let current = match list {
            List::Slice(revisions) => up_to_date(revisions.iter().map(|r| Expected::of(r, backend)), driver, config)?,
            List::Embedded(embedded) => up_to_date(embedded.packed().expected(backend), driver, config)?,
        };
        if let Some(current) = current {
            return Ok(Report { before: current.clone(), after: current, steps: Vec::new(), warnings: Vec::new() });
        }
    }
    let revisions = list.revisions();
    // An upgrade decides from versions, checksums and states alone; the rest is read under the lock if it goes on.
    let rows = if upgrade {
        select(driver, &config.table, Selection::Brief)?.rows
    } else {
        read_history(driver, &config.table)?
    };
    let Some(first_command) = commands.first() else {
        return Ok(Report { before: newest(&rows), after: newest(&rows), steps: Vec::new(), warnings: Vec::new() });
    };
    let before = match plan::plan(revisions, &rows, first_command, &policy) {
        Ok(first) if first.is_empty() && commands.len() == 1 => {
            return Ok(Report {
                after: first.current.clone(),
                before: first.current,
                steps: Vec::new(),
                warnings: Vec::new(),
            });
        }
        Ok(first) => first.current,
        // Seen without the lock, a dirty row may be a revision another runner is applying right now (on MySQL every
        // revision looks like that while it runs): wait for the lock, then judge.
        Err(Error::Dirty { .. }) if config.lock => newest(&rows),
        Err(err) => return Err(err),
    };
    if config.single_transaction && !driver.transactional_ddl() {
        let first = plan::plan(revisions, &rows, first_command, &Policy { single_transaction: false, ..policy })?;
        if let Some(step) = first.steps.iter().find(|s| s.script.is_some()) {
            return Err(Error::NotTransactional {
                revision: step.revision.clone(),
                file: step.file.clone(),
                reason: format!("{} commits DDL implicitly, so a run cannot be one transaction", driver.backend()),
            });
        }
    }
    let mut guard = lock(driver, config)?;
    let mut retries = Retries::default();
    let mut done = Vec::new();
    let mut warnings = Vec::new();
    let mut after = before.clone();
    // Since when this runner has been waiting for another that applies a revision without the lock.
    let mut waiting: Option<Instant> = None;
    // The history as last read while another runner, whose session cannot be looked up, had a revision dirty, and
    // since when it has been so.
    let mut watched: Option<(Vec<AppliedRow>, Instant)> = None;
    for (index, command) in commands.iter().enumerate() {
        // Work follows this command's plan: the lock must still be held when the next command is planned.
        let then_more = index + 1 < commands.len();
        let mut command = command.clone();
        let mut pinned = false;
        loop {
            let rows = read_for_writing(guard.driver(), &config.table, true)?.rows;
            // Where the lock is not held while a revision runs statement by statement (PostgreSQL's
            // transaction-scoped mode), another runner may be applying one right now: wait for it, the lock let go,
            // within the lock wait.
            if let Some(holder) = live_runner(guard.driver(), &rows)? {
                let since = *waiting.get_or_insert_with(Instant::now);
                if since.elapsed() >= config.lock_wait {
                    return Err(Error::LockTimeout { waited: since.elapsed(), holder: Some(holder) });
                }
                match guard.retake(Duration::from_millis(50), config.lock_wait.saturating_sub(since.elapsed())) {
                    // The wait is the whole of it, not the last try's.
                    Err(Error::LockTimeout { holder: other, .. }) => {
                        return Err(Error::LockTimeout { waited: since.elapsed(), holder: other.or(Some(holder)) })
                    }
                    other => other?,
                }
                continue;
            }
            // A runner whose session cannot be looked up (behind a pooler in transaction mode, where the server
            // session is not the client's) is taken for alive while its row changes, and for stopped once it has not
            // changed for the lock wait; until then this runner waits, the lock let go.
            if let Some(holder) = unknown_runner(guard.driver(), &rows)? {
                let (seen, since) = watched.get_or_insert_with(|| (rows.clone(), Instant::now()));
                if *seen != rows {
                    (*seen, *since) = (rows.clone(), Instant::now());
                }
                let quiet = since.elapsed();
                if quiet < config.lock_wait {
                    match guard.retake(Duration::from_millis(50), config.lock_wait.saturating_sub(quiet)) {
                        // The wait is the whole of it, not the last try's.
                        Err(Error::LockTimeout { holder: other, .. }) => {
                            return Err(Error::LockTimeout { waited: since.elapsed(), holder: other.or(Some(holder)) })
                        }
                        other => other?,
                    }
                    continue;
                }
                return Err(Error::LockTimeout {
                    waited: quiet,
                    holder: Some(format!(
                        "{holder}, whose row has not changed for {:.0} s: if no runner is at work, `resume` or \
                         `resolve` it",
                        quiet.as_secs_f64()
                    )),
                });
            }
            // The runner of a dirty row, found gone, may have finished between the read and the check (and ended
            // its session): the row it left says so. Read again before calling the revision dirty.
            if foreign_dirty(guard.driver(), &rows) {
                let again = read_for_writing(guard.driver(), &config.table, true)?.rows;
                if again != rows {
                    let since = *waiting.get_or_insert_with(Instant::now);
                    if since.elapsed() >= config.lock_wait {
                        return Err(Error::LockTimeout { waited: since.elapsed(), holder: None });
                    }
                    continue;
                }
            }
            waiting = None;
            let plan = plan::plan(revisions, &rows, &command, &policy)?;
            let backend = guard.driver().backend();
            refuse_blocked(config, &plan.steps, backend)?;
            if let Some((_, problems)) = &config.folder_problems {
                // Those about the files the steps run; a folder-wide one (a loose file) is for `verify` to say.
                for warning in plan::concerning(&plan.steps, problems, backend) {
                    let about_a_file = !matches!(warning.about(), Blocks::Everything);
                    if warning.severity == Severity::Warning && about_a_file && !warnings.contains(&warning) {
                        warnings.push(warning);
                    }
                }
            }
            if !pinned {
                check(index, &plan)?;
            }
            if plan.is_empty() {
                after = newest(&rows);
                break;
            }
            if !pinned {
                // Relative targets count from the state found under the lock; should the lock be interrupted
                // (SQLite between commits), re-planning must aim at the same revision, not count again.
                command = pin(&command, &plan, &rows);
                pinned = true;
            }
            let continuity =
                match execute(guard.driver(), config, &plan, &rows, then_more, &mut done, &mut retries, observer)? {
                    Outcome::Ran(continuity) => continuity,
                    // The lock goes meanwhile (a transaction-scoped one went with the revision's transaction), and
                    // the history is read again under it: another runner may have applied the revision.
                    Outcome::TryAgain(pause) => {
                        if !guard.retake_unless_stopped(&config.cancel, pause, config.lock_wait)? {
                            return Err(stopped(&done, StopPoint::Between));
                        }
                        continue;
                    }
                };
            if continuity == Continuity::Held {
                after = plan.after(&rows);
                break;
            }
        }
    }
    guard.release()?;
    Ok(Report { before, after, steps: done, warnings })
}

/// Whether an upgrade to head has nothing to do: every revision of `expected` recorded applied, in order, with the
/// checksums its files have on this backend, and nothing else recorded. Decided while the driver reads the rows,
/// without copying them or allocating per revision. `Some(current)` when so; `None` when anything else is found
/// (something pending, a changed file, a dirty or unknown row, another order), for the full plan to say what and why.
fn up_to_date<'e>(
    mut expected: impl Iterator<Item = Expected<'e>>,
    driver: &mut dyn Driver,
    config: &Config,
) -> Result<Option<Option<RevisionId>>, Error> {
    let mut last: Option<Expected<'e>> = None;
    let mut same = true;
    driver.bind_history(&config.table);
    let sql = Selection::Visit.sql(&driver.history_name());
    driver
        .select(
            &sql,
            &mut Visit::new(&mut |row| {
                let Some(e) = expected.next() else {
                    same = false;
                    return false;
                };
                same = row.version == e.version
                    && row.state == RowState::Applied.as_str()
                    && e.up.matches_hex(row.up_checksum)
                    && match (e.down, row.down_checksum) {
                        (Some(checksum), Some(hex)) => checksum.matches_hex(hex),
                        (None, None) => true,
                        _ => false,
                    };
                last = Some(e);
                same
            }),
        )
        .map_err(db("reading the history table"))?;
    // Every row matched a revision, and no revision was left over (an absent table has no rows, so it matches only
    // an empty list).
    if !same || expected.next().is_some() {
        return Ok(None);
    }
    Ok(Some(last.map(|e| RevisionId { version: e.version.to_owned(), name: e.name.to_owned() })))
}

/// Refuses `steps` on `backend` if a problem of the folder ([`Config::folder_problems`]) stands in their way.
pub(crate) fn refuse_blocked(config: &Config, steps: &[Step<'_>], backend: Backend) -> Result<(), Error> {
    let Some((folder, problems)) = &config.folder_problems else { return Ok(()) };
    let blocking = plan::blocked_by(steps, problems, backend);
    if blocking.is_empty() {
        return Ok(());
    }
    Err(Error::Scan { folder: folder.clone(), problems: blocking })
}

/// Who is applying a dirty revision of `rows` right now, if its runner's session is alive (and is not this one).
pub(crate) fn live_runner(driver: &mut dyn Driver, rows: &[AppliedRow]) -> Result<Option<String>, Error> {
    let own = driver.runner_id();
    for row in rows.iter().filter(|r| r.state.is_dirty()) {
        let Some(runner) = row.runner.as_deref().filter(|r| Some(*r) != own.as_deref()) else { continue };
        let alive = driver.runner_alive(runner).map_err(db("checking whether a dirty revision's runner is alive"))?;
        if alive == Some(true) {
            return Ok(Some(format!("a live runner ({runner}) applying revision {} ({})", row.version, row.name)));
        }
    }
    Ok(None)
}

/// A dirty revision of `rows` written by another runner whose session the driver cannot look up
/// ([`Driver::runner_alive`] is `None`), in words.
fn unknown_runner(driver: &mut dyn Driver, rows: &[AppliedRow]) -> Result<Option<String>, Error> {
    let own = driver.runner_id();
    for row in rows.iter().filter(|r| r.state.is_dirty()) {
        let Some(runner) = row.runner.as_deref().filter(|r| Some(*r) != own.as_deref()) else { continue };
        let alive = driver.runner_alive(runner).map_err(db("checking whether a dirty revision's runner is alive"))?;
        if alive.is_none() {
            return Ok(Some(format!("a runner ({runner}) applying revision {} ({})", row.version, row.name)));
        }
    }
    Ok(None)
}

/// Whether a dirty row of `rows` was written by another runner's session.
fn foreign_dirty(driver: &mut dyn Driver, rows: &[AppliedRow]) -> bool {
    let own = driver.runner_id();
    rows.iter().any(|r| r.state.is_dirty() && r.runner.is_some() && r.runner != own)
}

/// The newest revision a history records.
pub(crate) fn newest(rows: &[AppliedRow]) -> Option<RevisionId> {
    rows.iter()
        .max_by(|a, b| a.version.cmp(&b.version))
        .map(|r| RevisionId { version: r.version.clone(), name: r.name.clone() })
}

pub(crate) fn lock<'d>(driver: &'d mut dyn Driver, config: &'d Config) -> Result<LockGuard<'d>, Error> {
    if config.lock {
        LockGuard::acquire(driver, &config.table, config.lock_wait)
    } else {
        Ok(LockGuard::unlocked(driver, &config.table))
    }
}

fn pin(command: &Command, plan: &Plan<'_>, rows: &[AppliedRow]) -> Command {
    let last = plan.steps.last().map(|s| s.revision.version.clone()).unwrap_or_default();
    match command {
        Command::Upgrade(Target::Relative(_)) => Command::Upgrade(Target::Revision(last.into())),
        Command::Downgrade(Target::Relative(_)) => {
            let below = rows.iter().filter(|r| r.version < last).map(|r| &r.version).max();
            Command::Downgrade(below.map_or(Target::Base, |v| Target::Revision(v.clone().into())))
        }
        other => other.clone(),
    }
}

#[allow(clippy::too_many_arguments)]
fn execute(
    driver: &mut dyn Driver,
    config: &Config,
    plan: &Plan<'_>,
    rows: &[AppliedRow],
    then_more: bool,
    done: &mut Vec<StepReport>,
    retries: &mut Retries,
    observer: &mut dyn Observer,
) -> Result<Outcome, Error> {
    if config.single_transaction {
        return execute_in_one_transaction(driver, config, plan, done, retries, observer);
    }
    let count = plan.steps.len();
    for (index, step) in plan.steps.iter().enumerate() {
        if config.cancel.is_cancelled() {
            return Err(stopped(done, StopPoint::Between));
        }
        let more = index + 1 < count || then_more;
        observer.step_started(step, done.len(), done.len() + count - index);
        let started = Instant::now();
        let timeout = lock_timeout(config, step.script.as_deref());
        driver.set_lock_timeout(timeout);
        let continuity = match &step.script {
            Some(script) if !script.transaction() || !driver.transactional_ddl() => {
                let mut row = dirty_row(step, rows, driver.backend());
                row.runner = driver.runner_id();
                statement_by_statement(driver, config, step, script, row, true, 0, more, done, retries, observer)?
            }
            script => {
                let sql = script.as_ref().map_or("", |s| s.sql());
                let statements = sql::split(sql, driver.backend());
                let mut change = row_change(step, driver.backend())?;
                if let RowChange::Insert(row) = &mut change {
                    row.tries = i64::from(retries.tries(&step.revision));
                }
                // A stop asked for while it runs interrupts it (where the caller said how), which rolls it back.
                let interruptible = config.cancel.interruptible();
                if config.cancel.is_cancelled() {
                    return Err(stopped(done, StopPoint::Between));
                }
                let result = driver.apply_in_transaction(sql, &statements, change, more);
                drop(interruptible);
                match result {
                    Ok(continuity) => continuity,
                    Err(StepFailure::Script(_) | StepFailure::Database(_)) if config.cancel.is_cancelled() => {
                        return Err(stopped(done, StopPoint::RolledBack(step.revision.clone())))
                    }
                    Err(StepFailure::Script(failure)) => {
                        let held_by = held_by(driver, &statements, &failure);
                        // Rolled back, so nothing of it stays: tried again within the budget.
                        if let Some(pause) = retries.after(config, timeout, &step.revision, &failure.error) {
                            let tries = retries.tries(&step.revision) - 1;
                            observer.lock_wait_ran_out(step, tries, &failure.error, held_by.as_deref(), pause);
                            return Ok(Outcome::TryAgain(pause));
                        }
                        let err = failure_error(step, &statements, failure, FailureOutcome::RolledBack, done);
                        return Err(with_tries(err, retries, step, held_by));
                    }
                    Err(StepFailure::Database(source)) => {
                        return Err(Error::Database {
                            context: format!("applying revision {} (rolled back)", step.revision),
                            source,
                        })
                    }
                    Err(StepFailure::Committed(source)) => {
                        return Err(Error::Database {
                            context: format!(
                                "revision {} was applied and committed, but taking the migration lock again failed \
                                 (run again to go on)",
                                step.revision
                            ),
                            source,
                        })
                    }
                }
            }
        };
        log_step(step, started.elapsed());
        let report = StepReport {
            action: step.action,
            revision: step.revision.clone(),
            duration: started.elapsed(),
            tries: retries.tries(&step.revision),
        };
        observer.step_finished(&report);
        done.push(report);
        if continuity == Continuity::Interrupted && more {
            return Ok(Outcome::Ran(Continuity::Interrupted));
        }
    }
    Ok(Outcome::Ran(Continuity::Held))
}

/// How long the statements of `script` wait for a lock: its `-- migrate:lock-timeout` where it has one, else the
/// run's.
fn lock_timeout(config: &Config, script: Option<&Script>) -> Option<Duration> {
    script.and_then(|s| sql::lock_timeout_directive(s.sql())).unwrap_or(config.lock_timeout)
}

/// `err` with how many times its revision was tried and who held the lock, where its lock wait ran out.
fn with_tries(mut err: Error, retries: &Retries, step: &Step<'_>, held_by: Option<String>) -> Error {
    if let Error::Migration(failure) = &mut err {
        failure.tries = retries.tries(&step.revision);
        failure.tried_for = retries.spent(&step.revision);
        failure.held_by = held_by;
    }
    err
}

/// Who holds the lock the failed statement waited for, where its lock wait ran out and the database can tell.
fn held_by(driver: &mut dyn Driver, statements: &[Statement<'_>], failure: &ScriptFailure) -> Option<String> {
    let statement = statements.get(failure.index).filter(|_| failure.error.lock_wait_ran_out())?;
    holders(driver, statement.text)
}

/// [`Driver::lock_holders`] of `statement`; a failure to tell is logged, not reported.
fn holders(driver: &mut dyn Driver, statement: &str) -> Option<String> {
    driver.lock_holders(statement).unwrap_or_else(|err| {
        log::warn!("reading who holds the lock a statement waited for: {err}");
        None
    })
}

fn log_step(step: &Step<'_>, took: Duration) {
    let verb = match step.action {
        Action::Apply => "applied",
        Action::Revert => "reverted",
        Action::StampApplied => "stamped as applied",
        Action::StampReverted => "stamped as not applied",
    };
    log::info!("{verb} {} in {:.1} ms", step.revision, took.as_secs_f64() * 1e3);
}

fn execute_in_one_transaction(
    driver: &mut dyn Driver,
    config: &Config,
    plan: &Plan<'_>,
    done: &mut Vec<StepReport>,
    retries: &mut Retries,
    observer: &mut dyn Observer,
) -> Result<Outcome, Error> {
    if !driver.transactional_ddl() && plan.steps.iter().any(|s| s.script.is_some()) {
        return Err(Error::NotTransactional {
            revision: plan.steps[0].revision.clone(),
            file: plan.steps[0].file.clone(),
            reason: format!("{} commits DDL implicitly, so a run cannot be one transaction", driver.backend()),
        });
    }
    let mut tx = Transaction::begin(driver).map_err(db("opening a transaction"))?;
    let mut in_run = Vec::new();
    for (index, step) in plan.steps.iter().enumerate() {
        if config.cancel.is_cancelled() {
            // The run is one transaction: stopping rolls it back whole.
            tx.rollback().map_err(db("rolling back the run"))?;
            return Err(stopped(done, StopPoint::Between));
        }
        observer.step_started(step, done.len() + index, done.len() + plan.steps.len());
        let started = Instant::now();
        let timeout = lock_timeout(config, step.script.as_deref());
        tx.driver().set_lock_timeout(timeout);
        if let Some(script) = &step.script {
            let statements = sql::split(script.sql(), tx.driver().backend());
            if let Err(failure) = tx.driver().run_script(script.sql(), &statements) {
                tx.rollback().map_err(db("rolling back the run"))?;
                let held_by = held_by(driver, &statements, &failure);
                // The whole run is rolled back, so nothing of it stays: tried again within the budget.
                if let Some(pause) = retries.after(config, timeout, &step.revision, &failure.error) {
                    let tries = retries.tries(&step.revision) - 1;
                    observer.lock_wait_ran_out(step, tries, &failure.error, held_by.as_deref(), pause);
                    return Ok(Outcome::TryAgain(pause));
                }
                let err = failure_error(step, &statements, failure, FailureOutcome::RunRolledBack, &in_run);
                return Err(with_tries(err, retries, step, held_by));
            }
        }
        record(tx.driver(), step, started.elapsed(), retries.tries(&step.revision))?;
        log_step(step, started.elapsed());
        let report = StepReport {
            action: step.action,
            revision: step.revision.clone(),
            duration: started.elapsed(),
            tries: retries.tries(&step.revision),
        };
        observer.step_finished(&report);
        in_run.push(report);
    }
    tx.commit().map_err(db("committing the run"))?;
    done.append(&mut in_run);
    Ok(Outcome::Ran(Continuity::Held))
}

fn record(driver: &mut dyn Driver, step: &Step<'_>, took: Duration, tries: u32) -> Result<(), Error> {
    let result = match row_change(step, driver.backend())? {
        RowChange::Insert(mut row) => {
            row.duration_ms = took.as_millis().try_into().unwrap_or(i64::MAX);
            row.tries = i64::from(tries);
            driver.insert_row(&row)
        }
        RowChange::Delete(version) => driver.delete_row(version),
    };
    result.map_err(|source| Error::Database {
        context: format!("recording revision {} in the history table", step.revision),
        source,
    })
}

/// The history change a transactional step commits with.
fn row_change<'s>(step: &'s Step<'_>, backend: Backend) -> Result<RowChange<'s>, Error> {
    match (step.action, step.known) {
        (Action::Apply | Action::StampApplied, Some(revision)) => {
            Ok(RowChange::Insert(Box::new(AppliedRow::for_revision(revision, backend))))
        }
        (Action::Revert | Action::StampReverted, _) => Ok(RowChange::Delete(&step.revision.version)),
        (Action::Apply | Action::StampApplied, None) => {
            Err(Error::History { message: format!("cannot apply {}: this binary does not contain it", step.revision) })
        }
    }
}

/// The row a statement-by-statement step starts from: a new one for an upgrade, the recorded one for a downgrade.
fn dirty_row(step: &Step<'_>, rows: &[AppliedRow], backend: Backend) -> AppliedRow {
    let recorded = rows.iter().find(|r| r.version == step.revision.version);
    let mut row = match (step.action, recorded, step.known) {
        (Action::Revert, Some(row), _) => row.clone(),
        (_, _, Some(revision)) => AppliedRow::for_revision(revision, backend),
        (_, Some(row), None) => row.clone(),
        (_, None, None) => unreachable!("a planned step names a known or a recorded revision"),
    };
    row.state = if step.action == Action::Revert { RowState::Downgrading } else { RowState::Upgrading };
    row.statements_done = 0;
    row.progress_checksum = None;
    row.error = None;
    row
}

/// Runs `script` from statement `start` on, outside a transaction, keeping `row` (marked dirty) up to date with each
/// statement, so that a run stopped anywhere, by an error, a crash or a cut connection, leaves a record of exactly
/// what ran, or of the one statement in doubt.
///
/// Each statement is recorded as [`sql::recording`] says: one that can share a transaction with its progress write
/// commits with it (the last one with the write that ends the revision); one that cannot has its intent committed
/// before it runs; inside a transaction the script opens itself, the progress writes ride in that transaction, and
/// the write for its `COMMIT` goes before the `COMMIT`.
#[allow(clippy::too_many_arguments)] // one call site each for run and resume; a struct would only rename them
pub(crate) fn statement_by_statement(
    driver: &mut dyn Driver,
    config: &Config,
    step: &Step<'_>,
    script: &Script,
    mut row: AppliedRow,
    fresh: bool,
    start: usize,
    more: bool,
    done: &[StepReport],
    retries: &mut Retries,
    observer: &mut dyn Observer,
) -> Result<Continuity, Error> {
    let backend = driver.backend();
    let cancel = &config.cancel;
    let started = Instant::now();
    let timeout = lock_timeout(config, Some(script));
    driver.set_lock_timeout(timeout);
    let statements = sql::split(script.sql(), backend);
    let context = |what: &str| format!("{what} revision {} in the history table", step.revision);
    row.in_doubt = false;
    // Where the driver allows it (MySQL), a revision whose first statement runs alone gets its row in that
    // statement's intent: one write and one commit fewer, and the row names the statement in doubt from the start.
    let carried = start == 0
        && driver.intent_starts_row()
        && statements.first().is_some_and(|s| sql::recording(s.text, backend) == sql::Recording::Alone);
    // Otherwise the row is marked before the lock transaction (SQLite, PostgreSQL's transaction-scoped lock) ends, so
    // the next runner to get the lock sees the revision in progress and cannot start it again.
    if !carried {
        if fresh && step.action == Action::Apply {
            driver.insert_row(&row).map_err(db(context("marking as upgrading")))?;
        } else {
            driver.update_row(&row).map_err(db(context("marking as in progress")))?;
        }
    }
    driver.before_statements().map_err(db("leaving the lock transaction for a no-transaction revision"))?;
    // The row as it was when the script opened a transaction of its own, which a failure inside it rolls back to.
    let mut opened: Option<AppliedRow> = None;
    let count = statements.len();
    for (index, statement) in statements.iter().enumerate().skip(start) {
        if index > start && opened.is_none() && cancel.is_cancelled() {
            // Every statement so far is recorded, and the row says where to go on.
            return Err(stopped(done, StopPoint::Inside(step.revision.clone(), index as i64)));
        }
        observer.statement_started(step, index, count);
        let mut next = row.clone();
        next.statements_done = index as i64 + 1;
        next.progress_checksum = Some(history::progress_checksum(statements[..=index].iter().map(|s| s.text)));
        next.error = None;
        let last = index + 1 == count;
        if last && step.action != Action::Revert {
            mark_applied(&mut next, started);
        }
        let mut recording = sql::recording(statement.text, backend);
        if opened.is_none() {
            let outside = driver
                .outside_transactions(statement.text)
                .map_err(db("reading which tables take no part in transactions"))?;
            if outside && recording == sql::Recording::WithProgress {
                recording = sql::Recording::Alone;
            }
        }
        // Who held the lock, when the statement's lock wait last ran out.
        let mut held: Option<String> = None;
        let result = loop {
            // The row counts the tries so far, this one's included.
            next.tries = i64::from(retries.tries(&step.revision));
            // After the last statement, one write records both its progress and the end of the revision.
            let write = match (last, step.action) {
                (true, Action::Revert) => RowWrite::Reverted(&row.version),
                (true, _) => RowWrite::Finished(&next),
                (false, _) => RowWrite::Progress(&next),
            };
            let result = match (recording, opened.is_some()) {
                (sql::Recording::Alone, _) => {
                    let mut intent = row.clone();
                    intent.in_doubt = true;
                    intent.error = Some(format!(
                        "line {}: {}: was running when the run stopped; whether it took effect is not known",
                        statement.line,
                        statement.first_line()
                    ));
                    if carried && index == 0 {
                        driver.start_in_doubt(statement.text, &intent, &write)
                    } else {
                        driver.execute_in_doubt(statement.text, &intent, &write)
                    }
                }
                (sql::Recording::Commits, true) => driver
                    .write_row(&write)
                    .map_err(ExecFailure::History)
                    .and_then(|()| driver.execute(statement.text).map_err(ExecFailure::Statement)),
                (sql::Recording::WithProgress, false) => driver.execute_and_record(statement.text, &write),
                // Opening the script's transaction, a statement inside it, or a stray COMMIT or ROLLBACK: the
                // progress write comes after, in the same transaction if one is open.
                _ => driver
                    .execute(statement.text)
                    .map_err(ExecFailure::Statement)
                    .and_then(|()| driver.write_row(&write).map_err(ExecFailure::History)),
            };
            match &result {
                // A statement PostgreSQL turned away inside a transaction (active_sql_transaction) did nothing: it
                // runs again alone, behind its intent.
                Err(ExecFailure::Statement(err))
                    if recording == sql::Recording::WithProgress
                        && opened.is_none()
                        && backend == Backend::Postgres
                        && err.code.as_deref() == Some("25001") =>
                {
                    recording = sql::Recording::Alone;
                }
                // Its lock wait ran out: tried again within the budget, if the row reads back as it was before it
                // (nothing of it, nor of the statements before it, was undone with it).
                Err(ExecFailure::Statement(err)) if opened.is_none() && err.lock_wait_ran_out() => {
                    let mut kept = row.clone();
                    keep_what_the_database_kept(driver, &mut kept);
                    // The read may have ended what the driver does for a revision's statements (MySQL: it commits
                    // what is pending, both statements and their writes): it goes on as before the next one.
                    if kept.statements_done != row.statements_done || driver.before_statements().is_err() {
                        break result;
                    }
                    held = holders(driver, statement.text);
                    let Some(pause) = retries.after(config, timeout, &step.revision, err) else { break result };
                    observer.lock_wait_ran_out(step, retries.tries(&step.revision) - 1, err, held.as_deref(), pause);
                    if !retry::sleep(cancel, pause) {
                        break result;
                    }
                }
                _ => break result,
            }
        };
        match result {
            Ok(()) => {
                match recording {
                    sql::Recording::Opens => opened = Some(row.clone()),
                    sql::Recording::Commits | sql::Recording::RollsBack | sql::Recording::Alone => opened = None,
                    sql::Recording::WithProgress => {}
                }
                row = next;
            }
            Err(ExecFailure::Statement(error)) => {
                let mut failed = row.clone();
                if let Some(at_open) = opened.take() {
                    // The script's own transaction is lost with the error: what ran in it did not take effect.
                    if let Err(err) = driver.rollback() {
                        log::warn!("rolling back the script's transaction after a failure: {err}");
                    }
                    failed = at_open;
                }
                keep_what_the_database_kept(driver, &mut failed);
                let index_done = usize::try_from(failed.statements_done).unwrap_or(index);
                // A revision whose first statement gave up waiting for a lock took no effect: it stays pending,
                // with no row, so the next upgrade applies it.
                if error.lock_wait_ran_out() && index_done == 0 && step.action == Action::Apply {
                    match driver.delete_row(&failed.version) {
                        Ok(()) => {
                            let failure = ScriptFailure { index, error };
                            let err = failure_error(step, &statements, failure, FailureOutcome::RolledBack, done);
                            return Err(with_tries(err, retries, step, held));
                        }
                        Err(err) => log::warn!("removing the row of {}, which took no effect: {err}", step.revision),
                    }
                }
                let failure = ScriptFailure { index, error };
                let line = failure_line(statement, &failure.error);
                let error = format!("line {line}: {}: {}", statement.first_line(), failure.error);
                failed.error = Some(match (failed.in_doubt, &failed.error) {
                    (true, Some(intent)) => format!("{intent}; then {error}"),
                    _ => error,
                });
                if let Err(err) = driver.write_row(&RowWrite::Started(&failed)) {
                    log::error!("could not record the failure of {} in the history table: {err}", step.revision);
                }
                let outcome = FailureOutcome::Dirty { statements_done: index_done as i64 };
                return Err(with_tries(failure_error(step, &statements, failure, outcome, done), retries, step, held));
            }
            Err(ExecFailure::History(source)) => {
                return Err(Error::Database { context: context("recording progress of"), source });
            }
        }
    }
    if count <= start {
        // Nothing was left to run (a script without statements, or one resumed after its last): the revision ends.
        match step.action {
            Action::Revert => driver.delete_row(&row.version).map_err(db(context("removing")))?,
            _ => {
                mark_applied(&mut row, started);
                driver.update_row(&row).map_err(db(context("marking as applied")))?;
            }
        }
    } else if step.action != Action::Revert {
        // The write that ended the revision was made before its last statement ran: the real time goes after it.
        mark_applied(&mut row, started);
        let timed =
            RowWrite::Timed { version: &row.version, duration_ms: row.duration_ms, applied_at: &row.applied_at };
        driver.record_timing(&timed).map_err(db(context("recording the time taken by")))?;
    }
    driver.after_statements(more).map_err(db("taking the lock again after a no-transaction revision"))
}

/// Sets the progress of `failed`, the row of a revision whose statement just failed, to what the database kept. An
/// error may undo more than its statement: InnoDB rolls back the whole open transaction of a deadlock victim (and of
/// a lock wait timeout with `innodb_rollback_on_timeout`), the statements that ran in it with their progress writes.
/// So the count the run kept in memory is not trusted: the row is read back, and a row that is gone (its first
/// write was in the undone transaction) counts nothing done. Where it cannot be read, the count in memory stands,
/// logged.
fn keep_what_the_database_kept(driver: &mut dyn Driver, failed: &mut AppliedRow) {
    let sql = history::read::row_sql(&driver.history_name(), driver.backend(), &failed.version);
    let mut rows = Rows::new(Selection::Full);
    let kept = match driver.select(&sql, &mut rows) {
        Ok(_) => rows.into_history().rows.pop(),
        Err(err) => {
            log::error!("could not read back the progress of revision {} after its failure: {err}", failed.version);
            return;
        }
    };
    match kept {
        Some(kept) if kept.statements_done < failed.statements_done => {
            log::warn!(
                "the error undid more than its statement: revision {} keeps {} statement(s) done, not {}",
                failed.version,
                kept.statements_done,
                failed.statements_done
            );
            failed.statements_done = kept.statements_done;
            failed.progress_checksum = kept.progress_checksum;
            // An earlier statement left in doubt by the last write that was kept stays in doubt (the failing
            // statement's own intent, at the count in memory, is settled: it failed).
            failed.in_doubt = kept.in_doubt;
            failed.error = kept.error.filter(|_| kept.in_doubt);
        }
        Some(_) => failed.in_doubt = false,
        None => {
            failed.statements_done = 0;
            failed.progress_checksum = None;
            failed.in_doubt = false;
        }
    }
}

/// The error of a run stopped as asked, after the steps of `done`, at `at`.
fn stopped(done: &[StepReport], at: StopPoint) -> Error {
    Error::Stopped { completed: done.iter().map(|r| r.revision.clone()).collect(), at }
}

/// `row` as it stands once its revision is applied, `started` ago: no error, the time it took, now.
fn mark_applied(row: &mut AppliedRow, started: Instant) {
    row.state = RowState::Applied;
    row.error = None;
    row.duration_ms = started.elapsed().as_millis().try_into().unwrap_or(i64::MAX);
    row.applied_at = history::now_utc();
}

fn failure_line(statement: &Statement<'_>, error: &DbError) -> usize {
    let within = error
        .position
        .and_then(|chars| statement.text.char_indices().nth(chars))
        .map_or(0, |(byte, _)| statement.text.as_bytes()[..byte].iter().filter(|&&b| b == b'\n').count());
    statement.line + within
}

pub(crate) fn failure_error(
    step: &Step<'_>,
    statements: &[Statement<'_>],
    failure: ScriptFailure,
    outcome: FailureOutcome,
    done: &[StepReport],
) -> Error {
    let statement = statements.get(failure.index);
    Error::Migration(Box::new(MigrationFailure {
        direction: step.action.direction(),
        revision: step.revision.clone(),
        file: step.file.clone(),
        line: statement.map_or(1, |s| failure_line(s, &failure.error)),
        statement: statement.map_or_else(String::new, |s| s.first_line().to_owned()),
        outcome,
        applied: done.iter().map(|s| (s.action.direction(), s.revision.clone())).collect(),
        source: failure.error,
        tries: 1,
        tried_for: Duration::ZERO,
        held_by: None,
    }))
}
