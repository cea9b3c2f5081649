//! The embedded form of a revision list: what `migrations!()` writes into a binary, and how it is read back.
//!
//! Every script's text goes into one string (the macro concatenates `include_str!` of each file, so an edited file
//! still rebuilds the crate), the names into a second, every checksum into one byte string, and the rest into a
//! table of fixed-size records. Four literals for the whole list, whatever its length: an array of per-revision
//! values costs the compiler a constant, a promoted allocation and a relocation per item, which made a crate
//! embedding 10,000 revisions build 5× slower than the same files embedded by hand. The list is decoded once, on
//! first use, into borrowed [`Revision`]s: nothing is copied but the records, and a revision without backend
//! overrides allocates nothing.
//!
//! The table, little-endian: per revision, the folder, version and name as `u32` offset and length pairs into the
//! names (six `u32`s), then the number of up and of down scripts (one byte each), then per script (up ones first,
//! the generic file first in each direction) its text's length in bytes (`u32`) and one byte of flags: bits 0-1 the
//! backend (none, PostgreSQL, SQLite, MySQL), bits 2-3 the kind (SQL, empty, no-op, irreversible), bit 4 whether it
//! runs in a transaction, bit 5 whether it is a down script, bit 6 whether its file name follows (as a `u32` offset
//! and length pair into the names; a revision of a flat layout, sqlx's or refinery's, names its files, and an empty
//! name is the down script such a layout implies without a file). Otherwise the file name follows from the direction
//! and backend.

use std::borrow::Cow;
use std::fmt;
use std::sync::OnceLock;

use crate::revision::{Backend, Checksum, Direction, Revision, Script, ScriptKind};

/// A revision list as the `migrations!()` macro embeds it. Build one with [`encode`]; read it with
/// [`Packed::decode`].
#[derive(Clone, Copy)]
pub struct Packed {
    sql: &'static str,
    names: &'static str,
    table: &'static [u8],
    sums: &'static [u8],
}

impl fmt::Debug for Packed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Packed")
            .field("sql_bytes", &self.sql.len())
            .field("table_bytes", &self.table.len())
            .field("scripts", &(self.sums.len() / 32))
            .finish()
    }
}

/// The names of script files, by direction (up, down) and backend code (none, PostgreSQL, SQLite, MySQL).
const FILES: [[&str; 4]; 2] = [
    ["up.sql", "up.postgres.sql", "up.sqlite.sql", "up.mysql.sql"],
    ["down.sql", "down.postgres.sql", "down.sqlite.sql", "down.mysql.sql"],
];
const BACKENDS: [Option<Backend>; 4] = [None, Some(Backend::Postgres), Some(Backend::Sqlite), Some(Backend::Mysql)];
const KINDS: [ScriptKind; 4] = [ScriptKind::Sql, ScriptKind::Empty, ScriptKind::NoOp, ScriptKind::Irreversible];
const TRANSACTION: u8 = 1 << 4;
const DOWN: u8 = 1 << 5;
const NAMED: u8 = 1 << 6;
/// Bytes of a revision's record before its scripts', and of a script's.
const REVISION_RECORD: usize = 6 * 4 + 2;
const SCRIPT_RECORD: usize = 4 + 1;

impl Packed {
    /// An empty list.
    pub const EMPTY: Packed = Packed { sql: "", names: "", table: &[], sums: &[] };

    /// The list the macro wrote: every script's text concatenated in table order, the names, the table and the
    /// checksums (32 bytes per script, in table order).
    pub const fn new(sql: &'static str, names: &'static str, table: &'static [u8], sums: &'static [u8]) -> Packed {
        Packed { sql, names, table, sums }
    }

