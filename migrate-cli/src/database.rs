//! Database URLs and connections: which backend a URL names, how it is shown (never with its password), and the
//! open connection a driver runs over.

use std::path::{Path, PathBuf};
use std::time::Duration;

use migrate_core::{Backend, Driver};

use crate::failure::Failure;
use crate::tls::{self, SslMode, Tls};

/// A parsed database URL.
#[derive(Clone)]
pub struct DatabaseUrl {
    backend: Backend,
    shown: String,
    secrets: Vec<String>,
    target: Target,
    connect_timeout: Duration,
    /// PostgreSQL through a pooler in transaction mode (`--pooler transaction`).
    pooled: bool,
}

/// How long a connection may take, handshake included, unless `--connect-timeout` says otherwise.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// A connection idle this long is probed, so one whose server or network is gone ends instead of hanging.
const KEEPALIVE_IDLE: Duration = Duration::from_secs(60);

#[derive(Clone)]
enum Target {
    Sqlite(PathBuf),
    Postgres(Box<postgres::Config>, Tls),
    Mysql(Box<mysql::Opts>, Tls),
}

/// Where the URL came from, for messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// `--database-url`.
    Flag,
    /// The `DATABASE_URL` environment variable.
    Environment,
    /// `DATABASE_URL` in a `.env` file.
    DotEnv,
    /// `database_url` in `migrate.toml`.
    File,
    /// `--dev-url` (or `MIGRATE_DEV_URL`): the server of scratch databases.
    DevUrl,
}

impl Source {
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Source::Flag => "--database-url",
            Source::Environment => "DATABASE_URL",
            Source::DotEnv => "DATABASE_URL in .env",
            Source::File => "database_url in migrate.toml",
            Source::DevUrl => "--dev-url",
        }
    }
}

/// Finds the URL: `--database-url`, else `DATABASE_URL`, else `DATABASE_URL` in a `.env` file of this directory or
/// a parent. `Ok(None)` when none is set.
///
/// # Errors
/// A `.env` file that cannot be read.
pub fn find(flag: Option<&str>, file: Option<&str>) -> Result<Option<(String, Source)>, Failure> {
    if let Some(url) = flag {
        return Ok(Some((url.to_owned(), Source::Flag)));
    }
    if let Some(url) = std::env::var_os("DATABASE_URL") {
        return Ok(Some((url.to_string_lossy().into_owned(), Source::Environment)));
    }
    // A parse error's text quotes the line, which may hold the password: only its number is ever shown.
    let unreadable = |err: dotenvy::Error, line: usize| {
        let why = match err {
            dotenvy::Error::Io(err) => err.to_string(),
            _ => format!("line {line} cannot be parsed"),
        };
        Failure::usage(
            format!("cannot read the .env file: {why}"),
            Some("fix the file, or give the URL with --database-url or DATABASE_URL".to_owned()),
        )
    };
    let from_file = file.map(|url| (url.to_owned(), Source::File));
    let entries = match dotenvy::dotenv_iter() {
        Ok(entries) => entries,
        Err(err) if err.not_found() => return Ok(from_file),
        Err(err) => return Err(unreadable(err, 0)),
    };
    for (index, entry) in entries.enumerate() {
        match entry {
            Ok((key, value)) if key == "DATABASE_URL" => return Ok(Some((value, Source::DotEnv))),
            Ok(_) => {}
            Err(err) => return Err(unreadable(err, index + 1)),
        }
    }
    Ok(from_file)
}

/// The URL's password in the forms it may take (as written, percent-decoded), for scrubbing output.
pub fn passwords(raw: &str) -> Vec<String> {
    let mut found = Vec::new();
    if let Ok(url) = url::Url::parse(raw) {
        if let Some(password) = url.password().filter(|p| !p.is_empty()) {
            found.push(password.to_owned());
            found.push(percent_decode(password));
        }
        // Both clients also take the password as a query parameter.
        for (key, value) in url.query_pairs() {
            if matches!(key.as_ref(), "password" | "pass" | "pwd") && !value.is_empty() {
                found.push(value.into_owned());
            }
        }
        if let Some(query) = url.query() {
            for pair in query.split('&') {
                if let Some((key, value)) = pair.split_once('=') {
                    if matches!(key, "password" | "pass" | "pwd") && !value.is_empty() {
                        found.push(value.to_owned());
                    }
                }
            }
        }
    } else if let Some((_, rest)) = raw.split_once("://") {
        // Unparsable, but it may still hold `user:password@`.
        let userinfo = rest.rsplit_once('@').map(|(u, _)| u).unwrap_or("");
        if let Some((_, password)) = userinfo.split_once(':').filter(|(_, p)| !p.is_empty()) {
            found.push(password.to_owned());
            found.push(percent_decode(password));
        }
    }
    found.sort();
    found.dedup();
    found.sort_by_key(|p| std::cmp::Reverse(p.len()));
    found
}

