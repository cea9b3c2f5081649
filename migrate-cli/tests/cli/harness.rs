//! Drives the `migrate` binary as a real process against real databases. Each test gets its own SQLite file,
//! PostgreSQL schema or MySQL database, so tests run in parallel; PostgreSQL and MySQL are reached through
//! `MIGRATE_TEST_POSTGRES_URL` and `MIGRATE_TEST_MYSQL_URL`, and without one that backend's tests print a note and
//! return.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

pub use migrate_test_support::Kind;
use migrate_test_support::Scratch;
use mysql::prelude::Queryable;
use serde_json::Value;

/// An isolated database for one test.
pub struct Db {
    pub kind: Kind,
    /// The URL the command line is given.
    pub url: String,
    server: String,
    /// The PostgreSQL schema or MySQL database.
    pub ident: String,
    _dir: Option<tempfile::TempDir>,
    /// Drops the schema or database at the end.
    _scratch: Option<Scratch>,
}

fn with_query(url: &str, param: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{param}")
}

/// `url` with its path (the database) replaced by `/database`.
pub fn with_database(url: &str, database: &str) -> String {
    let mut parsed = url::Url::parse(url).expect("server URL");
    parsed.set_path(&format!("/{database}"));
    parsed.to_string()
}

impl Db {
    /// A fresh database for `test`, or `None` when the backend's URL is not set.
    pub fn new(kind: Kind, test: &str) -> Option<Db> {
        if kind == Kind::Sqlite {
            let dir = tempfile::tempdir().expect("temporary directory");
            let path = dir.path().join("test.db");
            let url = format!("sqlite:{}", path.display());
            return Some(Db {
                kind,
                url,
                server: String::new(),
                ident: path.display().to_string(),
                _dir: Some(dir),
                _scratch: None,
            });
        }
        let server = kind.server_url()?;
        let scratch = Scratch::create(kind, &server, &migrate_test_support::scratch_name("mc", test));
        let ident = scratch.ident().to_owned();
        let url = match kind {
            Kind::Postgres => with_query(&server, &format!("options=-c%20search_path%3D{ident}")),
            _ => with_database(&server, &ident),
        };
        Some(Db { kind, url, server, ident, _dir: None, _scratch: Some(scratch) })
    }

