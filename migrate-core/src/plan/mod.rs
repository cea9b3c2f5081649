//! The planner: from the revisions a binary contains, the rows of a history table and a command, the exact list
//! of steps to run, or the reason to run nothing. Pure: no I/O, so every rule is tested without a database.

pub mod status;

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fmt;

use crate::error::Error;
use crate::folder::scan::{Blocks, Problem};
use crate::history::{AppliedRow, ChangedFile};
use crate::revision::{Backend, Direction, Revision, RevisionId, Script, ScriptKind};
use crate::sql::{self, Directive};

/// Where a command goes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    /// The newest revision.
    Head,
    /// Before the first revision: nothing applied.
    Base,
    /// A revision, by version, unique version prefix, folder name or unique name.
    Revision(Cow<'static, str>),
    /// `+N` (upgrade by N revisions) or `-N` (downgrade by N).
    Relative(i64),
}

impl Target {
    /// Reads `head`, `base`, `+N`, `-N`, or else a revision reference.
    pub fn parse(text: &str) -> Target {
        let text = text.trim();
        match text {
            "head" | "heads" => Target::Head,
            "base" => Target::Base,
            _ => {
                if let Some(n) = text.strip_prefix(['+', '-']).and_then(|n| n.parse::<i64>().ok()) {
                    Target::Relative(if text.starts_with('-') { -n } else { n })
                } else {
                    Target::Revision(Cow::Owned(text.to_owned()))
                }
            }
        }
    }

    /// A target naming the revision with this version (what the generated per-revision constants hold).
    pub const fn version(version: &'static str) -> Target {
        Target::Revision(Cow::Borrowed(version))
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Head => f.write_str("head"),
            Target::Base => f.write_str("base"),
            Target::Revision(r) => f.write_str(r),
            Target::Relative(n) => write!(f, "{n:+}"),
        }
    }
}

impl From<&str> for Target {
    fn from(text: &str) -> Target {
        Target::parse(text)
    }
}

/// What to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Apply pending revisions up to the target.
    Upgrade(Target),
    /// Revert applied revisions down to the target (the target itself stays applied).
    Downgrade(Target),
    /// Make the history say the database is at the target, running nothing.
    Stamp(Target),
}

/// What to do about pending revisions older than the newest applied one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OutOfOrder {
    /// Refuse (the default): usually a branch merged late, and its revision should get a newer version.
    #[default]
    Error,
    /// Apply them, oldest first.
    Allow,
}

/// The rules a plan is made under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Policy {
    /// The database, which picks override files.
    pub backend: Backend,
    /// Pending revisions older than the newest applied one.
    pub out_of_order: OutOfOrder,
    /// Run an empty down file as a no-op instead of refusing.
    pub allow_empty_down: bool,
    /// The whole run is one transaction, so every script must be able to run in one.
    pub single_transaction: bool,
}

impl Policy {
    /// The default rules for `backend`.
    pub fn new(backend: Backend) -> Policy {
        Policy { backend, out_of_order: OutOfOrder::Error, allow_empty_down: false, single_transaction: false }
    }
}

/// What a step does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Run the up script and record the revision.
    Apply,
    /// Run the down script and remove the record.
    Revert,
    /// Record the revision as applied without running anything.
    StampApplied,
    /// Remove the record without running anything.
    StampReverted,
}

impl Action {
    /// The direction the step moves the database in.
    pub fn direction(self) -> Direction {
        match self {
            Action::Apply | Action::StampApplied => Direction::Up,
            Action::Revert | Action::StampReverted => Direction::Down,
        }
    }
}

/// One step of a plan.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Step<'r> {
    /// What it does.
    pub action: Action,
    /// Which revision.
    pub revision: RevisionId,
    /// The revision in this binary, or `None` for an applied revision this binary does not know.
    pub known: Option<&'r Revision>,
    /// The script to run; `None` for stamps and for an empty down file run as a no-op.
    pub script: Option<Cow<'r, Script>>,
    /// `folder/file` of the script, for messages.
    pub file: String,
}

/// The steps a command needs, in order.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct Plan<'r> {
    /// The steps.
    pub steps: Vec<Step<'r>>,
    /// The revision the database is at before the plan runs (the newest applied), if any.
    pub current: Option<RevisionId>,
}

impl Plan<'_> {
    /// `true` when there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// The revision the database is at once every step has run, for the history `rows` the plan was made from.
    pub fn after(&self, rows: &[AppliedRow]) -> Option<RevisionId> {
        let mut at: BTreeMap<&str, &str> = rows.iter().map(|r| (r.version.as_str(), r.name.as_str())).collect();
        for step in &self.steps {
            match step.action.direction() {
                Direction::Up => at.insert(&step.revision.version, &step.revision.name),
                Direction::Down => at.remove(step.revision.version.as_str()),
            };
        }
        at.last_key_value().map(|(version, name)| name_of(version, name))
    }
}

