//! Where each revision stands in one database: the pure comparison of a folder's revisions with a history table
//! behind the command line's `status`, `history`, `current` and `verify`. No I/O, like the planner, and judged by
//! the same rules, so `status` calls a database in order exactly when an upgrade would run without refusing.

use std::collections::BTreeMap;

use crate::history::{AppliedRow, ChangedFile, RowState};
use crate::plan;
use crate::revision::{Backend, Revision, RevisionId, ScriptKind};

/// Whether a revision is in effect in the database.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Standing {
    /// Applied completely.
    Applied,
    /// Not applied.
    Pending,
    /// Stopped part way while being applied or reverted: the database is dirty.
    Dirty(RowState),
}

/// One revision of the folder, of the history table, or of both.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Entry<'r> {
    /// Version and name (the folder's, or the history row's for a revision missing from the folder).
    pub name: RevisionId,
    /// The revision in the folder; `None` when the database has it applied but the folder does not.
    pub revision: Option<&'r Revision>,
    /// Its history row, if the database has one.
    pub row: Option<AppliedRow>,
    /// Applied, pending or dirty.
    pub standing: Standing,
    /// Files of an applied revision that changed since it was applied.
    pub changed: Vec<ChangedFile>,
    /// A pending revision older than the newest applied one: an upgrade refuses it unless told to allow it.
    pub out_of_order: bool,
    /// `folder/file` of a down file with no statement (a diesel placeholder): a downgrade past this revision is
    /// refused unless empty downgrades are accepted as no-ops.
    pub empty_down: Option<String>,
    /// The revision's down file is marked irreversible: no downgrade can pass it.
    pub irreversible: bool,
}

impl Entry<'_> {
    /// `true` when the database has the revision applied and the folder does not.
    pub fn is_missing(&self) -> bool {
        self.revision.is_none()
    }

    /// `true` when something is wrong that a person must settle: a dirty revision, changed files, a revision missing
    /// from the folder, or a pending revision out of order. A pending revision alone is not a problem.
    pub fn needs_attention(&self) -> bool {
        matches!(self.standing, Standing::Dirty(_))
            || !self.changed.is_empty()
            || self.is_missing()
            || self.out_of_order
    }
}

/// How many revisions are in each situation (one revision can count in several).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Summary {
    /// Applied completely.
    pub applied: usize,
    /// Not applied.
    pub pending: usize,
    /// Stopped part way.
    pub dirty: usize,
    /// Applied, with files changed since.
    pub changed: usize,
    /// Applied here, missing from the folder.
    pub missing: usize,
    /// Pending, older than the newest applied.
    pub out_of_order: usize,
    /// With a placeholder down file.
    pub empty_down: usize,
}

