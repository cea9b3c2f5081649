//! Prints the performance figures the README quotes, measured side by side in one run:
//!
//! 1. applying 1,000 generated revisions to an empty SQLite file, against the same SQL run directly through
//!    rusqlite with one transaction and one history insert per revision;
//! 2. a start-up with nothing pending: statements sent and time taken;
//! 3. building a crate that embeds 1,000 revisions (release), and rebuilding it after editing one file;
//! 4. with `MIGRATE_TEST_POSTGRES_URL` / `MIGRATE_TEST_MYSQL_URL` set, the first two on PostgreSQL and MySQL, each in
//!    a scratch schema or database of its own (dropped afterwards).
//!
//! ```text
//! cargo run --release --example bench            # everything
//! cargo run --release --example bench -- apply   # all but the build figures
//! cargo run --release --example bench -- start   # only the start-up with nothing pending
//! ```

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use migrate::{Migrator, Revision, Script, ScriptKind};

const REVISIONS: usize = 1000;
const ROUNDS: usize = 5;

fn up_sql(i: usize) -> String {
    format!(
        "CREATE TABLE t{i} (id INTEGER NOT NULL PRIMARY KEY, name VARCHAR(100) NOT NULL, created_at VARCHAR(32));\n\
         CREATE INDEX t{i}_name ON t{i} (name);\n\
         INSERT INTO t{i} (id, name, created_at) VALUES (1, 'first', '2024-01-01');\n"
    )
}

fn down_sql(i: usize) -> String {
    format!("DROP TABLE t{i};\n")
}

fn revisions() -> Vec<Revision> {
    (0..REVISIONS)
        .map(|i| {
            let up = Script::new_owned("up.sql".into(), None, up_sql(i), ScriptKind::Sql, true);
            let down = Script::new_owned("down.sql".into(), None, down_sql(i), ScriptKind::Sql, true);
            Revision::new_owned(
                format!("{i:05}"),
                format!("table_{i}"),
                format!("{i:05}_table_{i}"),
                vec![up],
                vec![down],
            )
        })
        .collect()
}

/// The baseline: what a hand-written loop over rusqlite would do.
fn apply_raw(conn: &mut rusqlite::Connection, revisions: &[Revision]) {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS history (version TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL, \
         up_checksum TEXT NOT NULL, down_checksum TEXT, down_sql TEXT, applied_at TEXT NOT NULL, \
         duration_ms INTEGER NOT NULL, state TEXT NOT NULL, statements_done INTEGER NOT NULL DEFAULT 0, \
         progress_checksum TEXT, error TEXT)",
    )
    .unwrap();
    for r in revisions {
        let started = Instant::now();
        let tx = conn.transaction().unwrap();
        let up = r.up(migrate::Backend::Sqlite);
        tx.execute_batch(up.sql()).unwrap();
        let down = r.down(migrate::Backend::Sqlite);
        tx.prepare_cached(
            "INSERT INTO history (version, name, up_checksum, down_checksum, down_sql, applied_at, duration_ms, state) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'applied')",
        )
        .unwrap()
        .execute(rusqlite::params![
            r.version(),
            r.name(),
            up.checksum().to_hex(),
            down.checksum().to_hex(),
            down.sql(),
            "2024-01-01T00:00:00.000Z",
            started.elapsed().as_millis() as i64
        ])
        .unwrap();
        tx.commit().unwrap();
    }
}

fn fresh(dir: &Path, name: &str) -> rusqlite::Connection {
    let path = dir.join(name);
    for suffix in ["", "-journal", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    rusqlite::Connection::open(path).unwrap()
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

static STATEMENTS: AtomicUsize = AtomicUsize::new(0);

fn count(_: rusqlite::trace::TraceEvent<'_>) {
    STATEMENTS.fetch_add(1, Ordering::Relaxed);
}

fn bench_apply(dir: &Path) {
    let revisions = revisions();
    let migrator = Migrator::new(&revisions);
    let (mut ours, mut raw) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        // Alternate which goes first so drift in the machine's speed hits both alike.
        let order: [bool; 2] = if round % 2 == 0 { [true, false] } else { [false, true] };
        for is_ours in order {
            let mut conn = fresh(dir, if is_ours { "ours.db" } else { "raw.db" });
            let started = Instant::now();
            if is_ours {
                assert_eq!(migrator.upgrade(&mut conn).unwrap().steps.len(), REVISIONS);
                ours.push(started.elapsed());
            } else {
                apply_raw(&mut conn, &revisions);
                raw.push(started.elapsed());
            }
        }
    }
    let (ours, raw) = (median(ours), median(raw));
    println!("apply {REVISIONS} revisions to an empty SQLite file (median of {ROUNDS}):");
    println!("  migrate          {:>9.1} ms", ours.as_secs_f64() * 1e3);
    println!("  plain rusqlite   {:>9.1} ms", raw.as_secs_f64() * 1e3);
    println!("  ratio            {:>9.3}x   (goal: at most 1.05x)", ours.as_secs_f64() / raw.as_secs_f64());

    let mut conn = rusqlite::Connection::open(dir.join("ours.db")).unwrap();
    conn.trace_v2(rusqlite::trace::TraceEventCodes::SQLITE_TRACE_STMT, Some(count));
    STATEMENTS.store(0, Ordering::Relaxed);
    assert!(migrator.upgrade(&mut conn).unwrap().is_empty());
    conn.trace_v2(rusqlite::trace::TraceEventCodes::empty(), None);
    println!("start-up with nothing pending sends {} statement(s)", STATEMENTS.load(Ordering::Relaxed));
    idle_start_up("SQLite", &migrator, &mut conn, |conn| {
        let mut stmt =
            conn.prepare_cached("SELECT version, up_checksum FROM _migrate_history ORDER BY version").unwrap();
        stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?))).unwrap().map(Result::unwrap).collect()
    });
}

