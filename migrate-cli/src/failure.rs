//! Why a command failed, what to do next on the command line, and the exit code it ends with.

use migrate_core::error::refusal_advice;
use migrate_core::{Direction, Error, ErrorKind, FailureOutcome, MigrationFailure, RedoRefusal, RowState, StopPoint};
use serde_json::{json, Value};

/// The exit codes, documented in `migrate --help` and docs/command-line.md.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Done, or nothing to report.
    Done = 0,
    /// The command failed or was refused.
    Failed = 1,
    /// Bad usage or configuration.
    Usage = 2,
    /// `status`: revisions are pending and nothing is wrong.
    Pending = 3,
    /// `status` / `verify`: something needs attention.
    Attention = 4,
    /// The migration lock was not obtained within the wait.
    Locked = 5,
    /// A run stopped at a safe point after SIGINT (128 + 2).
    Interrupted = 130,
    /// A run stopped at a safe point after SIGTERM (128 + 15).
    Terminated = 143,
}

/// A failed command: the message, what to do next, and how the process exits.
#[derive(Debug)]
pub struct Failure {
    /// What went wrong, where (revision, file, line), in the library's words.
    pub message: String,
    /// What to do next, as a command to run where there is one.
    pub hint: Option<String>,
    /// A stable name for scripts (`--format json`).
    pub kind: &'static str,
    /// Structured details for scripts.
    pub details: Value,
    /// The exit code.
    pub exit: Exit,
}

impl Failure {
    /// A failed command (exit 1).
    pub fn new(message: impl Into<String>, hint: Option<String>) -> Failure {
        Failure { message: message.into(), hint, kind: "failed", details: Value::Null, exit: Exit::Failed }
    }

    /// Bad usage or configuration (exit 2).
    pub fn usage(message: impl Into<String>, hint: Option<String>) -> Failure {
        Failure { exit: Exit::Usage, kind: "usage", ..Failure::new(message, hint) }
    }
}

fn name(r: &migrate_core::RevisionId) -> Value {
    json!({ "version": r.version, "name": r.name })
}

/// The library's message and, where the error has one, the database's own error it leaves to `source()`.
fn message(err: &Error) -> String {
    let text = err.to_string();
    let Some(source) = std::error::Error::source(err) else { return text };
    match err {
        // Below the failing statement, before what the failure left.
        Error::Migration(_) => match text.split_once("\n  statement: ") {
            Some((head, rest)) => match rest.split_once('\n') {
                Some((statement, tail)) => format!("{head}\n  statement: {statement}\n  error: {source}\n{tail}"),
                None => format!("{text}\n  error: {source}"),
            },
            None => format!("{text}\n  error: {source}"),
        },
        _ => format!("{text}: {source}"),
    }
}