fn name_of(version: &str, name: &str) -> RevisionId {
    RevisionId { version: version.to_owned(), name: name.to_owned() }
}

fn rev_name(r: &Revision) -> RevisionId {
    name_of(r.version(), r.name())
}

/// Plans `command` for a database whose history holds `applied`.
///
/// # Errors
/// Refuses, before anything runs, with: [`Error::Dirty`] if a revision was left part way; [`Error::ChecksumMismatch`]
/// if an applied revision's files changed; [`Error::UnknownApplied`] if an upgrade or stamp meets applied revisions
/// this binary does not have; [`Error::OutOfOrder`] for pending revisions older than the newest applied one (unless
/// allowed); [`Error::Irreversible`] / [`Error::EmptyDown`] for a downgrade that cannot pass a revision;
/// [`Error::TargetNotFound`], [`Error::WrongDirection`], [`Error::NotEnough`] for targets that do not fit;
/// [`Error::NotTransactional`] when a single transaction was asked for and a script cannot run in one.
pub fn plan<'r>(
    revisions: &'r [Revision],
    applied: &[AppliedRow],
    command: &Command,
    policy: &Policy,
) -> Result<Plan<'r>, Error> {
    let backend = policy.backend;
    // Looked up once or twice per history row: a hash map (the start-up with nothing pending is mostly this).
    let known: HashMap<&str, &'r Revision> = revisions.iter().map(|r| (r.version(), r)).collect();
    let mut rows: Vec<&AppliedRow> = applied.iter().collect();
    rows.sort_by(|a, b| a.version.cmp(&b.version));
    if let Some(row) = rows.iter().find(|r| r.state.is_dirty()) {
        return Err(Error::Dirty {
            revision: name_of(&row.version, &row.name),
            state: row.state,
            statements_done: row.statements_done,
            error: row.error.clone(),
            in_doubt: row.in_doubt,
        });
    }
    let changes = changed_files_all(&rows, &known, backend);
    if !changes.is_empty() {
        return Err(Error::ChecksumMismatch { changes });
    }
    let current = rows.last().map(|r| name_of(&r.version, &r.name));
    let unknown: Vec<RevisionId> =
        rows.iter().filter(|r| !known.contains_key(r.version.as_str())).map(|r| name_of(&r.version, &r.name)).collect();
    let is_applied = |version: &str| rows.binary_search_by(|r| r.version.as_str().cmp(version)).is_ok();
    let mut steps = Vec::new();
    match command {
        Command::Upgrade(target) => {
            if !unknown.is_empty() {
                return Err(Error::UnknownApplied { revisions: unknown });
            }
            let pending: Vec<&'r Revision> = revisions.iter().filter(|r| !is_applied(r.version())).collect();
            let chosen: Vec<&'r Revision> = match target {
                Target::Head => pending,
                Target::Base => return Err(not_a_target("base", "upgrade", "downgrade base")),
                Target::Relative(n) if *n <= 0 => {
                    return Err(not_a_target(&target.to_string(), "upgrade", "+N to upgrade, or downgrade -N"))
                }
                Target::Relative(n) => {
                    let n = n.unsigned_abs();
                    if (pending.len() as u64) < n {
                        return Err(Error::NotEnough {
                            command: Direction::Up,
                            requested: n,
                            available: pending.len(),
                        });
                    }
                    pending.into_iter().take(n as usize).collect()
                }
                Target::Revision(reference) => {
                    let target = resolve(reference, revisions, &rows)?;
                    if is_applied(&target.version) && current.as_ref().is_some_and(|c| c.version > target.version) {
                        return Err(Error::WrongDirection { command: Direction::Up, target, current });
                    }
                    pending.into_iter().filter(|r| r.version() <= target.version.as_str()).collect()
                }
            };
            if let (Some(newest), OutOfOrder::Error) = (&current, policy.out_of_order) {
                let late: Vec<RevisionId> =
                    chosen.iter().filter(|r| r.version() < newest.version.as_str()).map(|r| rev_name(r)).collect();
                if !late.is_empty() {
                    return Err(Error::OutOfOrder { pending: late, newest_applied: newest.clone() });
                }
            }
            for r in chosen {
                let script = r.up(backend);
                steps.push(Step {
                    action: Action::Apply,
                    revision: rev_name(r),
                    known: Some(r),
                    file: r.path_of(script).display().to_string(),
                    script: Some(Cow::Borrowed(script)),
                });
            }
        }
        Command::Downgrade(target) => {
            let chosen: Vec<&AppliedRow> = match target {
                Target::Head => return Err(not_a_target("head", "downgrade", "upgrade head")),
                Target::Base => rows.iter().rev().copied().collect(),
                Target::Relative(n) if *n >= 0 => {
                    return Err(not_a_target(&target.to_string(), "downgrade", "-N to downgrade, or upgrade +N"))
                }
                Target::Relative(n) => {
                    let n = n.unsigned_abs();
                    if (rows.len() as u64) < n {
                        return Err(Error::NotEnough { command: Direction::Down, requested: n, available: rows.len() });
                    }
                    rows.iter().rev().take(n as usize).copied().collect()
                }
                Target::Revision(reference) => {
                    let target = resolve(reference, revisions, &rows)?;
                    if !is_applied(&target.version) {
                        if current.as_ref().is_none_or(|c| c.version < target.version) {
                            return Err(Error::WrongDirection { command: Direction::Down, target, current });
                        }
                        return Err(Error::TargetNotFound {
                            target: target.to_string(),
                            detail: "is not applied to this database; downgrade to an applied revision, or to base"
                                .to_owned(),
                        });
                    }
                    rows.iter().rev().filter(|r| r.version > target.version).copied().collect()
                }
            };
            for row in chosen {
                steps.push(revert_step(row, known.get(row.version.as_str()).copied(), policy)?);
            }
        }
        Command::Stamp(target) => {
            let threshold: Option<String> = match target {
                Target::Head => revisions.last().map(|r| r.version().to_owned()),
                Target::Base => None,
                Target::Relative(_) => {
                    return Err(not_a_target(&target.to_string(), "stamp", "a revision, head or base"))
                }
                Target::Revision(reference) => {
                    let target = resolve(reference, revisions, &[])?;
                    Some(target.version)
                }
            };
            let keep = |version: &str| threshold.as_deref().is_some_and(|t| version <= t);
            for row in rows.iter().rev().filter(|r| !keep(&r.version)) {
                steps.push(Step {
                    action: Action::StampReverted,
                    revision: name_of(&row.version, &row.name),
                    known: known.get(row.version.as_str()).copied(),
                    script: None,
                    file: String::new(),
                });
            }
            for r in revisions.iter().filter(|r| keep(r.version()) && !is_applied(r.version())) {
                steps.push(Step {
                    action: Action::StampApplied,
                    revision: rev_name(r),
                    known: Some(r),
                    script: None,
                    file: String::new(),
                });
            }
        }
    }
    if policy.single_transaction {
        if let Some(step) = steps.iter().find(|s| s.script.as_ref().is_some_and(|s| !s.transaction())) {
            return Err(Error::NotTransactional {
                revision: step.revision.clone(),
                file: step.file.clone(),
                reason: "it is marked no-transaction".to_owned(),
            });
        }
    }
    Ok(Plan { steps, current })
}

