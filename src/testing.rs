//! A fresh database per test on SQLite, PostgreSQL and MySQL, already migrated if you ask, dropped when the test
//! ends (a panic included); and [`test`](crate::test), which runs one test body on all three. Feature `testing`
//! (which brings `sqlite`), for dev-dependencies:
//!
//! ```toml
//! [dev-dependencies]
//! migrate = { version = "…", features = ["testing", "postgres", "mysql"] }
//! ```
//!
//! ```
//! use migrate::testing::TestDatabase;
//! use migrate::Backend;
//!
//! static MIGRATIONS: migrate::Migrations = migrate::migrations!("examples/migrations");
//!
//! // In a test: `#[migrate::test(MIGRATIONS)] fn users(db: &mut TestDatabase) { … }` runs the body on each backend.
//! let mut db = TestDatabase::migrated(Backend::Sqlite, &MIGRATIONS).expect("SQLite is never skipped");
//! db.execute("INSERT INTO users (login) VALUES ('ada')");
//! assert_eq!(db.value("SELECT count(*) FROM users").as_deref(), Some("1"));
//! // Each revision's down undoes its up, on a database of its own:
//! let mut scratch = TestDatabase::empty(Backend::Sqlite).unwrap();
//! let trip = MIGRATIONS.migrator().round_trip(&mut scratch)?;
//! assert!(trip.is_ok(), "{trip}");
//! # Ok::<(), migrate::Error>(())
//! ```
//!
//! Where the databases come from:
//!
//! - **SQLite**: a file in `target/<profile>/migrate-testing/` beside the test binary (`MIGRATE_TEST_SQLITE_DIR` to
//!   choose; the system's temporary folder when the binary is elsewhere), removed at the end. A migrated one is a
//!   copy of a template file migrated once per folder.
//! - **PostgreSQL**, at `MIGRATE_TEST_POSTGRES_URL` (a user who may create databases): a database per test. A migrated
//!   one is `CREATE DATABASE … TEMPLATE migrate_tpl_<folder>_<fingerprint>`, a template migrated once per folder (built under
//!   another name and renamed when complete, so an interrupted build is never cloned; kept on the server for the
//!   next run, `IS_TEMPLATE` and closed to connections).
//! - **MySQL / MariaDB**, at `MIGRATE_TEST_MYSQL_URL`: a database per test. MySQL has no template databases, so a
//!   migrated one is made by replaying the template database's tables (with their rows: the history, seed data),
//!   routines, views and triggers as the server itself prints them; the first copy in each process is compared with
//!   the template ([`Schema`] snapshots, history rows, `CHECKSUM TABLE` of every table), and if they
//!   differ each test migrates its own database instead, with a note saying why ([`TestDatabase::origin`]).
//!
//! The fingerprint covers every revision's version, name and checksums on that backend, the history table and this
//! crate's version: change a file and the next run builds a new template, and drops the folder's older ones that no
//! build holds (see [`template_name`]). A backend without its URL is skipped with
//! a note on stderr, or fails when `MIGRATE_TEST_REQUIRE` lists it (`MIGRATE_TEST_REQUIRE=postgres,mysql` in CI);
//! a backend whose feature (`postgres`, `mysql`) is not enabled is treated the same way. Databases are named
//! `migrate_test_<pid>_<random>_<n>_<test>`: a test process killed outright cannot drop its own, and they can be
//! dropped by that name. Test servers are reached without TLS. Template builds are serialised per server URL (a
//! PostgreSQL advisory lock, a MySQL named lock); processes reaching one server through URLs naming different
//! PostgreSQL databases do not exclude each other's builds.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use crate::{Backend, Checksum, Database, Driver, Migrations, Migrator, Schema};

#[cfg(feature = "mysql")]
mod mysql;
#[cfg(feature = "postgres")]
mod postgres;
mod sqlite;

/// The variable listing the backends whose tests must run rather than skip (`postgres,mysql`).
pub const REQUIRE_VAR: &str = "MIGRATE_TEST_REQUIRE";