    /// Every row of `sql`, each column as text (`None` for NULL).
    pub fn query(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        match self.kind {
            Kind::Sqlite => {
                let conn = rusqlite::Connection::open(&self.ident).expect("open SQLite");
                let mut stmt = conn.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
                let columns = stmt.column_count();
                stmt.query_map([], |row| {
                    (0..columns)
                        .map(|i| {
                            Ok(match row.get_ref(i)? {
                                rusqlite::types::ValueRef::Null => None,
                                rusqlite::types::ValueRef::Integer(n) => Some(n.to_string()),
                                rusqlite::types::ValueRef::Real(f) => Some(f.to_string()),
                                rusqlite::types::ValueRef::Text(t) => Some(String::from_utf8_lossy(t).into_owned()),
                                rusqlite::types::ValueRef::Blob(b) => Some(format!("{b:?}")),
                            })
                        })
                        .collect()
                })
                .unwrap()
                .map(Result::unwrap)
                .collect()
            }
            Kind::Postgres => {
                let url = with_query(&self.server, &format!("options=-c%20search_path%3D{}", self.ident));
                let mut client = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
                client
                    .simple_query(sql)
                    .unwrap_or_else(|e| panic!("{sql}: {e}"))
                    .into_iter()
                    .filter_map(|m| match m {
                        postgres::SimpleQueryMessage::Row(row) => {
                            Some((0..row.len()).map(|i| row.get(i).map(str::to_owned)).collect())
                        }
                        _ => None,
                    })
                    .collect()
            }
            Kind::Mysql => {
                let mut conn = mysql::Conn::new(self.url.as_str()).expect("connect");
                let rows: Vec<mysql::Row> = conn.query(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
                rows.into_iter()
                    .map(|row| {
                        (0..row.len())
                            .map(|i| match row.as_ref(i) {
                                Some(mysql::Value::NULL) | None => None,
                                Some(mysql::Value::Bytes(b)) => Some(String::from_utf8_lossy(b).into_owned()),
                                Some(other) => Some(other.as_sql(true).trim_matches('\'').to_owned()),
                            })
                            .collect()
                    })
                    .collect()
            }
        }
    }

    /// Runs statements that return nothing, reporting a failure instead of panicking.
    pub fn try_exec(&self, sql: &str) -> Result<(), String> {
        match self.kind {
            Kind::Mysql => {
                mysql::Conn::new(self.url.as_str()).and_then(|mut c| c.query_drop(sql)).map_err(|e| e.to_string())
            }
            _ => {
                self.exec(sql);
                Ok(())
            }
        }
    }

    /// Runs statements that return nothing.
    pub fn exec(&self, sql: &str) {
        match self.kind {
            Kind::Sqlite => rusqlite::Connection::open(&self.ident).unwrap().execute_batch(sql).unwrap(),
            Kind::Postgres => {
                let url = with_query(&self.server, &format!("options=-c%20search_path%3D{}", self.ident));
                postgres::Client::connect(&url, postgres::NoTls).unwrap().batch_execute(sql).unwrap()
            }
            Kind::Mysql => mysql::Conn::new(self.url.as_str()).unwrap().query_drop(sql).unwrap(),
        }
    }

    /// The history table, every column but `applied_at` and `duration_ms` (which record when and how fast).
    pub fn history(&self) -> Vec<Vec<Option<String>>> {
        self.query(
            "SELECT version, name, up_checksum, down_checksum, down_sql, state, statements_done, progress_checksum, \
             error FROM _migrate_history ORDER BY version",
        )
    }

    /// The versions recorded, in order.
    pub fn versions(&self) -> Vec<String> {
        self.history().into_iter().map(|r| r[0].clone().unwrap_or_default()).collect()
    }

    /// The tables and views of the test's database, sorted.
    pub fn tables(&self) -> Vec<String> {
        let sql = match self.kind {
            Kind::Sqlite => "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') ORDER BY name".to_owned(),
            Kind::Postgres => format!(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = '{}' ORDER BY table_name",
                self.ident
            ),
            Kind::Mysql => format!(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = '{}' ORDER BY table_name",
                self.ident
            ),
        };
        self.query(&sql).into_iter().map(|r| r[0].clone().unwrap_or_default()).collect()
    }

    /// Feeds `script` to the database's own command-line client (`psql`, `mysql`), or for SQLite to the SQLite
    /// library itself, as an operator would.
    pub fn feed(&self, script: &str) -> Result<(), String> {
        match self.kind {
            Kind::Sqlite => {
                if Command::new("sqlite3").arg("-version").output().is_ok() {
                    let mut cmd = Command::new("sqlite3");
                    return client(cmd.arg(&self.ident), script);
                }
                // Without the sqlite3 shell, the library itself, minus the shell's dot-commands.
                let sql: String = script.lines().filter(|l| !l.starts_with('.')).map(|l| format!("{l}\n")).collect();
                rusqlite::Connection::open(&self.ident).unwrap().execute_batch(&sql).map_err(|e| e.to_string())
            }
            Kind::Postgres => {
                let url = with_query(&self.server, &format!("options=-c%20search_path%3D{}", self.ident));
                client(Command::new("psql").args(["-q", "-X", "-v", "ON_ERROR_STOP=1", "-d", &url]), script)
            }
            Kind::Mysql => {
                let url = url::Url::parse(&self.url).unwrap();
                let mut cmd = Command::new("mysql");
                cmd.arg(format!("--host={}", url.host_str().unwrap_or("127.0.0.1")))
                    .arg(format!("--port={}", url.port().unwrap_or(3306)))
                    .arg(format!("--user={}", url.username()))
                    .arg(&self.ident)
                    .env("MYSQL_PWD", url.password().unwrap_or(""));
                client(&mut cmd, script)
            }
        }
    }
}

fn client(cmd: &mut Command, script: &str) -> Result<(), String> {
    use std::process::Stdio;
    let mut child =
        cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap_or_else(|e| {
            panic!("the database's client {:?} must be installed to run this test: {e}", cmd.get_program())
        });
    child.stdin.take().unwrap().write_all(script.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
    }
}

/// A project directory: the working directory of the process, with its `migrations/` folder.
pub struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    pub fn new() -> Project {
        Project { dir: tempfile::tempdir().expect("temporary directory") }
    }