pub(crate) fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(byte) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The URL with its password replaced by `***`.
pub(crate) fn redacted(raw: &str) -> String {
    let mut shown = raw.to_owned();
    for secret in passwords(raw) {
        shown = shown.replace(&secret, "***");
    }
    shown
}

impl DatabaseUrl {
    /// Reads `raw`: `postgres://` or `postgresql://`, `mysql://` or `mariadb://`, `sqlite:` (`sqlite:app.db`,
    /// `sqlite://app.db`, `sqlite:///abs/app.db`, `sqlite::memory:`).
    ///
    /// # Errors
    /// A usage failure naming the URL (without its password) and what is wrong with it.
    pub fn parse(raw: &str, source: Source) -> Result<DatabaseUrl, Failure> {
        let shown = redacted(raw);
        let secrets = passwords(raw);
        let bad = |why: String| {
            Failure::usage(
                format!("the database URL `{shown}` (from {}) {why}", source.describe()),
                Some(
                    "use postgres://user:password@host:5432/database, mysql://user:password@host:3306/database or \
                     sqlite:path/to/file.db"
                        .to_owned(),
                ),
            )
        };
        let (scheme, _) = raw.split_once(':').ok_or_else(|| bad("has no scheme".to_owned()))?;
        let (backend, target) = match scheme.to_ascii_lowercase().as_str() {
            "sqlite" => {
                let rest = &raw[scheme.len() + 1..];
                let path = rest.strip_prefix("//").unwrap_or(rest);
                let path = path.split_once('?').map_or(path, |(p, _)| p);
                if path.is_empty() {
                    return Err(bad("names no file".to_owned()));
                }
                if path.starts_with("file:") {
                    // SQLite would read it as a URI while this program checks it as a path: refuse the ambiguity.
                    return Err(bad("is an SQLite URI filename; give the path itself, as in sqlite:app.db".to_owned()));
                }
                (Backend::Sqlite, Target::Sqlite(PathBuf::from(path)))
            }
            "postgres" | "postgresql" => {
                // The client library reads only some of libpq's sslmodes: the TLS parameters are ours.
                let (rest, tls) = tls::split_pg_url(raw).map_err(bad)?;
                let config: postgres::Config =
                    rest.parse().map_err(|err: postgres::Error| bad(format!("cannot be read: {err}")))?;
                (Backend::Postgres, Target::Postgres(Box::new(config), tls))
            }
            "mysql" | "mariadb" => {
                let url = format!("mysql{}", &raw[scheme.len()..]);
                let (url, tls) = tls::split_mysql_url(&url).map_err(bad)?;
                let opts = mysql::Opts::from_url(&url).map_err(|err| bad(format!("cannot be read: {err}")))?;
                (Backend::Mysql, Target::Mysql(Box::new(opts), tls))
            }
            other => return Err(bad(format!("has the scheme `{other}`, which is not a supported database"))),
        };
        Ok(DatabaseUrl { backend, shown, secrets, target, connect_timeout: DEFAULT_CONNECT_TIMEOUT, pooled: false })
    }

    /// The same URL, whose connections give up after `timeout` (handshake included).
    #[must_use]
    pub fn with_connect_timeout(mut self, timeout: Duration) -> DatabaseUrl {
        self.connect_timeout = timeout;
        self
    }

    /// The same URL, reached through a pooler in transaction mode: its drivers take the migration lock in each
    /// revision's transaction.
    #[must_use]
    pub fn with_pooler(mut self, pooled: bool) -> DatabaseUrl {
        self.pooled = pooled;
        self
    }

