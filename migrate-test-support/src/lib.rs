//! What the two test harnesses of this workspace (the facade's `tests/integration` and the command line's
//! `tests/cli`) share: which backends a run tests, read from the environment, and a scratch PostgreSQL schema or
//! MySQL database per test, dropped when the test ends, so tests that share a server run in parallel.
//!
//! Which backends run, and the notes and failures when one cannot, are `migrate::testing`'s, as for users of the
//! `testing` feature: `MIGRATE_TEST_POSTGRES_URL`, `MIGRATE_TEST_MYSQL_URL` (without one, that backend's tests print
//! a note once and pass without running) and `MIGRATE_TEST_REQUIRE=postgres,mysql` (a listed backend without its URL
//! fails its tests instead; CI sets it).

pub mod replay;

use migrate::testing;
use migrate::Backend;
use mysql::prelude::Queryable;

/// The variable that lists the backends whose tests must run.
pub const REQUIRE_VAR: &str = testing::REQUIRE_VAR;

/// A database family under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// SQLite, always tested (a file per test).
    Sqlite,
    /// PostgreSQL, at `MIGRATE_TEST_POSTGRES_URL`.
    Postgres,
    /// MySQL or MariaDB, at `MIGRATE_TEST_MYSQL_URL`.
    Mysql,
}

impl Kind {
    /// `sqlite`, `postgres`, `mysql`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Sqlite => "sqlite",
            Kind::Postgres => "postgres",
            Kind::Mysql => "mysql",
        }
    }

    /// The kind called `name` (as [`Kind::name`] writes it).
    pub fn parse(name: &str) -> Option<Kind> {
        [Kind::Sqlite, Kind::Postgres, Kind::Mysql].into_iter().find(|k| k.name() == name)
    }

    /// The backend.
    pub fn backend(self) -> Backend {
        match self {
            Kind::Sqlite => Backend::Sqlite,
            Kind::Postgres => Backend::Postgres,
            Kind::Mysql => Backend::Mysql,
        }
    }

    /// The variable holding the server's URL (empty for SQLite, which needs none).
    pub fn url_var(self) -> &'static str {
        testing::url_var(self.backend()).unwrap_or("")
    }

    /// Whether [`REQUIRE_VAR`] lists this backend.
    pub fn required(self) -> bool {
        testing::required(self.backend())
    }

    /// The server's URL from the environment, or `None` after printing (once per process) that this backend's tests
    /// are skipped.
    ///
    /// # Panics
    /// When the URL is not set and [`REQUIRE_VAR`] lists this backend: a required backend never skips.
    pub fn server_url(self) -> Option<String> {
        testing::server_url(self.backend())
    }
}

/// A name for one test's schema or database: `<prefix>_<test>_<pid>`, safe as an unquoted identifier.
pub fn scratch_name(prefix: &str, test: &str) -> String {
    let test: String = test.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').take(40).collect();
    format!("{prefix}_{test}_{}", std::process::id())
}

/// A PostgreSQL schema or MySQL database made for one test and dropped with this value.
#[derive(Debug)]
pub struct Scratch {
    kind: Kind,
    server: String,
    ident: String,
}

impl Scratch {
    /// Creates `ident` anew (dropping what an earlier, interrupted run left) on the server at `server`.
    ///
    /// # Panics
    /// If the server cannot be reached or refuses: the test cannot run.
    pub fn create(kind: Kind, server: &str, ident: &str) -> Scratch {
        match kind {
            Kind::Postgres => {
                let mut admin = postgres::Client::connect(server, postgres::NoTls).expect("connect to PostgreSQL");
                admin
                    .batch_execute(&format!("DROP SCHEMA IF EXISTS {ident} CASCADE; CREATE SCHEMA {ident}"))
                    .expect("create the test schema");
            }
            Kind::Mysql => {
                let mut admin = mysql::Conn::new(server).expect("connect to MySQL");
                admin
                    .query_drop(format!("DROP DATABASE IF EXISTS {ident}"))
                    .and_then(|()| admin.query_drop(format!("CREATE DATABASE {ident}")))
                    .expect("create the test database");
            }
            Kind::Sqlite => panic!("SQLite tests use a file of their own, not a scratch schema"),
        }
        Scratch { kind, server: server.to_owned(), ident: ident.to_owned() }
    }

    /// The schema or database name.
    pub fn ident(&self) -> &str {
        &self.ident
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        match self.kind {
            Kind::Postgres => {
                if let Ok(mut admin) = postgres::Client::connect(&self.server, postgres::NoTls) {
                    let _ = admin.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.ident));
                }
            }
            Kind::Mysql => {
                if let Ok(mut admin) = mysql::Conn::new(self.server.as_str()) {
                    let _ = admin.query_drop(format!("DROP DATABASE IF EXISTS {}", self.ident));
                }
            }
            Kind::Sqlite => {}
        }
    }
}

/// Defines one `#[test]` per backend for each scenario `fn name(kind: Kind)`: `mod sqlite { fn name() }`,
/// `mod postgres`, `mod mysql`.
#[macro_export]
macro_rules! on_every_backend {
    ($($scenario:ident),* $(,)?) => {
        mod sqlite {
            $(#[test] fn $scenario() { super::$scenario($crate::Kind::Sqlite) })*
        }
        mod postgres {
            $(#[test] fn $scenario() { super::$scenario($crate::Kind::Postgres) })*
        }
        mod mysql {
            $(#[test] fn $scenario() { super::$scenario($crate::Kind::Mysql) })*
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for kind in [Kind::Sqlite, Kind::Postgres, Kind::Mysql] {
            assert_eq!(Kind::parse(kind.name()), Some(kind));
        }
        assert!(scratch_name("mt", "a-b c").starts_with("mt_abc_"));
    }
}
