//! The revision model: what one `<version>_<name>/` folder means once it has been read.
//!
//! The same types hold a list embedded by `migrations!()` (borrowed `'static` data, built by `const fn`
//! constructors, so start-up allocates nothing for it) and a list scanned at run time (owned data).

use std::borrow::Cow;
use std::fmt;

use sha2::{Digest, Sha256};

/// A database family. Selects the override files (`up.<backend>.sql`) and the SQL dialect.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Backend {
    /// PostgreSQL.
    Postgres,
    /// SQLite.
    Sqlite,
    /// MySQL and MariaDB.
    Mysql,
}

impl Backend {
    /// Every backend, in the order override files are listed.
    pub const ALL: [Backend; 3] = [Backend::Postgres, Backend::Sqlite, Backend::Mysql];

    /// The name used in override file names (`up.postgres.sql`) and in messages.
    pub const fn name(self) -> &'static str {
        match self {
            Backend::Postgres => "postgres",
            Backend::Sqlite => "sqlite",
            Backend::Mysql => "mysql",
        }
    }

    /// The backend whose override file name uses `name`, if any.
    pub fn from_name(name: &str) -> Option<Backend> {
        Backend::ALL.into_iter().find(|b| b.name() == name)
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of backends: the ones a crate targets, or the ones a folder problem concerns.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Backends(u8);

impl Backends {
    /// No backend.
    pub const NONE: Backends = Backends(0);
    /// Every backend.
    pub const ALL: Backends = Backends(0b111);

    const fn bit(backend: Backend) -> u8 {
        match backend {
            Backend::Postgres => 1,
            Backend::Sqlite => 2,
            Backend::Mysql => 4,
        }
    }

    /// The set of `backend` alone.
    pub const fn only(backend: Backend) -> Backends {
        Backends(Backends::bit(backend))
    }

    /// This set with `backend` added.
    #[must_use]
    pub const fn with(self, backend: Backend) -> Backends {
        Backends(self.0 | Backends::bit(backend))
    }

    /// Whether `backend` is in the set.
    pub const fn contains(self, backend: Backend) -> bool {
        self.0 & Backends::bit(backend) != 0
    }

    /// Whether the two sets share a backend.
    pub const fn intersects(self, other: Backends) -> bool {
        self.0 & other.0 != 0
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The backends of the set, in [`Backend::ALL`]'s order.
    pub fn iter(self) -> impl Iterator<Item = Backend> {
        Backend::ALL.into_iter().filter(move |b| self.contains(*b))
    }
}

impl FromIterator<Backend> for Backends {
    fn from_iter<I: IntoIterator<Item = Backend>>(iter: I) -> Backends {
        iter.into_iter().fold(Backends::NONE, Backends::with)
    }
}

impl fmt::Debug for Backends {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

/// `postgres`, `postgres and sqlite`, `postgres, sqlite and mysql`.
impl fmt::Display for Backends {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.iter().map(Backend::name).collect();
        match names.split_last() {
            None => f.write_str("no backend"),
            Some((last, [])) => f.write_str(last),
            Some((last, rest)) => write!(f, "{} and {last}", rest.join(", ")),
        }
    }
}

/// Which way a revision is run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// `up.sql`: apply.
    Up,
    /// `down.sql`: revert.
    Down,
}

impl Direction {
    /// `"up"` or `"down"`.
    pub const fn name(self) -> &'static str {
        match self {
            Direction::Up => "up",
            Direction::Down => "down",
        }
    }

    /// The command that goes this way: `"upgrade"` or `"downgrade"`.
    pub const fn command(self) -> &'static str {
        match self {
            Direction::Up => "upgrade",
            Direction::Down => "downgrade",
        }
    }

    /// The other way.
    #[must_use]
    pub const fn opposite(self) -> Direction {
        match self {
            Direction::Up => Direction::Down,
            Direction::Down => Direction::Up,
        }
    }
}

/// SHA-256 of a script's text after removing a leading byte-order mark and folding CRLF to LF,
/// so the same file checked out on Windows and Unix has one checksum.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Checksum(pub [u8; 32]);