/// The variable holding `backend`'s server URL: `MIGRATE_TEST_POSTGRES_URL`, `MIGRATE_TEST_MYSQL_URL`; `None` for
/// SQLite, which needs no server.
pub fn url_var(backend: Backend) -> Option<&'static str> {
    match backend {
        Backend::Postgres => Some("MIGRATE_TEST_POSTGRES_URL"),
        Backend::Mysql => Some("MIGRATE_TEST_MYSQL_URL"),
        _ => None,
    }
}

/// Whether [`REQUIRE_VAR`] lists `backend`: then its tests fail instead of skipping.
///
/// # Panics
/// When the list names something other than `sqlite`, `postgres` and `mysql` (`postgresql`, say): a misspelt name
/// would let the tests it meant to require skip.
pub fn required(backend: Backend) -> bool {
    let Ok(list) = std::env::var(REQUIRE_VAR) else { return false };
    let names: Vec<&str> = list.split(',').map(str::trim).filter(|b| !b.is_empty()).collect();
    if let Some(unknown) = names.iter().find(|b| Backend::from_name(b).is_none()) {
        panic!("{REQUIRE_VAR}={list}: `{unknown}` is not a backend; the names are sqlite, postgres and mysql");
    }
    names.contains(&backend.name())
}

/// Writes a note where a test run shows it: on stderr itself, which the test harness does not capture (its
/// capture takes `eprintln!`, and a test that passes shows none of it).
fn note(text: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "note: {text}");
}

/// Whether tests on `backend` run: `Some(url)` of its server (empty for SQLite), or `None` after a note on stderr
/// (once per backend and process) saying why they are skipped.
///
/// # Panics
/// When the backend cannot run (no URL, or its feature is not enabled) and [`REQUIRE_VAR`] lists it.
pub fn server_url(backend: Backend) -> Option<String> {
    let why = match (compiled(backend), url_var(backend)) {
        (false, _) => format!("the `{backend}` feature of `migrate` is not enabled"),
        (true, None) => return Some(String::new()),
        (true, Some(var)) => match std::env::var(var) {
            Ok(url) if !url.is_empty() => return Some(url),
            _ => format!("{var} is not set"),
        },
    };
    assert!(!required(backend), "{backend} tests must run ({REQUIRE_VAR} lists {backend}), but {why}");
    static NOTED: Mutex<Vec<Backend>> = Mutex::new(Vec::new());
    let mut noted = NOTED.lock().unwrap_or_else(PoisonError::into_inner);
    if !noted.contains(&backend) {
        noted.push(backend);
        note(&format!("{backend} tests skipped: {why}"));
    }
    None
}

fn compiled(backend: Backend) -> bool {
    match backend {
        Backend::Postgres => cfg!(feature = "postgres"),
        Backend::Mysql => cfg!(feature = "mysql"),
        other => other == Backend::Sqlite,
    }
}

/// What a test database starts from: the revisions (and history table) of an embedded list or a [`Migrator`].
pub trait Template {
    /// The migrator that migrates the template.
    fn migrator(&self) -> Migrator<'_>;
}

impl Template for Migrations {
    fn migrator(&self) -> Migrator<'_> {
        Migrations::migrator(self)
    }
}

impl Template for Migrator<'_> {
    fn migrator(&self) -> Migrator<'_> {
        self.clone()
    }
}

/// A connection to a test database, of whichever backend it is.
#[non_exhaustive]
pub enum Connection {
    /// SQLite.
    Sqlite(rusqlite::Connection),
    /// PostgreSQL.
    #[cfg(feature = "postgres")]
    Postgres(Box<::postgres::Client>),
    /// MySQL or MariaDB.
    #[cfg(feature = "mysql")]
    Mysql(Box<::mysql::Conn>),
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Connection({})", self.backend())
    }
}

impl Connection {
    /// Its backend.
    pub fn backend(&self) -> Backend {
        match *self {
            Connection::Sqlite(_) => Backend::Sqlite,
            #[cfg(feature = "postgres")]
            Connection::Postgres(_) => Backend::Postgres,
            #[cfg(feature = "mysql")]
            Connection::Mysql(_) => Backend::Mysql,
        }
    }