impl Summary {
    /// Counts `entries`.
    pub fn of(entries: &[Entry<'_>]) -> Summary {
        let mut s = Summary::default();
        for e in entries {
            match e.standing {
                Standing::Applied => s.applied += 1,
                Standing::Pending => s.pending += 1,
                Standing::Dirty(_) => s.dirty += 1,
            }
            s.changed += usize::from(!e.changed.is_empty());
            s.missing += usize::from(e.is_missing());
            s.out_of_order += usize::from(e.out_of_order);
            s.empty_down += usize::from(e.empty_down.is_some());
        }
        s
    }

    /// `true` when some revision needs a person (see [`Entry::needs_attention`]).
    pub fn needs_attention(&self) -> bool {
        self.dirty + self.changed + self.missing + self.out_of_order > 0
    }
}

/// Every revision of the folder and of the history, in version order, with where it stands on `backend`.
pub fn status<'r>(revisions: &'r [Revision], rows: &[AppliedRow], backend: Backend) -> Vec<Entry<'r>> {
    let recorded: BTreeMap<&str, &AppliedRow> = rows.iter().map(|r| (r.version.as_str(), r)).collect();
    let known: BTreeMap<&str, &'r Revision> = revisions.iter().map(|r| (r.version(), r)).collect();
    let newest = rows.iter().map(|r| r.version.as_str()).max();
    let mut versions: Vec<&str> = known.keys().chain(recorded.keys()).copied().collect();
    versions.sort_unstable();
    versions.dedup();
    versions
        .into_iter()
        .map(|version| {
            let revision = known.get(version).copied();
            let row = recorded.get(version).copied();
            let name = match (revision, row) {
                (Some(r), _) => RevisionId { version: r.version().to_owned(), name: r.name().to_owned() },
                (None, Some(row)) => RevisionId { version: row.version.clone(), name: row.name.clone() },
                (None, None) => unreachable!("every version comes from the folder or the history"),
            };
            let standing = match row {
                None => Standing::Pending,
                Some(row) if row.state.is_dirty() => Standing::Dirty(row.state),
                Some(_) => Standing::Applied,
            };
            let changed = match (revision, row) {
                (Some(r), Some(row)) => plan::changed_files(row, r, backend),
                _ => Vec::new(),
            };
            let down = revision.map(|r| r.down(backend));
            Entry {
                name,
                revision,
                row: row.cloned(),
                standing,
                changed,
                out_of_order: row.is_none() && newest.is_some_and(|n| version < n),
                empty_down: down
                    .filter(|d| d.kind() == ScriptKind::Empty)
                    .zip(revision)
                    .map(|(d, r)| r.path_of(d).display().to_string()),
                irreversible: down.is_some_and(|d| d.kind() == ScriptKind::Irreversible),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::revision::Script;

    fn rev(version: &str, down: &str) -> Revision {
        let kind = if down.is_empty() { ScriptKind::Empty } else { ScriptKind::Sql };
        Revision::new_owned(
            version.to_owned(),
            format!("r{version}"),
            format!("{version}_r{version}"),
            vec![Script::new_owned(
                "up.sql".into(),
                None,
                format!("create table t{version} (id int);"),
                ScriptKind::Sql,
                true,
            )],
            vec![Script::new_owned("down.sql".into(), None, down.to_owned(), kind, true)],
        )
    }

    fn row(r: &Revision) -> AppliedRow {
        AppliedRow::for_revision(r, Backend::Sqlite)
    }

    /// One line per entry: `version standing [flags]`.
    fn check(revisions: &[Revision], rows: &[AppliedRow], expected: &[&str]) {
        let entries = status(revisions, rows, Backend::Sqlite);
        let got: Vec<String> = entries
            .iter()
            .map(|e| {
                let mut line = format!("{} {:?}", e.name.version, e.standing);
                for (flag, on) in [
                    ("changed", !e.changed.is_empty()),
                    ("missing", e.is_missing()),
                    ("out-of-order", e.out_of_order),
                    ("empty-down", e.empty_down.is_some()),
                ] {
                    if on {
                        line.push(' ');
                        line.push_str(flag);
                    }
                }
                line
            })
            .collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn every_kind_of_standing() {
        let (a, b, c) = (rev("0001", "drop table t0001;"), rev("0002", ""), rev("0003", "drop table t0003;"));
        let all = [a.clone(), b.clone(), c.clone()];
        check(&all, &[], &["0001 Pending", "0002 Pending empty-down", "0003 Pending"]);
        check(&all, &[row(&a)], &["0001 Applied", "0002 Pending empty-down", "0003 Pending"]);
        // 0002 pending below the newest applied 0003: out of order.
        check(&all, &[row(&a), row(&c)], &["0001 Applied", "0002 Pending out-of-order empty-down", "0003 Applied"]);
        // A row the folder does not have.
        let gone = rev("0004", "drop table t0004;");
        check(&all[..1], &[row(&a), row(&gone)], &["0001 Applied", "0004 Applied missing"]);
        // A changed file and a dirty row.
        let mut changed = row(&a);
        changed.up_checksum = crate::revision::Checksum([7; 32]);
        let mut dirty = row(&b);
        dirty.state = RowState::Upgrading;
        check(&all[..2], &[changed, dirty], &["0001 Applied changed", "0002 Dirty(Upgrading) empty-down"]);
        let entries = status(&all, &[row(&a)], Backend::Sqlite);
        let summary = Summary::of(&entries);
        assert_eq!((summary.applied, summary.pending, summary.empty_down), (1, 2, 1));
        assert!(!summary.needs_attention());
    }
}