    /// The revisions, borrowing their names and text from the embedded literals.
    ///
    /// # Panics
    /// If the parts do not fit together, which only a hand-made `Packed` (the macro writes them, and checks at
    /// compile time that the text it embedded has the length it read) can cause.
    pub fn decode(&self) -> Vec<Revision> {
        let mut reader = Reader { packed: self, at: 0, sql_at: 0, script: 0 };
        let mut revisions = Vec::with_capacity(self.table.len() / (REVISION_RECORD + 2 * SCRIPT_RECORD));
        while reader.at < self.table.len() {
            revisions.push(reader.revision());
        }
        assert!(
            reader.sql_at == self.sql.len() && reader.script * 32 == self.sums.len(),
            "the embedded revision list does not fit together: build the crate again"
        );
        revisions
    }
}

/// An embedded list and, once something needed them, its decoded revisions. The start-up check with nothing
/// pending reads the embedded form directly ([`Packed::expected`]) and never decodes it.
#[derive(Debug)]
pub struct Embedded {
    packed: Packed,
    decoded: OnceLock<Vec<Revision>>,
}

impl Embedded {
    /// The list, to be decoded on first use.
    pub const fn new(packed: Packed) -> Embedded {
        Embedded { packed, decoded: OnceLock::new() }
    }

    /// The embedded form.
    pub fn packed(&self) -> &Packed {
        &self.packed
    }

    /// Whether [`Embedded::revisions`] has decoded the list.
    pub fn is_decoded(&self) -> bool {
        self.decoded.get().is_some()
    }

    /// The revisions, decoded on the first call.
    pub fn revisions(&self) -> &[Revision] {
        self.decoded.get_or_init(|| self.packed.decode())
    }
}

/// Where a migrator's revisions come from: a slice, or a list embedded by `migrations!()`, decoded only when
/// something needs more than the start-up check reads.
#[derive(Clone, Copy, Debug)]
pub(crate) enum List<'r> {
    Slice(&'r [Revision]),
    Embedded(&'r Embedded),
}

impl<'r> List<'r> {
    pub(crate) fn revisions(self) -> &'r [Revision] {
        match self {
            List::Slice(revisions) => revisions,
            List::Embedded(embedded) => embedded.revisions(),
        }
    }
}

/// What a history row must say for a revision to count as applied on a backend: its version, and the checksums of
/// the files the backend runs (`None` for an irreversible down file, which a row records without one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expected<'a> {
    /// The version.
    pub version: &'a str,
    /// The name, for the report.
    pub name: &'a str,
    /// The up file's checksum.
    pub up: Checksum,
    /// The down file's checksum, unless it is irreversible.
    pub down: Option<Checksum>,
}

impl<'a> Expected<'a> {
    /// What a row must say for `revision` on `backend`.
    pub fn of(revision: &'a Revision, backend: Backend) -> Expected<'a> {
        Expected {
            version: revision.version(),
            name: revision.name(),
            up: revision.up(backend).checksum(),
            down: revision.down(backend).recorded_checksum(),
        }
    }
}

impl Packed {
    /// Each revision's [`Expected`] on `backend`, read from the table without decoding a revision or allocating.
    pub fn expected(&self, backend: Backend) -> impl Iterator<Item = Expected<'static>> + '_ {
        let mut reader = Reader { packed: self, at: 0, sql_at: 0, script: 0 };
        let code = BACKENDS.iter().position(|b| *b == Some(backend)).expect("every backend has a code");
        std::iter::from_fn(move || {
            if reader.at >= self.table.len() {
                return None;
            }
            let _folder = reader.str();
            let (version, name) = (reader.str(), reader.str());
            let counts = reader.bytes(2);
            let mut picked: [Option<(&'static [u8; 32], u8)>; 2] = [None, None];
            for direction in 0..2 {
                for i in 0..counts[direction] {
                    // The text is not touched: the start-up reads only the table and the checksums.
                    let (_, flags, sum, _) = reader.record();
                    if i == 0 || backend_code(flags) == code {
                        picked[direction] = Some((sum, flags));
                    }
                }
            }
            let [Some((up, _)), Some((down, down_flags))] = picked else {
                panic!("a revision without its generic files in the embedded table")
            };
            let down = (kind_of(down_flags) != ScriptKind::Irreversible).then_some(Checksum(*down));
            Some(Expected { version, name, up: Checksum(*up), down })
        })
    }
}

/// The backend code of a script's flags (an index into [`BACKENDS`] and [`FILES`]).
fn backend_code(flags: u8) -> usize {
    usize::from(flags & 3)
}

/// The kind a script's flags say.
fn kind_of(flags: u8) -> ScriptKind {
    KINDS[usize::from((flags >> 2) & 3)]
}

struct Reader<'p> {
    packed: &'p Packed,
    at: usize,
    sql_at: usize,
    script: usize,
}

impl Reader<'_> {
    fn bytes(&mut self, n: usize) -> &'static [u8] {
        let table: &'static [u8] = self.packed.table;
        let out = table.get(self.at..self.at + n).expect("the embedded revision table ends early");
        self.at += n;
        out
    }

