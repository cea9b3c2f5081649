//! One harness for the three databases: each test gets its own SQLite file, PostgreSQL schema or MySQL database,
//! so tests run in parallel. PostgreSQL and MySQL are reached through `MIGRATE_TEST_POSTGRES_URL` and
//! `MIGRATE_TEST_MYSQL_URL`; without one, that backend's tests print a note and return.

use migrate::{Database, Driver};
pub use migrate_test_support::Kind;
use migrate_test_support::Scratch;
use mysql::prelude::Queryable;

use crate::common::TempDb;

/// An isolated database for one test.
pub struct Db {
    pub kind: Kind,
    url: String,
    /// The SQLite file, the PostgreSQL schema or the MySQL database.
    pub ident: String,
    _file: Option<TempDb>,
    /// Drops the schema or database at the end; `None` in a child process, which does not own it.
    _scratch: Option<Scratch>,
}

impl Db {
    /// A fresh database for `test`, or `None` (with a note on stderr, which the test harness does not capture) when
    /// the backend's URL is not set.
    pub fn new(kind: Kind, test: &str) -> Option<Db> {
        if kind == Kind::Sqlite {
            let file = TempDb::new();
            let ident = file.path.to_string_lossy().into_owned();
            return Some(Db { kind, url: String::new(), ident, _file: Some(file), _scratch: None });
        }
        let url = kind.server_url()?;
        let scratch = Scratch::create(kind, &url, &migrate_test_support::scratch_name("mt", test));
        Some(Db { kind, url, ident: scratch.ident().to_owned(), _file: None, _scratch: Some(scratch) })
    }

    /// Reopens the database a child process was given (see [`Db::child_env`]).
    pub fn from_child_env(value: &str) -> Db {
        let (kind, rest) = value.split_once(':').expect("kind:ident");
        let kind = Kind::parse(kind).expect("a backend name");
        let (ident, url) = rest.split_once('|').expect("ident|url");
        Db { kind, url: url.to_owned(), ident: ident.to_owned(), _file: None, _scratch: None }
    }

    /// The value that lets a child process reopen this database.
    pub fn child_env(&self) -> String {
        format!("{}:{}|{}", self.kind.name(), self.ident, self.url)
    }

    /// A new connection.
    pub fn connect(&self) -> Conn {
        match self.kind {
            Kind::Sqlite => Conn::Sqlite(rusqlite::Connection::open(&self.ident).expect("open SQLite")),
            Kind::Postgres => {
                let mut config: postgres::Config = self.url.parse().expect("PostgreSQL URL");
                config.options(&format!("-c search_path={}", self.ident));
                Conn::Postgres(Box::new(config.connect(postgres::NoTls).expect("connect to PostgreSQL")))
            }
            Kind::Mysql => {
                let opts = mysql::Opts::from_url(&self.url).expect("MySQL URL");
                let opts = mysql::OptsBuilder::from_opts(opts).db_name(Some(self.ident.clone()));
                Conn::Mysql(Box::new(mysql::Conn::new(opts).expect("connect to MySQL")))
            }
        }
    }
}

/// A connection to one of the three.
pub enum Conn {
    Sqlite(rusqlite::Connection),
    Postgres(Box<postgres::Client>),
    Mysql(Box<mysql::Conn>),
}

impl Database for Conn {
    fn with_driver<R>(&mut self, f: impl FnOnce(&mut dyn Driver) -> R) -> R {
        match self {
            Conn::Sqlite(c) => c.with_driver(f),
            Conn::Postgres(c) => (**c).with_driver(f),
            Conn::Mysql(c) => (**c).with_driver(f),
        }
    }
}

impl Conn {
    /// Runs SQL that returns nothing.
    pub fn exec(&mut self, sql: &str) {
        match self {
            Conn::Sqlite(c) => c.execute_batch(sql).unwrap(),
            Conn::Postgres(c) => c.batch_execute(sql).unwrap(),
            Conn::Mysql(c) => c.query_drop(sql).unwrap(),
        }
    }

    /// The first column of every row, as text (trimmed: `CAST(… AS CHAR(n))` pads on PostgreSQL).
    pub fn strings(&mut self, sql: &str) -> Vec<String> {
        let rows: Vec<String> = match self {
            Conn::Sqlite(c) => {
                let mut stmt = c.prepare(sql).unwrap();
                stmt.query_map([], |r| r.get::<_, String>(0)).unwrap().map(Result::unwrap).collect()
            }
            Conn::Postgres(c) => c
                .simple_query(sql)
                .unwrap()
                .into_iter()
                .filter_map(|m| match m {
                    postgres::SimpleQueryMessage::Row(row) => Some(row.get(0).unwrap_or("").to_owned()),
                    _ => None,
                })
                .collect(),
            Conn::Mysql(c) => c.query::<String, _>(sql).unwrap(),
        };
        rows.into_iter().map(|s| s.trim().to_owned()).collect()
    }

    /// `true` if `table` exists in the test's database or schema.
    pub fn has_table(&mut self, table: &str) -> bool {
        let sql = match self {
            Conn::Sqlite(_) => format!("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '{table}'"),
            Conn::Postgres(_) => format!(
                "SELECT count(*)::text FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = '{table}'"
            ),
            Conn::Mysql(_) => format!(
                "SELECT CAST(count(*) AS CHAR) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = '{table}'"
            ),
        };
        let count = match self {
            Conn::Sqlite(c) => c.query_row(&sql, [], |r| r.get::<_, i64>(0)).unwrap().to_string(),
            _ => self.strings(&sql).remove(0),
        };
        count == "1"
    }
}

pub(crate) use migrate_test_support::on_every_backend;
