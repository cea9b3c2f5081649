//! The folder scanner, shared by `migrations!()` (at compile time) and the command line (at run time).
//!
//! A folder holds one directory per revision, `<version>_<name>/`, with `up.sql`, `down.sql`, optional backend
//! overrides (`up.postgres.sql`, `down.sqlite.sql`, ...) and an optional diesel `metadata.toml`. Loose files beside
//! the revision directories (a `README.md`, diesel's `.keep`) and hidden entries are ignored. Every problem found is
//! collected, so one scan reports all of them.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::revision::{Backend, Direction, Revision, Script, ScriptKind};
use crate::sql::{self, Directive};

/// How strict the scan is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ScanOptions {
    /// Accept an empty or comment-only `down.sql` as a no-op downgrade (for adopting a diesel folder whose
    /// `down.sql` files are placeholders). Without it such a file is a problem.
    pub allow_empty_down: bool,
}

impl ScanOptions {
    /// The same options, accepting empty down files as no-ops or not.
    #[must_use]
    pub fn allow_empty_down(mut self, on: bool) -> ScanOptions {
        self.allow_empty_down = on;
        self
    }
}

/// What kind of mistake a [`Problem`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProblemKind {
    /// The folder does not exist or cannot be read.
    MissingFolder,
    /// A directory name that is not `<version>_<name>`.
    UnparsableName,
    /// Two revisions share one version.
    DuplicateVersion,
    /// Versions whose text order differs from their numeric order (`2` and `10`).
    AmbiguousOrder,
    /// No `up.sql`.
    MissingUp,
    /// An `up` file with no statement.
    EmptyUp,
    /// No `down.sql`.
    MissingDown,
    /// A `down` file with no statement and no `-- migrate:irreversible`.
    EmptyDown,
    /// `up.<backend>.sql` without `down.<backend>.sql`, or the reverse.
    OverrideWithoutCounterpart,
    /// A file that is not valid UTF-8.
    NotUtf8,
    /// A file or directory inside a revision folder that is not one of the known files.
    UnknownFile,
    /// A `-- migrate:` line that is unknown or misplaced, or a directive that contradicts the file.
    Directive,
    /// A `metadata.toml` that cannot be read.
    Metadata,
    /// A statement the database refuses inside a transaction, in a file that runs in one.
    NeedsNoTransaction,
    /// A statement that begins, ends or abandons a transaction (`COMMIT`, `ROLLBACK`, …) in a file that runs in one,
    /// whose record would then no longer match what stays in effect.
    TransactionControl,
    /// A file that exists but cannot be read.
    Unreadable,
}

/// One mistake in a revision folder: where it is and what to do about it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Problem {
    /// What kind of mistake.
    pub kind: ProblemKind,
    /// The file or directory, relative to the scanned folder (empty for the folder itself).
    pub path: PathBuf,
    /// The 1-based line within the file, where one applies.
    pub line: Option<usize>,
    /// What is wrong and what to do next; lowercase, no trailing period.
    pub message: String,
}

impl Problem {
    fn new(kind: ProblemKind, path: impl Into<PathBuf>, message: impl Into<String>) -> Problem {
        Problem { kind, path: path.into(), line: None, message: message.into() }
    }

    fn at_line(mut self, line: usize) -> Problem {
        self.line = Some(line);
        self
    }