    /// Runs `sql` (one statement or several), returning nothing.
    ///
    /// # Panics
    /// If the database refuses it, at the caller's line, naming the backend, the statement and the database's
    /// message and code.
    #[track_caller]
    pub fn execute(&mut self, sql: &str) {
        if let Err(err) = self.try_execute(sql) {
            panic!("{} refused {sql:?}: {err}", self.backend());
        }
    }

    /// Runs `sql` (one statement or several), returning the database's message and code if it refuses any of
    /// it: for a test that a constraint holds.
    pub fn try_execute(&mut self, sql: &str) -> Result<(), String> {
        match self {
            Connection::Sqlite(c) => c.execute_batch(sql).map_err(|e| migrate_sqlite::db_error(e).to_string()),
            #[cfg(feature = "postgres")]
            Connection::Postgres(c) => c.batch_execute(sql).map_err(|e| postgres::message(&e)),
            #[cfg(feature = "mysql")]
            Connection::Mysql(c) => {
                migrate_mysql::execute_all(c, sql).map_err(|e| migrate_mysql::db_error(e).to_string())
            }
        }
    }

    /// The rows `sql` returns, each value as text (`None` for NULL), as the database writes it.
    ///
    /// # Panics
    /// As [`Connection::execute`].
    #[track_caller]
    pub fn rows(&mut self, sql: &str) -> Vec<Vec<Option<String>>> {
        let result = match self {
            Connection::Sqlite(c) => sqlite::rows(c, sql).map_err(|e| migrate_sqlite::db_error(e).to_string()),
            #[cfg(feature = "postgres")]
            Connection::Postgres(c) => postgres::rows(c, sql),
            #[cfg(feature = "mysql")]
            Connection::Mysql(c) => mysql::rows(c, sql).map_err(|e| migrate_mysql::db_error(e).to_string()),
        };
        match result {
            Ok(rows) => rows,
            Err(err) => panic!("{} refused {sql:?}: {err}", self.backend()),
        }
    }

    /// The first value of the first row `sql` returns (`None` for NULL or no row).
    ///
    /// # Panics
    /// As [`Connection::rows`].
    #[track_caller]
    pub fn value(&mut self, sql: &str) -> Option<String> {
        self.rows(sql).into_iter().next().and_then(|row| row.into_iter().next().flatten())
    }
}

impl Database for Connection {
    fn with_driver<R>(&mut self, f: impl FnOnce(&mut dyn Driver) -> R) -> R {
        match self {
            Connection::Sqlite(c) => c.with_driver(f),
            #[cfg(feature = "postgres")]
            Connection::Postgres(c) => (**c).with_driver(f),
            #[cfg(feature = "mysql")]
            Connection::Mysql(c) => (**c).with_driver(f),
        }
    }
}

/// Where a test database lives: enough to connect again, and to drop it (on drop).
#[derive(Debug)]
struct Home {
    backend: Backend,
    /// The server's URL; empty for SQLite.
    #[cfg_attr(not(any(feature = "postgres", feature = "mysql")), allow(dead_code))]
    server: String,
    /// The database's name; the file's path for SQLite.
    name: String,
}

impl Home {
    fn url(&self) -> String {
        match self.backend {
            #[cfg(any(feature = "postgres", feature = "mysql"))]
            Backend::Postgres | Backend::Mysql => with_database(&self.server, &self.name),
            _ => format!("sqlite:{}", self.name),
        }
    }

    fn connect(&self) -> Connection {
        let connected = match self.backend {
            #[cfg(feature = "postgres")]
            Backend::Postgres => {
                postgres::connect(&self.server, Some(&self.name)).map(|c| Connection::Postgres(Box::new(c)))
            }
            #[cfg(feature = "mysql")]
            Backend::Mysql => mysql::connect(&self.server, Some(&self.name)).map(|c| Connection::Mysql(Box::new(c))),
            _ => sqlite::open(std::path::Path::new(&self.name)).map(Connection::Sqlite),
        };
        connected.unwrap_or_else(|err| panic!("{err}"))
    }
}