/// The start-up with nothing pending alone, on each backend whose URL is set, against the plain client.
fn bench_start(dir: &Path) {
    use mysql::prelude::Queryable;
    let revisions = revisions();
    let migrator = Migrator::new(&revisions);
    let mut conn = fresh(dir, "start.db");
    idle_start_up("SQLite", &migrator, &mut conn, |conn| {
        let mut stmt =
            conn.prepare_cached("SELECT version, up_checksum FROM _migrate_history ORDER BY version").unwrap();
        stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?))).unwrap().map(Result::unwrap).collect()
    });
    if let Ok(url) = std::env::var("MIGRATE_TEST_POSTGRES_URL") {
        let mut config: postgres::Config = url.parse().unwrap();
        config.options("-c search_path=bench_start");
        let mut client = config.connect(postgres::NoTls).unwrap();
        client.batch_execute("DROP SCHEMA IF EXISTS bench_start CASCADE; CREATE SCHEMA bench_start").unwrap();
        idle_start_up("PostgreSQL", &migrator, &mut client, |client| {
            let sql = "SELECT version, up_checksum FROM _migrate_history ORDER BY version";
            client.query(sql, &[]).unwrap().iter().map(|row| (row.get(0), row.get(1))).collect()
        });
        client.batch_execute("DROP SCHEMA bench_start CASCADE").unwrap();
    }
    if let Ok(url) = std::env::var("MIGRATE_TEST_MYSQL_URL") {
        let mut admin = mysql::Conn::new(url.as_str()).unwrap();
        admin.query_drop("DROP DATABASE IF EXISTS bench_start").unwrap();
        admin.query_drop("CREATE DATABASE bench_start").unwrap();
        let opts = mysql::OptsBuilder::from_opts(mysql::Opts::from_url(&url).unwrap()).db_name(Some("bench_start"));
        let mut conn = mysql::Conn::new(opts).unwrap();
        idle_start_up("MySQL", &migrator, &mut conn, |conn| {
            conn.query("SELECT version, up_checksum FROM _migrate_history ORDER BY version").unwrap()
        });
        admin.query_drop("DROP DATABASE bench_start").unwrap();
    }
}