    /// What the problem stands in the way of: every operation (the folder's order is not known), or the steps of one
    /// revision that would run or rely on the file it names.
    pub fn blocks(&self) -> Blocks<'_> {
        let mut parts = self.path.iter();
        let (Some(folder), file) = (parts.next().and_then(|f| f.to_str()), parts.next().and_then(|f| f.to_str()))
        else {
            return Blocks::Everything;
        };
        match (self.kind, file) {
            (ProblemKind::MissingFolder | ProblemKind::UnparsableName, _)
            | (ProblemKind::DuplicateVersion | ProblemKind::AmbiguousOrder, _) => Blocks::Everything,
            (ProblemKind::OverrideWithoutCounterpart, _) => Blocks::Revision(folder),
            (_, Some(file)) if file.starts_with("up") && file.ends_with(".sql") => Blocks::Apply(folder),
            (_, Some(file)) if file.starts_with("down") && file.ends_with(".sql") => Blocks::Revert(folder),
            _ => Blocks::Revision(folder),
        }
    }

    /// Formats the problem with its path shown below `root` (for example the folder as the user wrote it).
    pub fn display_under<'a>(&'a self, root: &'a Path) -> impl fmt::Display + 'a {
        struct Shown<'a>(&'a Problem, &'a Path);
        impl fmt::Display for Shown<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                if self.0.path.as_os_str().is_empty() {
                    write!(f, "{}", self.1.display())?;
                } else {
                    write!(f, "{}", self.1.join(&self.0.path).display())?;
                }
                if let Some(line) = self.0.line {
                    write!(f, ":{line}")?;
                }
                write!(f, ": {}", self.0.message)
            }
        }
        Shown(self, root)
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.display_under(Path::new("")).fmt(f)
    }
}

/// What a [`Problem`] stands in the way of ([`Problem::blocks`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Blocks<'a> {
    /// Every operation: the revisions or their order are not known.
    Everything,
    /// Applying and reverting the revision in this folder.
    Revision(&'a str),
    /// Applying (or stamping as applied) the revision in this folder.
    Apply(&'a str),
    /// Reverting (or stamping as not applied) the revision in this folder.
    Revert(&'a str),
}

/// The result of scanning a folder: the revisions in order, and every problem found.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
#[must_use = "a scan carries the folder's problems: check `problems`"]
pub struct Scan {
    /// Revisions in version order. A revision with a problem may be missing from this list.
    pub revisions: Vec<Revision>,
    /// Every problem found; empty when the folder is sound.
    pub problems: Vec<Problem>,
}

/// The `up.sql` that `migrate new` writes: comments that say what goes where (and the directive, if asked for).
pub fn up_template(no_transaction: bool) -> String {
    let mut text = String::new();
    if no_transaction {
        text.push_str("-- migrate:no-transaction\n");
    }
    text.push_str(UP_TEMPLATE);
    text
}

/// The `down.sql` that `migrate new` writes.
pub fn down_template(no_transaction: bool) -> String {
    let mut text = String::new();
    if no_transaction {
        text.push_str("-- migrate:no-transaction\n");
    }
    text.push_str(DOWN_TEMPLATE);
    text
}

const UP_TEMPLATE: &str = "-- Write the SQL that applies this revision, statements separated by `;`.\n\
     -- It runs in one transaction with its history row. For statements a database refuses in a transaction\n\
     -- (CREATE INDEX CONCURRENTLY, ...) make the first line of the file:   -- migrate:no-transaction\n\
     -- An override for one database goes in up.postgres.sql, up.sqlite.sql or up.mysql.sql (with its down file).\n";

const DOWN_TEMPLATE: &str = "-- Write the SQL that reverts up.sql, in the reverse order.\n\
     -- If the revision cannot be reverted, make this file's only line:   -- migrate:irreversible\n";

/// What `diesel migration generate` writes, which a diesel project may still hold unedited.
const DIESEL_TEMPLATES: [&str; 2] = ["-- Your SQL goes here", "-- This file should undo anything in `up.sql`"];

/// The lines of `text` that are not blank and not directives, trimmed.
fn comment_lines(text: &str) -> Vec<&str> {
    text.trim_start_matches('\u{feff}')
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.trim_start_matches('-').trim_start().starts_with("migrate:"))
        .collect()
}

/// `true` if `text` is a template as `migrate new` or `diesel migration generate` wrote it, untouched.
fn is_template(text: &str) -> bool {
    let lines = comment_lines(text);
    [UP_TEMPLATE, DOWN_TEMPLATE].iter().any(|t| comment_lines(t) == lines)
        || DIESEL_TEMPLATES.iter().any(|t| lines == [*t])
}

fn has_comment(text: &str) -> bool {
    !comment_lines(text).is_empty()
}

/// Reads the revision folder `dir`. Never fails: whatever is wrong is in [`Scan::problems`].
pub fn scan(dir: &Path, options: &ScanOptions) -> Scan {
    let mut scan = Scan::default();
    if !dir.is_dir() {
        scan.problems.push(Problem::new(
            ProblemKind::MissingFolder,
            "",
            "revision folder not found; create it, or point to it with a path relative to the crate's Cargo.toml",
        ));
        return scan;
    }
    let mut folders: BTreeMap<String, Vec<(String, PathBuf)>> = BTreeMap::new();
    let walker = walkdir::WalkDir::new(dir)
        .min_depth(1)
        .max_depth(2)
        // A linked revision folder or file is read through its link; a link that loops or leads nowhere is a
        // problem, never skipped in silence.
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| !e.file_name().to_string_lossy().starts_with('.'));
    for entry in walker {
        let entry = match entry {
            Ok(entry) => entry,
            Err(err) => {
                let path = err.path().and_then(|p| p.strip_prefix(dir).ok()).map(Path::to_path_buf).unwrap_or_default();
                let target = err.path().and_then(|p| std::fs::read_link(p).ok());
                let message = match (err.loop_ancestor(), target) {
                    (Some(ancestor), _) => format!(
                        "a link to {}, which contains it, so reading it never ends; remove the link",
                        ancestor.display()
                    ),
                    (None, Some(target))
                        if err.io_error().is_some_and(|e| e.kind() == std::io::ErrorKind::NotFound) =>
                    {
                        format!("a link to {}, which does not exist; fix or remove the link", target.display())
                    }
                    _ => format!("cannot read: {err}"),
                };
                scan.problems.push(Problem::new(ProblemKind::Unreadable, path, message));
                continue;
            }
        };
        let rel = entry.path().strip_prefix(dir).unwrap_or(entry.path()).to_path_buf();
        let file_name = entry.file_name().to_string_lossy().into_owned();
        match entry.depth() {
            // Loose files beside the revision folders (README.md, .keep, ...) are not ours.
            1 if entry.file_type().is_dir() => {
                folders.entry(file_name).or_default();
            }
            2 => {
                let folder = rel.iter().next().unwrap_or_default().to_string_lossy().into_owned();
                if entry.file_type().is_dir() {
                    scan.problems.push(Problem::new(
                        ProblemKind::UnknownFile,
                        rel,
                        "unexpected directory inside a revision folder; a revision holds only up.sql, down.sql, \
                         up/down.<postgres|sqlite|mysql>.sql and metadata.toml",
                    ));
                } else {
                    folders.entry(folder).or_default().push((file_name, entry.path().to_path_buf()));
                }
            }
            _ => {}
        }
    }
    for (folder, files) in folders {
        if let Some(revision) = read_revision(&folder, files, options, &mut scan.problems) {
            scan.revisions.push(revision);
        }
    }
    scan.revisions.sort_by(|a, b| a.version().cmp(b.version()));
    check_versions(&scan.revisions, &mut scan.problems);
    scan
}

