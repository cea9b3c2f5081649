//! The folder scanner, shared by `migrations!()` (at compile time) and the command line (at run time).
//!
//! A folder holds one directory per revision, `<version>_<name>/`, with `up.sql`, `down.sql`, optional backend
//! overrides (`up.postgres.sql`, `down.sqlite.sql`, ...) and an optional diesel `metadata.toml`. Loose files beside
//! the revision directories (a `README.md`, diesel's `.keep`) and hidden entries are ignored. Every problem found is
//! collected, so one scan reports all of them.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::revision::{relative_path, Backend, Backends, Direction, Revision, Script, ScriptKind};
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
    /// A quote, comment or dollar-quoted body that opens and never closes, where the backend's server refuses that.
    Unclosed,
    /// A folder that mixes layouts (revision directories beside sqlx or refinery files, or sqlx's files beside
    /// refinery's): which files are revisions, and in what order, is not known.
    MixedLayout,
    /// A statement the backend accepts inside a transaction and then ignores (SQLite's `PRAGMA foreign_keys`), in a
    /// file that runs in one: a warning, since the database is in the state the file left.
    IgnoredInTransaction,
}

/// How much a [`Problem`] stands in the way.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    /// The file does nothing, or may not do what it says, and the database is in the state it left: reported by
    /// `verify`, `status` and `upgrade`, and at compile time as a warning; it never blocks.
    Warning,
    /// The file would fail, or would break the record: the macro refuses the build, and the command line refuses a
    /// step that would run or rely on the file, on the backends the problem concerns.
    Error,
}

impl Severity {
    /// `"error"` or `"warning"`.
    pub const fn name(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
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
    /// The backends whose run of the file it concerns: all of them for most problems; the one an override file is
    /// for; the ones whose dialect reads the file that way, for a check that depends on the dialect (a generic file
    /// runs on every backend, each reading it in its own dialect).
    pub backends: Backends,
    /// Whether it blocks ([`Severity::Error`]) or is only said ([`Severity::Warning`]).
    pub severity: Severity,
}

impl Problem {
    fn new(kind: ProblemKind, path: impl Into<PathBuf>, message: impl Into<String>) -> Problem {
        Problem {
            kind,
            path: path.into(),
            line: None,
            message: message.into(),
            backends: Backends::ALL,
            severity: Severity::Error,
        }
    }

    fn at_line(mut self, line: usize) -> Problem {
        self.line = Some(line);
        self
    }

    fn on(mut self, backends: Backends) -> Problem {
        self.backends = backends;
        self
    }

    fn warning(mut self) -> Problem {
        self.severity = Severity::Warning;
        self
    }

    /// Whether the problem refuses what it stands in the way of on `backend`: an error that concerns `backend`.
    pub fn refuses_on(&self, backend: Backend) -> bool {
        self.severity == Severity::Error && self.backends.contains(backend)
    }

    /// Whether the problem refuses a build of a crate that runs the revisions on `targets` (the macro's verdict).
    pub fn refuses_build_for(&self, targets: Backends) -> bool {
        self.severity == Severity::Error && self.backends.intersects(targets)
    }

    /// What the problem stands in the way of, on the backends it concerns ([`Problem::refuses_on`]): nothing (a
    /// warning), every operation (the folder's order is not known), or the steps of one revision that would run or
    /// rely on the file it names.
    pub fn blocks(&self) -> Blocks<'_> {
        match self.severity {
            Severity::Warning => Blocks::Nothing,
            Severity::Error => self.about(),
        }
    }