    fn u32(&mut self) -> usize {
        let b = self.bytes(4);
        u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize
    }

    fn str(&mut self) -> &'static str {
        let (at, len) = (self.u32(), self.u32());
        let names: &'static str = self.packed.names;
        names.get(at..at + len).expect("a name outside the embedded names")
    }

    fn name(&mut self) -> Cow<'static, str> {
        Cow::Borrowed(self.str())
    }

    /// A script's record: where its text is in the embedded text, its flags and its checksum, and its file name
    /// where the record holds one.
    fn record(&mut self) -> (std::ops::Range<usize>, u8, &'static [u8; 32], Option<&'static str>) {
        let len = self.u32();
        let flags = self.bytes(1)[0];
        let file = (flags & NAMED != 0).then(|| self.str());
        let sums: &'static [u8] = self.packed.sums;
        let sum = sums.get(self.script * 32..self.script * 32 + 32).expect("a checksum outside the embedded ones");
        let text = self.sql_at..self.sql_at + len;
        self.sql_at += len;
        self.script += 1;
        (text, flags, sum.try_into().expect("32 bytes"), file)
    }

    fn revision(&mut self) -> Revision {
        let names = (self.name(), self.name(), self.name());
        let counts = self.bytes(2);
        let (ups, downs) = (usize::from(counts[0]), usize::from(counts[1]));
        let up = self.scripts(ups);
        let down = self.scripts(downs);
        Revision::from_parts((names.1, names.2, names.0), up, down)
    }

    /// A direction's generic script and its overrides.
    fn scripts(&mut self, n: usize) -> (Script, Cow<'static, [Script]>) {
        let first = self.script();
        let overrides =
            if n > 1 { Cow::Owned((1..n).map(|_| self.script()).collect()) } else { Cow::Borrowed(&[][..]) };
        (first, overrides)
    }

    fn script(&mut self) -> Script {
        let (text, flags, sum, file) = self.record();
        let sql: &'static str = self.packed.sql;
        let backend = backend_code(flags);
        Script::embedded(
            file.unwrap_or(FILES[usize::from(flags & DOWN != 0)][backend]),
            BACKENDS[backend],
            sql.get(text).expect("a script outside the embedded text"),
            Checksum(*sum),
            kind_of(flags),
            flags & TRANSACTION != 0,
        )
    }
}

/// A revision list encoded for embedding: the parts of a [`Packed`] but the text, which the macro embeds file by
/// file in [`Encoded::files`] order.
#[derive(Debug, Default)]
pub struct Encoded {
    /// The names, for [`Packed::new`].
    pub names: String,
    /// The table, for [`Packed::new`].
    pub table: Vec<u8>,
    /// The checksums, for [`Packed::new`].
    pub sums: Vec<u8>,
    /// Each script's folder and file name, in the order their texts are to be concatenated.
    pub files: Vec<(String, String)>,
    /// The length in bytes of all the texts together.
    pub sql_len: usize,
}

