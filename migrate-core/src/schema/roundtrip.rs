//! The round trip: each pending revision in order is applied, reverted and applied again, with a [`Schema`](crate::Schema) snapshot
//! around each step, so a down file that does not undo its up (a forgotten index, a trigger left behind, a default
//! not put back) is caught, named and described. See [`Migrator::round_trip`](crate::Migrator::round_trip).

use std::fmt;

use crate::revision::{RevisionId, ScriptKind};
use crate::schema::{Change, Difference};

/// What the round trip found for one revision.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// Its down put the schema back as it was before its up, and its up, run again, gave the same schema.
    Passed,
    /// As `Passed`, with a down that has no statement (`kind`: comment-only, or empty where empty downs are
    /// allowed), run as the planner runs it: a no-op, which left the schema as it was, so the up changed no schema.
    Placeholder(ScriptKind),
    /// Its down was not tested, because the planner would not run it (`reason`); the revision stays applied and the
    /// round trip goes on.
    NotReversible(String),
}

/// The step of a revision's trip that left the schema other than it should be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// The down: the schema after it differs from the one before the up.
    Down,
    /// The second up: the schema after it differs from the one after the first.
    UpAgain,
}

/// A revision whose round trip failed, and how.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Failure {
    /// The revision.
    pub revision: RevisionId,
    /// Which step.
    pub phase: Phase,
    /// Whether its down was a placeholder run as a no-op (then the up changed the schema and nothing undoes it).
    pub placeholder: Option<ScriptKind>,
    /// What differs: expected is the schema it should have come back to, actual the one it did.
    pub differences: Vec<Difference>,
}

impl Failure {
    /// Each difference as a sentence: "down of 0007 (index_email) leaves index accounts_email on accounts".
    pub fn sentences(&self) -> Vec<String> {
        let who = format!("{} ({})", self.revision.version, self.revision.name);
        let (subject, expected, actual) = match self.phase {
            Phase::Down => (format!("down of {who}"), "before the up", "after the down"),
            Phase::UpAgain => (format!("up of {who}, run again after its down,"), "after the first up", "now"),
        };
        let down = self.phase == Phase::Down;
        self.differences
            .iter()
            .map(|d| match &d.change {
                Change::Extra(_) if down => format!("{subject} leaves {}", d.object),
                Change::Missing(_) if down => format!("{subject} does not restore {}", d.object),
                Change::Extra(_) => format!("{subject} makes {}, which the first up did not", d.object),
                Change::Missing(_) => format!("{subject} does not make {}", d.object),
                Change::Changed { expected: e, actual: a } => {
                    format!("{subject} changes {}: `{e}` {expected}, `{a}` {actual}", d.object)
                }
            })
            .collect()
    }
}

/// What [`Migrator::round_trip`](crate::Migrator::round_trip) found: each revision it took through the trip, in
/// order, and the first failure, where the trip stopped (the database is left as that failure left it).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RoundTrip {
    /// The revisions checked, oldest first, with what was found; a failed one is not among them.
    pub checked: Vec<(RevisionId, Outcome)>,
    /// The revision whose trip failed, if one did.
    pub failure: Option<Failure>,
}

impl RoundTrip {
    /// `true` when no revision failed.
    pub fn is_ok(&self) -> bool {
        self.failure.is_none()
    }
}

impl fmt::Display for RoundTrip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (revision, outcome) in &self.checked {
            match outcome {
                Outcome::Passed => writeln!(f, "ok      {revision}")?,
                Outcome::Placeholder(kind) => writeln!(
                    f,
                    "ok      {revision}: its down is a placeholder ({}), run as a no-op; the up changes no schema",
                    if *kind == ScriptKind::NoOp { "comments only" } else { "an empty file" }
                )?,
                Outcome::NotReversible(reason) => writeln!(f, "skipped {revision}: down not tested, {reason}")?,
            }
        }
        if let Some(failure) = &self.failure {
            writeln!(f, "FAILED  {}", failure.revision)?;
            for sentence in failure.sentences() {
                writeln!(f, "  {sentence}")?;
            }
            if let Some(kind) = failure.placeholder {
                let what = if kind == ScriptKind::NoOp { "has comments only" } else { "is empty" };
                writeln!(f, "  (its down file {what}, so nothing undoes what the up did)")?;
            }
        }
        Ok(())
    }
}
