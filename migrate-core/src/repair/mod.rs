//! The ways out of a state a run cannot continue from: `resume` and `resolve` for a dirty revision (a
//! statement-by-statement revision that stopped part way), `accept` for files changed on purpose. Each has a pure
//! check (`resume_point`, `dirty_revision`, `accept_target`) that the dry runs share with the real thing.

pub mod import;

use std::time::Instant;

use crate::config::Config;
use crate::error::Error;
use crate::history::{self, AppliedRow, ChangedFile, RowState};
use crate::plan::{self, Action, Step};
use crate::revision::{Backend, Direction, Revision, RevisionId, Script};
use crate::run::driver::Driver;
use crate::run::lock::Transaction;
use crate::run::retry::Retries;
use crate::run::runner::{
    db, live_runner, lock, newest, read_for_writing, read_history, refuse_blocked, statement_by_statement, Observer,
    Report, StepReport,
};
use crate::sql;
use crate::sql::doubt::{self, Check, InDoubt, Presence};

/// How an operator settled a dirty revision by hand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resolution {
    /// The revision is in effect: record it as applied.
    Applied,
    /// The revision is not in effect: remove its record.
    NotApplied,
}

fn find_dirty(rows: &[AppliedRow]) -> Result<&AppliedRow, Error> {
    rows.iter().find(|r| r.state.is_dirty()).ok_or_else(|| Error::Resume {
        needs_answer: false,
        message: "no revision is dirty: there is nothing to resume or resolve".to_owned(),
    })
}

/// A dirty revision whose runner is still alive is not stopped: it is running, and must not be repaired.
fn refuse_live_runner(driver: &mut dyn Driver, rows: &[AppliedRow]) -> Result<(), Error> {
    match live_runner(driver, rows)? {
        Some(holder) => Err(Error::Resume {
            needs_answer: false,
            message: format!("{holder}: it has not stopped; wait for it to finish, or stop it first"),
        }),
        None => Ok(()),
    }
}

/// The dirty revision `reference` names, and its row: what [`resolve`] checks before writing, for a dry run too.
///
/// # Errors
/// [`Error::TargetNotFound`] if `reference` names nothing; [`Error::Resume`] if nothing is dirty, or another
/// revision is.
pub(crate) fn dirty_revision<'a>(
    revisions: &[Revision],
    rows: &'a [AppliedRow],
    reference: &str,
) -> Result<(RevisionId, &'a AppliedRow), Error> {
    let refs: Vec<&AppliedRow> = rows.iter().collect();
    let name = plan::resolve(reference, revisions, &refs)?;
    let dirty = find_dirty(rows)?;
    if dirty.version != name.version {
        return Err(Error::Resume {
            needs_answer: false,
            message: format!("revision {name} is not dirty; the dirty revision is {} ({})", dirty.version, dirty.name),
        });
    }
    Ok((name, dirty))
}

/// Records how the dirty revision `reference` was settled by hand, after checking the database.
///
/// # Errors
/// [`Error::Resume`] if that revision is not dirty; lock and database errors.
pub(crate) fn resolve(
    revisions: &[Revision],
    config: &Config,
    driver: &mut dyn Driver,
    reference: &str,
    resolution: Resolution,
) -> Result<RevisionId, Error> {
    let mut guard = lock(driver, config)?;
    let driver = guard.driver();
    let rows = read_for_writing(driver, &config.table, false)?.rows;
    refuse_live_runner(driver, &rows)?;
    let (name, dirty) = dirty_revision(revisions, &rows, reference)?;
    let mut tx = Transaction::begin(driver).map_err(db("opening a transaction"))?;
    match resolution {
        Resolution::Applied => {
            let mut row = dirty.clone();
            if let Some(revision) = revisions.iter().find(|r| r.version() == row.version) {
                let backend = tx.driver().backend();
                row.up_checksum = revision.up(backend).checksum();
                row.down_checksum = revision.down(backend).recorded_checksum();
            }
            row.state = RowState::Applied;
            row.error = None;
            row.in_doubt = false;
            tx.driver().update_row(&row)
        }
        Resolution::NotApplied => tx.driver().delete_row(&name.version),
    }
    .map_err(db(format!("resolving revision {name}")))?;
    tx.commit().map_err(db(format!("resolving revision {name}")))?;
    guard.release()?;
    Ok(name)
}