fn not_a_target(target: &str, command: &str, instead: &str) -> Error {
    Error::TargetNotFound { target: target.to_owned(), detail: format!("is not a target for {command}; use {instead}") }
}

fn revert_step<'r>(row: &AppliedRow, known: Option<&'r Revision>, policy: &Policy) -> Result<Step<'r>, Error> {
    let revision = name_of(&row.version, &row.name);
    let (script, file) = match known {
        Some(r) => {
            let script = r.down(policy.backend);
            (Cow::Borrowed(script), r.path_of(script).display().to_string())
        }
        None => {
            let file = format!("{} down SQL kept in the history table", row.version);
            match &row.down_sql {
                None => return Err(Error::Irreversible { revision, file }),
                Some(sql) => (Cow::Owned(stored_script(sql)), file),
            }
        }
    };
    let script = match script.kind() {
        ScriptKind::Sql => Some(script),
        ScriptKind::Irreversible => return Err(Error::Irreversible { revision, file }),
        // A stored empty down was accepted when the revision was applied.
        ScriptKind::Empty if policy.allow_empty_down || known.is_none() => None,
        // Comments only, on purpose: nothing to run, the row goes.
        ScriptKind::NoOp => None,
        ScriptKind::Empty => return Err(Error::EmptyDown { revision, file }),
    };
    Ok(Step { action: Action::Revert, revision, known, script, file })
}

