//! The safety lint: what a revision's `up` file does that holds a lock other queries wait behind, or breaks the
//! version of the application still running, decided from the folder alone, in the dialect of each backend that
//! runs the file (a generic file in each of them, an override file in its own).
//!
//! Each rule has a stable name, a reason and the safe way to write the statement ([`RULES`]). A finding is at the
//! statement's file and line, at the rule's [`Level`]. A statement on a table the same file created earlier is
//! exempt: nothing else can be using it yet. A statement silences a rule in place with a comment on the lines
//! before it, naming the rule and saying why: `-- migrate:allow(drop-column) the column was unused since v2.3`; an
//! allow without a reason, or naming no rule, is itself a finding ([`ALLOW_RULE`]). Revisions up to
//! [`LintOptions::start_after`] (the ones a project already shipped) are not judged.

use std::collections::HashMap;
use std::path::PathBuf;

use crate::revision::{Backend, Backends, Revision, Script};
use crate::sql::{self, Statement};

mod read;

/// How a finding of a rule counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// Not reported.
    Allow,
    /// Reported; fails nothing unless asked to.
    Warn,
    /// Reported as a problem of the folder.
    Deny,
}

impl Level {
    /// `allow`, `warn`, `deny`.
    pub fn name(self) -> &'static str {
        match self {
            Level::Allow => "allow",
            Level::Warn => "warn",
            Level::Deny => "deny",
        }
    }

    /// The level named `name`.
    pub fn parse(name: &str) -> Option<Level> {
        match name {
            "allow" => Some(Level::Allow),
            "warn" => Some(Level::Warn),
            "deny" => Some(Level::Deny),
            _ => None,
        }
    }
}

/// A rule of the lint.
#[derive(Clone, Copy, Debug)]
pub struct Rule {
    /// Its stable name, as levels and `-- migrate:allow(…)` name it.
    pub name: &'static str,
    /// The backends it judges.
    pub backends: &'static [Backend],
    /// Why the statement is unsafe, in one line.
    pub reason: &'static str,
    /// The safe way to write it.
    pub instead: &'static str,
}

/// The rule a misused `-- migrate:allow(…)` comment breaks: no reason, or no such rule.
pub const ALLOW_RULE: &str = "allow-without-reason";

const ALL: &[Backend] = &[Backend::Postgres, Backend::Mysql, Backend::Sqlite];
const POSTGRES: &[Backend] = &[Backend::Postgres];
const MYSQL: &[Backend] = &[Backend::Mysql];
const POSTGRES_MYSQL: &[Backend] = &[Backend::Postgres, Backend::Mysql];
const SQLITE: &[Backend] = &[Backend::Sqlite];

