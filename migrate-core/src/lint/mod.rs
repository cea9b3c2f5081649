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

use crate::revision::{Backend, Backends, Revision};
use crate::sql::{self, lex, Statement};

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
        name: "sqlite-add-not-null-without-default",
        backends: SQLITE,
        reason: "SQLite refuses ADD COLUMN … NOT NULL without a default: the revision cannot apply",
        instead: "give the column a DEFAULT, or rebuild the table (SQLite's 12-step procedure)",
    },
    Rule {
        name: "drop-table",
        backends: ALL,
        reason: "the version of the application still running may read the table",
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
    for revision in revisions {
        if options.start_after.as_deref().is_some_and(|after| !newer(revision.version(), after)) {
            continue;
        }
        for backend in options.backends.unwrap_or(Backends::ALL).iter() {
            let script = revision.up(backend);
            // An override file is judged for its own backend; a generic one for each backend without one.
            if script.backend().is_some_and(|b| b != backend) {
                continue;
            }
            let path = revision.path_of(script);
            lint_file(script.sql(), backend, &path, options, &mut findings);
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

fn lint_file(text: &str, backend: Backend, path: &std::path::Path, options: &LintOptions, out: &mut Vec<Finding>) {
    let statements = sql::split(text, backend);
    let mut created: Vec<String> = Vec::new();
    let mut previous_end = 0;
    for statement in &statements {
        let gap = &text[previous_end.min(statement.offset)..statement.offset];
        previous_end = statement.offset + statement.text.len();
        let allowed = allows(gap, statement, backend, path, options, out);
        let words = Words::of(statement.text, backend);
        if let Some(table) = words.created_table() {
            created.push(table);
            continue;
        }
        if let Some(index) = words.created_index() {
            created.push(index);
        }
        for (name, table) in words.findings(backend) {
            if table.as_ref().is_some_and(|t| created.contains(t)) || allowed.iter().any(|a| a == name) {
                continue;
            }
            let Some(rule) = rule(name) else { continue };
            let level = options.level(name);
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
                message: format!("{}; instead: {}", rule.reason, rule.instead),
            });
        }
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

/// A statement's code as words (upper case; quoted names as written) and the names after them.
struct Words<'a> {
    tokens: Vec<lex::Token<'a>>,
}

impl<'a> Words<'a> {
    fn of(statement: &'a str, backend: Backend) -> Words<'a> {
        Words { tokens: lex::code(statement, backend) }
    }

    /// The word at `i` in upper case (empty past the end, or for a token that is not a word).
    fn word(&self, i: usize) -> String {
        match self.tokens.get(i) {
            Some(t) if t.kind == lex::Kind::Word => t.text.to_ascii_uppercase(),
            _ => String::new(),
        }
    }

    /// The position of `words` in sequence, from `from` on.
    fn find(&self, from: usize, words: &[&str]) -> Option<usize> {
        (from..self.tokens.len()).find(|&i| words.iter().enumerate().all(|(k, w)| self.word(i + k) == *w))
    }

    /// The table name at `i` (a word or quoted name, maybe qualified), normalised: unquoted, lower case, without
    /// its schema; with the position after it.
    fn name(&self, mut i: usize) -> Option<(String, usize)> {
        let part = |t: &lex::Token<'_>| match t.kind {
            lex::Kind::Word => Some(t.text.to_ascii_lowercase()),
            lex::Kind::Quoted => Some(t.text[1..t.text.len().saturating_sub(1)].to_owned()),
            _ => None,
        };
        let mut name = part(self.tokens.get(i)?)?;
        while self.tokens.get(i + 1).is_some_and(|t| t.text == ".") {
            name = part(self.tokens.get(i + 2)?)?;
            i += 2;
        }
        Some((name, i + 1))
    }

    /// The table after `ALTER TABLE [IF EXISTS] [ONLY]`, with the position after it.
    fn altered(&self) -> Option<(String, usize)> {
        if self.word(0) != "ALTER" || self.word(1) != "TABLE" {
            return None;
        }
        let mut i = 2;
        if self.word(i) == "IF" && self.word(i + 1) == "EXISTS" {
            i += 2;
        }
        if self.word(i) == "ONLY" {
            i += 1;
        }
        self.name(i)
    }

    /// The table `CREATE [TEMP] TABLE [IF NOT EXISTS] name` makes.
    fn created_table(&self) -> Option<String> {
        if self.word(0) != "CREATE" {
            return None;
        }
        let at = self.find(1, &["TABLE"]).filter(|&i| i <= 3)?;
        let mut i = at + 1;
        if self.word(i) == "IF" && self.word(i + 1) == "NOT" && self.word(i + 2) == "EXISTS" {
            i += 3;
        }
        self.name(i).map(|(name, _)| name)
    }

    /// The index `CREATE [UNIQUE] INDEX [CONCURRENTLY] [IF NOT EXISTS] name` makes.
    fn created_index(&self) -> Option<String> {
        if self.word(0) != "CREATE" {
            return None;
        }
        let mut i = self.find(1, &["INDEX"]).filter(|&i| i <= 2)? + 1;
        if self.word(i) == "CONCURRENTLY" {
            i += 1;
        }
        if self.word(i) == "IF" && self.word(i + 1) == "NOT" && self.word(i + 2) == "EXISTS" {
            i += 3;
        }
        if self.word(i) == "ON" {
            return None;
        }
        self.name(i).map(|(name, _)| name)
    }

    /// The rules this statement breaks, each with the table it acts on.
    fn findings(&self, backend: Backend) -> Vec<(&'static str, Option<String>)> {
        let mut found = Vec::new();
        let (w0, w1) = (self.word(0), self.word(1));
        // CREATE [UNIQUE] INDEX [CONCURRENTLY] … ON [ONLY] table
        if w0 == "CREATE" && (w1 == "INDEX" || (w1 == "UNIQUE" && self.word(2) == "INDEX")) {
            let concurrently = self.find(1, &["CONCURRENTLY"]).is_some_and(|i| i <= 3);
            if !concurrently {
                if let Some(on) = self.find(2, &["ON"]) {
                    let at = if self.word(on + 1) == "ONLY" { on + 2 } else { on + 1 };
                    found.push(("add-index-non-concurrently", self.name(at).map(|(n, _)| n)));
                }
            }
        }
        // DROP INDEX [CONCURRENTLY] [IF EXISTS] name: the index, in place of a table, for the exemption.
        if backend == Backend::Postgres && w0 == "DROP" && w1 == "INDEX" && self.word(2) != "CONCURRENTLY" {
            let at = if self.word(2) == "IF" && self.word(3) == "EXISTS" { 4 } else { 2 };
            found.push(("drop-index-non-concurrently", self.name(at).map(|(n, _)| n)));
        }
        if w0 == "DROP" && w1 == "TABLE" {
            let at = if self.word(2) == "IF" && self.word(3) == "EXISTS" { 4 } else { 2 };
            found.push(("drop-table", self.name(at).map(|(n, _)| n)));
        }
        // MySQL's RENAME TABLE a TO b.
        if w0 == "RENAME" && w1 == "TABLE" {
            found.push(("rename-table", self.name(2).map(|(n, _)| n)));
        }
        if let Some((table, after)) = self.altered() {
            let table = Some(table);
            let not_valid = self.find(after, &["NOT", "VALID"]).is_some();
            let references =
                self.find(after, &["FOREIGN", "KEY"]).is_some() || self.find(after, &["REFERENCES"]).is_some();
            if references && !not_valid {
                found.push(("add-foreign-key-not-valid", table.clone()));
            }
            let check = (after..self.tokens.len())
                .any(|i| self.word(i) == "ADD" && (self.word(i + 1) == "CHECK" || self.word(i + 3) == "CHECK"));
            if check && !not_valid {
                found.push(("add-check-constraint-not-valid", table.clone()));
            }
            if self.find(after, &["SET", "NOT", "NULL"]).is_some() {
                found.push(("set-not-null", table.clone()));
            }
            // ALTER [COLUMN] c [SET DATA] TYPE t
            let retyped = (after..self.tokens.len()).any(|i| {
                if self.word(i) != "ALTER" {
                    return false;
                }
                // ALTER, COLUMN maybe, the column's name (which may be `type`), SET DATA maybe, TYPE.
                let mut j = i + 1 + usize::from(self.word(i + 1) == "COLUMN") + 1;
                if self.word(j) == "SET" && self.word(j + 1) == "DATA" {
                    j += 2;
                }
                self.word(j) == "TYPE"
            });
            if backend == Backend::Postgres && retyped {
                found.push(("change-column-type", table.clone()));
            }
            let unique = (after..self.tokens.len())
                .any(|i| self.word(i) == "ADD" && (self.word(i + 1) == "UNIQUE" || self.word(i + 3) == "UNIQUE"));
            if unique && self.find(after, &["USING", "INDEX"]).is_none() {
                found.push(("add-unique-constraint-without-index", table.clone()));
            }
            if (after..self.tokens.len()).any(|i| {
                let value = if self.tokens.get(i + 1).is_some_and(|t| t.text == "=") { i + 2 } else { i + 1 };
                self.word(i) == "LOCK" && matches!(self.word(value).as_str(), "SHARED" | "EXCLUSIVE")
            }) {
                found.push(("mysql-lock-shared-exclusive", table.clone()));
            }
            if (after..self.tokens.len()).any(|i| {
                self.word(i) == "ALGORITHM"
                    && (self.word(i + 1) == "COPY"
                        || (self.tokens.get(i + 1).is_some_and(|t| t.text == "=") && self.word(i + 2) == "COPY"))
            }) {
                found.push(("mysql-algorithm-copy", table.clone()));
            }
            for i in after..self.tokens.len() {
                if self.word(i) != "DROP" {
                    continue;
                }
                let next = self.word(i + 1);
                // DROP COLUMN c, or MySQL's DROP c; not DROP INDEX, CONSTRAINT, PRIMARY KEY, FOREIGN KEY, CHECK, …
                let other = [
                    "INDEX",
                    "KEY",
                    "CONSTRAINT",
                    "PRIMARY",
                    "FOREIGN",
                    "CHECK",
                    "DEFAULT",
                    "NOT",
                    "EXPRESSION",
                    "IDENTITY",
                    "PARTITION",
                    "SYSTEM",
                ];
                if next == "COLUMN"
                    || (backend == Backend::Mysql && !next.is_empty() && !other.contains(&next.as_str()))
                {
                    found.push(("drop-column", table.clone()));
                }
            }
            if let Some(rename) = self.find(after, &["RENAME"]) {
                match self.word(rename + 1).as_str() {
                    "TO" | "AS" => found.push(("rename-table", table.clone())),
                    "COLUMN" => found.push(("rename-column", table.clone())),
                    "INDEX" | "KEY" | "CONSTRAINT" => {}
                    // PostgreSQL's and SQLite's RENAME a TO b.
                    _ if self.find(rename, &["TO"]).is_some() => found.push(("rename-column", table.clone())),
                    _ => {}
                }
            }
            if backend == Backend::Sqlite {
                if let Some(add) = self.find(after, &["ADD"]) {
                    let not_null = self.find(add, &["NOT", "NULL"]).is_some();
                    if not_null && self.find(add, &["DEFAULT"]).is_none() && self.word(add + 1) != "CONSTRAINT" {
                        found.push(("sqlite-add-not-null-without-default", table.clone()));
                    }
                }
            }
        }
        // One finding per rule and statement, however many clauses of an ALTER TABLE break it.
        let mut seen = Vec::new();
        found.retain(|(name, _)| {
            let first = !seen.contains(name);
            seen.push(*name);
            first
        });
        found
    }
}

#[cfg(test)]
mod tests;
