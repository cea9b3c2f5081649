//! Errors: each says what happened and where (revision, file, line). [`Error::kind`] names the kind, for matching
//! and for the command line's exit codes; the database's own error is the [`std::error::Error::source`], which the
//! message does not repeat, so `{:#}` in `anyhow` prints each part once.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

pub use crate::db::{DbError, Refusal};
use crate::folder::scan::Problem;
use crate::history::ChangedFile;
use crate::history::RowState;
use crate::revision::{Direction, RevisionId};

/// Everything that can go wrong planning or applying revisions.
///
/// Its `Debug` form is its message, then the database's error and the advice: what `main() -> Result<(), Box<dyn
/// std::error::Error>>` prints when it returns one, as `anyhow` does (`{:#?}` adds the kind).
#[non_exhaustive]
pub enum Error {
    /// The revision folder has problems (run-time scan; at compile time these are compile errors).
    Scan {
        /// The folder as given.
        folder: PathBuf,
        /// Every problem found.
        problems: Vec<Problem>,
    },
    /// Files of applied revisions changed since they were applied.
    ChecksumMismatch {
        /// Each changed file.
        changes: Vec<ChangedFile>,
    },
    /// The database has applied revisions this binary does not contain.
    UnknownApplied {
        /// The unknown revisions, as recorded in the history table.
        revisions: Vec<RevisionId>,
    },
    /// Pending revisions are older than the newest applied one.
    OutOfOrder {
        /// The pending revisions older than `newest_applied`.
        pending: Vec<RevisionId>,
        /// The newest applied revision.
        newest_applied: RevisionId,
    },
    /// A downgrade would have to revert an irreversible revision.
    Irreversible {
        /// The irreversible revision.
        revision: RevisionId,
        /// `folder/file` of its down file (or the history table, for a revision this binary does not know).
        file: String,
    },
    /// A downgrade would have to run an empty down file and empty downgrades were not accepted as no-ops.
    EmptyDown {
        /// The revision.
        revision: RevisionId,
        /// `folder/file` of the empty down file.
        file: String,
    },
    /// A statement-by-statement revision stopped part way and the database is marked dirty.
    Dirty {
        /// The dirty revision.
        revision: RevisionId,
        /// Whether it was being applied or reverted.
        state: RowState,
        /// Statements that completed.
        statements_done: i64,
        /// The failure recorded, if any; with `in_doubt`, the statement that was running.
        error: Option<String>,
        /// The statement after those that completed ran alone and the run stopped while it ran: whether it took
        /// effect is not known (`resume` settles it from the catalog where it can).
        in_doubt: bool,
    },
    /// A target names no revision.
    TargetNotFound {
        /// The target as given.
        target: String,
        /// Why it matched nothing (for example, several revisions share the prefix).
        detail: String,
    },
    /// A target lies the wrong way for the command (upgrade to an older revision, downgrade to a newer one).
    WrongDirection {
        /// The command: an upgrade (`Direction::Up`) or a downgrade (`Direction::Down`).
        command: Direction,
        /// The target.
        target: RevisionId,
        /// The revision the database is at.
        current: Option<RevisionId>,
    },
    /// `+N` / `-N` asked for more revisions than there are.
    NotEnough {
        /// The command: an upgrade (`Direction::Up`) or a downgrade (`Direction::Down`).
        command: Direction,
        /// N.
        requested: u64,
        /// How many there are.
        available: usize,
    },
    /// The whole-run transaction was asked for but a revision cannot run in a transaction.
    NotTransactional {
        /// The revision.
        revision: RevisionId,
        /// `folder/file` of the file marked `no-transaction`.
        file: String,
        /// Why it cannot run in the single transaction.
        reason: String,
    },
    /// The migration lock was not obtained within the configured wait.
    LockTimeout {
        /// How long it waited.
        waited: Duration,
        /// Who holds the lock, where the database can tell.
        holder: Option<String>,
    },
    /// A statement of a revision failed. Revisions in `applied` were applied before it and stay applied.
    Migration(Box<MigrationFailure>),
    /// The database failed outside a revision's statements (reading or writing the history table, locking, ...).
    Database {
        /// What was being done.
        context: String,
        /// The database's error.
        source: DbError,
    },
    /// Another tool's history cannot be imported as it is.
    Import {
        /// What stands in the way, and what to do.
        message: String,
        /// The versions the other tool records that the folder does not have, which stopped the import (none when
        /// something else did): importing the others and leaving these out is a choice to make on purpose.
        unknown: Vec<String>,
    },
    /// The history table holds something this version cannot read.
    History {
        /// What is wrong with it.
        message: String,
    },
    /// A configured identifier is not a plain SQL identifier.
    InvalidIdentifier {
        /// What it names.
        what: &'static str,
        /// The value given.
        value: String,
    },
    /// A resume or resolve was asked for but there is nothing it applies to, or the files changed.
    Resume {
        /// What is wrong.
        message: String,
        /// A statement is in doubt and nothing in the database tells whether it took effect: resume again saying
        /// which ([`Migrator::resume_with`](crate::Migrator::resume_with)).
        needs_answer: bool,
    },
    /// A redo cannot revert and apply again exactly the revisions it names; nothing was changed.
    NotRedoable {
        /// Why.
        reason: RedoRefusal,
    },
    /// Under the lock, the database was not where the command was planned for: another runner changed it while
    /// this one waited. Nothing of the command was run.
    Moved {
        /// What was expected and what was found.
        message: String,
    },
    /// A stop was asked for ([`Cancel`](crate::Cancel)) and the run ended at a safe point: what it completed stays.
    Stopped {
        /// The revisions the run completed before it stopped (applied, reverted or stamped), in order; they stay.
        completed: Vec<RevisionId>,
        /// Where it stopped.
        at: StopPoint,
    },
}