    /// How long its connections may take, handshake included.
    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout
    }

    /// The URL with `--sslmode` and `--sslrootcert` put over its own `sslmode` and `sslrootcert` (PostgreSQL) or
    /// `ssl-mode` and `ssl-ca` (MySQL).
    pub fn with_tls(mut self, mode: Option<SslMode>, root: Option<&Path>) -> DatabaseUrl {
        if let Target::Postgres(_, tls) | Target::Mysql(_, tls) = &mut self.target {
            *tls = std::mem::take(tls).overridden(mode, root);
        }
        self
    }

    /// The same server and credentials, on the database `name` (for SQLite, the file `name`).
    pub fn with_database(&self, name: &str) -> DatabaseUrl {
        let target = match &self.target {
            Target::Sqlite(_) => Target::Sqlite(PathBuf::from(name)),
            Target::Postgres(config, tls) => {
                let mut config = config.clone();
                config.dbname(name);
                Target::Postgres(config, tls.clone())
            }
            Target::Mysql(opts, tls) => {
                let opts = mysql::OptsBuilder::from_opts((**opts).clone()).db_name(Some(name));
                Target::Mysql(Box::new(opts.into()), tls.clone())
            }
        };
        let shown = match self.backend {
            Backend::Sqlite => format!("sqlite:{name}"),
            _ => {
                let (base, query) =
                    self.shown.split_once('?').map_or((self.shown.as_str(), None), |(b, q)| (b, Some(q)));
                let host = base.find("://").map_or(0, |i| i + 3);
                let server = base[host..].find('/').map_or(base, |i| &base[..host + i]);
                format!("{server}/{name}{}", query.map(|q| format!("?{q}")).unwrap_or_default())
            }
        };
        DatabaseUrl { backend: self.backend, shown, secrets: self.secrets.clone(), target, ..*self }
    }

    /// The backend the URL names.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The URL without its password.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// The password in each form it may be printed in, longest first.
    pub fn secrets(&self) -> &[String] {
        &self.secrets
    }

    /// Connects. A SQLite file that does not exist is created only when `create` is set; otherwise an empty
    /// in-memory database stands in for it (a new database has nothing applied), and [`Connection::missing_file`]
    /// says so.
    ///
    /// # Errors
    /// A failure naming the URL (without its password) and the database's error.
    pub fn connect(&self, create: bool) -> Result<Connection, Failure> {
        let fail = |err: String| {
            Failure::new(
                format!("cannot connect to {}: {err}", self.shown),
                Some("check the URL, and that the database server is running and reachable".to_owned()),
            )
        };
        let mut heartbeat = None;
        let kind = match &self.target {
            Target::Sqlite(path) if path.as_os_str() == ":memory:" => {
                Kind::Sqlite(rusqlite::Connection::open_in_memory().map_err(|e| fail(e.to_string()))?)
            }
            Target::Sqlite(path)
                if !create && !path.try_exists().map_err(|e| fail(format!("{}: {e}", path.display())))? =>
            {
                let conn = rusqlite::Connection::open_in_memory().map_err(|e| fail(e.to_string()))?;
                return Ok(Connection {
                    kind: Kind::Sqlite(conn),
                    missing: Some(path.clone()),
                    pooled: false,
                    heartbeat: None,
                });
            }
            Target::Sqlite(path) => {
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty() && !p.exists()) {
                    return Err(fail(format!("the folder {} does not exist", parent.display())));
                }
                Kind::Sqlite(rusqlite::Connection::open(path).map_err(|e| fail(e.to_string()))?)
            }
            Target::Postgres(config, tls) => {
                let mut config = (**config).clone();
                let connector = tls.connector()?;
                config.ssl_mode(match tls.effective() {
                    SslMode::Disable => postgres::config::SslMode::Disable,
                    SslMode::Prefer => postgres::config::SslMode::Prefer,
                    _ => postgres::config::SslMode::Require,
                });
                if config.get_application_name().is_none() {
                    // The lock's holder is named by application where PostgreSQL can tell.
                    config.application_name("migrate");
                }
                if config.get_connect_timeout().is_none() {
                    config.connect_timeout(self.connect_timeout);
                }
                if config.get_keepalives_idle() == Duration::from_secs(2 * 60 * 60) {
                    // tokio-postgres's default: two hours before a dead peer is noticed.
                    config.keepalives_idle(KEEPALIVE_IDLE);
                }
                let client = self.bounded(move || {
                    match connector {
                        Some(connector) => config.connect(connector),
                        None => config.connect(postgres::NoTls),
                    }
                    .map_err(|e| pg_message(&e))
                });
                Kind::Postgres(Box::new(client.map_err(fail)?))
            }
            Target::Mysql(opts, tls) => {
                if let Some(root) = tls.root.as_ref().filter(|r| r.as_os_str() != "system" && !r.is_file()) {
                    return Err(Failure::usage(format!("ssl-ca {}: no such file", root.display()), None));
                }
                let ssl = tls.mysql_options();
                let mut builder = mysql::OptsBuilder::from_opts((**opts).clone());
                if ssl.is_some() {
                    // The client would move a local connection to the server's socket, where TLS is not used.
                    builder = builder.prefer_socket(false).ssl_opts(ssl);
                }
                if opts.get_tcp_connect_timeout().is_none() {
                    builder = builder.tcp_connect_timeout(Some(self.connect_timeout));
                }
                if opts.get_tcp_keepalive_time_ms().is_none() {
                    let ms = u32::try_from(KEEPALIVE_IDLE.as_millis()).unwrap_or(u32::MAX);
                    builder = builder.tcp_keepalive_time_ms(Some(ms));
                }
                let fallback = tls.mysql_fallback();
                heartbeat = Some(mysql::Opts::from(builder.clone()));
                let conn = self.bounded(move || match mysql::Conn::new(builder.clone()) {
                    // `prefer`: a server without TLS is connected to in plain text, as the mysql client does.
                    Err(mysql::Error::DriverError(mysql::DriverError::TlsNotSupported)) if fallback => {
                        mysql::Conn::new(builder.ssl_opts(None)).map_err(|e| e.to_string())
                    }
                    other => other.map_err(|e| e.to_string()),
                });
                Kind::Mysql(Box::new(conn.map_err(fail)?))
            }
        };
        Ok(Connection { kind, missing: None, pooled: self.pooled, heartbeat })
    }
}