/// Where [`Migrator::resume`](crate::Migrator::resume) would continue the dirty revision: what it checks before running anything, for a dry run too.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ResumePoint<'r> {
    /// The dirty revision's history row.
    pub row: AppliedRow,
    /// The dirty revision.
    pub name: RevisionId,
    /// Applying or reverting.
    pub action: Action,
    /// The revision in the folder, if it has it (a revert may run the down SQL kept in the history table).
    pub known: Option<&'r Revision>,
    /// The script being run.
    pub script: Script,
    /// `folder/file` of the script, for messages.
    pub file: String,
    /// Statements that already ran (and are unchanged in the script).
    pub done: usize,
    /// Statements in the script.
    pub statements: usize,
    /// The line of the statement to run next, if any is left.
    pub next_line: Option<usize>,
    /// The statement after those done, when it is in doubt: it ran alone and the run stopped while it ran.
    pub in_doubt: Option<Doubtful>,
}

/// A statement left in doubt, and how it can be settled.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Doubtful {
    /// Its index in the script (0-based): the number of statements done before it.
    pub index: usize,
    /// Its line in the file.
    pub line: usize,
    /// Its first line, for messages.
    pub statement: String,
    /// What would tell whether it took effect.
    pub check: Check,
}

/// How a statement in doubt was settled.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Settled {
    /// Whether it took effect (resume goes on after it) or not (resume runs it again).
    pub ran: bool,
    /// Why, in words: what the catalog showed, that running it again ends the same, or that the operator said so.
    pub reason: String,
    /// A statement resume runs first: the removal of an INVALID index the stopped statement left behind.
    pub cleanup: Option<String>,
}

/// Finds the dirty revision and checks that the statements that already ran are unchanged in its script.
///
/// # Errors
/// [`Error::Resume`] if nothing is dirty, the folder does not have an upgrading revision, or the statements that ran
/// changed; [`Error::Irreversible`] for a revert with no down SQL.
pub(crate) fn resume_point<'r>(
    revisions: &'r [Revision],
    rows: &[AppliedRow],
    backend: Backend,
) -> Result<ResumePoint<'r>, Error> {
    let row = find_dirty(rows)?.clone();
    let name = RevisionId { version: row.version.clone(), name: row.name.clone() };
    let known = revisions.iter().find(|r| r.version() == row.version);
    let (action, direction) = if row.state == RowState::Downgrading {
        (Action::Revert, Direction::Down)
    } else {
        (Action::Apply, Direction::Up)
    };
    let (script, file) = match (known, direction) {
        (Some(revision), _) => {
            let script = revision.script(direction, backend).clone();
            let file = revision.path_of(&script).display().to_string();
            (script, file)
        }
        (None, Direction::Down) => match &row.down_sql {
            Some(sql) => (plan::stored_script(sql), format!("{} down SQL kept in the history table", row.version)),
            None => return Err(Error::Irreversible { revision: name, file: "history table".to_owned() }),
        },
        (None, Direction::Up) => {
            return Err(Error::Resume {
                needs_answer: false,
                message: format!("cannot resume {name}: this binary does not contain it; resolve it instead"),
            })
        }
    };
    let statements = sql::split(script.sql(), backend);
    let done = usize::try_from(row.statements_done).unwrap_or(usize::MAX);
    let unchanged = done <= statements.len()
        && (done == 0 && row.progress_checksum.is_none()
            || row.progress_checksum == Some(history::progress_checksum(statements[..done].iter().map(|s| s.text))));
    if !unchanged {
        return Err(Error::Resume {
            needs_answer: false,
            message: format!(
                "cannot resume {name}: the {done} statement(s) of {file} that already ran are not the ones in the \
                 file now; restore the file, or finish the revision by hand and mark it resolved"
            ),
        });
    }
    let (count, next_line) = (statements.len(), statements.get(done).map(|s| s.line));
    let in_doubt = statements.get(done).filter(|_| row.in_doubt).map(|statement| Doubtful {
        index: done,
        line: statement.line,
        statement: statement.first_line().to_owned(),
        check: doubt::check(statement.text, backend),
    });
    Ok(ResumePoint { row, name, action, known, script, file, done, statements: count, next_line, in_doubt })
}