fn bench_build(dir: &Path) {
    let krate = dir.join("embed1000");
    let migrations = krate.join("migrations");
    let _ = std::fs::remove_dir_all(&migrations);
    for i in 0..REVISIONS {
        let folder = migrations.join(format!("{i:05}_table_{i}"));
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(folder.join("up.sql"), up_sql(i)).unwrap();
        std::fs::write(folder.join("down.sql"), down_sql(i)).unwrap();
    }
    std::fs::create_dir_all(krate.join("src")).unwrap();
    let facade = env!("CARGO_MANIFEST_DIR");
    std::fs::write(
        krate.join("Cargo.toml"),
        format!(
            "[package]\nname = \"embed1000\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\n[dependencies]\n\
             migrate = {{ path = {facade:?} }}\n\n[workspace]\n"
        ),
    )
    .unwrap();
    std::fs::write(
        krate.join("src/lib.rs"),
        "//! Embeds 1,000 revisions.\nmigrate::migrations!(pub mod schema = \"migrations\");\n",
    )
    .unwrap();
    let target = dir.join("embed1000-target");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let build = |what: &str| {
        let started = Instant::now();
        let status = Command::new(&cargo)
            .args(["build", "--release", "--quiet", "--manifest-path"])
            .arg(krate.join("Cargo.toml"))
            .env("CARGO_TARGET_DIR", &target)
            .status()
            .unwrap();
        assert!(status.success(), "building the 1,000-revision crate failed ({what})");
        started.elapsed()
    };
    build("dependencies");
    let clean = Command::new(&cargo)
        .args(["clean", "--release", "--quiet", "-p", "embed1000", "--manifest-path"])
        .arg(krate.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", &target)
        .status()
        .unwrap();
    assert!(clean.success());
    let full = build("the crate itself");
    let edited = migrations.join("00500_table_500/up.sql");
    std::fs::write(&edited, format!("{}-- edited\n", up_sql(500))).unwrap();
    let rebuild = build("after editing one file");
    println!("build a crate embedding {REVISIONS} revisions (release, dependencies already built):");
    println!("  the crate itself {:>9.2} s   (goal: under 1.5 s)", full.as_secs_f64());
    println!("  after one edit   {:>9.2} s   (goal: under 1 s)", rebuild.as_secs_f64());
}

/// Runs `ours` and `raw` alternately for `rounds` rounds on fresh databases from `fresh`, and prints the medians.
fn compare<D>(
    what: &str,
    rounds: usize,
    mut fresh: impl FnMut(bool) -> D,
    mut ours: impl FnMut(&mut D),
    mut raw: impl FnMut(&mut D),
) {
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let order: [bool; 2] = if round % 2 == 0 { [true, false] } else { [false, true] };
        for is_ours in order {
            let mut db = fresh(is_ours);
            let started = Instant::now();
            if is_ours {
                ours(&mut db);
                a.push(started.elapsed());
            } else {
                raw(&mut db);
                b.push(started.elapsed());
            }
        }
    }
    let (a, b) = (median(a), median(b));
    println!("{what} (median of {rounds}):");
    println!("  migrate          {:>9.1} ms", a.as_secs_f64() * 1e3);
    println!("  plain client     {:>9.1} ms", b.as_secs_f64() * 1e3);
    println!("  ratio            {:>9.3}x", a.as_secs_f64() / b.as_secs_f64());
}

const HISTORY_DDL: &str = "CREATE TABLE history (version VARCHAR(64) PRIMARY KEY NOT NULL, name TEXT NOT NULL, \
     up_checksum CHAR(64) NOT NULL, down_checksum CHAR(64), down_sql TEXT, applied_at VARCHAR(32) NOT NULL, \
     duration_ms BIGINT NOT NULL, state VARCHAR(16) NOT NULL, statements_done BIGINT NOT NULL DEFAULT 0, \
     progress_checksum CHAR(64), error TEXT)";

/// Applies everything once, then times 50 start-ups that find nothing pending.
/// A start-up with nothing pending, against a plain client that reads each version and up checksum in one query
/// and compares them with the list (what a careful hand-written start-up does), alternating, medians of 50 each.
fn idle_start_up<D: migrate::Database>(
    name: &str,
    migrator: &Migrator<'_>,
    db: &mut D,
    mut plain: impl FnMut(&mut D) -> Vec<(String, String)>,
) {
    migrator.upgrade(db).unwrap();
    let backend = db.with_driver(|d| d.backend());
    let (mut ours, mut raw) = (Vec::new(), Vec::new());
    for _ in 0..50 {
        let started = Instant::now();
        assert!(migrator.upgrade(db).unwrap().is_empty());
        ours.push(started.elapsed());
        let started = Instant::now();
        let rows = plain(db);
        let revisions = migrator.core().revisions();
        let same = rows.len() == revisions.len()
            && rows
                .iter()
                .zip(revisions)
                .all(|((v, c), r)| *v == r.version() && *c == r.up(backend).checksum().to_hex());
        assert!(same, "the plain client reads the same history");
        raw.push(started.elapsed());
    }
    let (ours, raw) = (median(ours), median(raw));
    println!("{name} start-up with nothing pending ({} applied, medians of 50):", migrator.core().revisions().len());
    println!("  migrate          {:>9.2} ms", ours.as_secs_f64() * 1e3);
    println!("  plain client     {:>9.2} ms   (one query of versions and checksums)", raw.as_secs_f64() * 1e3);
    println!("  ratio            {:>9.3}x   (goal: at most 1.1x)", ours.as_secs_f64() / raw.as_secs_f64());
}