/// Where a run stopped as asked ([`Error::Stopped`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StopPoint {
    /// Between two revisions: the next run goes on from there.
    Between,
    /// Inside a revision run statement by statement, after this many statements, each recorded: its row is marked
    /// in progress, and resuming goes on from the next statement.
    Inside(RevisionId, i64),
    /// Inside a revision running in one transaction, interrupted and rolled back: not applied.
    RolledBack(RevisionId),
}

/// Where a revision failed, what the database said, and what stays applied.
#[derive(Debug)]
#[non_exhaustive]
pub struct MigrationFailure {
    /// Applying or reverting.
    pub direction: Direction,
    /// The failing revision.
    pub revision: RevisionId,
    /// `folder/file` of the script.
    pub file: String,
    /// 1-based line of the failing statement in the file (of the error itself, where the database says).
    pub line: usize,
    /// The failing statement's first line.
    pub statement: String,
    /// What became of the failing revision itself.
    pub outcome: FailureOutcome,
    /// Revisions completed before the failure, in the order they ran.
    pub applied: Vec<(Direction, RevisionId)>,
    /// The database's error.
    pub source: DbError,
    /// How many times the revision was tried: more than 1 when its lock wait ran out and it was tried again.
    pub tries: u32,
    /// For how long it was tried, where its lock wait ran out.
    pub tried_for: Duration,
    /// Who held the lock it waited for, where its lock wait ran out and the database could tell
    /// ([`Driver::lock_holders`](crate::Driver::lock_holders)).
    pub held_by: Option<String>,
}

impl fmt::Display for MigrationFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let MigrationFailure { direction, revision, file, line, statement, outcome, applied, source, .. } = self;
        let (tries, tried_for) = (self.tries, self.tried_for);
        let doing = if *direction == Direction::Up { "applying" } else { "reverting" };
        write!(f, "{doing} revision {revision} failed at {file}:{line}\n  statement: {statement}")?;
        if source.lock_wait_ran_out() {
            write!(
                f,
                "\n  it gave up waiting for a lock on what it changes, {tries} time(s) in {:.1} s: another session holds \
                 one",
                tried_for.as_secs_f64()
            )?;
            if let Some(held_by) = &self.held_by {
                write!(f, "\n  held by: {held_by}")?;
            }
        }
        match outcome {
            FailureOutcome::RolledBack => write!(f, "\n  the revision was rolled back and left no trace")?,
            FailureOutcome::RunRolledBack => {
                write!(f, "\n  the whole run was one transaction and was rolled back: nothing changed")?
            }
            FailureOutcome::Dirty { statements_done } => write!(
                f,
                "\n  it ran statement by statement: {statements_done} statement(s) before this one stay applied and \
                 the revision is marked dirty"
            )?,
        }
        if applied.is_empty() {
            write!(f, "\n  nothing was applied before it in this run")
        } else if *outcome == FailureOutcome::RunRolledBack {
            write!(
                f,
                "\n  rolled back with it: {}",
                applied.iter().map(|(_, r)| r.to_string()).collect::<Vec<_>>().join(", ")
            )
        } else {
            write!(f, "\n  completed before it and kept: ")?;
            let done: Vec<String> = applied
                .iter()
                .map(|(d, r)| format!("{} {r}", if *d == Direction::Up { "applied" } else { "reverted" }))
                .collect();
            f.write_str(&done.join(", "))
        }
    }
}