/// Settles the statement in doubt at `point`: by `answer` if the operator gave one, else from the statement itself
/// or the catalog, read through `driver` (nothing is written).
///
/// # Errors
/// [`Error::Resume`] when nothing tells and no answer was given, naming the statement and how to answer; and when a
/// `CONCURRENTLY` index build left an INVALID index, with the statement that removes it; database errors.
pub(crate) fn settle(
    driver: &mut dyn Driver,
    point: &ResumePoint<'_>,
    doubtful: &Doubtful,
    answer: Option<InDoubt>,
) -> Result<Settled, Error> {
    let at =
        format!("statement {} of {} (line {}: {})", doubtful.index + 1, point.file, doubtful.line, doubtful.statement);
    let settled = |ran: bool, reason: String| Ok(Settled { ran, reason, cleanup: None });
    let present = |driver: &mut dyn Driver, object: &doubt::CatalogObject| {
        driver.presence(object).map_err(db(format!("reading the catalog to settle {at}")))
    };
    // A concurrent index build stopped part way leaves its index INVALID: it must go before the build runs again.
    if let Check::Object { object, creates: true } = &doubtful.check {
        if object.kind == doubt::ObjectKind::Index && present(driver, object)? == Some(Presence::Invalid) {
            let drop = format!("DROP INDEX CONCURRENTLY {}", qualified(driver.backend(), object));
            return match answer {
                Some(InDoubt::NotRun) => Ok(Settled {
                    ran: false,
                    reason: format!("{at} left {object} INVALID: it is removed (`{drop};`) and built again"),
                    cleanup: Some(drop),
                }),
                _ => Err(Error::Resume {
                    needs_answer: true,
                    message: format!(
                        "{at} was building {object} when the run stopped and left it INVALID; resuming with the \
                         answer that it did not take effect removes it (`{drop};`) and builds it again"
                    ),
                }),
            };
        }
    }
    if let Some(answer) = answer {
        let ran = answer == InDoubt::Ran;
        let said = if ran { "took effect" } else { "did not take effect" };
        return settled(ran, format!("{at} {said}, as the operator said"));
    }
    let unknown = |why: &str| {
        Err(Error::Resume {
            needs_answer: true,
            message: format!(
                "{at} was running when the run stopped, and whether it took effect cannot be told ({why}); check the \
                 database, then resume saying which"
            ),
        })
    };
    match &doubtful.check {
        Check::Rerun => settled(false, format!("{at} ends the same whether or not it ran: it runs again")),
        Check::Object { object, creates } => match (present(driver, object)?, creates) {
            (None, _) => unknown("this database's catalog is not read for it"),
            (Some(Presence::Present), true) => settled(true, format!("{at} took effect: {object} is there")),
            (Some(Presence::Absent), false) => settled(true, format!("{at} took effect: {object} is gone")),
            (Some(_), true) => settled(false, format!("{at} did not take effect: {object} is not there")),
            (Some(_), false) => settled(false, format!("{at} did not take effect: {object} is still there")),
        },
        Check::Rename { from, to } => match (present(driver, from)?, present(driver, to)?) {
            (Some(Presence::Absent), Some(Presence::Present)) => {
                settled(true, format!("{at} took effect: {from} is gone and {to} is there"))
            }
            (Some(Presence::Present), Some(Presence::Absent)) => {
                settled(false, format!("{at} did not take effect: {from} is still there and {to} is not"))
            }
            (None, _) | (_, None) => unknown("this database's catalog is not read for it"),
            _ => unknown(&format!("{from} and {to} are both there, or both gone")),
        },
        Check::Unknown => unknown("nothing in the catalog says, for a statement of this kind"),
    }
}

/// The object's name as a statement names it, quoted, with its schema (an index's is its table's).
fn qualified(backend: Backend, object: &doubt::CatalogObject) -> String {
    let quote = |ident: &str| history::quote_identifier(backend, ident);
    let schema = object.schema.as_ref().or_else(|| object.table.as_ref().and_then(|(schema, _)| schema.as_ref()));
    match schema {
        Some(schema) => format!("{}.{}", quote(schema), quote(&object.name)),
        None => quote(&object.name),
    }
}