    /// What the problem is about, whatever its severity: the whole folder, or the steps of one revision that run or
    /// rely on the file it names (so a warning can be said when such a step runs).
    pub fn about(&self) -> Blocks<'_> {
        let mut parts = self.path.iter();
        let (Some(first), second) = (parts.next().and_then(|f| f.to_str()), parts.next().and_then(|f| f.to_str()))
        else {
            return Blocks::Everything;
        };
        // An entry of the folder itself that cannot be read may be a revision: which revisions there are is not
        // known.
        if self.kind == ProblemKind::Unreadable && second.is_none() {
            return Blocks::Everything;
        }
        // A file of a flat layout names its revision itself; any other loose file stands for the whole folder.
        let (folder, direction) = match (second, flat_file(first)) {
            (Some(file), _) => (first, file_role(file).and_then(|role| role.direction())),
            (None, Some(flat)) => (flat.key, Some(flat.direction())),
            (None, None) if self.kind == ProblemKind::UnknownFile => return Blocks::Everything,
            (None, None) => (first, None),
        };
        match (self.kind, direction) {
            (ProblemKind::MissingFolder | ProblemKind::UnparsableName | ProblemKind::MixedLayout, _)
            | (ProblemKind::DuplicateVersion | ProblemKind::AmbiguousOrder, _) => Blocks::Everything,
            (ProblemKind::OverrideWithoutCounterpart, _) => Blocks::Revision(folder),
            (_, Some(Direction::Up)) => Blocks::Apply(folder),
            (_, Some(Direction::Down)) => Blocks::Revert(folder),
            (_, None) => Blocks::Revision(folder),
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
                if self.0.backends != Backends::ALL {
                    write!(f, ": on {}", self.0.backends)?;
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

/// What a [`Problem`] stands in the way of ([`Problem::blocks`]), or is about ([`Problem::about`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Blocks<'a> {
    /// Nothing: a warning.
    Nothing,
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

/// `true` if `text` is a template as `migrate new` or `diesel migration generate` wrote it, untouched (`migrate
/// revision -m "…"` heads it with the message).
fn is_template(text: &str) -> bool {
    let lines = comment_lines(text);
    let ours = |lines: &[&str]| [UP_TEMPLATE, DOWN_TEMPLATE].iter().any(|t| comment_lines(t) == lines);
    ours(&lines) || lines.len() > 1 && ours(&lines[1..]) || DIESEL_TEMPLATES.iter().any(|t| lines == [*t])
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
    let mut flat_files: BTreeMap<String, Vec<(String, PathBuf)>> = BTreeMap::new();
    let mut stray: Vec<PathBuf> = Vec::new();
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
            1 if entry.file_type().is_dir() => {
                folders.entry(file_name).or_default();
            }
            // Loose files: a flat layout's revisions, or documentation beside the revision folders (README.md,
            // diesel's .keep), which is not ours; a SQL file no layout explains is a problem.
            1 if file_name.ends_with(".sql") => match flat_file(&file_name) {
                Some(flat) => flat_files
                    .entry(flat.key.to_owned())
                    .or_default()
                    .push((file_name.clone(), entry.path().to_path_buf())),
                None => stray.push(rel),
            },
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
    for file in stray {
        scan.problems.push(if !folders.is_empty() && flat_files.is_empty() {
            // Beside revision folders (crates.io keeps a data script there), it is not a revision, and diesel never
            // ran it either: said, and ignored.
            Problem::new(
                ProblemKind::UnknownFile,
                file,
                "not a revision: in a folder of revision folders a loose SQL file is ignored (as diesel ignores \
                 it); make it a revision folder `<version>_<name>/up.sql` if it is meant to run, or move it out",
            )
            .warning()
        } else {
            Problem::new(
                ProblemKind::UnknownFile,
                file,
                "a SQL file no layout explains: revisions are folders `<version>_<name>/` with up.sql and \
                 down.sql (diesel's layout), files `<version>_<name>.up.sql` and `.down.sql` (sqlx's), or files \
                 `V<n>__<name>.sql` (refinery's); rename it to one of these, or move it out of the folder",
            )
        });
    }
    check_layouts(&folders, &flat_files, &mut scan.problems);
    for (folder, files) in folders {
        if let Some(revision) = read_revision(&folder, files, options, &mut scan.problems) {
            scan.revisions.push(revision);
        }
    }
    for (key, files) in flat_files {
        if let Some(revision) = read_revision(&key, files, options, &mut scan.problems) {
            scan.revisions.push(revision);
        }
    }
    scan.revisions.sort_by(|a, b| a.version().cmp(b.version()));
    check_versions(&scan.revisions, &mut scan.problems);
    scan
}

/// How a folder lays out its revisions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Layout {
    /// A directory per revision, `<version>_<name>/` with `up.sql` and `down.sql` (diesel's, and ours).
    Folders,
    /// sqlx's: `<version>_<description>.up.sql` and `.down.sql`, or `<version>_<description>.sql` alone for a
    /// revision without a down file.
    Sqlx,
    /// refinery's: `V<n>__<name>.sql` (or `U<n>__<name>.sql`), without down files.
    Refinery,
}

impl Layout {
    /// Whose layout it is, for messages.
    pub const fn name(self) -> &'static str {
        match self {
            Layout::Folders => "diesel's (a folder per revision)",
            Layout::Sqlx => "sqlx's",
            Layout::Refinery => "refinery's",
        }
    }
}

/// What a file of a flat layout is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FlatRole {
    /// `….up.sql`.
    Up,
    /// `….down.sql`.
    Down,
    /// `….sql` alone (sqlx's simple revision, every refinery revision): it applies, and nothing reverts it.
    Alone,
}

