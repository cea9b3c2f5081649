//! The figures of `--fleet` (docs/performance.md): a folder of 20 revisions applied from empty to 1,000 PostgreSQL
//! schemas (one database), 200 MariaDB databases and 1,000 SQLite files, by `migrate --fleet … upgrade` with
//! `--jobs` 1, 4 and 16, and by a shell loop of `migrate upgrade` (one process per tenant, as a deploy script
//! would), in one run. Every tenant is checked at head after each side; the tenants are made anew for each.
//!
//! The `migrate` binary is the one built beside this example (`cargo build --release -p migrate-cli` first, for the
//! release figures). PostgreSQL and MySQL run when `MIGRATE_TEST_POSTGRES_URL` / `MIGRATE_TEST_MYSQL_URL` are set.
//!
//! ```text
//! cargo build --release -p migrate-cli && cargo run --release --all-features --example fleet
//! cargo run --release --all-features --example fleet -- 100 20 100   # PostgreSQL schemas, MySQL databases, files
//! FLEET_BENCH_REVERSE=1 cargo run … -- 0 200 0                       # MySQL only, sides in the other order
//! ```

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use migrate::client::mysql::prelude::Queryable;

const REVISIONS: usize = 20;

/// The folder: odd revisions create a table, even ones add a column and an index to it (the downs, in MySQL's
/// dialect, are not run here).
fn folder(dir: &Path) {
    for k in 1..=REVISIONS {
        let (up, down) = if k % 2 == 1 {
            (format!("CREATE TABLE t{k} (id INT PRIMARY KEY, name VARCHAR(50));\n"), format!("DROP TABLE t{k};\n"))
        } else {
            let t = k - 1;
            (
                format!("ALTER TABLE t{t} ADD COLUMN c{k} VARCHAR(20);\nCREATE INDEX i{k} ON t{t} (c{k});\n"),
                format!("DROP INDEX i{k} ON t{t};\nALTER TABLE t{t} DROP COLUMN c{k};\n"),
            )
        };
        let revision = dir.join(format!("{k:04}_r{k}"));
        std::fs::create_dir_all(&revision).unwrap();
        std::fs::write(revision.join("up.sql"), up).unwrap();
        std::fs::write(revision.join("down.sql"), down).unwrap();
    }
}

/// The `migrate` binary built beside this example.
fn binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let bin = exe.parent().and_then(Path::parent).unwrap().join("migrate");
    assert!(
        bin.exists(),
        "{} is not built: cargo build -p migrate-cli (with --release for release figures)",
        bin.display()
    );
    bin
}

/// One backend's tenants: made empty, listed for the loop and as a fleet, and counted at head.
trait Tenants {
    fn name(&self) -> String;
    /// Makes the tenants anew, empty.
    fn make(&mut self);
    /// One database URL per tenant, for the loop.
    fn urls(&self) -> Vec<String>;
    /// The `--fleet` arguments naming them all.
    fn fleet(&self) -> Vec<String>;
    /// How many tenants have every revision applied.
    fn at_head(&mut self) -> usize;
    fn drop_all(&mut self);
}

struct Postgres {
    server: String,
    count: usize,
}

impl Postgres {
    fn database(&self) -> String {
        let mut url = url_with_path(&self.server, "/fleet_bench");
        url.push_str(if url.contains('?') { "&" } else { "?" });
        url
    }

    fn admin(&self, database: &str) -> migrate::client::postgres::Client {
        let mut config: migrate::client::postgres::Config = self.server.parse().unwrap();
        config.dbname(database);
        config.connect(migrate::client::postgres::NoTls).unwrap()
    }
}

/// `server` with its path (the database) replaced by `path`, its query kept.
fn url_with_path(server: &str, path: &str) -> String {
    let (scheme, rest) = server.split_once("://").expect("a URL");
    let host_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let query = rest.find('?').map_or("", |q| &rest[q..]);
    format!("{scheme}://{}{path}{query}", &rest[..host_end])
}