impl Checksum {
    /// The checksum of `text`, normalised as described on the type.
    pub fn of(text: &str) -> Checksum {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut hasher = Sha256::new();
        let mut rest = text;
        while let Some(at) = rest.find("\r\n") {
            hasher.update(&rest.as_bytes()[..at]);
            hasher.update(b"\n");
            rest = &rest[at + 2..];
        }
        hasher.update(rest.as_bytes());
        Checksum(hasher.finalize().into())
    }

    /// Lowercase hexadecimal, 64 characters: the form stored in the history table.
    pub fn to_hex(&self) -> String {
        self.hex_digits().iter().map(|&digit| char::from(digit)).collect()
    }

    /// Whether `hex` is this checksum's hexadecimal form (either case), compared without allocating: the start-up
    /// check compares two per history row. The digits are written to the stack and compared as bytes.
    pub fn matches_hex(&self, hex: &str) -> bool {
        let ours = self.hex_digits();
        let hex = hex.as_bytes();
        hex == ours || hex.eq_ignore_ascii_case(&ours)
    }

    /// The 64 lowercase hexadecimal digits.
    fn hex_digits(&self) -> [u8; 64] {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut out = [0u8; 64];
        for (pair, byte) in out.chunks_exact_mut(2).zip(self.0) {
            pair[0] = DIGITS[usize::from(byte >> 4)];
            pair[1] = DIGITS[usize::from(byte & 0x0f)];
        }
        out
    }

    /// Parses the 64-character hexadecimal form (either case); `None` if `hex` is not one. Every start-up parses two
    /// per history row, so it is done a byte at a time.
    pub fn from_hex(hex: &str) -> Option<Checksum> {
        let hex = hex.trim();
        if hex.len() != 64 || !hex.is_ascii() {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(Checksum(out))
    }
}

impl fmt::Debug for Checksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Checksum({})", self.to_hex())
    }
}

impl fmt::Display for Checksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// What a script file holds, as far as running it is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScriptKind {
    /// At least one statement.
    Sql,
    /// No statement and nothing saying why: whitespace only, or a template left as `migrate new` (or `diesel
    /// migration generate`) wrote it. A placeholder `down.sql`; refused as an up file.
    Empty,
    /// Only comments, on purpose (`-- Integer size in SQLite is already i64, so nothing to do`): a deliberate no-op,
    /// run as one, as diesel runs it.
    NoOp,
    /// A `down.sql` marked `-- migrate:irreversible`: the revision cannot be reverted.
    Irreversible,
}

/// One SQL file of a revision: `up.sql`, `down.sql` or a backend override such as `up.postgres.sql`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Script {
    file: Cow<'static, str>,
    backend: Option<Backend>,
    sql: Cow<'static, str>,
    checksum: Checksum,
    kind: ScriptKind,
    transaction: bool,
}

impl Script {
    /// Builds a script from text embedded in the binary (the list `migrations!()` embeds).
    pub(crate) fn embedded(
        file: &'static str,
        backend: Option<Backend>,
        sql: &'static str,
        checksum: Checksum,
        kind: ScriptKind,
        transaction: bool,
    ) -> Script {
        Script { file: Cow::Borrowed(file), backend, sql: Cow::Borrowed(sql), checksum, kind, transaction }
    }

    /// Builds a script from text read at run time (the scanner, or a down script kept in the history table).
    pub fn new_owned(
        file: String,
        backend: Option<Backend>,
        sql: String,
        kind: ScriptKind,
        transaction: bool,
    ) -> Script {
        let checksum = Checksum::of(&sql);
        Script { file: Cow::Owned(file), backend, sql: Cow::Owned(sql), checksum, kind, transaction }
    }

    /// The file name inside the revision folder, e.g. `up.sql` or `down.sqlite.sql`.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The backend this file overrides the generic one for, or `None` for `up.sql` / `down.sql`.
    pub fn backend(&self) -> Option<Backend> {
        self.backend
    }

    /// The SQL text exactly as in the file.
    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// The checksum of the normalised text.
    pub fn checksum(&self) -> Checksum {
        self.checksum
    }

    /// The checksum a history row records for this script as a down file: `None` when it is irreversible.
    pub fn recorded_checksum(&self) -> Option<Checksum> {
        (self.kind() != ScriptKind::Irreversible).then(|| self.checksum())
    }