/// A file of a flat layout, read from its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FlatFile<'a> {
    layout: Layout,
    /// The name without what says its role: `<version>_<description>` or `V<n>__<name>`; the revision's key.
    key: &'a str,
    role: FlatRole,
    /// The digits of the version, as written.
    digits: &'a str,
    name: &'a str,
}

impl FlatFile<'_> {
    fn direction(&self) -> Direction {
        if self.role == FlatRole::Down {
            Direction::Down
        } else {
            Direction::Up
        }
    }
}

/// Reads `file` as a file of sqlx's or refinery's layout; `None` if it is neither.
fn flat_file(file: &str) -> Option<FlatFile<'_>> {
    let (key, role) = if let Some(key) = file.strip_suffix(".up.sql") {
        (key, FlatRole::Up)
    } else if let Some(key) = file.strip_suffix(".down.sql") {
        (key, FlatRole::Down)
    } else {
        (file.strip_suffix(".sql")?, FlatRole::Alone)
    };
    let digits_of = |text: &str| text.bytes().take_while(u8::is_ascii_digit).count();
    if let Some(rest) = key.strip_prefix(['V', 'U']).filter(|_| role == FlatRole::Alone) {
        let n = digits_of(rest);
        let name = rest[n..].strip_prefix("__")?;
        return (n > 0 && !name.trim().is_empty()).then_some(FlatFile {
            layout: Layout::Refinery,
            key,
            role,
            digits: &rest[..n],
            name,
        });
    }
    let n = digits_of(key);
    let name = key[n..].strip_prefix('_')?;
    (n > 0 && !name.trim().is_empty()).then_some(FlatFile { layout: Layout::Sqlx, key, role, digits: &key[..n], name })
}

/// A flat layout's version: its digits, zero-padded to [`SEQUENCE_DIGITS`], since sqlx and refinery order versions
/// as numbers (`V2` before `V10`) and revisions here are ordered as text; longer versions (timestamps) are kept.
/// Their own history tables record the number, which `migrate import` matches as a number.
fn flat_version(digits: &str) -> String {
    format!("{digits:0>SEQUENCE_DIGITS$}")
}