/// The problems of `problems` that stand in the way of `steps` on `backend`: among the errors that concern
/// `backend`, those of the whole folder, and those in a file a step would run or rely on (an up file for applying or
/// stamping as applied, a down file for reverting or stamping as not applied).
pub fn blocked_by(steps: &[Step<'_>], problems: &[Problem], backend: Backend) -> Vec<Problem> {
    concerning(steps, problems, backend).into_iter().filter(|problem| problem.refuses_on(backend)).collect()
}

/// The problems of `problems`, errors and warnings, that concern `backend` and are about the whole folder or a
/// file one of `steps` runs or relies on.
pub fn concerning(steps: &[Step<'_>], problems: &[Problem], backend: Backend) -> Vec<Problem> {
    problems
        .iter()
        .filter(|problem| problem.backends.contains(backend))
        .filter(|problem| match problem.about() {
            Blocks::Nothing => false,
            Blocks::Everything => true,
            Blocks::Revision(folder) => steps.iter().any(|s| s.known.is_some_and(|r| r.folder() == folder)),
            Blocks::Apply(folder) => steps.iter().any(|s| {
                matches!(s.action, Action::Apply | Action::StampApplied)
                    && s.known.is_some_and(|r| r.folder() == folder)
            }),
            Blocks::Revert(folder) => steps.iter().any(|s| {
                matches!(s.action, Action::Revert | Action::StampReverted)
                    && s.known.is_some_and(|r| r.folder() == folder)
            }),
        })
        .cloned()
        .collect()
}

/// Rebuilds a down script from the text kept in the history table.
pub fn stored_script(sql: &str) -> Script {
    let (directives, _) = sql::directives(sql);
    let kind = if directives.contains(&Directive::Irreversible) {
        ScriptKind::Irreversible
    } else if sql::is_blank(sql) {
        ScriptKind::Empty
    } else {
        ScriptKind::Sql
    };
    let transaction = !directives.contains(&Directive::NoTransaction);
    Script::new_owned("down.sql".to_owned(), None, sql.to_owned(), kind, transaction)
}

fn changed_files_all(rows: &[&AppliedRow], known: &HashMap<&str, &Revision>, backend: Backend) -> Vec<ChangedFile> {
    rows.iter()
        .filter_map(|row| known.get(row.version.as_str()).map(|r| changed_files(row, r, backend)))
        .flatten()
        .collect()
}

/// The files of applied revision `revision` whose checksum on `backend` differs from the one `row` recorded.
pub fn changed_files(row: &AppliedRow, r: &Revision, backend: Backend) -> Vec<ChangedFile> {
    let mut changes = Vec::new();
    let up = r.up(backend);
    if up.checksum() != row.up_checksum {
        changes.push(ChangedFile {
            revision: rev_name(r),
            file: r.path_of(up).display().to_string(),
            recorded: Some(row.up_checksum),
            current: Some(up.checksum()),
        });
    }
    let down = r.down(backend);
    let current = down.recorded_checksum();
    if current != row.down_checksum {
        changes.push(ChangedFile {
            revision: rev_name(r),
            file: r.path_of(down).display().to_string(),
            recorded: row.down_checksum,
            current,
        });
    }
    changes
}

/// Finds the revision `reference` names: an exact version (dashes allowed), an exact folder name, a unique name, or
/// a unique version prefix. Applied revisions this binary does not know are found by exact version.
///
/// # Errors
/// [`Error::TargetNotFound`] when nothing matches, or several revisions do.
pub fn resolve(reference: &str, revisions: &[Revision], rows: &[&AppliedRow]) -> Result<RevisionId, Error> {
    let digits = reference.replace('-', "");
    let exact = revisions.iter().find(|r| r.version() == digits || r.folder() == reference);
    if let Some(r) = exact {
        return Ok(rev_name(r));
    }
    if let Some(row) = rows.iter().find(|r| r.version == digits) {
        return Ok(name_of(&row.version, &row.name));
    }
    let by_name: Vec<&Revision> = revisions.iter().filter(|r| r.name() == reference).collect();
    let by_prefix: Vec<&Revision> = if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        revisions.iter().filter(|r| r.version().starts_with(&digits)).collect()
    } else {
        Vec::new()
    };
    let matches = if by_name.is_empty() { by_prefix } else { by_name };
    match matches.as_slice() {
        [one] => Ok(rev_name(one)),
        [] => Err(Error::TargetNotFound {
            target: reference.to_owned(),
            detail: "matches no revision (give a version, a unique version prefix, a folder name or a name, or \
                     head, base, +N, -N)"
                .to_owned(),
        }),
        many => Err(Error::TargetNotFound {
            target: reference.to_owned(),
            detail: format!(
                "matches several revisions: {}; give more of the version",
                many.iter().map(|r| r.folder()).collect::<Vec<_>>().join(", ")
            ),
        }),
    }
}

#[cfg(test)]
mod tests;