impl Tenants for Postgres {
    fn name(&self) -> String {
        format!("PostgreSQL, {} schemas of one database", self.count)
    }

    fn make(&mut self) {
        self.drop_all();
        self.admin("postgres").batch_execute("CREATE DATABASE fleet_bench").unwrap();
        let schemas: String = (0..self.count).map(|i| format!("CREATE SCHEMA s{i:04};")).collect();
        self.admin("fleet_bench").batch_execute(&schemas).unwrap();
    }

    fn urls(&self) -> Vec<String> {
        (0..self.count).map(|i| format!("{}options=-c%20search_path%3Ds{i:04}", self.database())).collect()
    }

    fn fleet(&self) -> Vec<String> {
        let database = self.database();
        vec!["--fleet".into(), database.trim_end_matches(['?', '&']).to_owned(), "--schemas".into(), "s*".into()]
    }

    fn at_head(&mut self) -> usize {
        let sql = format!(
            "SELECT count(*) FROM information_schema.columns WHERE table_name = 't{}' AND column_name = 'c{REVISIONS}'",
            REVISIONS - 1
        );
        let n: i64 = self.admin("fleet_bench").query_one(&sql, &[]).unwrap().get(0);
        n as usize
    }

    fn drop_all(&mut self) {
        self.admin("postgres").batch_execute("DROP DATABASE IF EXISTS fleet_bench WITH (FORCE)").unwrap();
    }
}

struct Mysql {
    server: String,
    count: usize,
}

impl Mysql {
    fn admin(&self) -> migrate::client::mysql::Conn {
        migrate::client::mysql::Conn::new(self.server.as_str()).unwrap()
    }

    fn names(&self) -> Vec<String> {
        (0..self.count).map(|i| format!("fleet_bench_{i:03}")).collect()
    }
}

impl Tenants for Mysql {
    fn name(&self) -> String {
        format!("MariaDB, {} databases", self.count)
    }

    fn make(&mut self) {
        self.drop_all();
        let mut admin = self.admin();
        for name in self.names() {
            admin.query_drop(format!("CREATE DATABASE {name}")).unwrap();
        }
    }

    fn urls(&self) -> Vec<String> {
        self.names().iter().map(|n| url_with_path(&self.server, &format!("/{n}"))).collect()
    }

    fn fleet(&self) -> Vec<String> {
        vec!["--fleet".into(), url_with_path(&self.server, "/fleet_bench_*")]
    }

    fn at_head(&mut self) -> usize {
        let sql = format!(
            "SELECT count(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA LIKE 'fleet\\_bench\\_%' \
             AND TABLE_NAME = 't{}' AND COLUMN_NAME = 'c{REVISIONS}'",
            REVISIONS - 1
        );
        self.admin().query_first::<usize, _>(sql).unwrap().unwrap_or(0)
    }

    fn drop_all(&mut self) {
        let mut admin = self.admin();
        let names: Vec<String> = admin.query("SHOW DATABASES LIKE 'fleet\\_bench\\_%'").unwrap();
        for name in names {
            admin.query_drop(format!("DROP DATABASE {name}")).unwrap();
        }
    }
}

struct Sqlite {
    dir: PathBuf,
    count: usize,
}

impl Tenants for Sqlite {
    fn name(&self) -> String {
        format!("SQLite, {} files", self.count)
    }

    fn make(&mut self) {
        self.drop_all();
        std::fs::create_dir_all(&self.dir).unwrap();
        for i in 0..self.count {
            migrate::client::rusqlite::Connection::open(self.dir.join(format!("t{i:04}.db"))).unwrap();
        }
    }

    fn urls(&self) -> Vec<String> {
        (0..self.count).map(|i| format!("sqlite:{}", self.dir.join(format!("t{i:04}.db")).display())).collect()
    }

    fn fleet(&self) -> Vec<String> {
        vec!["--fleet".into(), format!("sqlite:{}/*.db", self.dir.display())]
    }