impl Drop for Home {
    fn drop(&mut self) {
        match self.backend {
            #[cfg(feature = "postgres")]
            Backend::Postgres => postgres::drop_database(&self.server, &self.name),
            #[cfg(feature = "mysql")]
            Backend::Mysql => mysql::drop_database(&self.server, &self.name),
            _ => sqlite::remove(std::path::Path::new(&self.name)),
        }
    }
}

/// How a test database got what it holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Origin {
    /// Made empty ([`TestDatabase::empty`]).
    Empty,
    /// Copied from the template ([`TestDatabase::migrated`]): a file copy, `CREATE DATABASE … TEMPLATE`, or on MySQL
    /// the template replayed.
    Copied,
    /// Migrated on its own, because a copy would not have been equal to the template (MySQL, with a note saying why).
    Migrated,
}

/// A database of its own for one test, dropped (or its file removed) when this value is, a panic included.
/// Use it wherever a [`Database`] goes (`MIGRATIONS.upgrade(&mut db)`, `migrator.round_trip(&mut db)`).
#[derive(Debug)]
pub struct TestDatabase {
    // Declared before `home`, so it is closed before the database is dropped.
    conn: Connection,
    home: Home,
    origin: Origin,
}

impl TestDatabase {
    /// A new, empty database on `backend`, or `None` when that backend's tests are skipped (see [`server_url`]).
    ///
    /// # Panics
    /// If the server cannot be reached or refuses to create the database: the test cannot run.
    pub fn empty(backend: Backend) -> Option<TestDatabase> {
        let server = server_url(backend)?;
        let name = unique_name();
        Some(match backend {
            Backend::Sqlite => sqlite::empty(&name),
            #[cfg(feature = "postgres")]
            Backend::Postgres => postgres::empty(&server, &name),
            #[cfg(feature = "mysql")]
            Backend::Mysql => mysql::empty(&server, &name),
            #[allow(unreachable_patterns)]
            _ => unreachable!("server_url returns None for a backend not compiled in: {server}"),
        })
    }

    /// A new database on `backend` with every revision of `template` applied, copied from a template database
    /// migrated once per folder (see the module's documentation), or `None` when that backend's tests are skipped.
    ///
    /// # Panics
    /// If the server cannot be reached, or a revision fails to apply to the template: the message is the migration's
    /// error.
    pub fn migrated(backend: Backend, template: &(impl Template + ?Sized)) -> Option<TestDatabase> {
        let server = server_url(backend)?;
        let migrator = template.migrator();
        let template = template_of(&migrator, backend);
        let name = unique_name();
        Some(match backend {
            Backend::Sqlite => sqlite::migrated(&migrator, &template, &name),
            #[cfg(feature = "postgres")]
            Backend::Postgres => postgres::migrated(&server, &migrator, &template, &name),
            #[cfg(feature = "mysql")]
            Backend::Mysql => mysql::migrated(&server, &migrator, &template, &name),
            #[allow(unreachable_patterns)]
            _ => unreachable!("server_url returns None for a backend not compiled in: {server}"),
        })
    }

    /// Its backend.
    pub fn backend(&self) -> Backend {
        self.conn.backend()
    }

    /// The database's name (PostgreSQL, MySQL) or file path (SQLite).
    pub fn name(&self) -> &str {
        &self.home.name
    }

    /// A URL of this database, as the `migrate` command line and most clients take it: `sqlite:<path>`, or the
    /// server's URL with this database in its path.
    pub fn url(&self) -> String {
        self.home.url()
    }

    /// How it got what it holds: empty, copied from the template, or migrated on its own.
    pub fn origin(&self) -> Origin {
        self.origin
    }