    /// A project whose `migrations/` is a copy of the repository's fixture `name`.
    pub fn with_fixture(name: &str) -> Project {
        let project = Project::new();
        let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures").join(name);
        copy_dir(&from, &project.migrations());
        project
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn migrations(&self) -> PathBuf {
        self.dir.path().join("migrations")
    }

    /// Writes `migrations/<file>`.
    pub fn write(&self, file: &str, text: &str) -> &Self {
        let path = self.migrations().join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
        self
    }

    /// Removes `migrations/<path>` (a file or a folder).
    pub fn remove(&self, path: &str) {
        let path = self.migrations().join(path);
        if path.is_dir() {
            std::fs::remove_dir_all(path).unwrap();
        } else {
            std::fs::remove_file(path).unwrap();
        }
    }

    /// Runs `migrate` in the project directory against `db` (given as DATABASE_URL).
    pub fn run(&self, db: Option<&Db>, args: &[&str]) -> Run {
        run(self.command(db, args), args)
    }

    /// `migrate` with `args`, ready to run in the project directory against `db`, for a test to add to.
    pub fn command(&self, db: Option<&Db>, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_migrate"));
        cmd.current_dir(self.path()).args(args).env_remove("DATABASE_URL").env("NO_COLOR", "1");
        if let Some(db) = db {
            cmd.env("DATABASE_URL", &db.url);
        }
        cmd
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// What a process did.
pub struct Run {
    pub args: String,
    /// The process id, which names the scratch databases it made (`migrate_test_<pid>_…`).
    pub pid: u32,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs a prepared command.
pub fn run(mut cmd: Command, args: &[&str]) -> Run {
    use std::process::Stdio;
    let child = cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("run migrate");
    let pid = child.id();
    let out = child.wait_with_output().expect("run migrate");
    Run {
        args: args.join(" "),
        pid,
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Waits for every process of a storm; fails the test, with its output, on the first that did not exit 0.
pub fn all_succeed(children: Vec<std::process::Child>, what: &str) {
    for child in children {
        let out = child.wait_with_output().expect("wait for migrate");
        assert!(
            out.status.success(),
            "{what}: a runner failed\nstdout:\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The scratch databases the process of `run` left on the server of `db` (none for SQLite, whose are files).
pub fn scratch_left(db: &Db, run: &Run) -> usize {
    let pattern = format!("migrate\\_test\\_{}\\_%", run.pid);
    let sql = match db.kind {
        Kind::Postgres => format!("SELECT count(*)::text FROM pg_database WHERE datname LIKE '{pattern}'"),
        Kind::Mysql => {
            format!("SELECT CAST(count(*) AS CHAR) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE '{pattern}'")
        }
        Kind::Sqlite => return 0,
    };
    db.query(&sql)[0][0].as_deref().and_then(|n| n.parse().ok()).unwrap_or(0)
}

impl Run {
    /// Asserts the exit code, showing the output if it differs.
    #[track_caller]
    pub fn code(&self, expected: i32) -> &Self {
        assert_eq!(
            self.code, expected,
            "`migrate {}` exited {}\nstdout:\n{}\nstderr:\n{}",
            self.args, self.code, self.stdout, self.stderr
        );
        self
    }

    #[track_caller]
    pub fn ok(&self) -> &Self {
        self.code(0)
    }

    /// Asserts stdout contains each of `needles`.
    #[track_caller]
    pub fn says(&self, needles: &[&str]) -> &Self {
        self.contains("stdout", &self.stdout, needles)
    }

    /// Asserts stderr contains each of `needles`.
    #[track_caller]
    pub fn complains(&self, needles: &[&str]) -> &Self {
        self.contains("stderr", &self.stderr, needles)
    }

    #[track_caller]
    fn contains(&self, stream: &str, text: &str, needles: &[&str]) -> &Self {
        for needle in needles {
            assert!(
                text.contains(needle),
                "`migrate {}`: {stream} lacks {needle:?}\nstdout:\n{}\nstderr:\n{}",
                self.args,
                self.stdout,
                self.stderr
            );
        }
        self
    }

    /// Stdout as JSON.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("`migrate {}`: not JSON ({e}):\n{}", self.args, self.stdout))
    }
}

pub(crate) use migrate_test_support::on_every_backend;

/// A MariaDB server of the test's own, on a free port in a temporary directory, with `options` and, with `tls`, TLS
/// on with a CA and a server certificate (for `localhost`) made for it; stopped when dropped. The server binaries
/// come with the server the MySQL tests use.
pub struct OwnMariadb {
    dir: tempfile::TempDir,
    child: std::process::Child,
    pub port: u16,
}

impl OwnMariadb {
    pub fn start(options: &[&str], tls: bool) -> OwnMariadb {
        use std::process::Command;
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let sh = |script: &str| {
            let out = Command::new("sh").arg("-c").arg(script).current_dir(d).output().unwrap();
            assert!(out.status.success(), "{script}: {}", String::from_utf8_lossy(&out.stderr));
        };
        if tls {
            sh("openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=migrate-test-ca \
            && openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=localhost \
            && printf 'subjectAltName=DNS:localhost\\nbasicConstraints=CA:FALSE\\n' > ext.cnf \
            && openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 \
               -extfile ext.cnf");
        }
        sh(&format!(
            "mariadb-install-db --no-defaults --user=root --datadir={} --auth-root-authentication-method=normal \
             --skip-test-db > install.log 2>&1",
            d.join("data").display()
        ));
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new("mariadbd")
            .current_dir(d)
            .args(["--no-defaults", "--user=root", "--bind-address=127.0.0.1", "--skip-grant-tables"])
            .arg(format!("--datadir={}", d.join("data").display()))
            .arg(format!("--port={port}"))
            .arg(format!("--socket={}", d.join("sock").display()))
            .arg(format!("--pid-file={}", d.join("pid").display()))
            // mariadbd works in its data directory: every path is absolute.
            .arg(format!("--log-error={}", d.join("error.log").display()))
            .args(
                if tls { &["ssl-ca=ca.pem", "ssl-cert=server.pem", "ssl-key=server.key"][..] } else { &[] }.iter().map(
                    |o| {
                        let (option, file) = o.split_once('=').unwrap();
                        format!("--{option}={}", d.join(file).display())
                    },
                ),
            )
            .args(options)
            .spawn()
            .expect("mariadbd");
        OwnMariadb { dir, child, port }
    }

    /// The CA that signed the server's certificate.
    pub fn ca(&self) -> String {
        self.dir.path().join("ca.pem").display().to_string()
    }
}

impl Drop for OwnMariadb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
