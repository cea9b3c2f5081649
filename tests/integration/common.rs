//! Helpers shared by the scenarios: temporary databases and revision folders written at run time.

use std::path::{Path, PathBuf};

use migrate::{scan, Revision, ScanOptions};

/// A SQLite database in a fresh temporary directory, removed when dropped.
pub struct TempDb {
    /// Owns the directory: dropping it removes the database.
    _dir: tempfile::TempDir,
    pub path: PathBuf,
}

impl TempDb {
    pub fn new() -> TempDb {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("test.db");
        TempDb { _dir: dir, path }
    }

    pub fn open(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(&self.path).expect("open the test database")
    }
}

/// A revision folder written by the test, scanned at run time like the command line does.
pub struct Folder {
    pub dir: tempfile::TempDir,
}

impl Folder {
    pub fn new() -> Folder {
        Folder { dir: tempfile::tempdir().expect("temporary directory") }
    }

    pub fn write(&self, file: &str, text: &str) -> &Self {
        let path = self.dir.path().join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
        self
    }

    pub fn revisions(&self) -> Vec<Revision> {
        scan_ok(self.dir.path(), ScanOptions::default())
    }
}

/// Scans `dir` and fails the test on any problem.
pub fn scan_ok(dir: &Path, options: ScanOptions) -> Vec<Revision> {
    let scanned = scan(dir, &options);
    assert!(scanned.problems.is_empty(), "unexpected problems: {:?}", scanned.problems);
    scanned.revisions
}

/// The versions recorded in the history table, in order.
pub fn versions<D: migrate::Database + ?Sized>(conn: &mut D) -> Vec<String> {
    migrate::Migrator::new(&[]).applied(conn).unwrap().into_iter().map(|r| r.version).collect()
}

/// The lock identity an offline script on `backend` takes for `table`: the SQL expression between `open` and `close`
/// in the script's lock statement.
pub fn offline_lock_identity(
    backend: migrate::Backend,
    table: &migrate::HistoryTable,
    open: &str,
    close: &str,
) -> String {
    let revisions: Vec<Revision> = Vec::new();
    let migrator = migrate::Migrator::new(&revisions).history_table(table.clone());
    let command = migrate::Command::Upgrade(migrate::Target::Head);
    let script = migrator.core().script(backend, &command, &migrate::Target::Base).unwrap().text(&[]);
    let start = script.find(open).unwrap_or_else(|| panic!("no {open} in\n{script}")) + open.len();
    let end = start + script[start..].find(close).unwrap_or_else(|| panic!("no {close} in\n{script}"));
    script[start..end].to_owned()
}