/// Every rule, by name.
pub const RULES: &[Rule] = &[
    Rule {
        name: "add-index-non-concurrently",
        backends: POSTGRES,
        reason: "CREATE INDEX blocks every write to the table until the index is built",
        instead: "CREATE INDEX CONCURRENTLY, in a file that starts with -- migrate:no-transaction",
    },
    Rule {
        name: "add-foreign-key-not-valid",
        backends: POSTGRES,
        reason: "adding a foreign key checks every row while it blocks writes to both tables",
        instead: "ADD CONSTRAINT … FOREIGN KEY … NOT VALID, then VALIDATE CONSTRAINT in a later revision",
    },
    Rule {
        name: "add-check-constraint-not-valid",
        backends: POSTGRES,
        reason: "adding a check constraint scans every row while it blocks reads and writes of the table",
        instead: "ADD CONSTRAINT … CHECK (…) NOT VALID, then VALIDATE CONSTRAINT in a later revision",
    },
    Rule {
        name: "set-not-null",
        backends: POSTGRES,
        reason: "SET NOT NULL scans every row while it blocks reads and writes of the table",
        instead: "add CHECK (column IS NOT NULL) NOT VALID, validate it in a later revision, then SET NOT NULL, which \
                  the validated check makes instant (PostgreSQL 12 and later)",
    },
    Rule {
        name: "drop-index-non-concurrently",
        backends: POSTGRES,
        reason: "DROP INDEX blocks reads and writes of the table until the index is gone",
        instead: "DROP INDEX CONCURRENTLY, in a file that starts with -- migrate:no-transaction",
    },
    Rule {
        name: "change-column-type",
        backends: POSTGRES,
        reason: "changing a column's type rewrites the table (and its indexes) while it blocks reads and writes",
        instead: "add a column of the new type, write both, backfill in batches, switch, then drop the old (a change \
                  PostgreSQL can make without a rewrite, such as varchar(n) to text, may be silenced with a reason)",
    },
    Rule {
        name: "add-unique-constraint-without-index",
        backends: POSTGRES,
        reason: "adding a unique constraint builds its index while it blocks writes to the table",
        instead: "CREATE UNIQUE INDEX CONCURRENTLY first, then ADD CONSTRAINT … UNIQUE USING INDEX",
    },
    Rule {
        name: "add-column-volatile-default",
        backends: POSTGRES_MYSQL,
        reason: "a column added with a volatile default (random(), gen_random_uuid(), clock_timestamp()), a serial \
                 or identity column, or a stored generated column is filled row by row: the table is rewritten \
                 while reads and writes of it wait",
        instead: "add the column without a default (a constant default is instant since PostgreSQL 11), set the \
                  default in a second statement, and backfill existing rows in batches",
    },
    Rule {
        name: "add-not-null-column-without-default",
        backends: POSTGRES,
        reason: "ADD COLUMN … NOT NULL without a default fails on a table that has rows",
        instead: "give it a DEFAULT, or add it nullable, backfill, then make it NOT NULL (see set-not-null)",
    },
    Rule {
        name: "add-primary-key-without-index",
        backends: POSTGRES,
        reason: "adding a primary key builds its index (and checks NOT NULL on every row) while it blocks reads and \
                 writes of the table",
        instead: "CREATE UNIQUE INDEX CONCURRENTLY first, then ADD CONSTRAINT … PRIMARY KEY USING INDEX",
    },
    Rule {
        name: "validate-in-same-transaction",
        backends: POSTGRES,
        reason: "the lock taken to add the NOT VALID constraint is held until the file's transaction ends, so \
                 VALIDATE's full scan runs under it",
        instead: "VALIDATE CONSTRAINT in a later revision (or in a file that starts with -- migrate:no-transaction)",
    },
    Rule {
        name: "lock-timeout-off",
        backends: POSTGRES_MYSQL,
        reason: "no lock timeout bounds this statement: while it waits for its table's lock, every later query of \
                 the table waits behind it",
        instead: "leave the run's lock timeout on, give the file a bound (-- migrate:lock-timeout 10s), or set one \
                  in the file (SET lock_timeout, SET lock_wait_timeout) before it",
    },
    Rule {
        name: "mysql-add-foreign-key",
        backends: MYSQL,
        reason: "with foreign_key_checks on, MySQL and MariaDB add a foreign key by copying the table, blocking \
                 writes to it for the copy",
        instead: "SET foreign_key_checks = 0 earlier in the file (the key is then added in place without checking \
                  the rows: check them with a query first), or an online schema change tool",
    },
    Rule {
        name: "mysql-modify-column",
        backends: MYSQL,
        reason: "MODIFY or CHANGE COLUMN copies the table, blocking writes to it, unless the server can make the \
                 change in place (a longer VARCHAR within its length prefix, ENUM values added at the end)",
        instead: "state ALGORITHM=INPLACE, LOCK=NONE (or ALGORITHM=INSTANT) so that the server refuses a change it \
                  would copy the table for, or use an online schema change tool",
    },
    Rule {
        name: "mysql-enum-reorder",
        backends: MYSQL,
        reason: "changing an ENUM's or SET's values other than by adding at the end (within the same storage size) \
                 copies the table, blocking writes to it",
        instead: "add new values at the end of the list and leave unused ones in place",
    },
    Rule {
        name: "mysql-add-check-constraint",
        backends: MYSQL,
        reason: "MySQL and MariaDB add a check constraint by copying the table, blocking writes to it while every \
                 row is checked",
        instead: "check the rows in the application or a trigger first and add the constraint when writers can \
                  wait for the copy, or use an online schema change tool",
    },
    Rule {
        name: "mysql-lock-shared-exclusive",
        backends: MYSQL,
        reason: "LOCK=SHARED or LOCK=EXCLUSIVE blocks writes (or reads too) for the whole ALTER TABLE",
        instead: "LOCK=NONE where the change allows it, or an online schema change tool",
    },
    Rule {
        name: "mysql-algorithm-copy",
        backends: MYSQL,
        reason: "ALGORITHM=COPY rebuilds the table and blocks writes to it for the whole copy",
        instead: "ALGORITHM=INPLACE or INSTANT where the change allows it, or an online schema change tool",
    },
    Rule {
        name: "sqlite-unsupported-alter",
        backends: SQLITE,
        reason: "SQLite's ALTER TABLE cannot make this change: the revision fails",
        instead: "SQLite's table rebuild (https://www.sqlite.org/lang_altertable.html#otheralter), in an override \
                  file (up.sqlite.sql) where the folder serves other backends too",
    },
    Rule {
        name: "table-rebuild",
        backends: ALL,
        reason: "copying a table into a new one and swapping the names blocks writers for the whole copy (on SQLite \
                 every writer of the database), and loses the writes made during the copy unless the old table was \
                 locked first",
        instead: "ALTER TABLE in place where the backend can; otherwise lock the old table first and run it when \
                  writers can wait for the copy (on SQLite, where it is the only way, keep it)",
    },
    Rule {
        name: "drop-table",
        backends: ALL,
        reason: "the version of the application still running may read the table",
        instead: "stop using it in one release, drop it in a later one",
    },
    Rule {
        name: "drop-schema",
        backends: POSTGRES_MYSQL,
        reason: "DROP SCHEMA or DROP DATABASE removes every table in it, and the version of the application still \
                 running may read them",
        instead: "stop using it in one release, drop it in a later one",
    },
    Rule {
        name: "drop-column",
        backends: ALL,
        reason: "the version of the application still running may read or write the column",
        instead: "stop using it in one release, drop it in a later one",
    },
    Rule {
        name: "rename-table",
        backends: ALL,
        reason: "the version of the application still running uses the old name",
        instead: "create the new table (or a view under the new name), move the application, then drop the old",
    },
    Rule {
        name: "rename-column",
        backends: ALL,
        reason: "the version of the application still running uses the old name",
        instead: "add the new column, write both, backfill, move the application, then drop the old",
    },
];