/// Why a redo was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RedoRefusal {
    /// The revision is applied but this binary does not contain it: it could be reverted, not applied again.
    Unknown {
        /// The revision.
        revision: RevisionId,
    },
    /// Its down file is empty (a placeholder): reverting would undo nothing, and applying again would repeat its up
    /// file on a database that still has its changes.
    EmptyDown {
        /// The revision.
        revision: RevisionId,
        /// `folder/file` of the empty down file.
        file: String,
    },
    /// Pending revisions lie between the revisions redone: applying again would apply them too.
    PendingBetween {
        /// The pending revisions.
        pending: Vec<RevisionId>,
    },
}

/// The kind of an [`Error`], for matching without its payload. [`ErrorKind::name`] is the stable name the command
/// line prints (`--format json`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// [`Error::Scan`].
    Scan,
    /// [`Error::ChecksumMismatch`].
    ChecksumMismatch,
    /// [`Error::UnknownApplied`].
    UnknownApplied,
    /// [`Error::OutOfOrder`].
    OutOfOrder,
    /// [`Error::Irreversible`].
    Irreversible,
    /// [`Error::EmptyDown`].
    EmptyDown,
    /// [`Error::Dirty`].
    Dirty,
    /// [`Error::TargetNotFound`].
    TargetNotFound,
    /// [`Error::WrongDirection`].
    WrongDirection,
    /// [`Error::NotEnough`].
    NotEnough,
    /// [`Error::NotTransactional`].
    NotTransactional,
    /// [`Error::LockTimeout`].
    LockTimeout,
    /// [`Error::Migration`].
    Migration,
    /// [`Error::Database`].
    Database,
    /// [`Error::History`].
    History,
    /// [`Error::Import`].
    Import,
    /// [`Error::InvalidIdentifier`].
    InvalidIdentifier,
    /// [`Error::Resume`].
    Resume,
    /// [`Error::NotRedoable`].
    NotRedoable,
    /// [`Error::Moved`].
    Moved,
    /// [`Error::Stopped`].
    Stopped,
}

impl ErrorKind {
    /// A stable `snake_case` name: `checksum_mismatch`, `lock_timeout`, `migration_failed`, ...
    pub const fn name(self) -> &'static str {
        match self {
            ErrorKind::Scan => "folder",
            ErrorKind::ChecksumMismatch => "checksum_mismatch",
            ErrorKind::UnknownApplied => "unknown_applied",
            ErrorKind::OutOfOrder => "out_of_order",
            ErrorKind::Irreversible => "irreversible",
            ErrorKind::EmptyDown => "empty_down",
            ErrorKind::Dirty => "dirty",
            ErrorKind::TargetNotFound => "target_not_found",
            ErrorKind::WrongDirection => "wrong_direction",
            ErrorKind::NotEnough => "not_enough",
            ErrorKind::NotTransactional => "not_transactional",
            ErrorKind::LockTimeout => "lock_timeout",
            ErrorKind::Migration => "migration_failed",
            ErrorKind::Database => "database",
            ErrorKind::History => "history_table",
            ErrorKind::Import => "import",
            ErrorKind::InvalidIdentifier => "invalid_identifier",
            ErrorKind::Resume => "resume",
            ErrorKind::NotRedoable => "not_redoable",
            ErrorKind::Moved => "moved",
            ErrorKind::Stopped => "stopped",
        }
    }
}