impl DatabaseUrl {
    /// Runs `connect` on a thread of its own and gives up after the connect timeout: the clients bound the TCP
    /// connect, but not a server (or something that is not one) that accepts and never answers the handshake. A
    /// connection given up on is left to its thread; the command ends with the error.
    fn bounded<C: Send + 'static>(
        &self,
        connect: impl FnOnce() -> Result<C, String> + Send + 'static,
    ) -> Result<C, String> {
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = sender.send(connect());
        });
        match receiver.recv_timeout(self.connect_timeout) {
            Ok(result) => result,
            Err(_) => Err(format!(
                "no answer to the handshake within {} s (is that port the database's? a slow server needs a longer \
                 --connect-timeout)",
                self.connect_timeout.as_secs_f64()
            )),
        }
    }
}

fn pg_message(err: &postgres::Error) -> String {
    match err.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => {
            let mut text = err.to_string();
            let mut source = std::error::Error::source(err);
            while let Some(inner) = source {
                text = format!("{text}: {inner}");
                source = inner.source();
            }
            text
        }
    }
}

/// An open connection.
pub struct Connection {
    kind: Kind,
    missing: Option<PathBuf>,
    /// Through a pooler in transaction mode: the lock is transaction-scoped.
    pooled: bool,
    /// MySQL: how to open a second connection, for the heartbeat of the cluster lock on a Galera node.
    heartbeat: Option<mysql::Opts>,
}

enum Kind {
    Sqlite(rusqlite::Connection),
    Postgres(Box<postgres::Client>),
    Mysql(Box<mysql::Conn>),
}