    /// The test's connection.
    pub fn connection(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// Another connection to the same database (for a second session: locks, concurrency).
    ///
    /// # Panics
    /// If the server cannot be reached.
    pub fn connect(&self) -> Connection {
        self.home.connect()
    }

    /// See [`Connection::execute`].
    #[track_caller]
    pub fn execute(&mut self, sql: &str) {
        self.conn.execute(sql);
    }

    /// See [`Connection::try_execute`].
    pub fn try_execute(&mut self, sql: &str) -> Result<(), String> {
        self.conn.try_execute(sql)
    }

    /// See [`Connection::rows`].
    #[track_caller]
    pub fn rows(&mut self, sql: &str) -> Vec<Vec<Option<String>>> {
        self.conn.rows(sql)
    }

    /// See [`Connection::value`].
    #[track_caller]
    pub fn value(&mut self, sql: &str) -> Option<String> {
        self.conn.value(sql)
    }

    /// The database's schema snapshot, the default history table left out (see [`Migrator::snapshot`]).
    ///
    /// # Panics
    /// If the catalog cannot be read.
    #[track_caller]
    pub fn schema(&mut self) -> Schema {
        match Migrator::new(&[]).snapshot(self) {
            Ok(schema) => schema,
            Err(err) => panic!("reading the schema of the {} test database: {err}", self.backend()),
        }
    }
}

impl TestDatabase {
    /// A test database `name` at `server` (or the file `name`), connected.
    fn at(backend: Backend, server: &str, name: &str) -> TestDatabase {
        let home = Home { backend, server: server.to_owned(), name: name.to_owned() };
        TestDatabase { conn: home.connect(), home, origin: Origin::Empty }
    }
}

impl Database for TestDatabase {
    fn with_driver<R>(&mut self, f: impl FnOnce(&mut dyn Driver) -> R) -> R {
        self.conn.with_driver(f)
    }
}

/// What a test body returns, and what a skipped test returns instead: `()`, or `Ok(())`.
pub trait Outcome {
    /// The value of a test that did not run.
    fn skipped() -> Self;
}

impl Outcome for () {
    fn skipped() -> Self {}
}

impl<E> Outcome for Result<(), E> {
    fn skipped() -> Self {
        Ok(())
    }
}

/// Runs `body` on a new database on `backend`, empty or migrated with `template`, and drops the database after, a
/// panic included: what [`test`](crate::test) generates for each backend. A skipped backend returns
/// [`Outcome::skipped`] without running `body`.
pub fn run<T: Outcome>(
    backend: Backend,
    template: Option<&dyn Template>,
    body: impl FnOnce(&mut TestDatabase) -> T,
) -> T {
    let db = match template {
        Some(template) => TestDatabase::migrated(backend, template),
        None => TestDatabase::empty(backend),
    };
    match db {
        Some(mut db) => body(&mut db),
        None => T::skipped(),
    }
}

/// A value per key, built once per process: the first caller builds it while the others wait, then all share it
/// (a failure included, so a broken folder fails each test with its error instead of being migrated again per test).
struct PerProcess<V> {
    built: Mutex<Option<HashMap<String, V>>>,
}

impl<V: Clone> PerProcess<V> {
    const fn new() -> Self {
        PerProcess { built: Mutex::new(None) }
    }

    fn get(&self, key: String, build: impl FnOnce() -> V) -> V {
        let mut built = self.built.lock().unwrap_or_else(PoisonError::into_inner);
        built.get_or_insert_with(HashMap::new).entry(key).or_insert_with(build).clone()
    }
}

/// Idle connections to each server (by URL), so a test does not pay a connection to create and drop its database.
#[cfg(any(feature = "postgres", feature = "mysql"))]
struct Pool<C> {
    idle: Mutex<Option<HashMap<String, Vec<C>>>>,
}

#[cfg(any(feature = "postgres", feature = "mysql"))]
impl<C> Pool<C> {
    const fn new() -> Self {
        Pool { idle: Mutex::new(None) }
    }