    /// Whether the file has statements, is a placeholder, or marks the revision irreversible.
    pub fn kind(&self) -> ScriptKind {
        self.kind
    }

    /// `false` when the file (or the revision's `metadata.toml`) asks for `-- migrate:no-transaction`.
    pub fn transaction(&self) -> bool {
        self.transaction
    }
}

/// One revision: a version, a name, and its up and down scripts (generic plus backend overrides).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revision {
    version: Cow<'static, str>,
    name: Cow<'static, str>,
    folder: Cow<'static, str>,
    up: Script,
    down: Script,
    // Backend overrides, empty (and borrowed, so free) for most revisions.
    up_overrides: Cow<'static, [Script]>,
    down_overrides: Cow<'static, [Script]>,
}

impl Revision {
    /// Builds a revision from its parts: `up` and `down` are the generic files, the overrides the rest.
    pub(crate) fn from_parts(
        (version, name, folder): (Cow<'static, str>, Cow<'static, str>, Cow<'static, str>),
        (up, up_overrides): (Script, Cow<'static, [Script]>),
        (down, down_overrides): (Script, Cow<'static, [Script]>),
    ) -> Revision {
        Revision { version, name, folder, up, down, up_overrides, down_overrides }
    }

    /// Builds a revision from owned parts; `up[0]` and `down[0]` must be the generic files.
    ///
    /// # Panics
    /// If `up` or `down` is empty or its first script is a backend override.
    pub fn new_owned(version: String, name: String, folder: String, up: Vec<Script>, down: Vec<Script>) -> Revision {
        let split = |mut scripts: Vec<Script>, which: &str| {
            assert!(scripts.first().is_some_and(|s| s.backend.is_none()), "{which}[0] must be the generic script");
            let first = scripts.remove(0);
            (first, if scripts.is_empty() { Cow::Borrowed(&[][..]) } else { Cow::Owned(scripts) })
        };
        Revision::from_parts(
            (Cow::Owned(version), Cow::Owned(name), Cow::Owned(folder)),
            split(up, "up"),
            split(down, "down"),
        )
    }

    /// The version: the digits of the folder name before the first `_`, dashes dropped.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The name: the folder name after the first `_`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The folder name as on disk, e.g. `2024-01-14-171611_create_users`.
    pub fn folder(&self) -> &str {
        &self.folder
    }

    /// The script that applies this revision on `backend`: its override if there is one, else `up.sql`.
    pub fn up(&self, backend: Backend) -> &Script {
        pick(&self.up, &self.up_overrides, backend)
    }

    /// The script that reverts this revision on `backend`: its override if there is one, else `down.sql`.
    pub fn down(&self, backend: Backend) -> &Script {
        pick(&self.down, &self.down_overrides, backend)
    }

    /// The script for `direction` on `backend`.
    pub fn script(&self, direction: Direction, backend: Backend) -> &Script {
        match direction {
            Direction::Up => self.up(backend),
            Direction::Down => self.down(backend),
        }
    }

    /// Every file of the revision: the generic up and down scripts first, then the overrides.
    pub fn scripts(&self) -> impl Iterator<Item = &Script> {
        [&self.up, &self.down].into_iter().chain(self.up_overrides.iter()).chain(self.down_overrides.iter())
    }

    /// The files of one direction: the generic one first, then its overrides.
    pub fn scripts_of(&self, direction: Direction) -> impl Iterator<Item = &Script> {
        let (generic, overrides) = match direction {
            Direction::Up => (&self.up, &self.up_overrides),
            Direction::Down => (&self.down, &self.down_overrides),
        };
        std::iter::once(generic).chain(overrides.iter())
    }

    /// Where `script`'s file is, relative to the revision folder's parent: `<folder>/<file>` for a revision that is
    /// a directory, the file itself in a flat layout (sqlx's `<version>_<name>.up.sql`, refinery's
    /// `V<n>__<name>.sql`, whose file names begin with the revision's name and a dot).
    pub fn path_of(&self, script: &Script) -> std::path::PathBuf {
        relative_path(&self.folder, script.file())
    }
}

/// [`Revision::path_of`] from the revision's folder (or flat name) and a file name.
pub fn relative_path(folder: &str, file: &str) -> std::path::PathBuf {
    match file.strip_prefix(folder) {
        Some(rest) if rest.starts_with('.') => std::path::PathBuf::from(file),
        _ => std::path::Path::new(folder).join(file),
    }
}

fn pick<'a>(generic: &'a Script, overrides: &'a [Script], backend: Backend) -> &'a Script {
    overrides.iter().find(|s| s.backend == Some(backend)).unwrap_or(generic)
}

/// Orders two versions the way revisions are ordered: as strings of digits, so that timestamps of
/// different precision (`20240313` and `20240313170000`) sort by time.
pub fn compare_versions(a: &str, b: &str) -> std::cmp::Ordering {
    a.cmp(b)
}

/// Which revision: its version and its name, as the folder or a history row gives them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevisionId {
    /// Its version.
    pub version: String,
    /// Its name.
    pub name: String,
}

impl fmt::Display for RevisionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.version, self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_match_their_hex_in_either_case() {
        let c = Checksum::of("CREATE TABLE t (a INT);");
        assert!(c.matches_hex(&c.to_hex()));
        assert!(c.matches_hex(&c.to_hex().to_uppercase()));
        assert!(!c.matches_hex(&Checksum::of("other").to_hex()));
        assert!(!c.matches_hex(&c.to_hex()[..63]));
        assert!(!c.matches_hex(&format!("{}0", c.to_hex())));
        assert!(!c.matches_hex(&c.to_hex().replace(|ch: char| ch.is_ascii_digit(), "g")));
        assert!(!c.matches_hex(""));
    }

    #[test]
    fn checksum_ignores_bom_and_crlf() {
        let unix = Checksum::of("create table t (id int);\nselect 1;\n");
        assert_eq!(Checksum::of("\u{feff}create table t (id int);\r\nselect 1;\r\n"), unix);
        assert_ne!(Checksum::of("create table t (id int);\nselect 2;\n"), unix);
        assert_eq!(Checksum::from_hex(&unix.to_hex()), Some(unix));
        let upper = Checksum::of("abc").to_hex().to_uppercase();
        assert_eq!(Checksum::from_hex(&upper), Some(Checksum::of("abc")));
        assert_eq!(Checksum::from_hex(&"g".repeat(64)), None);
        assert_eq!(Checksum::from_hex(&"é".repeat(32)), None);
        assert_eq!(Checksum::from_hex("abc"), None);
        // Known vector: SHA-256 of "abc".
        assert_eq!(Checksum::of("abc").to_hex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn overrides_replace_the_generic_file() {
        let generic = Script::new_owned("up.sql".into(), None, "select 1;".into(), ScriptKind::Sql, true);
        let pg = Script::new_owned(
            "up.postgres.sql".into(),
            Some(Backend::Postgres),
            "select 2;".into(),
            ScriptKind::Sql,
            true,
        );
        let down = Script::new_owned("down.sql".into(), None, "select 3;".into(), ScriptKind::Sql, true);
        let rev = Revision::new_owned("1".into(), "a".into(), "1_a".into(), vec![generic, pg], vec![down]);
        assert_eq!(rev.up(Backend::Postgres).file(), "up.postgres.sql");
        assert_eq!(rev.up(Backend::Sqlite).file(), "up.sql");
        assert_eq!(rev.down(Backend::Postgres).file(), "down.sql");
        assert_eq!(rev.scripts().map(Script::file).collect::<Vec<_>>(), ["up.sql", "down.sql", "up.postgres.sql"]);
    }

    #[test]
    fn backend_sets() {
        let two: Backends = [Backend::Postgres, Backend::Mysql].into_iter().collect();
        assert!(two.contains(Backend::Mysql) && !two.contains(Backend::Sqlite));
        assert_eq!(two.to_string(), "postgres and mysql");
        assert_eq!(Backends::ALL.to_string(), "postgres, sqlite and mysql");
        assert_eq!(Backends::only(Backend::Sqlite).to_string(), "sqlite");
        assert!(two.intersects(Backends::only(Backend::Postgres)) && !two.intersects(Backends::only(Backend::Sqlite)));
        assert_eq!(Backends::ALL.iter().collect::<Vec<_>>(), Backend::ALL);
    }
}