impl Connection {
    /// A driver over the connection.
    pub fn driver(&mut self) -> Box<dyn Driver + '_> {
        match &mut self.kind {
            Kind::Sqlite(conn) => Box::new(migrate_sqlite::Sqlite::new(conn)),
            Kind::Postgres(client) => {
                let mode = if self.pooled {
                    migrate_postgres::LockMode::Transaction
                } else {
                    migrate_postgres::LockMode::Session
                };
                Box::new(migrate_postgres::Postgres::new(client).lock_mode(mode))
            }
            Kind::Mysql(conn) => {
                let driver = migrate_mysql::Mysql::new(conn);
                match &self.heartbeat {
                    Some(opts) => Box::new(driver.cluster_heartbeat(opts.clone())),
                    None => Box::new(driver),
                }
            }
        }
    }

    /// Runs a script of any number of statements, as the server reads it (for a schema file or a generated
    /// revision on a scratch database).
    ///
    /// # Errors
    /// The database's error for the first statement that fails.
    pub fn run_script(&mut self, sql: &str) -> Result<(), String> {
        match &mut self.kind {
            Kind::Sqlite(conn) => conn.execute_batch(sql).map_err(|e| e.to_string()),
            Kind::Postgres(client) => client.batch_execute(sql).map_err(|e| pg_message(&e)),
            Kind::Mysql(conn) => migrate_mysql::execute_all(conn, sql).map_err(|e| e.to_string()),
        }
    }

    /// The first column of every row `query` returns, as text.
    ///
    /// # Errors
    /// The database's error.
    pub fn column(&mut self, query: &str) -> Result<Vec<String>, String> {
        match &mut self.kind {
            Kind::Sqlite(conn) => {
                let mut statement = conn.prepare(query).map_err(|e| e.to_string())?;
                let rows = statement.query_map([], |row| row.get::<_, String>(0)).map_err(|e| e.to_string())?;
                rows.collect::<Result<_, _>>().map_err(|e| e.to_string())
            }
            Kind::Postgres(client) => {
                let rows = client.query(query, &[]).map_err(|e| pg_message(&e))?;
                Ok(rows.iter().map(|row| row.get::<_, String>(0)).collect())
            }
            Kind::Mysql(conn) => {
                use mysql::prelude::Queryable;
                conn.query::<String, _>(query).map_err(|e| e.to_string())
            }
        }
    }

    /// Runs `statements` on the connection, in order, before anything else runs on it (`--init-sql`).
    ///
    /// # Errors
    /// The first statement that fails, named with its position and the database's error.
    pub fn init(&mut self, statements: &[String]) -> Result<(), Failure> {
        for (index, sql) in statements.iter().enumerate() {
            if let Err(err) = self.run_script(sql) {
                return Err(Failure::usage(
                    format!("--init-sql #{} (`{sql}`) failed on connecting: {err}", index + 1),
                    Some("fix or remove that --init-sql statement".to_owned()),
                ));
            }
        }
        Ok(())
    }

    /// Interrupts the statement running on this connection, from another thread: PostgreSQL's cancel request (sent
    /// without TLS, as a cancel key is no secret worth one), SQLite's interrupt. What was running in a transaction
    /// is rolled back with it. `None` for MySQL, whose revisions all run statement by statement, each left to end.
    pub fn interrupter(&self) -> Option<Box<dyn Fn() + Send + Sync>> {
        match &self.kind {
            Kind::Sqlite(conn) => {
                let handle = conn.get_interrupt_handle();
                Some(Box::new(move || handle.interrupt()))
            }
            Kind::Postgres(client) => {
                let token = client.cancel_token();
                Some(Box::new(move || {
                    if let Err(err) = token.cancel_query(postgres::NoTls) {
                        eprintln!("migrate: cancelling the running statement failed: {err}");
                    }
                }))
            }
            Kind::Mysql(_) => None,
        }
    }

    /// The SQLite file that does not exist yet, when an empty in-memory database stands in for it.
    pub fn missing_file(&self) -> Option<&Path> {
        self.missing.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_found_and_hidden() {
        let raw = "postgres://app:s%40cret-pw@db.example:5432/app";
        assert_eq!(passwords(raw), ["s%40cret-pw", "s@cret-pw"]);
        assert_eq!(redacted(raw), "postgres://app:***@db.example:5432/app");
        assert_eq!(redacted("mysql://root@localhost/test"), "mysql://root@localhost/test");
        assert_eq!(passwords("weird://u:pw1234@[bad"), ["pw1234"]);
        assert_eq!(passwords("postgres://app@db/app?sslmode=disable&password=q%26pw"), ["q%26pw", "q&pw"]);
        assert_eq!(redacted("postgres://app@db/app?password=q%26pw"), "postgres://app@db/app?password=***");
    }

    #[test]
    fn another_database_on_the_same_server() {
        let url =
            DatabaseUrl::parse("postgres://app:secret@db.internal:5432/app?sslmode=disable", Source::Flag).unwrap();
        let scratch = url.with_database("migrate_test_1");
        assert_eq!(scratch.shown(), "postgres://app:***@db.internal:5432/migrate_test_1?sslmode=disable");
        assert_eq!(scratch.secrets(), url.secrets());
        let url = DatabaseUrl::parse("mysql://root@127.0.0.1:3306", Source::Flag).unwrap();
        assert_eq!(url.with_database("t").shown(), "mysql://root@127.0.0.1:3306/t");
    }

    #[test]
    fn schemes() {
        let url = |raw: &str| DatabaseUrl::parse(raw, Source::Flag);
        assert_eq!(url("sqlite:app.db").unwrap().backend(), Backend::Sqlite);
        assert!(
            matches!(url("sqlite://dir/app.db").unwrap().target, Target::Sqlite(p) if p == Path::new("dir/app.db"))
        );
        assert!(matches!(url("sqlite:///tmp/a.db").unwrap().target, Target::Sqlite(p) if p == Path::new("/tmp/a.db")));
        assert_eq!(url("postgresql://u:p@h/db").unwrap().backend(), Backend::Postgres);
        assert_eq!(url("mariadb://u:p@h/db").unwrap().backend(), Backend::Mysql);
        let err = url("oracle://scott:tiger-pw@h/db").err().unwrap();
        assert!(err.message.contains("oracle://scott:***@h/db"), "{}", err.message);
        assert!(url("sqlite:").is_err());
        assert!(url("sqlite:file:app.db").is_err());
    }
}