/// Continues the dirty revision from its failed statement, after checking that the statements that already ran
/// are unchanged in the file.
///
/// # Errors
/// [`Error::Resume`] if nothing is dirty or the statements that ran changed; [`Error::Migration`] if a statement
/// fails again (the revision stays dirty, with its progress); lock and database errors.
pub(crate) fn resume(
    revisions: &[Revision],
    config: &Config,
    driver: &mut dyn Driver,
    observer: &mut dyn Observer,
    answer: Option<InDoubt>,
) -> Result<Report, Error> {
    let mut guard = lock(driver, config)?;
    let driver = guard.driver();
    let backend = driver.backend();
    let rows = read_for_writing(driver, &config.table, false)?.rows;
    refuse_live_runner(driver, &rows)?;
    let point = resume_point(revisions, &rows, backend)?;
    let mut start = point.done;
    let mut row = point.row.clone();
    if let Some(doubtful) = &point.in_doubt {
        let settled = settle(driver, &point, doubtful, answer)?;
        log::info!("{}", settled.reason);
        if let Some(cleanup) = &settled.cleanup {
            driver.execute(cleanup).map_err(db(format!("removing what {} left behind", point.name)))?;
        }
        if settled.ran {
            let statements = sql::split(point.script.sql(), backend);
            start = doubtful.index + 1;
            row.statements_done = start as i64;
            row.progress_checksum = Some(history::progress_checksum(statements[..start].iter().map(|s| s.text)));
        }
    } else if answer.is_some() {
        return Err(Error::Resume {
            needs_answer: false,
            message: format!("no statement of {} is in doubt; resume without saying whether one ran", point.name),
        });
    }
    row.in_doubt = false;
    row.error = None;
    let ResumePoint { name, action, known, script, file, .. } = point;
    let done = start;
    if let Some(revision) = known {
        // The run finishes with the files as they are now (only statements not yet run may have changed).
        row.record_files(revision, backend);
    }
    let step = Step { action, revision: name.clone(), known, script: None, file };
    refuse_blocked(config, std::slice::from_ref(&step), backend)?;
    let started = Instant::now();
    statement_by_statement(
        driver,
        config,
        &step,
        &script,
        row,
        false,
        done,
        false,
        &[],
        &mut Retries::default(),
        observer,
    )?;
    let after = newest(&read_history(driver, &config.table)?);
    guard.release()?;
    Ok(Report {
        before: Some(name.clone()),
        after,
        steps: vec![StepReport { action, revision: name, duration: started.elapsed(), tries: 1 }],
        warnings: Vec::new(),
    })
}

/// The applied revision `reference` names, with its history row: what [`accept`] works on, for a dry run too.
///
/// # Errors
/// [`Error::TargetNotFound`] if `reference` names no applied revision of `revisions`.
pub(crate) fn accept_target<'a, 'r>(
    revisions: &'r [Revision],
    rows: &'a [AppliedRow],
    reference: &str,
) -> Result<(&'a AppliedRow, &'r Revision), Error> {
    let refs: Vec<&AppliedRow> = rows.iter().collect();
    let name = plan::resolve(reference, revisions, &refs)?;
    match (rows.iter().find(|r| r.version == name.version), revisions.iter().find(|r| r.version() == name.version)) {
        (Some(row), Some(revision)) => Ok((row, revision)),
        _ => Err(Error::TargetNotFound {
            target: reference.to_owned(),
            detail: "is not an applied revision of this binary; only those can be accepted".to_owned(),
        }),
    }
}

/// Accepts on purpose that the files of applied revision `reference` changed: records their current checksums and
/// down SQL, running nothing. Returns the files whose record changed (empty if none had).
///
/// # Errors
/// [`Error::TargetNotFound`] if `reference` names no applied revision of this binary; lock and database errors.
pub(crate) fn accept(
    revisions: &[Revision],
    config: &Config,
    driver: &mut dyn Driver,
    reference: &str,
) -> Result<Vec<ChangedFile>, Error> {
    let mut guard = lock(driver, config)?;
    let driver = guard.driver();
    let backend = driver.backend();
    let rows = read_for_writing(driver, &config.table, false)?.rows;
    let (row, revision) = accept_target(revisions, &rows, reference)?;
    let name = RevisionId { version: revision.version().to_owned(), name: revision.name().to_owned() };
    let changes = plan::changed_files(row, revision, backend);
    if !changes.is_empty() {
        let mut updated = row.clone();
        updated.record_files(revision, backend);
        let mut tx = Transaction::begin(driver).map_err(db("opening a transaction"))?;
        tx.driver().update_row(&updated).map_err(db(format!("accepting revision {name}")))?;
        tx.commit().map_err(db(format!("accepting revision {name}")))?;
    }
    guard.release()?;
    Ok(changes)
}
