//! One harness for the three databases: each test gets its own SQLite file, PostgreSQL schema or MySQL database,
//! so tests run in parallel. PostgreSQL and MySQL are reached through `MIGRATE_TEST_POSTGRES_URL` and
//! `MIGRATE_TEST_MYSQL_URL`; without one, that backend's tests print a note and return.

pub use migrate_test_support::Kind;
use migrate_test_support::Scratch;

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

    /// A new connection as `user` (a role or account the test made, without a password), to this test's schema or
    /// database. PostgreSQL and MySQL only.
    pub fn connect_as(&self, user: &str) -> Conn {
        match self.kind {
            Kind::Sqlite => panic!("SQLite has no users"),
            Kind::Postgres => {
                let mut config: postgres::Config = self.url.parse().expect("PostgreSQL URL");
                config.user(user).options(&format!("-c search_path={}", self.ident));
                Conn::Postgres(Box::new(config.connect(postgres::NoTls).expect("connect to PostgreSQL")))
            }
            Kind::Mysql => {
                let opts = mysql::Opts::from_url(&self.url).expect("MySQL URL");
                let opts = mysql::OptsBuilder::from_opts(opts)
                    .user(Some(user))
                    .pass(None::<String>)
                    .db_name(Some(self.ident.clone()));
                Conn::Mysql(Box::new(mysql::Conn::new(opts).expect("connect to MySQL")))
            }
        }
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

/// A connection to one of the three: the one `migrate::testing` gives users, with the helpers below.
pub use migrate::testing::Connection as Conn;

/// What the scenarios ask of a connection beyond [`Conn::execute`] and [`Conn::rows`].
pub trait ConnExt {
    /// Runs SQL that returns nothing.
    fn exec(&mut self, sql: &str);
    /// The first column of every row, as text (trimmed: `CAST(… AS CHAR(n))` pads on PostgreSQL).
    fn strings(&mut self, sql: &str) -> Vec<String>;
    /// `true` if `table` exists in the test's database or schema.
    fn has_table(&mut self, table: &str) -> bool;
}

impl ConnExt for Conn {
    fn exec(&mut self, sql: &str) {
        self.execute(sql);
    }

    fn strings(&mut self, sql: &str) -> Vec<String> {
        let rows = self.rows(sql);
        rows.into_iter().map(|row| row.into_iter().next().flatten().unwrap_or_default().trim().to_owned()).collect()
    }

    fn has_table(&mut self, table: &str) -> bool {
        let sql = match self.backend() {
            migrate::Backend::Sqlite => {
                format!("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '{table}'")
            }
            migrate::Backend::Postgres => format!(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = '{table}'"
            ),
            _ => format!(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = '{table}'"
            ),
        };
        self.value(&sql).as_deref() == Some("1")
    }
}

pub(crate) use migrate_test_support::on_every_backend;