impl Error {
    /// What to do next, in the library's terms, where there is something to say. It is not part of the message
    /// (`Display`), so a caller that has its own words for the next step (the command line names its commands)
    /// does not say it twice.
    pub fn advice(&self) -> Option<&'static str> {
        if let Error::Migration(failure) = self {
            if failure.source.lock_wait_ran_out() {
                return Some(match failure.outcome {
                    FailureOutcome::Dirty { .. } => {
                        "the session named held a lock on what the revision changes for longer than the run tried: \
                         end it or wait for it, then resume the revision; the lock timeout and the lock retry budget \
                         set how long a run waits"
                    }
                    _ => {
                        "the session named held a lock on what the revision changes for longer than the run tried: \
                         end it or wait for it, then run again; the lock timeout and the lock retry budget set how \
                         long a run waits"
                    }
                });
            }
        }
        let refused = match self {
            Error::Database { source, .. } => source.refusal(),
            Error::Migration(failure) => failure.source.refusal(),
            _ => None,
        };
        if let Some(refusal) = refused {
            return Some(refusal_advice(refusal));
        }
        Some(match self {
            Error::ChecksumMismatch { .. } => {
                "restore the files as they were, or if the change is deliberate, accept it (`accept` records the new \
                 checksums without running anything)"
            }
            Error::UnknownApplied { .. } => "deploy a build that has them, or revert them with a downgrade",
            Error::OutOfOrder { .. } => "give them newer versions, or allow out-of-order revisions on purpose",
            Error::Irreversible { .. } => "choose a target above it",
            Error::EmptyDown { .. } => "write its down SQL, or accept empty downgrades as no-ops on purpose",
            Error::Dirty { in_doubt: true, .. } => {
                "resume: it settles the statement in doubt from the catalog where it can, and otherwise asks you to \
                 say whether it took effect; or finish or undo the revision by hand and mark it resolved"
            }
            Error::Dirty { .. } => {
                "fix the cause and resume from the failed statement (its earlier statements must be unchanged), or \
                 finish or undo the revision by hand and mark it resolved"
            }
            Error::NotTransactional { .. } => "run without the single transaction",
            Error::LockTimeout { .. } => "wait for it to finish, or raise the lock timeout",
            Error::Migration(failure) if matches!(failure.outcome, FailureOutcome::Dirty { .. }) => {
                "fix the cause, then resume the revision or mark it resolved"
            }
            Error::Moved { .. } => "check where the database is now and run the command again",
            Error::Stopped { at: StopPoint::Inside(..), .. } => "resume the revision left in progress, then run again",
            Error::Stopped { .. } => "run again to go on",
            Error::Resume { needs_answer: true, .. } => {
                "check the database, then resume saying whether the statement took effect (`InDoubt::Ran` or \
                 `InDoubt::NotRun`)"
            }
            Error::Import { unknown, .. } if !unknown.is_empty() => {
                "restore those revisions, or import the others on purpose (allow unknown versions)"
            }
            _ => return None,
        })
    }

    /// What kind of error this is.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Scan { .. } => ErrorKind::Scan,
            Error::ChecksumMismatch { .. } => ErrorKind::ChecksumMismatch,
            Error::UnknownApplied { .. } => ErrorKind::UnknownApplied,
            Error::OutOfOrder { .. } => ErrorKind::OutOfOrder,
            Error::Irreversible { .. } => ErrorKind::Irreversible,
            Error::EmptyDown { .. } => ErrorKind::EmptyDown,
            Error::Dirty { .. } => ErrorKind::Dirty,
            Error::TargetNotFound { .. } => ErrorKind::TargetNotFound,
            Error::WrongDirection { .. } => ErrorKind::WrongDirection,
            Error::NotEnough { .. } => ErrorKind::NotEnough,
            Error::NotTransactional { .. } => ErrorKind::NotTransactional,
            Error::LockTimeout { .. } => ErrorKind::LockTimeout,
            Error::Migration(_) => ErrorKind::Migration,
            Error::Database { .. } => ErrorKind::Database,
            Error::History { .. } => ErrorKind::History,
            Error::Import { .. } => ErrorKind::Import,
            Error::InvalidIdentifier { .. } => ErrorKind::InvalidIdentifier,
            Error::Resume { .. } => ErrorKind::Resume,
            Error::NotRedoable { .. } => ErrorKind::NotRedoable,
            Error::Moved { .. } => ErrorKind::Moved,
            Error::Stopped { .. } => ErrorKind::Stopped,
        }
    }
}