/// One layout per folder: directories and flat files side by side, or two flat layouts, are refused.
fn check_layouts(
    folders: &BTreeMap<String, Vec<(String, PathBuf)>>,
    flat: &BTreeMap<String, Vec<(String, PathBuf)>>,
    problems: &mut Vec<Problem>,
) {
    let mut seen: Vec<(Layout, &str)> = Vec::new();
    if let Some(folder) = folders.keys().next() {
        seen.push((Layout::Folders, folder));
    }
    for (file, _) in flat.values().flatten() {
        let layout = flat_file(file).map_or(Layout::Sqlx, |f| f.layout);
        if !seen.iter().any(|(l, _)| *l == layout) {
            seen.push((layout, file));
        }
    }
    if let [(first, a), (second, b), ..] = seen[..] {
        problems.push(Problem::new(
            ProblemKind::MixedLayout,
            "",
            format!(
                "mixes layouts: `{a}` is laid out as {} and `{b}` as {}; a folder holds one layout, so move one \
                 kind into a folder of its own",
                first.name(),
                second.name()
            ),
        ));
    }
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

impl FileRole {
    fn direction(&self) -> Option<Direction> {
        match self {
            FileRole::Script(direction, _) => Some(*direction),
            FileRole::Metadata => None,
        }
    }
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

/// Reads one revision: a folder of [`Layout::Folders`], or the files of a flat layout that share `folder` as their
/// key (`<version>_<description>` for sqlx's, `V<n>__<name>` for refinery's).
fn read_revision(
    folder: &str,
    files: Vec<(String, PathBuf)>,
    options: &ScanOptions,
    problems: &mut Vec<Problem>,
) -> Option<Revision> {
    let start = problems.len();
    let flat: Vec<FlatFile<'_>> = files.iter().filter_map(|(file, _)| flat_file(file)).collect();
    let (version, name) = match flat.first() {
        Some(first) => (flat_version(first.digits), first.name.to_owned()),
        None => match parse_folder_name(folder) {
            Ok(parts) => parts,
            Err(message) => {
                problems.push(Problem::new(ProblemKind::UnparsableName, folder, message));
                return None;
            }
        },
    };
    let rel = |file: &str| relative_path(folder, file);
    // The names a missing file would have, and whether the layout has no down file for this revision.
    let (up_file, down_file, implied_down) = match flat.first().map(|f| f.layout) {
        None => ("up.sql".to_owned(), "down.sql".to_owned(), false),
        Some(layout) => {
            let alone = flat.iter().any(|f| f.role == FlatRole::Alone);
            let suffix = if layout == Layout::Refinery || alone { ".sql" } else { ".up.sql" };
            (format!("{folder}{suffix}"), format!("{folder}.down.sql"), alone)
        }
    };
    if flat.iter().filter(|f| f.direction() == Direction::Up).count() > 1 {
        let names: Vec<&str> = flat.iter().filter(|f| f.direction() == Direction::Up).map(|f| f.key).collect();
        problems.push(Problem::new(
            ProblemKind::DuplicateVersion,
            folder,
            format!("{} files apply the revision `{}`; keep one", names.len(), names[0]),
        ));
    }
    let mut up: Vec<RawScript> = Vec::new();
    let mut down: Vec<RawScript> = Vec::new();
    let mut run_in_transaction = true;
    for (file, path) in &files {
        let file = file.clone();
        let role = if flat.is_empty() {
            file_role(&file)
        } else {
            flat_file(&file).map(|f| FileRole::Script(f.direction(), None))
        };
        let Some(role) = role else {
            problems.push(Problem::new(
                ProblemKind::UnknownFile,
                rel(&file),
                "unknown file in a revision folder; a revision holds only up.sql, down.sql, \
                 up/down.<postgres|sqlite|mysql>.sql and metadata.toml: rename or remove it",
            ));
            continue;
        };
        let text = match std::fs::read(path) {
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
    if !generic_up && !problems[start..].iter().any(|p| p.path == rel(&up_file)) {
        problems.push(Problem::new(
            ProblemKind::MissingUp,
            rel(&up_file),
            format!("missing {up_file}; every revision needs the SQL that applies it"),
        ));
    }
    if !generic_down && !implied_down && !problems[start..].iter().any(|p| p.path == rel(&down_file)) {
        problems.push(Problem::new(
            ProblemKind::MissingDown,
            rel(&down_file),
            format!(
                "missing {down_file}; write the SQL that reverts {up_file}, or mark the revision irreversible \
                 with a {down_file} whose first line is `-- migrate:irreversible`"
            ),
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
            problems.push(
                Problem::new(
                    ProblemKind::OverrideWithoutCounterpart,
                    rel(&format!("up.{backend}.sql")),
                    format!("up.{backend}.sql has no down.{backend}.sql; add it so {backend} reverts what it applied"),
                )
                .on(Backends::only(backend)),
            );
        }
        if has_down && !has_up {
            problems.push(
                Problem::new(
                    ProblemKind::OverrideWithoutCounterpart,
                    rel(&format!("down.{backend}.sql")),
                    format!("down.{backend}.sql has no up.{backend}.sql; add it, or remove the override"),
                )
                .on(Backends::only(backend)),
            );
        }
    }
    // A revision with a broken or missing file is still listed (its problems say which file), so an operation that
    // does not run or rely on that file can go ahead; a missing generic file stands in as an empty one.
    let mut up = up;
    let mut down = down;
    let placeholder = |file: &str| Script::new_owned(file.to_owned(), None, String::new(), ScriptKind::Empty, true);
    if up.first().is_none_or(|s| s.backend().is_some()) {
        up.insert(0, placeholder(&up_file));
    }
    if down.first().is_none_or(|s| s.backend().is_some()) {
        // sqlx's `<version>_<description>.sql` and refinery's files apply a revision that nothing reverts: the
        // revision is irreversible, with no file (an empty name) for its down script.
        down.insert(
            0,
            if implied_down {
                Script::new_owned(String::new(), None, String::new(), ScriptKind::Irreversible, run_in_transaction)
            } else {
                placeholder(&down_file)
            },
        );
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
    let path = relative_path(folder, &raw.file);
    let first_problem = problems.len();
    let (directives, directive_problems) = sql::directives(&raw.text);
    for p in directive_problems {
        problems.push(Problem::new(ProblemKind::Directive, &path, p.message).at_line(p.line));
    }
    let irreversible = directives.contains(&Directive::Irreversible);
    let transaction = run_in_transaction && !directives.contains(&Directive::NoTransaction);
    // The backends that run this file: the one an override is for, or every backend for a generic file. Each reads
    // it in its own dialect, once; the readings serve every check below (the macro runs this, unoptimised, on every
    // file at every build). A file is blank when PostgreSQL's reading (the strictest about comments) has no
    // statement.
    let scope = raw.backend.map_or(Backends::ALL, Backends::only);
    let readings: Vec<(Backend, sql::Reading<'_>)> = scope.iter().map(|b| (b, sql::read(&raw.text, b))).collect();
    let blank = match readings.first() {
        Some((Backend::Postgres, reading)) => reading.statements.is_empty(),
        _ => sql::is_blank(&raw.text),
    };
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
    // Checks that depend on the dialect: each backend judges the file as it reads it, and a problem concerns the
    // backends whose reading finds it (one problem for several, where they find the same).
    let mut found: Vec<Problem> = Vec::new();
    for (backend, reading) in &readings {
        let mut add = |problem: Problem| match found.iter_mut().find(|p| {
            (p.kind, p.line, p.severity, &p.message) == (problem.kind, problem.line, problem.severity, &problem.message)
        }) {
            Some(same) => same.backends = same.backends.with(*backend),
            None => found.push(problem.on(Backends::only(*backend))),
        };
        if let Some(open) = reading.unclosed.filter(|u| u.refused) {
            add(Problem::new(
                ProblemKind::Unclosed,
                &path,
                format!(
                    "a {} opens here and is never closed, so the server refuses the file (and nothing after it \
                     would run as written); close it",
                    open.what
                ),
            )
            .at_line(open.line));
        }
        if !transaction || kind != ScriptKind::Sql {
            continue;
        }
        let statements = &reading.statements;
        if let Some((stmt, what)) = sql::non_transactional_in(statements, *backend) {
            add(Problem::new(
                ProblemKind::NeedsNoTransaction,
                &path,
                format!(
                    "`{what}` cannot run inside a transaction, and this file runs in one; add \
                     `-- migrate:no-transaction` as the first line of {}",
                    raw.file
                ),
            )
            .at_line(stmt.line));
        }
        if let Some((stmt, what)) = sql::transaction_control_in(statements, *backend) {
            add(Problem::new(
                ProblemKind::TransactionControl,
                &path,
                format!(
                    "`{what}` ends or opens a transaction, and this file already runs in one, which it and its \
                     history record commit together; remove it, or run the file statement by statement with \
                     `-- migrate:no-transaction` as the first line of {}",
                    raw.file
                ),
            )
            .at_line(stmt.line));
        }
        if let Some((stmt, what)) = sql::ignored_in_transaction_in(statements, *backend) {
            add(Problem::new(
                ProblemKind::IgnoredInTransaction,
                &path,
                format!(
                    "`{what}` does nothing inside a transaction, and this file runs in one, so it has no effect \
                     here; to make it take effect, run the file statement by statement with \
                     `-- migrate:no-transaction` as the first line of {} (for a revision already applied, leave \
                     the file as it is: the database is in the state it left)",
                    raw.file
                ),
            )
            .at_line(stmt.line)
            .warning());
        }
    }
    // Every other problem of an override concerns only its backend.
    for problem in &mut problems[first_problem..] {
        problem.backends = scope;
    }
    problems.extend(found);
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

    /// A generic file is judged in the dialect of each backend that runs it, and a problem concerns (and blocks)
    /// only the backends whose reading finds it.
    #[test]
    fn dialect_checks_concern_the_backends_that_find_them() {
        let dir = std::env::temp_dir().join(format!("migrate-scan-dialects-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let write = |folder: &str, up: &str| {
            std::fs::create_dir_all(dir.join(folder)).unwrap();
            std::fs::write(dir.join(folder).join("up.sql"), up).unwrap();
            std::fs::write(dir.join(folder).join("down.sql"), "SELECT 1;\n").unwrap();
        };
        write(
            "0001_plpgsql",
            "CREATE FUNCTION f() RETURNS int AS $$\nDECLARE x int;\nBEGIN\n  RETURN 1;\nEND\n$$ LANGUAGE plpgsql;\n",
        );
        write("0002_commit", "CREATE TABLE t (a int);\nCOMMIT;\n");
        write("0003_pragma", "PRAGMA foreign_keys = ON;\nCREATE TABLE p (a int);\n");
        write("0004_unclosed", "CREATE TABLE a (x int);\n/* never closed\nCREATE TABLE b (x int);\n");
        write("0005_routine", "DELIMITER //\nCREATE PROCEDURE p() BEGIN SELECT 1; END //\nDELIMITER ;\n");
        write("0006_quote", "CREATE TABLE q (x int);\nINSERT INTO q VALUES ('open);\n");
        let found = scan(&dir, &ScanOptions::default());
        std::fs::remove_dir_all(&dir).unwrap();
        let of = |folder: &str| -> Vec<(ProblemKind, Option<usize>, String, Severity)> {
            found
                .problems
                .iter()
                .filter(|p| p.path.starts_with(folder))
                .map(|p| (p.kind, p.line, p.backends.to_string(), p.severity))
                .collect()
        };
        use ProblemKind::*;
        use Severity::*;
        assert_eq!(of("0001_plpgsql"), [(TransactionControl, Some(3), "sqlite".into(), Error)]);
        assert_eq!(of("0002_commit"), [(TransactionControl, Some(2), "postgres and sqlite".into(), Error)]);
        assert_eq!(of("0003_pragma"), [(IgnoredInTransaction, Some(1), "sqlite".into(), Warning)]);
        assert_eq!(of("0004_unclosed"), [(Unclosed, Some(2), "postgres".into(), Error)]);
        assert!(of("0005_routine").iter().all(|p| !p.2.contains("mysql")), "{:?}", of("0005_routine"));
        assert_eq!(of("0006_quote"), [(Unclosed, Some(2), "postgres, sqlite and mysql".into(), Error)]);
        let problem = found.problems.iter().find(|p| p.path.starts_with("0001_plpgsql")).unwrap();
        assert!(problem.refuses_on(Backend::Sqlite) && !problem.refuses_on(Backend::Postgres));
        assert!(!problem.refuses_build_for(Backends::only(Backend::Postgres)));
        assert!(
            problem.to_string().starts_with("0001_plpgsql/up.sql:3: on sqlite: `BEGIN` ends or opens"),
            "{problem}"
        );
        let warning = found.problems.iter().find(|p| p.kind == IgnoredInTransaction).unwrap();
        assert_eq!(warning.blocks(), Blocks::Nothing);
        assert!(!warning.refuses_build_for(Backends::ALL));
    }

    fn folder_of(name: &str, files: &[(&str, &str)]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("migrate-scan-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for (file, text) in files {
            let path = dir.join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        dir
    }

    /// sqlx's flat layout, as sqlx projects keep it: reversible pairs, a simple file (no down: irreversible), the
    /// `-- no-transaction` first line, and documentation beside them.
    #[test]
    fn sqlx_layout() {
        let dir = folder_of(
            "sqlx",
            &[
                ("20250102160800_create_accounts.up.sql", "CREATE TABLE accounts (id INT);\n"),
                ("20250102160800_create_accounts.down.sql", "DROP TABLE accounts;\n"),
                ("20250104154109_index.sql", "-- no-transaction\nCREATE INDEX CONCURRENTLY i ON accounts (id);\n"),
                ("3_small.up.sql", "SELECT 1;\n"),
                ("3_small.down.sql", "SELECT 2;\n"),
                ("README.md", "how to add a revision\n"),
            ],
        );
        let found = scan(&dir, &ScanOptions::default());
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(found.problems.is_empty(), "{:#?}", found.problems);
        let ids: Vec<(&str, &str, &str)> =
            found.revisions.iter().map(|r| (r.version(), r.name(), r.folder())).collect();
        assert_eq!(
            ids,
            [
                ("00000003", "small", "3_small"),
                ("20250102160800", "create_accounts", "20250102160800_create_accounts"),
                ("20250104154109", "index", "20250104154109_index"),
            ]
        );
        let accounts = &found.revisions[1];
        assert_eq!(accounts.up(Backend::Postgres).file(), "20250102160800_create_accounts.up.sql");
        assert_eq!(
            accounts.path_of(accounts.down(Backend::Sqlite)),
            Path::new("20250102160800_create_accounts.down.sql")
        );
        let index = &found.revisions[2];
        assert!(!index.up(Backend::Postgres).transaction());
        assert_eq!(index.down(Backend::Postgres).kind(), ScriptKind::Irreversible);
        assert_eq!(index.down(Backend::Postgres).file(), "");
    }

    /// refinery's layout: `V<n>__<name>.sql` (and `U<n>__`), ordered by number, without down files.
    #[test]
    fn refinery_layout() {
        let dir = folder_of(
            "refinery",
            &[
                ("V1__initial.sql", "CREATE TABLE a (id INT);\n"),
                ("V2__add_b.sql", "CREATE TABLE b (id INT);\n"),
                ("V10__add_c.sql", "CREATE TABLE c (id INT);\n"),
                ("U11__unversioned.sql", "SELECT 1;\n"),
            ],
        );
        let found = scan(&dir, &ScanOptions::default());
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(found.problems.is_empty(), "{:#?}", found.problems);
        let ids: Vec<(&str, &str)> = found.revisions.iter().map(|r| (r.version(), r.name())).collect();
        assert_eq!(
            ids,
            [("00000001", "initial"), ("00000002", "add_b"), ("00000010", "add_c"), ("00000011", "unversioned")]
        );
        assert!(found.revisions.iter().all(|r| r.down(Backend::Mysql).kind() == ScriptKind::Irreversible));
    }

    /// What no layout explains is a problem, never silence: a stray SQL file, two layouts in one folder, a sqlx
    /// revision without its down file.
    #[test]
    fn flat_files_no_layout_explains() {
        let dir = folder_of(
            "flat-problems",
            &[
                ("0001_a/up.sql", "SELECT 1;\n"),
                ("0001_a/down.sql", "SELECT 1;\n"),
                ("V2__b.sql", "SELECT 1;\n"),
                ("notes.sql", "SELECT 1;\n"),
                ("3_c.up.sql", "SELECT 1;\n"),
            ],
        );
        let found = scan(&dir, &ScanOptions::default());
        std::fs::remove_dir_all(&dir).unwrap();
        let problems: Vec<(ProblemKind, String, Blocks<'_>)> =
            found.problems.iter().map(|p| (p.kind, p.path.display().to_string(), p.blocks())).collect();
        assert!(
            problems.contains(&(ProblemKind::UnknownFile, "notes.sql".into(), Blocks::Everything)),
            "{problems:#?}"
        );
        assert!(problems.iter().any(|p| p.0 == ProblemKind::MixedLayout && p.2 == Blocks::Everything), "{problems:#?}");
        assert!(
            problems.contains(&(ProblemKind::MissingDown, "3_c.down.sql".into(), Blocks::Revert("3_c"))),
            "{problems:#?}"
        );
        // Beside revision folders alone, a loose SQL file is said and ignored, as diesel ignores it.
        let dir = folder_of(
            "diesel-stray",
            &[("0001_a/up.sql", "SELECT 1;\n"), ("0001_a/down.sql", "SELECT 1;\n"), ("data.sql", "SELECT 1;\n")],
        );
        let diesel = scan(&dir, &ScanOptions::default());
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(diesel.revisions.len(), 1);
        let kinds: Vec<(ProblemKind, Severity)> = diesel.problems.iter().map(|p| (p.kind, p.severity)).collect();
        assert_eq!(kinds, [(ProblemKind::UnknownFile, Severity::Warning)]);
        let mixed = found.problems.iter().find(|p| p.kind == ProblemKind::MixedLayout).unwrap();
        assert!(mixed.message.contains("`0001_a` is laid out as diesel's"), "{}", mixed.message);
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
