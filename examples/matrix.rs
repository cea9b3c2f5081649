//! The round trip of a folder (up, down, up per revision, schemas compared) on SQLite, PostgreSQL and MySQL, each
//! backend named in the output, with what it cost: the trip itself, and a fresh migrated database made by migrating
//! an empty one or by copying a migrated template.
//!
//! ```sh
//! cargo run --example matrix                         # examples/migrations, SQLite only
//! MIGRATE_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1/postgres \
//! MIGRATE_TEST_MYSQL_URL=mysql://root@127.0.0.1/test \
//!   cargo run --release --example matrix -- tests/fixtures/accounts
//! ```

use std::time::{Duration, Instant};

use migrate::{Database, Migrator, Revision, ScanOptions};
use mysql::prelude::Queryable;

const TRIALS: usize = 5;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

/// One backend: how to make an empty database, a copy of a template, and drop one.
trait Backend {
    fn name(&self) -> &'static str;
    fn create(&mut self, name: &str) -> Box<dyn Conn>;
    fn clone_from(&mut self, template: &str, name: &str) -> Option<Box<dyn Conn>>;
    fn drop_db(&mut self, name: &str);
}

/// `Database` is not object-safe (its method is generic): what this example does with one, object-safe.
trait Conn {
    fn round_trip(&mut self, m: &Migrator<'_>) -> Result<migrate::RoundTrip, migrate::Error>;
    fn upgrade(&mut self, m: &Migrator<'_>) -> Result<(), migrate::Error>;
}

impl<D: Database> Conn for D {
    fn round_trip(&mut self, m: &Migrator<'_>) -> Result<migrate::RoundTrip, migrate::Error> {
        m.round_trip(self)
    }
    fn upgrade(&mut self, m: &Migrator<'_>) -> Result<(), migrate::Error> {
        m.upgrade(self).map(|_| ())
    }
}

struct Sqlite {
    dir: tempfile::TempDir,
}

impl Backend for Sqlite {
    fn name(&self) -> &'static str {
        "sqlite"
    }
    fn create(&mut self, name: &str) -> Box<dyn Conn> {
        Box::new(rusqlite::Connection::open(self.dir.path().join(name)).unwrap())
    }
    fn clone_from(&mut self, template: &str, name: &str) -> Option<Box<dyn Conn>> {
        std::fs::copy(self.dir.path().join(template), self.dir.path().join(name)).unwrap();
        Some(self.create(name))
    }
    fn drop_db(&mut self, name: &str) {
        let _ = std::fs::remove_file(self.dir.path().join(name));
    }
}

struct Postgres {
    url: String,
    admin: postgres::Client,
}

impl Postgres {
    fn connect(&self, name: &str) -> Box<dyn Conn> {
        let mut config: postgres::Config = self.url.parse().unwrap();
        config.dbname(name);
        Box::new(config.connect(postgres::NoTls).unwrap())
    }
}

impl Backend for Postgres {
    fn name(&self) -> &'static str {
        "postgres"
    }
    fn create(&mut self, name: &str) -> Box<dyn Conn> {
        self.admin.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
        self.connect(name)
    }
    fn clone_from(&mut self, template: &str, name: &str) -> Option<Box<dyn Conn>> {
        self.admin.batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {template}")).unwrap();
        Some(self.connect(name))
    }
    fn drop_db(&mut self, name: &str) {
        let _ = self.admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
    }
}

struct Mysql {
    url: String,
    admin: mysql::Conn,
}

impl Backend for Mysql {
    fn name(&self) -> &'static str {
        "mysql"
    }
    fn create(&mut self, name: &str) -> Box<dyn Conn> {
        self.admin.query_drop(format!("CREATE DATABASE {name}")).unwrap();
        let opts = mysql::OptsBuilder::from_opts(mysql::Opts::from_url(&self.url).unwrap()).db_name(Some(name));
        Box::new(mysql::Conn::new(opts).unwrap())
    }
    fn clone_from(&mut self, _template: &str, _name: &str) -> Option<Box<dyn Conn>> {
        None // no template databases on MySQL
    }
    fn drop_db(&mut self, name: &str) {
        let _ = self.admin.query_drop(format!("DROP DATABASE IF EXISTS {name}"));
    }
}

fn measure(backend: &mut dyn Backend, revisions: &[Revision]) {
    let migrator = Migrator::new(revisions);
    let tag = std::process::id();
    let name = backend.name();
    // The round trip, on a fresh database each time.
    let mut trips = Vec::new();
    for n in 0..TRIALS {
        let db = format!("matrix_trip_{tag}_{n}");
        let mut conn = backend.create(&db);
        let started = Instant::now();
        let trip = conn.round_trip(&migrator).unwrap();
        trips.push(started.elapsed());
        drop(conn);
        backend.drop_db(&db);
        if n == 0 {
            let failed = trip.failure.as_ref().map_or_else(|| "passed".to_owned(), |f| f.sentences().join("; "));
            println!("{name}: round trip of {} revision(s): {failed}", revisions.len());
        }
    }
    println!("{name}: round trip {} (median of {TRIALS})", ms(median(trips)));
    // A fresh migrated database: migrate an empty one, or copy a migrated template.
    let template = format!("matrix_tpl_{tag}");
    let mut conn = backend.create(&template);
    conn.upgrade(&migrator).unwrap();
    drop(conn);
    let (mut migrated, mut cloned) = (Vec::new(), Vec::new());
    for n in 0..TRIALS {
        let db = format!("matrix_fresh_{tag}_{n}");
        let started = Instant::now();
        let mut conn = backend.create(&db);
        conn.upgrade(&migrator).unwrap();
        migrated.push(started.elapsed());
        drop(conn);
        backend.drop_db(&db);
        let started = Instant::now();
        if let Some(conn) = backend.clone_from(&template, &db) {
            cloned.push(started.elapsed());
            drop(conn);
            backend.drop_db(&db);
        }
    }
    let copy = if cloned.is_empty() { "no template on this backend".to_owned() } else { ms(median(cloned)) };
    println!("{name}: fresh migrated database: migrate an empty one {}, copy a template {copy}", ms(median(migrated)));
    backend.drop_db(&template);
}

fn main() {
    let dir = std::env::args().nth(1).unwrap_or_else(|| "examples/migrations".to_owned());
    let scanned = migrate::scan(std::path::Path::new(&dir), &ScanOptions::default());
    assert!(scanned.problems.is_empty(), "{dir}: {:?}", scanned.problems);
    let revisions = scanned.revisions;
    println!("folder {dir}: {} revision(s)", revisions.len());
    measure(&mut Sqlite { dir: tempfile::tempdir().unwrap() }, &revisions);
    match std::env::var("MIGRATE_TEST_POSTGRES_URL") {
        Ok(url) => {
            let admin = postgres::Client::connect(&url, postgres::NoTls).unwrap();
            measure(&mut Postgres { url, admin }, &revisions);
        }
        Err(_) => println!("postgres: skipped, MIGRATE_TEST_POSTGRES_URL is not set"),
    }
    match std::env::var("MIGRATE_TEST_MYSQL_URL") {
        Ok(url) => {
            let admin = mysql::Conn::new(url.as_str()).unwrap();
            measure(&mut Mysql { url, admin }, &revisions);
        }
        Err(_) => println!("mysql: skipped, MIGRATE_TEST_MYSQL_URL is not set"),
    }
}