/// Splits a folder name into (version, name): the version is the text before the first `_` with dashes
/// dropped; it must be digits (and dashes), and the name must not be empty.
pub fn parse_folder_name(folder: &str) -> Result<(String, String), String> {
    let Some((raw, name)) = folder.split_once('_') else {
        return Err("a revision folder is named `<version>_<name>`, e.g. `2024-01-14-171611_create_users` or \
                    `0001_create_users`; this one has no `_`"
            .to_owned());
    };
    if raw.is_empty()
        || !raw.bytes().all(|b| b.is_ascii_digit() || b == b'-')
        || !raw.bytes().any(|b| b.is_ascii_digit())
    {
        return Err(format!(
            "the version `{raw}` (before the first `_`) must be digits, optionally with dashes as in \
             `2024-01-14-171611`; rename the folder to `<version>_<name>`"
        ));
    }
    if name.trim().is_empty() {
        return Err("the name after the version is empty; rename the folder to `<version>_<name>`".to_owned());
    }
    Ok((raw.replace('-', ""), name.to_owned()))
}

enum FileRole {
    Script(Direction, Option<Backend>),
    Metadata,
}

fn file_role(file: &str) -> Option<FileRole> {
    if file == "metadata.toml" {
        return Some(FileRole::Metadata);
    }
    let stem = file.strip_suffix(".sql")?;
    let (direction, rest) = if let Some(rest) = stem.strip_prefix("up") {
        (Direction::Up, rest)
    } else {
        (Direction::Down, stem.strip_prefix("down")?)
    };
    match rest {
        "" => Some(FileRole::Script(direction, None)),
        _ => Backend::from_name(rest.strip_prefix('.')?).map(|b| FileRole::Script(direction, Some(b))),
    }
}

