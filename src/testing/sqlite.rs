//! SQLite test databases: a file each in `<temp>/migrate-testing/`; a migrated one is a copy of a template file.

use std::path::{Path, PathBuf};

use super::{Origin, PerProcess, TestDatabase};
use crate::{Backend, Migrator};

/// The file and what SQLite (and the driver's lock) keeps beside it.
pub(super) fn remove(path: &Path) {
    let _ = std::fs::remove_file(path);
    for side in ["-wal", "-shm", "-journal", "-migrate-lock"] {
        let mut p = path.as_os_str().to_owned();
        p.push(side);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
}

/// Where the files go: `MIGRATE_TEST_SQLITE_DIR`; else `migrate-testing/` in the target directory the test binary
/// runs from (`target/debug/deps/…`), the user's own and removed by `cargo clean`; else the system's temporary folder.
pub(super) fn dir() -> PathBuf {
    let dir = std::env::var_os("MIGRATE_TEST_SQLITE_DIR").map(PathBuf::from).unwrap_or_else(|| {
        let exe = std::env::current_exe().ok();
        let deps = exe.as_deref().and_then(Path::parent).filter(|d| d.file_name().is_some_and(|n| n == "deps"));
        match deps.and_then(Path::parent) {
            Some(profile) => profile.join("migrate-testing"),
            None => std::env::temp_dir().join("migrate-testing"),
        }
    });
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    dir
}

pub(super) fn open(path: &Path) -> Result<rusqlite::Connection, String> {
    rusqlite::Connection::open(path).map_err(|e| format!("cannot open SQLite file {}: {e}", path.display()))
}

fn database(path: &Path) -> TestDatabase {
    TestDatabase::at(Backend::Sqlite, "", &path.display().to_string())
}

pub(super) fn empty(name: &str) -> TestDatabase {
    let path = dir().join(format!("{name}.db"));
    remove(&path);
    database(&path)
}

pub(super) fn migrated(migrator: &Migrator<'_>, template: &str, name: &str) -> TestDatabase {
    let path = dir().join(format!("{name}.db"));
    remove(&path);
    let source = self::template(migrator, template).unwrap_or_else(|e| panic!("{e}"));
    let copied = std::fs::copy(&source, &path).or_else(|err| match err.kind() {
        // A run for newer files of the folder dropped it (see `template_name`): built again.
        std::io::ErrorKind::NotFound => {
            std::fs::copy(build(migrator, template).unwrap_or_else(|e| panic!("{e}")), &path)
        }
        _ => Err(err),
    });
    copied.unwrap_or_else(|e| panic!("cannot copy {} to {}: {e}", source.display(), path.display()));
    let mut db = database(&path);
    db.origin = Origin::Copied;
    db
}

/// The template file `name`, migrated once: per process (a map) and across processes (a file lock while it is
/// built; built under another name and renamed, so an interrupted build is never copied).
fn template(migrator: &Migrator<'_>, name: &str) -> Result<PathBuf, String> {
    static TEMPLATES: PerProcess<Result<PathBuf, String>> = PerProcess::new();
    TEMPLATES.get(name.to_owned(), || build(migrator, name))
}

fn build(migrator: &Migrator<'_>, name: &str) -> Result<PathBuf, String> {
    let dir = dir();
    let path = dir.join(format!("{name}.db"));
    let lock = lock_file(&dir, name)?;
    lock.lock().map_err(|e| format!("cannot lock {}: {e}", dir.join(format!("{name}.lock")).display()))?;
    if path.exists() {
        return Ok(path);
    }
    let building = dir.join(format!("{name}.{}.building", std::process::id()));
    remove(&building);
    let mut conn = open(&building)?;
    let applied = migrator.upgrade(&mut conn);
    drop(conn);
    if let Err(err) = applied {
        remove(&building);
        return Err(format!("migrating the SQLite template failed: {err}"));
    }
    std::fs::rename(&building, &path).map_err(|e| format!("cannot rename {}: {e}", building.display()))?;
    remove(&building);
    drop_superseded(&dir, name);
    Ok(path)
}

fn lock_file(dir: &Path, name: &str) -> Result<std::fs::File, String> {
    let path = dir.join(format!("{name}.lock"));
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))
}

/// Removes the files of the folder's templates that `name` supersedes, each only when no build holds its lock.
fn drop_superseded(dir: &Path, name: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let names = entries.filter_map(|e| e.ok()?.file_name().to_str()?.strip_suffix(".db").map(str::to_owned));
    for old in super::superseded(name, names) {
        let Ok(lock) = lock_file(dir, &old) else { continue };
        if lock.try_lock().is_ok() {
            remove(&dir.join(format!("{old}.db")));
            let _ = std::fs::remove_file(dir.join(format!("{old}.lock")));
        }
    }
}

pub(super) fn rows(conn: &rusqlite::Connection, sql: &str) -> Result<Vec<Vec<Option<String>>>, rusqlite::Error> {
    use rusqlite::types::ValueRef;
    let mut stmt = conn.prepare(sql)?;
    let width = stmt.column_count();
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let mut values = Vec::with_capacity(width);
        for i in 0..width {
            values.push(match row.get_ref(i)? {
                ValueRef::Null => None,
                ValueRef::Integer(n) => Some(n.to_string()),
                ValueRef::Real(x) => Some(x.to_string()),
                ValueRef::Text(t) => Some(String::from_utf8_lossy(t).into_owned()),
                ValueRef::Blob(b) => Some(b.iter().map(|byte| format!("{byte:02x}")).collect()),
            });
        }
        out.push(values);
    }
    Ok(out)
}