    /// Runs `f` on an idle connection to `server`, or a new one from `connect`; the connection goes back to the pool
    /// unless `f` left it `broken`.
    fn with<R, E>(
        &self,
        server: &str,
        connect: impl FnOnce() -> Result<C, String>,
        f: impl FnOnce(&mut C) -> Result<R, E>,
        broken: impl FnOnce(&C, &Result<R, E>) -> bool,
    ) -> Result<Result<R, E>, String> {
        let idle =
            self.idle.lock().unwrap_or_else(PoisonError::into_inner).as_mut().and_then(|m| m.get_mut(server)?.pop());
        let mut conn = match idle {
            Some(conn) => conn,
            None => connect()?,
        };
        let result = f(&mut conn);
        if !broken(&conn, &result) {
            let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
            idle.get_or_insert_with(HashMap::new).entry(server.to_owned()).or_default().push(conn);
        }
        Ok(result)
    }
}

/// The name of the template database (or, on SQLite, file) that databases migrated with `template` on `backend`
/// are copied from: `migrate_tpl_<folder>_<fingerprint>`, where `<folder>` is a short hash of the folder's path, the
/// backend and the history table (for a list `migrations!()` embedded; a [`Migrator`] over revisions read otherwise
/// has `migrate_tpl_<fingerprint>`).
///
/// A template stays for the next run. The first run that builds a new template for a folder (its files changed)
/// drops the folder's older templates that no build holds; a run still using one finds it gone and builds it again.
/// To drop one by hand on PostgreSQL, `ALTER DATABASE … IS_TEMPLATE false` first.
pub fn template_name(backend: Backend, template: &(impl Template + ?Sized)) -> String {
    template_of(&template.migrator(), backend)
}

fn template_of(migrator: &Migrator<'_>, backend: Backend) -> String {
    let fingerprint = fingerprint(migrator, backend);
    match migrator.folder() {
        // The group is the folder as this configuration runs it (backend, history table): only newer files of the
        // same folder and configuration supersede a template, never another configuration of the folder in use
        // at the same time.
        Some(folder) => {
            let table = migrator.core().config().table.qualified(|s| s.to_owned());
            let group = &Checksum::of(&format!("{folder} {backend} {table}")).to_hex()[..8];
            format!("migrate_tpl_{group}_{fingerprint}")
        }
        None => format!("migrate_tpl_{fingerprint}"),
    }
}

/// Of `names`, the templates of `current`'s folder other than `current`: the ones its files no longer give.
fn superseded(current: &str, names: impl IntoIterator<Item = String>) -> Vec<String> {
    /// The folder part of `migrate_tpl_<8 hex>_<16 hex>`; `None` for any other name (a build under way included).
    fn folder(name: &str) -> Option<&str> {
        let (folder, fingerprint) = name.strip_prefix("migrate_tpl_")?.split_once('_')?;
        let hex = |s: &str, len| s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit());
        (hex(folder, 8) && hex(fingerprint, 16)).then_some(folder)
    }
    let Some(group) = folder(current) else { return Vec::new() };
    names.into_iter().filter(|n| n != current && folder(n) == Some(group)).collect()
}

/// Names the revisions as they run on `backend`, with the history table and this crate's version: equal
/// fingerprints, equal migrated databases.
fn fingerprint(migrator: &Migrator<'_>, backend: Backend) -> String {
    let core = migrator.core();
    let table = core.config().table.qualified(|s| s.to_owned());
    let mut text = format!("migrate {} {backend} {table}\n", env!("CARGO_PKG_VERSION"));
    for r in core.revisions() {
        let (up, down) = (r.up(backend), r.down(backend));
        let _ = writeln!(
            text,
            "{} {} {} {:?} {} {:?}",
            r.version(),
            r.name(),
            up.checksum(),
            up.kind(),
            down.checksum(),
            down.kind()
        );
    }
    Checksum::of(&text).to_hex()[..16].to_owned()
}

/// `migrate_test_<pid>_<random>_<n>_<test>`: unique, telling which process and test made it, at most 63 characters
/// of `[a-z0-9_]`.
fn unique_name() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    // The process id and a random tag: processes in other containers sharing the server may have the same id.
    let mut name = format!("migrate_test_{}_{}_{n}", std::process::id(), random_tag());
    let thread = std::thread::current();
    // The test's path, `::` and other separators as one `_` each.
    let mut test = String::new();
    for c in thread.name().unwrap_or("").chars() {
        if c.is_ascii_alphanumeric() {
            test.push(c.to_ascii_lowercase());
        } else if !test.ends_with('_') {
            test.push('_');
        }
    }
    let room = 63usize.saturating_sub(name.len() + 1);
    let test = test.trim_matches('_');
    if !test.is_empty() && room > 0 {
        let tail = &test[test.len().saturating_sub(room)..];
        name.push('_');
        name.push_str(tail.trim_start_matches('_'));
    }
    name
}