/// Encodes `revisions` for embedding.
///
/// # Errors
/// A list too large for the table's 32-bit offsets, or with more than 255 scripts in one direction of a revision.
pub fn encode(revisions: &[Revision]) -> Result<Encoded, String> {
    let mut out = Encoded::default();
    let u32_of = |n: usize| u32::try_from(n).map_err(|_| format!("{n} bytes is too large to embed"));
    for revision in revisions {
        let folder_at = out.names.len();
        out.names.push_str(revision.folder());
        let mut place = |part: &str, prefix: bool| -> Result<[u32; 2], String> {
            let folder = revision.folder();
            let at = if prefix && folder.starts_with(part) {
                folder_at
            } else if !prefix && folder.ends_with(part) {
                folder_at + folder.len() - part.len()
            } else {
                out.names.push_str(part);
                out.names.len() - part.len()
            };
            Ok([u32_of(at)?, u32_of(part.len())?])
        };
        let folder = [u32_of(folder_at)?, u32_of(revision.folder().len())?];
        let version = place(revision.version(), true)?;
        let name = place(revision.name(), false)?;
        for n in folder.into_iter().chain(version).chain(name) {
            out.table.extend_from_slice(&n.to_le_bytes());
        }
        let ups: Vec<&Script> = revision.scripts_of(Direction::Up).collect();
        let downs: Vec<&Script> = revision.scripts_of(Direction::Down).collect();
        let count = |n: usize| u8::try_from(n).map_err(|_| format!("{n} scripts in one direction"));
        out.table.extend_from_slice(&[count(ups.len())?, count(downs.len())?]);
        for (script, down) in ups.into_iter().map(|s| (s, false)).chain(downs.into_iter().map(|s| (s, true))) {
            let backend = BACKENDS.iter().position(|b| *b == script.backend()).expect("every backend has a code");
            let kind = KINDS.iter().position(|k| *k == script.kind()).expect("every kind has a code");
            let mut flags = backend as u8 | (kind as u8) << 2;
            if script.transaction() {
                flags |= TRANSACTION;
            }
            if down {
                flags |= DOWN;
            }
            let named = script.file() != FILES[usize::from(down)][backend];
            if named {
                flags |= NAMED;
            }
            out.table.extend_from_slice(&u32_of(script.sql().len())?.to_le_bytes());
            out.table.push(flags);
            if named {
                let at = out.names.len();
                out.names.push_str(script.file());
                out.table.extend_from_slice(&u32_of(at)?.to_le_bytes());
                out.table.extend_from_slice(&u32_of(script.file().len())?.to_le_bytes());
            }
            out.sums.extend_from_slice(&script.checksum().0);
            out.sql_len += script.sql().len();
            // A down script a flat layout implies has no file (and no text) to embed.
            if !script.file().is_empty() {
                out.files.push((revision.folder().to_owned(), script.file().to_owned()));
            }
        }
    }
    u32_of(out.sql_len)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script(file: &str, backend: Option<Backend>, sql: &str, kind: ScriptKind, transaction: bool) -> Script {
        Script::new_owned(file.into(), backend, sql.into(), kind, transaction)
    }

    /// Encodes, concatenates the texts as the macro does, decodes: the same revisions come back.
    #[test]
    fn decode_gives_back_what_was_encoded() {
        let revisions = vec![
            Revision::new_owned(
                "0001".into(),
                "create_users".into(),
                "0001_create_users".into(),
                vec![script("up.sql", None, "CREATE TABLE users (id INT);\n", ScriptKind::Sql, true)],
                vec![script("down.sql", None, "DROP TABLE users;\n", ScriptKind::Sql, true)],
            ),
            // Dashes dropped from the version, so it is not a prefix of the folder; overrides in both directions;
            // every kind and both transaction settings; text outside ASCII.
            Revision::new_owned(
                "20240114171611".into(),
                "ünïcode".into(),
                "2024-01-14-171611_ünïcode".into(),
                vec![
                    script("up.sql", None, "-- café\nSELECT 1;", ScriptKind::Sql, false),
                    script("up.postgres.sql", Some(Backend::Postgres), "SELECT 2;", ScriptKind::Sql, true),
                    script("up.mysql.sql", Some(Backend::Mysql), "", ScriptKind::Empty, true),
                ],
                vec![
                    script("down.sql", None, "-- migrate:irreversible\n", ScriptKind::Irreversible, true),
                    script("down.sqlite.sql", Some(Backend::Sqlite), "-- nothing\n", ScriptKind::NoOp, true),
                ],
            ),
        ];
        let encoded = encode(&revisions).unwrap();
        let mut sql = String::new();
        for r in &revisions {
            let ups = r.scripts().filter(|s| s.file().starts_with("up"));
            let downs = r.scripts().filter(|s| s.file().starts_with("down"));
            ups.chain(downs).for_each(|s| sql.push_str(s.sql()));
        }
        assert_eq!(sql.len(), encoded.sql_len);
        assert_eq!(encoded.files.len(), 7);
        assert_eq!(encoded.files[3], ("2024-01-14-171611_ünïcode".to_owned(), "up.postgres.sql".to_owned()));
        let packed = leaked(encoded, sql);
        assert_eq!(packed.decode(), revisions);
        for backend in Backend::ALL {
            let expected: Vec<Expected<'_>> = revisions.iter().map(|r| Expected::of(r, backend)).collect();
            assert_eq!(packed.expected(backend).collect::<Vec<_>>(), expected, "{backend:?}");
        }
        // The second revision's down file is irreversible everywhere but on SQLite, which has a no-op override.
        assert_eq!(packed.expected(Backend::Postgres).nth(1).unwrap().down, None);
        assert!(packed.expected(Backend::Sqlite).nth(1).unwrap().down.is_some());
        assert_eq!(
            packed.expected(Backend::Postgres).nth(1).unwrap().up,
            Checksum::of("SELECT 2;"),
            "the override's checksum"
        );
        assert!(Packed::EMPTY.decode().is_empty());
    }

    /// Revisions of a flat layout (sqlx's, refinery's) name their files, and the down script such a layout implies
    /// has no file: both come back as they went in, and only files with text are embedded.
    #[test]
    fn flat_layouts_keep_their_file_names() {
        let revisions = vec![
            Revision::new_owned(
                "20250102160800".into(),
                "create_accounts".into(),
                "20250102160800_create_accounts".into(),
                vec![script(
                    "20250102160800_create_accounts.up.sql",
                    None,
                    "CREATE TABLE a (id INT);",
                    ScriptKind::Sql,
                    true,
                )],
                vec![script("20250102160800_create_accounts.down.sql", None, "DROP TABLE a;", ScriptKind::Sql, true)],
            ),
            Revision::new_owned(
                "00000001".into(),
                "initial".into(),
                "V1__initial".into(),
                vec![script("V1__initial.sql", None, "CREATE TABLE b (id INT);", ScriptKind::Sql, false)],
                vec![script("", None, "", ScriptKind::Irreversible, false)],
            ),
        ];
        let encoded = encode(&revisions).unwrap();
        assert_eq!(
            encoded.files.iter().map(|(_, file)| file.as_str()).collect::<Vec<_>>(),
            ["20250102160800_create_accounts.up.sql", "20250102160800_create_accounts.down.sql", "V1__initial.sql"]
        );
        let sql: String = revisions.iter().flat_map(Revision::scripts).map(Script::sql).collect();
        let packed = leaked(encoded, sql);
        assert_eq!(packed.decode(), revisions);
        assert_eq!(packed.expected(Backend::Mysql).nth(1).unwrap().down, None);
    }

    /// The `Packed` the macro would write for `encoded` and the concatenated `sql`, its parts leaked to `'static`.
    fn leaked(encoded: Encoded, sql: String) -> Packed {
        let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
        Packed::new(
            leak(sql),
            leak(encoded.names),
            Box::leak(encoded.table.into_boxed_slice()),
            Box::leak(encoded.sums.into_boxed_slice()),
        )
    }
}