struct RawScript {
    file: String,
    backend: Option<Backend>,
    text: String,
}

fn read_revision(
    folder: &str,
    files: Vec<(String, PathBuf)>,
    options: &ScanOptions,
    problems: &mut Vec<Problem>,
) -> Option<Revision> {
    let start = problems.len();
    let (version, name) = match parse_folder_name(folder) {
        Ok(parts) => parts,
        Err(message) => {
            problems.push(Problem::new(ProblemKind::UnparsableName, folder, message));
            return None;
        }
    };
    let rel = |file: &str| Path::new(folder).join(file);
    let mut up: Vec<RawScript> = Vec::new();
    let mut down: Vec<RawScript> = Vec::new();
    let mut run_in_transaction = true;
    for (file, path) in files {
        let Some(role) = file_role(&file) else {
            problems.push(Problem::new(
                ProblemKind::UnknownFile,
                rel(&file),
                "unknown file in a revision folder; a revision holds only up.sql, down.sql, \
                 up/down.<postgres|sqlite|mysql>.sql and metadata.toml: rename or remove it",
            ));
            continue;
        };
        let text = match std::fs::read(&path) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => text,
                Err(err) => {
                    let valid = err.utf8_error().valid_up_to();
                    let line = 1 + err.as_bytes()[..valid].iter().filter(|&&b| b == b'\n').count();
                    problems.push(
                        Problem::new(
                            ProblemKind::NotUtf8,
                            rel(&file),
                            format!("not valid UTF-8 (byte {valid}); save the file as UTF-8"),
                        )
                        .at_line(line),
                    );
                    continue;
                }
            },
            Err(err) => {
                problems.push(Problem::new(ProblemKind::Unreadable, rel(&file), format!("cannot read: {err}")));
                continue;
            }
        };
        match role {
            FileRole::Metadata => match read_metadata(&text) {
                Ok(value) => run_in_transaction = value,
                Err((line, message)) => {
                    problems.push(Problem::new(ProblemKind::Metadata, rel(&file), message).at_line(line))
                }
            },
            FileRole::Script(direction, backend) => {
                let list = if direction == Direction::Up { &mut up } else { &mut down };
                list.push(RawScript { file, backend, text });
            }
        }
    }
    // Generic files first, then overrides in backend order.
    up.sort_by_key(|s| s.backend);
    down.sort_by_key(|s| s.backend);
    let generic_up = up.first().filter(|s| s.backend.is_none()).is_some();
    let generic_down = down.first().filter(|s| s.backend.is_none()).is_some();
    if !generic_up && !problems[start..].iter().any(|p| p.path == rel("up.sql")) {
        problems.push(Problem::new(
            ProblemKind::MissingUp,
            rel("up.sql"),
            "missing up.sql; every revision needs the SQL that applies it",
        ));
    }
    if !generic_down && !problems[start..].iter().any(|p| p.path == rel("down.sql")) {
        problems.push(Problem::new(
            ProblemKind::MissingDown,
            rel("down.sql"),
            "missing down.sql; write the SQL that reverts up.sql, or mark the revision irreversible with a \
             down.sql whose first line is `-- migrate:irreversible`",
        ));
    }
    let up: Vec<Script> = up
        .into_iter()
        .map(|raw| build_script(folder, raw, Direction::Up, run_in_transaction, options, problems))
        .collect();
    let down: Vec<Script> = down
        .into_iter()
        .map(|raw| build_script(folder, raw, Direction::Down, run_in_transaction, options, problems))
        .collect();
    let irreversible = down.first().is_some_and(|s| s.backend().is_none() && s.kind() == ScriptKind::Irreversible);
    for backend in Backend::ALL {
        let has_up = up.iter().any(|s| s.backend() == Some(backend));
        let has_down = down.iter().any(|s| s.backend() == Some(backend));
        if has_up && !has_down && !irreversible {
            problems.push(Problem::new(
                ProblemKind::OverrideWithoutCounterpart,
                rel(&format!("up.{backend}.sql")),
                format!("up.{backend}.sql has no down.{backend}.sql; add it so {backend} reverts what it applied"),
            ));
        }
        if has_down && !has_up {
            problems.push(Problem::new(
                ProblemKind::OverrideWithoutCounterpart,
                rel(&format!("down.{backend}.sql")),
                format!("down.{backend}.sql has no up.{backend}.sql; add it, or remove the override"),
            ));
        }
    }
    // A revision with a broken or missing file is still listed (its problems say which file), so an operation that
    // does not run or rely on that file can go ahead; a missing generic file stands in as an empty one.
    let mut up = up;
    let mut down = down;
    let placeholder = |file: &str| Script::new_owned(file.to_owned(), None, String::new(), ScriptKind::Empty, true);
    if up.first().is_none_or(|s| s.backend().is_some()) {
        up.insert(0, placeholder("up.sql"));
    }
    if down.first().is_none_or(|s| s.backend().is_some()) {
        down.insert(0, placeholder("down.sql"));
    }
    Some(Revision::new_owned(version, name, folder.to_owned(), up, down))
}