/// Eight random hexadecimal digits, from the standard library's randomly seeded hasher.
fn random_tag() -> String {
    use std::hash::{BuildHasher as _, Hasher as _};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher
        .write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos());
    format!("{:08x}", hasher.finish() as u32)
}

/// The URL `server` with `database` as its path (a `key=value` PostgreSQL string gets `dbname=` instead); the
/// query string is kept.
#[cfg(any(feature = "postgres", feature = "mysql"))]
fn with_database(server: &str, database: &str) -> String {
    let Some(scheme_end) = server.find("://") else {
        return format!("{server} dbname={database}");
    };
    let rest = &server[scheme_end + 3..];
    let query = rest.find('?').map_or("", |i| &rest[i..]);
    let authority = rest[..rest.len() - query.len()].split('/').next().unwrap_or("");
    format!("{}{authority}/{database}{query}", &server[..scheme_end + 3])
}

/// `url` without its password, for messages.
#[cfg(any(feature = "postgres", feature = "mysql"))]
fn redact(url: &str) -> String {
    let Some(start) = url.find("://").map(|i| i + 3) else {
        // A `key=value` string: its password value.
        return url
            .split(' ')
            .map(|part| if part.starts_with("password=") { "password=***" } else { part })
            .collect::<Vec<_>>()
            .join(" ");
    };
    let authority_end = url[start..].find(['/', '?']).map_or(url.len(), |i| start + i);
    match url[start..authority_end].rfind('@').and_then(|at| url[start..start + at].find(':').map(|c| (c, at))) {
        Some((colon, at)) => format!("{}***{}", &url[..start + colon + 1], &url[start + at..]),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_identifiers() {
        let name = std::thread::spawn(unique_name).join().unwrap();
        assert!(name.starts_with(&format!("migrate_test_{}_", std::process::id())), "{name}");
        let long = std::thread::Builder::new()
            .name("a::very::long::module::path::of::tests::that::goes::on::and::on::postgres".into())
            .spawn(unique_name)
            .unwrap()
            .join()
            .unwrap();
        assert!(long.len() <= 63 && long.ends_with("_on_postgres"), "{long}");
        let tag = |name: &str| name.split('_').nth(3).map(str::to_owned);
        assert_ne!(tag(&std::thread::spawn(unique_name).join().unwrap()), tag(&name), "a random tag in each name");
        assert!(long.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'), "{long}");
    }

    #[cfg(any(feature = "postgres", feature = "mysql"))]
    #[test]
    fn urls() {
        assert_eq!(
            with_database("postgres://u:p@h:5432/postgres?sslmode=disable", "x"),
            "postgres://u:p@h:5432/x?sslmode=disable"
        );
        assert_eq!(with_database("mysql://root@127.0.0.1:3306", "x"), "mysql://root@127.0.0.1:3306/x");
        assert_eq!(with_database("host=h user=u", "x"), "host=h user=u dbname=x");
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("mysql://root@h/db"), "mysql://root@h/db");
        assert_eq!(redact("host=h password=secret user=u"), "host=h password=*** user=u");
    }

    #[test]
    fn fingerprints_follow_the_files() {
        let scan = crate::scan(std::path::Path::new("examples/migrations"), &crate::ScanOptions::default());
        let all = Migrator::new(&scan.revisions);
        let one = fingerprint(&all, Backend::Sqlite);
        assert_eq!(one, fingerprint(&all, Backend::Sqlite));
        assert_ne!(one, fingerprint(&all, Backend::Postgres));
        let fewer = Migrator::new(&scan.revisions[..2]);
        assert_ne!(one, fingerprint(&fewer, Backend::Sqlite));
        let other = all.clone().history_table(crate::HistoryTable::new("h").unwrap());
        assert_ne!(one, fingerprint(&other, Backend::Sqlite));
    }

    #[test]
    fn a_folder_s_older_templates_are_superseded() {
        let current = "migrate_tpl_0123abcd_00112233445566ff";
        let names = [
            "migrate_tpl_0123abcd_00112233445566ff",          // itself
            "migrate_tpl_0123abcd_aaaaaaaaaaaaaaaa",          // the same folder, older files
            "migrate_tpl_0123abcd_aaaaaaaaaaaaaaaa_building", // a build under way
            "migrate_tpl_99999999_aaaaaaaaaaaaaaaa",          // another folder
            "migrate_tpl_aaaaaaaaaaaaaaaa",                   // a list read at run time
            "migrate_test_1_x_0_t",
            "app",
        ];
        let names = names.map(str::to_owned);
        assert_eq!(superseded(current, names.clone()), ["migrate_tpl_0123abcd_aaaaaaaaaaaaaaaa"]);
        assert!(superseded("migrate_tpl_aaaaaaaaaaaaaaaa", names).is_empty(), "no folder, nothing superseded");
    }

    /// A folder's template for older files is dropped when one for its new files is built, and a run still using the
    /// old one builds it again.
    #[test]
    fn a_template_for_newer_files_replaces_the_older_one() {
        let scan = crate::scan(std::path::Path::new("examples/migrations"), &crate::ScanOptions::default());
        // A folder of its own, so that parallel runs do not meet.
        let folder: &'static str = Box::leak(random_tag()[..8].to_owned().into_boxed_str());
        let older = Migrator { folder: Some(folder), ..Migrator::new(&scan.revisions[..2]) };
        let newer = Migrator { folder: Some(folder), ..Migrator::new(&scan.revisions) };
        // Another configuration of the same folder, in use at the same time: neither supersedes the other.
        let elsewhere = newer.clone().history_table(crate::HistoryTable::new("elsewhere").unwrap());
        assert_ne!(template_name(Backend::Sqlite, &newer)[..20], template_name(Backend::Sqlite, &elsewhere)[..20]);
        assert_eq!(template_name(Backend::Sqlite, &newer)[..20], template_name(Backend::Sqlite, &older)[..20]);
        for backend in [Backend::Sqlite, Backend::Postgres, Backend::Mysql] {
            let Some(mut probe) = TestDatabase::empty(backend) else { continue };
            let (old, new) = (template_name(backend, &older), template_name(backend, &newer));
            let exists = |probe: &mut TestDatabase, name: &str| match backend {
                Backend::Sqlite => sqlite::dir().join(format!("{name}.db")).exists(),
                Backend::Postgres => {
                    probe.value(&format!("SELECT count(*) FROM pg_database WHERE datname = '{name}'")).as_deref()
                        == Some("1")
                }
                _ => {
                    let sql = format!("SELECT count(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '{name}'");
                    probe.value(&sql).as_deref() == Some("1")
                }
            };
            let count = |db: &mut TestDatabase| db.value("SELECT count(*) FROM _migrate_history");
            let mut db = TestDatabase::migrated(backend, &older).unwrap();
            assert_eq!(count(&mut db).as_deref(), Some("2"), "{backend}");
            assert!(exists(&mut probe, &old), "{backend}: {old} was built");
            let mut db = TestDatabase::migrated(backend, &newer).unwrap();
            assert_eq!(count(&mut db).as_deref(), Some("3"), "{backend}");
            assert!(exists(&mut probe, &new) && !exists(&mut probe, &old), "{backend}: {new} replaces {old}");
            // This process still knows the old template (MySQL keeps its replay script): found gone, built again.
            let mut db = TestDatabase::migrated(backend, &older).unwrap();
            assert_eq!(count(&mut db).as_deref(), Some("2"), "{backend}");
            drop(db);
            // Nothing left behind (the old one, built again, dropped the new one, except on MySQL).
            for name in [&old, &new] {
                match backend {
                    Backend::Sqlite => {
                        sqlite::remove(&sqlite::dir().join(format!("{name}.db")));
                        let _ = std::fs::remove_file(sqlite::dir().join(format!("{name}.lock")));
                    }
                    Backend::Postgres if exists(&mut probe, name) => {
                        probe.execute(&format!("ALTER DATABASE {name} WITH IS_TEMPLATE false"));
                        probe.execute(&format!("DROP DATABASE {name}"));
                    }
                    _ => probe.execute(&format!("DROP DATABASE IF EXISTS {name}")),
                }
            }
        }
    }
}