/// The rule named `name`.
pub fn rule(name: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.name == name)
}

/// What the lint judges, and how loudly.
#[derive(Clone, Debug, Default)]
pub struct LintOptions {
    /// Each rule's level, where not the default ([`Level::Warn`]).
    pub levels: HashMap<String, Level>,
    /// Revisions up to this version (the ones a project already shipped) are not judged.
    pub start_after: Option<String>,
    /// The backends to judge in (default: every one a file runs on).
    pub backends: Option<Backends>,
    /// The run's lock timeout is off (`lock_timeout = 0`): a file without its own bound is unbounded.
    pub lock_timeout_off: bool,
}

impl LintOptions {
    /// The level of rule `name`.
    pub fn level(&self, name: &str) -> Level {
        self.levels.get(name).copied().unwrap_or(Level::Warn)
    }

    /// Sets rule `name` (a rule of [`RULES`], or [`ALLOW_RULE`]) to `level`; `false`, and nothing set, where there
    /// is no such rule.
    pub fn set_level(&mut self, name: &str, level: Level) -> bool {
        if rule(name).is_none() && name != ALLOW_RULE {
            return false;
        }
        self.levels.insert(name.to_owned(), level);
        true
    }

    /// Takes one entry of a `[lint]` table (`migrate.toml`): `start_after = "0042"`, or `deny`, `warn` or `allow`
    /// as a list of rule names.
    ///
    /// # Errors
    /// What is wrong with the entry, in words that follow `[lint] ` (an unknown key, a value of the wrong type, a
    /// name of no rule).
    pub fn set_entry(&mut self, key: &str, value: Entry<'_>) -> Result<(), String> {
        match (key, value) {
            ("start_after", Entry::Text(version)) => self.start_after = Some(version.to_owned()),
            ("start_after", _) => return Err("`start_after` must be a version, as a string".to_owned()),
            (level, value) => {
                let level = Level::parse(level).ok_or_else(|| {
                    format!("unknown key `{key}`; the keys are `start_after`, `deny`, `warn` and `allow`")
                })?;
                let Entry::List(names) = value else { return Err(format!("`{key}` must be a list of rule names")) };
                for name in names {
                    if !self.set_level(name.unwrap_or_default(), level) {
                        let rules: Vec<&str> = RULES.iter().map(|r| r.name).collect();
                        return Err(format!(
                            "`{key}` names no rule `{}`; the rules are {}",
                            name.unwrap_or_default(),
                            rules.join(", ")
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// These options with `over`'s on top: its levels and its `start_after` win where it sets them.
    pub fn overlaid(mut self, over: &LintOptions) -> LintOptions {
        self.levels.extend(over.levels.iter().map(|(k, v)| (k.clone(), *v)));
        if over.start_after.is_some() {
            self.start_after.clone_from(&over.start_after);
        }
        self.backends = over.backends.or(self.backends);
        self.lock_timeout_off |= over.lock_timeout_off;
        self
    }
}

/// A value of a `[lint]` table, as a configuration reader gives it to [`LintOptions::set_entry`].
#[derive(Clone, Debug)]
pub enum Entry<'a> {
    /// A string.
    Text(&'a str),
    /// A list, each item a string (`None` for an item that is not).
    List(Vec<Option<&'a str>>),
    /// Anything else.
    Other,
}

/// One finding.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Finding {
    /// The rule's name.
    pub rule: &'static str,
    /// How it counts.
    pub level: Level,
    /// The backend whose reading of the file found it.
    pub backend: Backend,
    /// The file, relative to the revision folder's parent (`0002_index/up.sql`).
    pub file: PathBuf,
    /// The statement's line (1-based).
    pub line: usize,
    /// The statement's first line.
    pub statement: String,
    /// Why, and what to write instead.
    pub message: String,
}

impl Finding {
    /// The finding as [`Display`](std::fmt::Display) writes it, its file under `dir` (the revision folder as the
    /// user names it).
    pub fn display_under(&self, dir: &std::path::Path) -> String {
        Finding { file: dir.join(&self.file), ..self.clone() }.to_string()
    }
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}: {}[{}] on {}: {}: {}",
            self.file.display(),
            self.line,
            self.level.name(),
            self.rule,
            self.backend,
            self.statement,
            self.message
        )
    }
}

/// The findings of `revisions`' up files, in order, at their levels (none at [`Level::Allow`]).
pub fn lint(revisions: &[Revision], options: &LintOptions) -> Vec<Finding> {
    let mut findings = Vec::new();
    // What the folder's statements so far made of each table, in each backend's reading: shipped revisions too.
    let mut catalogs: HashMap<Backend, read::Catalog> = HashMap::new();
    for revision in revisions {
        let judged = options.start_after.as_deref().is_none_or(|after| newer(revision.version(), after));
        for backend in options.backends.unwrap_or(Backends::ALL).iter() {
            let script = revision.up(backend);
            // An override file is judged for its own backend; a generic one for each backend without one.
            if script.backend().is_some_and(|b| b != backend) {
                continue;
            }
            let catalog = catalogs.entry(backend).or_default();
            let path = revision.path_of(script);
            lint_file(script, backend, &path, options, catalog, judged.then_some(&mut findings));
        }
    }
    findings
}

/// Whether `version` sorts after `after`, as versions do: numerically where both are numbers.
fn newer(version: &str, after: &str) -> bool {
    match (version.parse::<u128>(), after.parse::<u128>()) {
        (Ok(v), Ok(a)) => v > a,
        _ => version > after,
    }
}

/// Lints one file into `out` (only learning its tables into `catalog` where `out` is `None`: a shipped revision).
fn lint_file(
    script: &Script,
    backend: Backend,
    path: &std::path::Path,
    options: &LintOptions,
    catalog: &mut read::Catalog,
    mut out: Option<&mut Vec<Finding>>,
) {
    let text = script.sql();
    let statements = sql::split(text, backend);
    let words: Vec<read::Words<'_>> = statements.iter().map(|s| read::Words::of(s.text, backend)).collect();
    let rebuilds = match out {
        Some(_) => read::rebuilds(&words),
        None => Vec::new(),
    };
    let timeout_off = match sql::lock_timeout_directive(text) {
        Some(bound) => bound.is_none(),
        None => options.lock_timeout_off,
    };
    let mut file = read::File { transaction: script.transaction(), timeout_off, ..read::File::default() };
    let mut previous_end = 0;
    for (i, (statement, words)) in statements.iter().zip(&words).enumerate() {
        if let Some(out) = out.as_deref_mut() {
            let gap = &text[previous_end.min(statement.offset)..statement.offset];
            previous_end = statement.offset + statement.text.len();
            let allowed = allows(gap, statement, backend, path, options, out);
            for hit in words.hits(backend, &mut file, catalog, rebuilds[i].as_deref()) {
                let fresh = hit.rule != "table-rebuild" && hit.table.as_ref().is_some_and(|t| file.created.contains(t));
                // A column without a default fails only on a table with rows.
                let empty = hit.rule == "add-not-null-column-without-default"
                    && hit.table.as_ref().is_some_and(|t| file.emptied.contains(t));
                if fresh || empty || allowed.iter().any(|a| a == hit.rule) {
                    continue;
                }
                let Some(rule) = rule(hit.rule) else { continue };
                let level = options.level(hit.rule);
                if level == Level::Allow || !rule.backends.contains(&backend) {
                    continue;
                }
                out.push(Finding {
                    rule: rule.name,
                    level,
                    backend,
                    file: path.to_owned(),
                    line: statement.line,
                    statement: statement.first_line().to_owned(),
                    message: format!("{}; instead: {}", hit.detail.as_deref().unwrap_or(rule.reason), rule.instead),
                });
            }
        }
        catalog.learn(words);
    }
}

/// The rules the `-- migrate:allow(rule) reason` comments in `gap` (the text before `statement`) silence; one
/// without a reason, or naming no rule, is a finding of [`ALLOW_RULE`].
fn allows(
    gap: &str,
    statement: &Statement<'_>,
    backend: Backend,
    path: &std::path::Path,
    options: &LintOptions,
    out: &mut Vec<Finding>,
) -> Vec<String> {
    let mut names = Vec::new();
    let mut start = 0;
    for line in gap.split_inclusive('\n') {
        // The comment's own line: the gap ends on the statement's line.
        let at = statement.line.saturating_sub(gap[start..].matches('\n').count());
        start += line.len();
        let Some(rest) = line.trim().strip_prefix("--").map(str::trim) else { continue };
        let Some(rest) = rest.strip_prefix("migrate:allow(") else { continue };
        let (name, reason) = rest.split_once(')').unwrap_or((rest, ""));
        let problem = match (rule(name.trim()), reason.trim().is_empty()) {
            (None, _) => Some(format!("`-- migrate:allow({name})` names no rule of the lint")),
            (Some(_), true) => Some(format!("`-- migrate:allow({name})` says no reason: write why after it")),
            (Some(_), false) => None,
        };
        match problem {
            None => names.push(name.trim().to_owned()),
            Some(message) if options.level(ALLOW_RULE) != Level::Allow => out.push(Finding {
                rule: ALLOW_RULE,
                level: options.level(ALLOW_RULE).max(Level::Warn),
                backend,
                file: path.to_owned(),
                line: at,
                statement: line.trim().to_owned(),
                message,
            }),
            Some(_) => {}
        }
    }
    names
}

#[cfg(test)]
mod tests;