/// What to do about a database's refusal.
pub fn refusal_advice(refusal: Refusal) -> &'static str {
    match refusal {
        Refusal::ReadOnly => {
            "the database accepts no writes here (a read-only session or role, or a standby): run against the \
             primary, as a role that may write"
        }
        Refusal::Privilege => {
            "the role lacks a privilege this needs: grant it, or run as a role that has it (once the history table \
             exists, revisions that only change data need SELECT, INSERT, UPDATE and DELETE on it, and no CREATE)"
        }
        Refusal::Lock => {
            "another session held a lock this needed, or a deadlock picked this run: run again once that session is \
             done (the database's session list names it)"
        }
    }
}

/// What a failed revision left behind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureOutcome {
    /// Its transaction was rolled back: no trace of it remains.
    RolledBack,
    /// It ran statement by statement; `statements_done` completed and stay, and its history row is marked dirty.
    Dirty {
        /// Statements completed before the failing one.
        statements_done: i64,
    },
    /// Part of a whole-run transaction: everything in the run was rolled back.
    RunRolledBack,
}

fn list(names: &[RevisionId]) -> String {
    names.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Scan { folder, problems } => {
                write!(f, "the revision folder {} has {} problem(s):", folder.display(), problems.len())?;
                for p in problems {
                    write!(f, "\n  {}", p.display_under(folder))?;
                }
                Ok(())
            }
            Error::ChecksumMismatch { changes } => {
                write!(f, "applied revisions changed since they were applied:")?;
                for c in changes {
                    write!(f, "\n  {} {}", c.revision, c.file)?;
                }
                Ok(())
            }
            Error::UnknownApplied { revisions } => write!(
                f,
                "the database has applied revisions this binary does not contain: {} (their down SQL is kept in the \
                 history table)",
                list(revisions)
            ),
            Error::OutOfOrder { pending, newest_applied } => write!(
                f,
                "pending revisions are older than the newest applied revision {newest_applied}: {}",
                list(pending)
            ),
            Error::Irreversible { revision, file } => {
                write!(f, "revision {revision} is irreversible ({file}); a downgrade cannot pass it")
            }
            Error::EmptyDown { revision, file } => write!(
                f,
                "revision {revision} has an empty down file ({file}): a downgrade past it would undo nothing of it, \
                 and empty downgrades were not accepted as no-ops"
            ),
            Error::Dirty { revision, state, statements_done, error, in_doubt } => {
                let doing = if *state == RowState::Downgrading { "reverting" } else { "applying" };
                write!(
                    f,
                    "the database is dirty: {doing} revision {revision} stopped after {statements_done} \
                     statement(s)"
                )?;
                match error {
                    Some(error) if *in_doubt => write!(f, "; the next one is in doubt: {error}")?,
                    Some(error) => write!(f, "; it failed with: {error}")?,
                    None => {}
                }
                if *in_doubt {
                    write!(f, "\nthe statements before it are in effect, the ones after it are not")
                } else {
                    write!(f, "\nthe statements before that are in effect, the rest are not")
                }
            }
            Error::TargetNotFound { target, detail } => write!(f, "target `{target}` {detail}"),
            Error::WrongDirection { command, target, current } => {
                let current = current.as_ref().map_or("base (nothing applied)".to_owned(), ToString::to_string);
                let other = command.opposite().command();
                write!(f, "cannot {} to {target}: the database is at {current}; use {other}", command.command())
            }
            Error::NotEnough { command, requested, available } => write!(
                f,
                "cannot {} by {requested}: only {available} revision(s) can be {}",
                command.command(),
                if *command == Direction::Up { "applied" } else { "reverted" }
            ),
            Error::NotTransactional { revision, file, reason } => {
                write!(f, "revision {revision} cannot run in the single transaction of this run ({file}): {reason}")
            }
            Error::LockTimeout { waited, holder } => {
                write!(f, "could not take the migration lock within {:.1}s", waited.as_secs_f64())?;
                match holder {
                    Some(holder) => write!(f, "; it is held by {holder}")?,
                    None => write!(f, "; another migration is running")?,
                }
                Ok(())
            }
            Error::Migration(failure) => failure.fmt(f),
            Error::Database { context, .. } => f.write_str(context),
            Error::History { message } => write!(f, "the history table cannot be read: {message}"),
            Error::Import { message, .. } => f.write_str(message),
            Error::InvalidIdentifier { what, value } => write!(
                f,
                "invalid {what} `{value}`: use 1 to 63 ASCII letters, digits and `_`, not starting with a digit"
            ),
            Error::Resume { message, .. } => f.write_str(message),
            Error::NotRedoable { reason } => match reason {
                RedoRefusal::Unknown { revision } => {
                    write!(f, "cannot redo {revision}: the folder does not have it, so it could not be applied again")
                }
                RedoRefusal::EmptyDown { revision, file } => write!(
                    f,
                    "cannot redo {revision}: its down file {file} is empty, so reverting it would undo nothing and \
                     applying it again would repeat up.sql on a database that still has its changes"
                ),
                RedoRefusal::PendingBetween { pending } => write!(
                    f,
                    "redo would also apply {}, which is pending between the revisions redone; nothing was changed",
                    list(pending)
                ),
            },
            Error::Moved { message } => {
                write!(f, "the database changed while this run waited for the lock: {message}; nothing was run")
            }
            Error::Stopped { completed, at } => {
                match completed.last() {
                    None => f.write_str("stopped as asked before any revision completed")?,
                    Some(last) => write!(f, "stopped as asked after {} revision(s), the last {last}", completed.len())?,
                }
                match at {
                    StopPoint::Inside(revision, done) => write!(
                        f,
                        "; revision {revision} was stopped after {done} statement(s), with its record complete: it \
                         is marked in progress, and resuming goes on from statement {}",
                        done + 1
                    ),
                    StopPoint::RolledBack(revision) => write!(
                        f,
                        "; revision {revision}, under way in one transaction, was rolled back; the lock is released, \
                         and the next run goes on from there"
                    ),
                    StopPoint::Between => f.write_str("; the lock is released, and the next run goes on from there"),
                }
            }
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")?;
        if let Some(source) = std::error::Error::source(self) {
            write!(f, "\n\nCaused by:\n    {source}")?;
        }
        if let Some(advice) = self.advice() {
            write!(f, "\n\nNext: {advice}")?;
        }
        if f.alternate() {
            write!(f, "\n\nKind: {}", self.kind().name())?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Migration(failure) => Some(&failure.source),
            Error::Database { source, .. } => Some(source),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_reads_as_a_message_for_main_to_print() {
        let err = Error::Database {
            context: "applying revision 0001 (a)".to_owned(),
            source: DbError::new("permission denied for schema public").with_code("42501"),
        };
        let shown = format!("{err:?}");
        assert!(shown.starts_with("applying revision 0001 (a)\n\nCaused by:\n    permission denied"), "{shown}");
        assert!(shown.contains("Next: the role lacks a privilege"), "{shown}");
        assert!(!shown.contains("Database {"), "no struct dump: {shown}");
        assert!(format!("{err:#?}").ends_with("Kind: database"));
    }

    #[test]
    fn errors_are_small_and_say_their_source_once() {
        assert!(std::mem::size_of::<Error>() <= 128, "{} bytes", std::mem::size_of::<Error>());
        let err = Error::Database { context: "reading the history table".to_owned(), source: DbError::new("gone") };
        assert_eq!(err.to_string(), "reading the history table");
        let source = std::error::Error::source(&err).expect("the database's error");
        assert_eq!(source.to_string(), "gone");
        assert!(source.source().is_none());
        assert_eq!(err.kind(), ErrorKind::Database);
        assert_eq!(err.kind().name(), "database");
    }

    #[test]
    fn error_is_send_sync_static() {
        fn check<T: Send + Sync + 'static + std::error::Error>() {}
        check::<Error>();
        check::<DbError>();
    }
}