impl From<Error> for Failure {
    fn from(err: Error) -> Failure {
        let message = message(&err);
        let kind = err.kind();
        let exit = match kind {
            ErrorKind::LockTimeout => Exit::Locked,
            ErrorKind::InvalidIdentifier => Exit::Usage,
            ErrorKind::Stopped => crate::stop::exit(),
            _ => Exit::Failed,
        };
        let mut details = Value::Null;
        let hint: Option<String> = match &err {
            Error::Scan { .. } => Some("fix the files named above; `migrate verify` lists every problem".into()),
            Error::ChecksumMismatch { changes } => {
                let mut versions: Vec<&str> = changes.iter().map(|c| c.revision.version.as_str()).collect();
                versions.dedup();
                details = json!({ "changes": changes.iter().map(|c| json!({
                    "revision": name(&c.revision),
                    "file": c.file,
                    "recorded": c.recorded.map(|c| c.to_hex()),
                    "current": c.current.map(|c| c.to_hex()),
                })).collect::<Vec<_>>() });
                let accept: Vec<String> = versions.iter().map(|v| format!("`migrate accept {v}`")).collect();
                Some(format!("restore the files, or accept the change on purpose: {}", accept.join(", ")))
            }
            Error::UnknownApplied { revisions } => {
                details = json!({ "revisions": revisions.iter().map(name).collect::<Vec<_>>() });
                Some(
                    "use the folder that has them, or revert them with `migrate downgrade <revision below them>` \
                     (their down SQL is kept in the history table)"
                        .into(),
                )
            }
            Error::OutOfOrder { pending, .. } => {
                details = json!({ "pending": pending.iter().map(name).collect::<Vec<_>>() });
                Some(
                    "rename their folders to newer versions, or apply them anyway: `migrate upgrade --out-of-order`"
                        .into(),
                )
            }
            Error::Irreversible { revision, .. } => Some(format!("downgrade to {} or above", revision.version)),
            Error::EmptyDown { .. } => {
                Some("write its down SQL, or run placeholder down files as no-ops: --allow-empty-down".into())
            }
            Error::Dirty { revision, state, statements_done, error, in_doubt } => {
                details = json!({
                    "revision": name(revision),
                    "state": state.as_str(),
                    "statements_done": statements_done,
                    "in_doubt": in_doubt,
                    "error": error,
                });
                Some(dirty_hint(&revision.version, *state, *in_doubt))
            }
            Error::TargetNotFound { .. } => Some("`migrate history` lists the revisions".into()),
            Error::NotEnough { .. } => Some("`migrate status` shows what is applied and pending".into()),
            Error::NotTransactional { .. } => Some("run without --single-transaction".into()),
            Error::LockTimeout { waited, holder } => {
                details = json!({ "waited_s": waited.as_secs_f64(), "holder": holder });
                Some("wait for the other run to finish, or wait longer: --lock-wait <seconds>".into())
            }
            Error::Migration(failure) => {
                let MigrationFailure { direction, revision, file, line, statement, outcome, applied, source, .. } =
                    &**failure;
                details = json!({
                    "direction": direction.name(),
                    "revision": name(revision),
                    "file": file,
                    "line": line,
                    "statement": statement,
                    "code": source.code,
                    "database_message": source.message,
                    "outcome": match outcome {
                        FailureOutcome::RolledBack => json!("rolled_back"),
                        FailureOutcome::RunRolledBack => json!("run_rolled_back"),
                        FailureOutcome::Dirty { statements_done } => json!({ "dirty": { "statements_done": statements_done } }),
                    },
                    "completed_before": applied.iter().map(|(d, r)| json!({
                        "direction": d.name(), "version": r.version, "name": r.name,
                    })).collect::<Vec<_>>(),
                    "tries": failure.tries,
                    "tried_for_s": failure.tried_for.as_secs_f64(),
                    "held_by": failure.held_by,
                });
                Some(match outcome {
                    _ if source.lock_wait_ran_out() => {
                        let then = match outcome {
                            FailureOutcome::Dirty { .. } => "then `migrate resume`",
                            _ => "then run the command again",
                        };
                        format!(
                            "another session held a lock on what {file} changes for longer than this run tried: end \
                             that session (or wait for it), {then}; `--lock-timeout` and `--lock-retry` set how long \
                             to wait"
                        )
                    }
                    FailureOutcome::Dirty { .. } => {
                        let state =
                            if *direction == Direction::Up { RowState::Upgrading } else { RowState::Downgrading };
                        dirty_hint(&revision.version, state, false)
                    }
                    _ => format!("fix {file}:{line} and run the command again"),
                })
            }
            Error::Stopped { completed, at } => {
                let (in_progress, rolled_back) = match at {
                    StopPoint::Inside(revision, done) => {
                        (Some(json!({ "revision": name(revision), "statements_done": done })), None)
                    }
                    StopPoint::RolledBack(revision) => (None, Some(name(revision))),
                    StopPoint::Between => (None, None),
                };
                details = json!({
                    "completed": completed.iter().map(name).collect::<Vec<_>>(),
                    "in_progress": in_progress,
                    "rolled_back": rolled_back,
                });
                Some(match at {
                    StopPoint::Inside(revision, done) => format!(
                        "`migrate resume` goes on with revision {} from statement {}; then run the command again",
                        revision.version,
                        done + 1
                    ),
                    _ => "run the command again to go on".into(),
                })
            }
            Error::Resume { needs_answer: true, .. } => Some(
                "check the database, then say whether it took effect: `migrate resume --in-doubt ran` or \
                 `--in-doubt not-run`"
                    .into(),
            ),
            Error::Resume { .. } => Some("`migrate status` shows which revision is dirty".into()),
            Error::Import { unknown, .. } if !unknown.is_empty() => {
                details = json!({ "unknown": unknown });
                Some("restore those revisions, or import the others and leave these out: --allow-unknown".into())
            }
            Error::Moved { .. } => {
                Some("`migrate status` shows where the database is now; run the command again".into())
            }
            Error::NotRedoable { reason } => Some(
                match reason {
                    RedoRefusal::Unknown { .. } => "revert it alone with `migrate downgrade`",
                    RedoRefusal::EmptyDown { .. } => "write its down SQL first",
                    _ => {
                        "run `migrate downgrade` and `migrate upgrade` separately, or apply the pending revisions first"
                    }
                }
                .into(),
            ),
            _ => None,
        };
        // A refusal (read-only, a missing privilege, a lock) is not fixed in the file: say what is, then what the
        // record asks for.
        let refused = match &err {
            Error::Database { source, .. } => source.refusal(),
            // A lock wait that ran out has its own hint above, with the options that set it.
            Error::Migration(failure) if !failure.source.lock_wait_ran_out() => failure.source.refusal(),
            _ => None,
        };
        let hint = match (refused, &err) {
            (Some(refusal), Error::Migration(failure)) if matches!(failure.outcome, FailureOutcome::Dirty { .. }) => {
                Some(format!("{}; then {}", refusal_advice(refusal), hint.unwrap_or_default()))
            }
            (Some(refusal), _) => Some(refusal_advice(refusal).to_owned()),
            (None, _) => hint,
        };
        Failure { message, hint, kind: kind.name(), details, exit }
    }
}

fn dirty_hint(version: &str, state: RowState, in_doubt: bool) -> String {
    let doing = if state == RowState::Downgrading { "reverting" } else { "applying" };
    if in_doubt {
        return format!(
            "`migrate resume` settles the statement in doubt from the catalog where it can and continues {doing}; \
             where it cannot, check the database and say: `migrate resume --in-doubt ran` or `--in-doubt not-run` \
             (`migrate show {version}` shows its statements)"
        );
    }
    format!(
        "fix the cause, then continue {doing} from the failed statement: `migrate resume`; or finish or undo it by \
         hand and record the outcome: `migrate resolve {version} --applied` or `--not-applied` (`migrate show \
         {version}` shows its statements)"
    )
}