    fn at_head(&mut self) -> usize {
        (0..self.count)
            .filter(|i| {
                let conn = migrate::client::rusqlite::Connection::open(self.dir.join(format!("t{i:04}.db"))).unwrap();
                let sql =
                    format!("SELECT count(*) FROM pragma_table_info('t{}') WHERE name = 'c{REVISIONS}'", REVISIONS - 1);
                conn.query_row(&sql, [], |r| r.get::<_, i64>(0)).unwrap_or(0) == 1
            })
            .count()
    }

    fn drop_all(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Times one side on freshly made tenants and checks every tenant reached head.
fn side(tenants: &mut dyn Tenants, bin: &Path, dir: &Path, jobs: Option<usize>) -> f64 {
    tenants.make();
    let started = Instant::now();
    match jobs {
        None => {
            for url in tenants.urls() {
                let status = Command::new(bin)
                    .args(["--dir", &dir.to_string_lossy(), "--database-url", &url, "--format", "json", "upgrade"])
                    .stdout(std::process::Stdio::null())
                    .status()
                    .unwrap();
                assert!(status.success(), "migrate upgrade failed on {url}");
            }
        }
        Some(jobs) => {
            let status = Command::new(bin)
                .args(["--dir", &dir.to_string_lossy(), "--format", "json", "--jobs", &jobs.to_string()])
                .args(tenants.fleet())
                .arg("upgrade")
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()
                .unwrap();
            assert!(status.success(), "the fleet failed");
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let count = tenants.urls().len();
    assert_eq!(tenants.at_head(), count, "{}: not every tenant reached head", tenants.name());
    seconds
}

fn main() {
    let counts: Vec<usize> = std::env::args().skip(1).map(|a| a.parse().expect("a number of tenants")).collect();
    let count = |i: usize, default: usize| counts.get(i).copied().unwrap_or(default);
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("migrations");
    folder(&dir);
    let bin = binary();
    let mut sets: Vec<Box<dyn Tenants>> = Vec::new();
    // A count of 0 leaves that backend out.
    if let (Ok(server), n @ 1..) = (std::env::var("MIGRATE_TEST_POSTGRES_URL"), count(0, 1000)) {
        sets.push(Box::new(Postgres { server, count: n }));
    }
    if let (Ok(server), n @ 1..) = (std::env::var("MIGRATE_TEST_MYSQL_URL"), count(1, 200)) {
        sets.push(Box::new(Mysql { server, count: n }));
    }
    if let n @ 1.. = count(2, 1000) {
        sets.push(Box::new(Sqlite { dir: work.path().join("tenants"), count: n }));
    }
    // FLEET_BENCH_REVERSE=1 runs the sides in the other order, to see what the order does to a server.
    let mut sides = [None, Some(1), Some(4), Some(16)];
    if std::env::var_os("FLEET_BENCH_REVERSE").is_some() {
        sides.reverse();
    }
    println!(
        "{REVISIONS} revisions from empty, every tenant checked at head after each side; seconds (tenants per second)"
    );
    println!();
    println!("| tenants | shell loop of `migrate upgrade` | `--fleet --jobs 1` | `--jobs 4` | `--jobs 16` | loop ÷ jobs 16 |");
    println!("|---|---|---|---|---|---|");
    for tenants in &mut sets {
        let n = tenants.urls().len() as f64;
        let mut timed: Vec<(Option<usize>, f64)> =
            sides.iter().map(|&jobs| (jobs, side(tenants.as_mut(), &bin, &dir, jobs))).collect();
        timed.sort_by_key(|(jobs, _)| *jobs);
        let cells: Vec<f64> = timed.into_iter().map(|(_, seconds)| seconds).collect();
        let shown: Vec<String> = cells.iter().map(|s| format!("{s:.1} ({:.0}/s)", n / s)).collect();
        println!("| {} | {} | {:.1}× |", tenants.name(), shown.join(" | "), cells[0] / cells[3]);
        tenants.drop_all();
    }
}