fn build_script(
    folder: &str,
    raw: RawScript,
    direction: Direction,
    run_in_transaction: bool,
    options: &ScanOptions,
    problems: &mut Vec<Problem>,
) -> Script {
    let path = Path::new(folder).join(&raw.file);
    let (directives, directive_problems) = sql::directives(&raw.text);
    for p in directive_problems {
        problems.push(Problem::new(ProblemKind::Directive, &path, p.message).at_line(p.line));
    }
    let irreversible = directives.contains(&Directive::Irreversible);
    let transaction = run_in_transaction && !directives.contains(&Directive::NoTransaction);
    // A file of comments says on purpose that it does nothing; whitespace or an untouched template says nothing.
    // Each dialect's split is made once and serves every check below (the macro runs this, unoptimised, on every
    // file at every build). `is_blank` is PostgreSQL's split being empty.
    let mut splits: Vec<(Backend, Vec<sql::Statement<'_>>)> =
        vec![(Backend::Postgres, sql::split(&raw.text, Backend::Postgres))];
    let blank = splits[0].1.is_empty();
    let no_op = blank && !is_template(&raw.text) && has_comment(&raw.text);
    let kind = match (direction, irreversible, blank) {
        (_, false, true) if no_op => ScriptKind::NoOp,
        (Direction::Up, true, _) => {
            problems.push(Problem::new(
                ProblemKind::Directive,
                &path,
                "`-- migrate:irreversible` belongs in down.sql; remove it from the up file",
            ));
            ScriptKind::Sql
        }
        (Direction::Up, false, true) => {
            problems.push(Problem::new(
                ProblemKind::EmptyUp,
                &path,
                "has no statement (whitespace only, or the template as it was generated); write the SQL that \
                 applies the revision, or, if it does nothing on purpose, a comment that says why",
            ));
            ScriptKind::Empty
        }
        (Direction::Down, true, true) => ScriptKind::Irreversible,
        (Direction::Down, true, false) => {
            problems.push(Problem::new(
                ProblemKind::Directive,
                &path,
                "marked `-- migrate:irreversible` but has statements; remove the statements or the directive",
            ));
            ScriptKind::Irreversible
        }
        (Direction::Down, false, true) if options.allow_empty_down => ScriptKind::Empty,
        (Direction::Down, false, true) => {
            problems.push(Problem::new(
                ProblemKind::EmptyDown,
                &path,
                "has no statement (whitespace only, or the template as it was generated); write the SQL that \
                 reverts up.sql, or a comment saying why there is nothing to revert; or mark the revision \
                 irreversible with `-- migrate:irreversible` as the first line, or accept empty downgrades as \
                 no-ops with `allow_empty_down`",
            ));
            ScriptKind::Empty
        }
        (_, false, false) => ScriptKind::Sql,
    };
    if transaction && kind == ScriptKind::Sql {
        let backends: Vec<Backend> = match raw.backend {
            Some(b) => vec![b],
            None => Backend::ALL.to_vec(),
        };
        for &backend in &backends {
            if !splits.iter().any(|(b, _)| *b == backend) {
                splits.push((backend, sql::split(&raw.text, backend)));
            }
        }
        let statements = |backend: Backend| &splits.iter().find(|(b, _)| *b == backend).expect("split above").1;
        for &backend in &backends {
            if let Some((stmt, what)) = sql::non_transactional_in(statements(backend), backend) {
                problems.push(
                    Problem::new(
                        ProblemKind::NeedsNoTransaction,
                        &path,
                        format!(
                            "`{what}` cannot run inside a transaction on {backend}, and this file runs in one; add \
                             `-- migrate:no-transaction` as the first line of {}",
                            raw.file
                        ),
                    )
                    .at_line(stmt.line),
                );
                break;
            }
        }
        for &backend in &backends {
            if let Some((stmt, what)) = sql::transaction_control_in(statements(backend), backend) {
                problems.push(
                    Problem::new(
                        ProblemKind::TransactionControl,
                        &path,
                        format!(
                            "`{what}` ends or opens a transaction, and this file already runs in one, which it and \
                             its history record commit together; remove it, or run the file statement by statement \
                             with `-- migrate:no-transaction` as the first line of {}",
                            raw.file
                        ),
                    )
                    .at_line(stmt.line),
                );
                break;
            }
        }
    }
    // Kept even with problems: they name this file, and a step that would run it is refused because of them.
    Script::new_owned(raw.file, raw.backend, raw.text, kind, transaction)
}

/// Reads diesel's `metadata.toml`: the one key it defines, `run_in_transaction = true|false`.
fn read_metadata(text: &str) -> Result<bool, (usize, String)> {
    let mut run_in_transaction = true;
    for (index, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let fail = |message: String| Err((index + 1, message));
        let Some((key, value)) = line.split_once('=') else {
            return fail(format!("cannot read `{line}`; metadata.toml holds `run_in_transaction = false`"));
        };
        match (key.trim(), value.trim()) {
            ("run_in_transaction", "true") => run_in_transaction = true,
            ("run_in_transaction", "false") => run_in_transaction = false,
            ("run_in_transaction", other) => {
                return fail(format!("run_in_transaction must be `true` or `false`, not `{other}`"));
            }
            (other, _) => {
                return fail(format!("unknown key `{other}`; metadata.toml understands only `run_in_transaction`"));
            }
        }
    }
    Ok(run_in_transaction)
}

/// Versions of fewer digits than this are sequence numbers; longer ones are dates or timestamps.
pub const SEQUENCE_DIGITS: usize = 8;

fn check_versions(revisions: &[Revision], problems: &mut Vec<Problem>) {
    for pair in revisions.windows(2) {
        if pair[0].version() == pair[1].version() {
            problems.push(Problem::new(
                ProblemKind::DuplicateVersion,
                pair[1].folder(),
                format!(
                    "version {} is also the version of `{}`; give each revision its own version",
                    pair[1].version(),
                    pair[0].folder()
                ),
            ));
        }
    }
    // Text order is the rule. Where it differs from numeric order among short sequence numbers (`2` sorts after
    // `10` as text), the author almost certainly meant numbers: refuse, once for the whole folder, naming which
    // versions to zero-pad and to what width. (Sorting twice keeps this linear in practice: 10,000 revisions.)
    let short: Vec<&Revision> = revisions.iter().filter(|r| r.version().len() < SEQUENCE_DIGITS).collect();
    let numeric = |r: &&Revision| {
        let v = r.version().trim_start_matches('0');
        (v.len(), v.to_owned())
    };
    let mut by_number = short.clone();
    by_number.sort_by_key(numeric);
    if by_number.iter().map(|r| r.version()).eq(short.iter().map(|r| r.version())) {
        return;
    }
    let width = short.iter().map(|r| r.version().len()).max().unwrap_or(0).max(4);
    let narrow: Vec<&&Revision> = by_number.iter().filter(|r| r.version().len() < width).collect();
    let (Some(first), Some(last)) = (narrow.first(), narrow.last()) else { return };
    // The first pair that reads in the wrong order, as an example.
    let (a, b) = short
        .windows(2)
        .map(|w| (w[0], w[1]))
        .find(|(a, b)| numeric(a) > numeric(b))
        .unwrap_or((short[0], short[short.len() - 1]));
    problems.push(Problem::new(
        ProblemKind::AmbiguousOrder,
        first.folder(),
        format!(
            "versions order differently as text and as numbers (`{}` sorts before `{}`); revisions are ordered as \
             text, so zero-pad sequence numbers to one width: the {} version(s) from {} (`{}`) to {} (`{}`) need \
             {width} digits (e.g. `{:0>width$}`)",
            a.folder(),
            b.folder(),
            narrow.len(),
            first.version(),
            first.folder(),
            last.version(),
            last.folder(),
            first.version(),
        ),
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_names() {
        assert_eq!(
            parse_folder_name("2024-01-14-171611_create_users").unwrap(),
            ("20240114171611".into(), "create_users".into())
        );
        assert_eq!(parse_folder_name("0003_backfill_old data").unwrap(), ("0003".into(), "backfill_old data".into()));
        assert_eq!(parse_folder_name("2025-11-19-091444-0000_x").unwrap().0, "202511190914440000");
        assert!(parse_folder_name("create_users").is_err());
        assert!(parse_folder_name("0003").is_err());
        assert!(parse_folder_name("0003_").is_err());
        assert!(parse_folder_name("--_x").is_err());
    }

    #[test]
    fn comments_on_purpose_are_a_no_op_and_templates_are_not() {
        let dir = std::env::temp_dir().join(format!("migrate-scan-noop-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let write = |file: &str, text: &str| {
            let path = dir.join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        let noop = "-- Integer size in SQLite is already i64, so we don't need to do anything\n";
        write("0001_noop/up.sql", noop);
        write("0001_noop/down.sql", "-- nothing to undo: up.sql does nothing\n");
        write("0002_ours/up.sql", &up_template(true));
        write("0002_ours/down.sql", &down_template(true));
        write("0003_diesel/up.sql", "-- Your SQL goes here\n");
        write("0003_diesel/down.sql", "  -- This file should undo anything in `up.sql`\r\n\n");
        write("0004_blank/up.sql", "\n   \n");
        write("0004_blank/down.sql", "");
        let found = scan(&dir, &ScanOptions::default());
        std::fs::remove_dir_all(&dir).unwrap();
        let kinds: Vec<(ScriptKind, ScriptKind)> =
            found.revisions.iter().map(|r| (r.up(Backend::Sqlite).kind(), r.down(Backend::Sqlite).kind())).collect();
        assert_eq!(kinds[0], (ScriptKind::NoOp, ScriptKind::NoOp));
        let mut refused: Vec<(String, ProblemKind)> =
            found.problems.iter().map(|p| (p.path.display().to_string(), p.kind)).collect();
        refused.sort_by(|a, b| a.0.cmp(&b.0));
        let expected: Vec<(String, ProblemKind)> = ["0002_ours", "0003_diesel", "0004_blank"]
            .iter()
            .flat_map(|f| {
                [(format!("{f}/down.sql"), ProblemKind::EmptyDown), (format!("{f}/up.sql"), ProblemKind::EmptyUp)]
            })
            .collect();
        assert_eq!(refused, expected);
    }

    #[test]
    fn one_problem_names_every_version_to_pad() {
        let revision = |v: usize| {
            let script = |f: &str| Script::new_owned(f.into(), None, "select 1;".into(), ScriptKind::Sql, true);
            Revision::new_owned(
                v.to_string(),
                format!("r{v}"),
                format!("{v}_r{v}"),
                vec![script("up.sql")],
                vec![script("down.sql")],
            )
        };
        let mut revisions: Vec<Revision> = (1..=10_000).map(revision).collect();
        revisions.sort_by(|a, b| a.version().cmp(b.version()));
        let mut problems = Vec::new();
        check_versions(&revisions, &mut problems);
        assert_eq!(problems.len(), 1, "{problems:#?}");
        let message = &problems[0].message;
        assert!(
            message.contains("the 9999 version(s) from 1 (`1_r1`) to 9999 (`9999_r9999`) need 5 digits"),
            "{message}"
        );
        let script = |f: &str| Script::new_owned(f.into(), None, "select 1;".into(), ScriptKind::Sql, true);
        let padded: Vec<Revision> = (1..=20)
            .map(|v| {
                Revision::new_owned(
                    format!("{v:04}"),
                    "x".into(),
                    format!("{v:04}_x"),
                    vec![script("up.sql")],
                    vec![script("down.sql")],
                )
            })
            .collect();
        let mut problems = Vec::new();
        check_versions(&padded, &mut problems);
        assert!(problems.is_empty(), "{problems:#?}");
    }

    #[test]
    fn file_roles() {
        assert!(matches!(file_role("up.sql"), Some(FileRole::Script(Direction::Up, None))));
        assert!(matches!(file_role("down.mysql.sql"), Some(FileRole::Script(Direction::Down, Some(Backend::Mysql)))));
        assert!(matches!(file_role("metadata.toml"), Some(FileRole::Metadata)));
        assert!(file_role("up.oracle.sql").is_none());
        assert!(file_role("upgrade.sql").is_none());
        assert!(file_role("README.md").is_none());
    }

    #[test]
    fn metadata() {
        assert_eq!(read_metadata("run_in_transaction = false\n"), Ok(false));
        assert_eq!(read_metadata("# c\n\nrun_in_transaction=true # x"), Ok(true));
        assert_eq!(read_metadata("").map_err(|_| ()), Ok(true));
        assert_eq!(read_metadata("run_in_transaction = no").unwrap_err().0, 1);
        assert_eq!(read_metadata("\nfoo = 1").unwrap_err().0, 2);
    }

    #[cfg(unix)]
    #[test]
    fn links_are_followed_or_reported() {
        use std::os::unix::fs::symlink;
        let root = std::env::temp_dir().join(format!("migrate-scan-links-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let shared = root.join("shared/0002_linked");
        let dir = root.join("migrations");
        for folder in [dir.join("0001_a"), shared.clone()] {
            std::fs::create_dir_all(&folder).unwrap();
            std::fs::write(folder.join("up.sql"), "CREATE TABLE t (id INT);\n").unwrap();
            std::fs::write(folder.join("down.sql"), "DROP TABLE t;\n").unwrap();
        }
        symlink(&shared, dir.join("0002_linked")).unwrap();
        let found = scan(&dir, &ScanOptions::default());
        assert!(found.problems.is_empty(), "{:?}", found.problems);
        let versions: Vec<&str> = found.revisions.iter().map(|r| r.version()).collect();
        assert_eq!(versions, ["0001", "0002"], "a linked revision folder is a revision");

        symlink(&dir, dir.join("0001_a/loop")).unwrap();
        symlink(root.join("nowhere"), dir.join("0003_dangling")).unwrap();
        let found = scan(&dir, &ScanOptions::default());
        let problems: Vec<String> =
            found.problems.iter().map(|p| format!("{}: {}", p.path.display(), p.message)).collect();
        assert!(
            problems.iter().any(|p| p.starts_with("0001_a/loop: a link to ") && p.contains("remove the link")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.starts_with("0003_dangling: a link to ") && p.contains("does not exist")),
            "{problems:?}"
        );
        std::fs::remove_dir_all(&root).unwrap();
    }
}