fn bench_postgres(url: &str, revisions: &[Revision]) {
    let connect = |schema: &str| {
        let mut config: postgres::Config = url.parse().unwrap();
        config.options(&format!("-c search_path={schema}"));
        let mut client = config.connect(postgres::NoTls).unwrap();
        client.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}")).unwrap();
        client
    };
    let migrator = Migrator::new(revisions);
    compare(
        &format!("apply {} revisions to an empty PostgreSQL schema", revisions.len()),
        ROUNDS,
        |ours| connect(if ours { "bench_ours" } else { "bench_raw" }),
        |client| assert_eq!(migrator.upgrade(client).unwrap().steps.len(), revisions.len()),
        |client| {
            client.batch_execute(HISTORY_DDL).unwrap();
            let insert = client
                .prepare(
                    "INSERT INTO history (version, name, up_checksum, down_checksum, down_sql, applied_at, \
                     duration_ms, state) VALUES ($1, $2, $3, $4, $5, $6, $7, 'applied')",
                )
                .unwrap();
            for r in revisions {
                let started = Instant::now();
                let mut tx = client.transaction().unwrap();
                let (up, down) = (r.up(migrate::Backend::Postgres), r.down(migrate::Backend::Postgres));
                tx.batch_execute(up.sql()).unwrap();
                let ms = started.elapsed().as_millis() as i64;
                tx.execute(
                    &insert,
                    &[
                        &r.version(),
                        &r.name(),
                        &up.checksum().to_hex(),
                        &down.checksum().to_hex(),
                        &down.sql(),
                        &"now",
                        &ms,
                    ],
                )
                .unwrap();
                tx.commit().unwrap();
            }
        },
    );
    let mut client = connect("bench_idle");
    idle_start_up("PostgreSQL", &migrator, &mut client, |client| {
        let sql = "SELECT version, up_checksum FROM _migrate_history ORDER BY version";
        client.query(sql, &[]).unwrap().iter().map(|row| (row.get(0), row.get(1))).collect()
    });
    for schema in ["bench_ours", "bench_raw", "bench_idle"] {
        // One at a time: each drops a thousand tables, and their locks must fit in the lock table.
        client.batch_execute(&format!("DROP SCHEMA {schema} CASCADE")).unwrap();
    }
}

fn bench_mysql(url: &str, revisions: &[Revision]) {
    use mysql::prelude::Queryable;
    let connect = |db: &str| {
        let mut admin = mysql::Conn::new(url).unwrap();
        admin.query_drop(format!("DROP DATABASE IF EXISTS {db}")).unwrap();
        admin.query_drop(format!("CREATE DATABASE {db}")).unwrap();
        let opts = mysql::OptsBuilder::from_opts(mysql::Opts::from_url(url).unwrap()).db_name(Some(db));
        mysql::Conn::new(opts).unwrap()
    };
    let migrator = Migrator::new(revisions);
    compare(
        &format!("apply {} revisions to an empty MySQL database", revisions.len()),
        ROUNDS,
        |ours| connect(if ours { "bench_ours" } else { "bench_raw" }),
        |conn| assert_eq!(migrator.upgrade(conn).unwrap().steps.len(), revisions.len()),
        |conn| {
            conn.query_drop(HISTORY_DDL).unwrap();
            for r in revisions {
                let started = Instant::now();
                let (up, down) = (r.up(migrate::Backend::Mysql), r.down(migrate::Backend::Mysql));
                conn.query_drop("START TRANSACTION").unwrap();
                for statement in migrate::sql::split(up.sql(), migrate::Backend::Mysql) {
                    conn.query_drop(statement.text).unwrap();
                }
                let ms = started.elapsed().as_millis() as i64;
                conn.exec_drop(
                    "INSERT INTO history (version, name, up_checksum, down_checksum, down_sql, applied_at, \
                     duration_ms, state) VALUES (?, ?, ?, ?, ?, ?, ?, 'applied')",
                    (r.version(), r.name(), up.checksum().to_hex(), down.checksum().to_hex(), down.sql(), "now", ms),
                )
                .unwrap();
                conn.query_drop("COMMIT").unwrap();
            }
        },
    );
    let mut conn = connect("bench_idle");
    idle_start_up("MySQL", &migrator, &mut conn, |conn| {
        conn.query("SELECT version, up_checksum FROM _migrate_history ORDER BY version").unwrap()
    });
    for db in ["bench_ours", "bench_raw", "bench_idle"] {
        conn.query_drop(format!("DROP DATABASE {db}")).unwrap();
    }
}

fn main() {
    let which = std::env::args().nth(1).unwrap_or_default();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target").join("bench");
    std::fs::create_dir_all(&dir).unwrap();
    if which == "start" {
        // Only the start-up with nothing pending, on every backend whose URL is set.
        return bench_start(&dir);
    }
    bench_apply(&dir);
    let revisions = revisions();
    if let Ok(url) = std::env::var("MIGRATE_TEST_POSTGRES_URL") {
        bench_postgres(&url, &revisions);
    }
    if let Ok(url) = std::env::var("MIGRATE_TEST_MYSQL_URL") {
        bench_mysql(&url, &revisions);
    }
    if which != "apply" {
        bench_build(&dir);
    }
}
