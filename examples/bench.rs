//! Prints the performance figures docs/performance.md quotes, each comparison side by side in one run, rounds alternating
//! which side goes first:
//!
//! 1. On SQLite (a file), and on PostgreSQL and MySQL when `MIGRATE_TEST_POSTGRES_URL` / `MIGRATE_TEST_MYSQL_URL` are
//!    set (a scratch schema or database per side, dropped afterwards), at 1,000 and 10,000 generated revisions:
//!    applying them all, a start-up with nothing pending, and reverting them all, against a plain client that sends
//!    one round trip per revision (the revision, its history write and the commit in one batch) and, for the
//!    start-up, reads each version and up checksum in one query and compares them with the list.
//! 2. Building a binary that embeds 1,000 and 10,000 revisions with `migrations!()` against the same binary
//!    embedding the files by hand with `include_str!` (release, dependencies already built): the crate alone, the
//!    rebuild after editing one file, and the stripped binary's size; and how long the macro's binary takes to
//!    decode its embedded list on first use.
//! 3. Applying the revisions on PostgreSQL and MySQL with the lock guard (the default lock timeout, set in round
//!    trips that already go) and without it (`lock_timeout(None)`): the guard must cost no round trip.
//! 4. Building the crate of part 2 with `migrations!("migrations", lint)` and without, alternating (medians of 9),
//!    and the lint of the same revisions in this process.
//!
//! ```text
//! cargo run --release --example bench                      # everything (about 15 minutes with both servers)
//! cargo run --release --example bench -- runs 1000         # start, apply and revert, at the sizes given
//! cargo run --release --example bench -- start 1000 10000  # only the start-up with nothing pending
//! cargo run --release --example bench -- build 1000        # only the build figures
//! cargo run --release --example bench -- guard 1000        # only the guard's cost
//! cargo run --release --example bench -- lint 1000         # only the lint's cost to the build
//! ```

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use migrate::testing::Connection as Conn;
use migrate::{Backend, Migrator, Revision, Script, ScriptKind};
use mysql::prelude::Queryable;

/// Seconds a server is left idle before each timed phase where nothing says when it is idle (see [`settle`]), and
/// at most.
const SETTLE_SECS: u64 = 1;
const SETTLE_MAX_SECS: u64 = 120;

/// Start-ups timed per side, alternating.
const STARTS: usize = 50;

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

fn folder_name(i: usize) -> String {
    format!("{i:05}_table_{i}")
}

fn revisions(n: usize) -> Vec<Revision> {
    (0..n)
        .map(|i| {
            let up = Script::new_owned("up.sql".into(), None, up_sql(i), ScriptKind::Sql, true);
            let down = Script::new_owned("down.sql".into(), None, down_sql(i), ScriptKind::Sql, true);
            Revision::new_owned(format!("{i:05}"), format!("table_{i}"), folder_name(i), vec![up], vec![down])
        })
        .collect()
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// What a careful hand-written start-up reads: each version and up checksum, in one query.
fn versions_and_checksums(conn: &mut Conn) -> Vec<(String, String)> {
    let sql = "SELECT version, up_checksum FROM _migrate_history ORDER BY version";
    match conn {
        Conn::Sqlite(c) => {
            let mut stmt = c.prepare_cached(sql).unwrap();
            stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?))).unwrap().map(Result::unwrap).collect()
        }
        Conn::Postgres(c) => c.query(sql, &[]).unwrap().iter().map(|row| (row.get(0), row.get(1))).collect(),
        Conn::Mysql(c) => c.query(sql).unwrap(),
        _ => unreachable!("the bench connects to SQLite, PostgreSQL and MySQL only"),
    }
}

/// SQL text as a string literal (the plain client inlines its history values so each revision is one batch).
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

const HISTORY_DDL: &str = "CREATE TABLE history (version VARCHAR(64) PRIMARY KEY NOT NULL, name TEXT NOT NULL, \
     up_checksum CHAR(64) NOT NULL, down_checksum CHAR(64), down_sql TEXT, applied_at VARCHAR(32) NOT NULL, \
     duration_ms BIGINT NOT NULL, state VARCHAR(16) NOT NULL, statements_done BIGINT NOT NULL DEFAULT 0, \
     progress_checksum CHAR(64), error TEXT)";

/// The plain client: each revision, its history insert and the commit in one batch (one round trip).
fn plain_apply(conn: &mut Conn, revisions: &[Revision]) {
    let backend = conn.backend();
    let begin = if backend == Backend::Mysql { "START TRANSACTION" } else { "BEGIN" };
    conn.execute(HISTORY_DDL);
    for r in revisions {
        let (up, down) = (r.up(backend), r.down(backend));
        conn.execute(&format!(
            "{begin};\n{}\nINSERT INTO history (version, name, up_checksum, down_checksum, down_sql, applied_at, \
             duration_ms, state) VALUES ({}, {}, '{}', '{}', {}, '2024-01-01T00:00:00Z', 0, 'applied');\nCOMMIT",
            up.sql(),
            literal(r.version()),
            literal(r.name()),
            up.checksum(),
            down.checksum(),
            literal(down.sql()),
        ));
    }
}

/// The plain client's revert: newest first, each down, its history delete and the commit in one batch.
fn plain_revert(conn: &mut Conn, revisions: &[Revision]) {
    let backend = conn.backend();
    let begin = if backend == Backend::Mysql { "START TRANSACTION" } else { "BEGIN" };
    for r in revisions.iter().rev() {
        let down = r.down(backend);
        let version = literal(r.version());
        conn.execute(&format!("{begin};\n{}\nDELETE FROM history WHERE version = {version};\nCOMMIT", down.sql()));
    }
}

/// Where each side of a backend's comparison gets a fresh, empty database.
enum Place {
    Sqlite(PathBuf),
    Postgres(String),
    Mysql(String),
}

impl Place {
    fn name(&self) -> &'static str {
        match self {
            Place::Sqlite(_) => "SQLite",
            Place::Postgres(_) => "PostgreSQL",
            Place::Mysql(_) => "MySQL",
        }
    }

    /// A fresh database called `name` (a file, a schema or a database).
    fn fresh(&self, name: &str) -> Conn {
        match self {
            Place::Sqlite(dir) => {
                let path = dir.join(format!("{name}.db"));
                for suffix in ["", "-journal", "-wal", "-shm", "-migrate-lock"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
                Conn::Sqlite(rusqlite::Connection::open(path).unwrap())
            }
            Place::Postgres(url) => {
                let mut config: postgres::Config = url.parse().unwrap();
                config.options(&format!("-c search_path={name}"));
                let mut client = config.connect(postgres::NoTls).unwrap();
                client.batch_execute(&format!("DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}")).unwrap();
                Conn::Postgres(Box::new(client))
            }
            Place::Mysql(url) => {
                let mut admin = mysql::Conn::new(url.as_str()).unwrap();
                admin.query_drop(format!("DROP DATABASE IF EXISTS {name}; CREATE DATABASE {name}")).unwrap();
                let opts = mysql::OptsBuilder::from_opts(mysql::Opts::from_url(url).unwrap()).db_name(Some(name));
                Conn::Mysql(Box::new(mysql::Conn::new(opts).unwrap()))
            }
        }
    }

    /// Drops what [`Place::fresh`] made (empty again by then: both sides revert everything).
    fn drop_db(&self, conn: &mut Conn, name: &str) {
        match (self, conn) {
            (Place::Sqlite(dir), _) => drop(std::fs::remove_file(dir.join(format!("{name}.db")))),
            (Place::Postgres(_), conn) => conn.execute(&format!("DROP SCHEMA {name} CASCADE")),
            (Place::Mysql(_), conn) => conn.execute(&format!("DROP DATABASE {name}")),
        }
    }
}

/// Medians of one comparison: ours, the plain client's.
struct Pair {
    ours: Duration,
    plain: Duration,
}

impl Pair {
    fn of(ours: Vec<Duration>, plain: Vec<Duration>) -> Pair {
        Pair { ours: median(ours), plain: median(plain) }
    }

    fn ratio(&self) -> f64 {
        self.ours.as_secs_f64() / self.plain.as_secs_f64()
    }
}

/// Start-ups with nothing pending on a migrated database, alternating with the plain client's read-and-compare.
fn start_ups(migrator: &Migrator<'_>, conn: &mut Conn) -> Pair {
    let backend = conn.backend();
    let revisions = migrator.core().revisions();
    let (mut ours, mut plain) = (Vec::new(), Vec::new());
    for _ in 0..STARTS {
        let started = Instant::now();
        assert!(migrator.upgrade(conn).unwrap().is_empty());
        ours.push(started.elapsed());
        let started = Instant::now();
        let rows = versions_and_checksums(conn);
        let same = rows.len() == revisions.len()
            && rows
                .iter()
                .zip(revisions)
                .all(|((v, c), r)| *v == r.version() && *c == r.up(backend).checksum().to_hex());
        assert!(same, "the plain client reads the same history");
        plain.push(started.elapsed());
    }
    Pair::of(ours, plain)
}

/// One line of the summary.
struct Row {
    backend: &'static str,
    n: usize,
    start: Pair,
    apply: Option<Pair>,
    revert: Option<Pair>,
}

/// Lets a server finish the background work the previous phase left before the next timed phase, so neither side
/// pays for the other's: on MySQL/MariaDB until InnoDB has purged the old row versions (its history list is empty,
/// which took seconds after applying 1,000 revisions, and made the revert that followed up to 1.4× slower), and a
/// fixed pause on PostgreSQL (autovacuum).
fn settle(place: &Place, conn: &mut Conn) {
    let started = Instant::now();
    match (place, conn) {
        (Place::Sqlite(_), _) => {}
        (Place::Mysql(_), Conn::Mysql(client)) => {
            const PURGE: &str = "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS \
                                 WHERE VARIABLE_NAME = 'INNODB_HISTORY_LIST_LENGTH'";
            while started.elapsed() < Duration::from_secs(SETTLE_MAX_SECS) {
                match client.query_first::<String, _>(PURGE) {
                    Ok(Some(length)) if length.trim() != "0" => std::thread::sleep(Duration::from_millis(100)),
                    // Purged, or a server without this figure (MySQL 8): a fixed pause.
                    Ok(Some(_)) => break,
                    _ => {
                        std::thread::sleep(Duration::from_secs(SETTLE_SECS));
                        break;
                    }
                }
            }
        }
        _ => std::thread::sleep(Duration::from_secs(SETTLE_SECS)),
    }
}

/// Apply, start-up and revert at `n` revisions on `place`, both sides, `rounds` rounds (start-ups in the first).
fn runs(place: &Place, n: usize, rounds: usize, start_only: bool) -> Row {
    let revisions = revisions(n);
    let migrator = Migrator::new(&revisions);
    let name = place.name();
    if start_only {
        let mut conn = place.fresh("bench_start");
        migrator.upgrade(&mut conn).unwrap();
        let start = start_ups(&migrator, &mut conn);
        migrator.downgrade_to(&mut conn, "base").unwrap();
        place.drop_db(&mut conn, "bench_start");
        return Row { backend: name, n, start, apply: None, revert: None };
    }
    let (mut apply, mut revert) = ((Vec::new(), Vec::new()), (Vec::new(), Vec::new()));
    let mut start = None;
    for round in 0..rounds {
        let order = if round % 2 == 0 { [true, false] } else { [false, true] };
        for ours in order {
            let db = if ours { "bench_ours" } else { "bench_plain" };
            let mut conn = place.fresh(db);
            settle(place, &mut conn);
            let started = Instant::now();
            if ours {
                assert_eq!(migrator.upgrade(&mut conn).unwrap().steps.len(), n);
                apply.0.push(started.elapsed());
                if start.is_none() {
                    start = Some(start_ups(&migrator, &mut conn));
                }
            } else {
                plain_apply(&mut conn, &revisions);
                apply.1.push(started.elapsed());
            }
            settle(place, &mut conn);
            let started = Instant::now();
            if ours {
                assert_eq!(migrator.downgrade_to(&mut conn, "base").unwrap().steps.len(), n);
                revert.0.push(started.elapsed());
            } else {
                plain_revert(&mut conn, &revisions);
                revert.1.push(started.elapsed());
            }
            place.drop_db(&mut conn, db);
        }
    }
    let row = Row {
        backend: name,
        n,
        start: start.expect("one round at least"),
        apply: Some(Pair::of(apply.0, apply.1)),
        revert: Some(Pair::of(revert.0, revert.1)),
    };
    print_row(&row, rounds);
    row
}

fn print_row(row: &Row, rounds: usize) {
    let Row { backend, n, start, apply, revert } = row;
    println!("{backend}, {n} revisions:");
    println!(
        "  start-up, nothing pending  migrate {:>9.2} ms  plain {:>9.2} ms  {:.3}x  (medians of {STARTS})",
        ms(start.ours),
        ms(start.plain),
        start.ratio()
    );
    for (what, pair) in [("apply all", apply), ("revert all", revert)] {
        if let Some(pair) = pair {
            println!(
                "  {what:<26} migrate {:>9.1} ms  plain {:>9.1} ms  {:.3}x  (medians of {rounds})",
                ms(pair.ours),
                ms(pair.plain),
                pair.ratio()
            );
        }
    }
}

fn places(dir: &Path) -> Vec<Place> {
    let mut places = vec![Place::Sqlite(dir.to_owned())];
    match std::env::var("MIGRATE_TEST_POSTGRES_URL") {
        Ok(url) => places.push(Place::Postgres(url)),
        Err(_) => println!("PostgreSQL: skipped, MIGRATE_TEST_POSTGRES_URL is not set"),
    }
    match std::env::var("MIGRATE_TEST_MYSQL_URL") {
        Ok(url) => places.push(Place::Mysql(url)),
        Err(_) => println!("MySQL: skipped, MIGRATE_TEST_MYSQL_URL is not set"),
    }
    places
}

fn bench_runs(dir: &Path, sizes: &[usize], start_only: bool) {
    let mut rows = Vec::new();
    for place in places(dir) {
        for &n in sizes {
            // Fewer rounds where one takes minutes (10,000 revisions on a server).
            let rounds = if n >= 10_000 && !matches!(place, Place::Sqlite(_)) { 1 } else { 3 };
            let row = runs(&place, n, rounds, start_only);
            if start_only {
                print_row(&row, 0);
            }
            rows.push(row);
        }
    }
    println!("\n| backend | revisions | start-up, nothing pending | apply all | revert all |");
    println!("|---|---|---|---|---|");
    let cell = |pair: &Option<Pair>| {
        pair.as_ref()
            .map_or("".to_owned(), |p| format!("{:.0} / {:.0} ms = **{:.2}×**", ms(p.ours), ms(p.plain), p.ratio()))
    };
    for row in &rows {
        println!(
            "| {} | {} | {:.2} / {:.2} ms = **{:.2}×** | {} | {} |",
            row.backend,
            row.n,
            ms(row.start.ours),
            ms(row.start.plain),
            row.start.ratio(),
            cell(&row.apply),
            cell(&row.revert)
        );
    }
}

/// Applying `n` revisions with the lock guard (the default lock timeout, set in the revision's own round trip) and
/// without it (`lock_timeout(None)`, as before the guard existed), rounds alternating which goes first: the guard
/// must cost no round trip.
fn bench_guard(dir: &Path, sizes: &[usize]) {
    println!("| backend | revisions | apply all: guard on / off |");
    println!("|---|---|---|");
    for place in places(dir) {
        if matches!(place, Place::Sqlite(_)) {
            // Nothing is set on SQLite: its write lock is the migration lock.
            continue;
        }
        for &n in sizes {
            let revisions = revisions(n);
            let (mut on, mut off) = (Vec::new(), Vec::new());
            for round in 0..3 {
                let order = if round % 2 == 0 { [true, false] } else { [false, true] };
                for guard in order {
                    let mut conn = place.fresh("bench_guard");
                    settle(&place, &mut conn);
                    let migrator = match guard {
                        true => Migrator::new(&revisions),
                        false => Migrator::new(&revisions).lock_timeout(None),
                    };
                    let started = Instant::now();
                    assert_eq!(migrator.upgrade(&mut conn).unwrap().steps.len(), n);
                    if guard { &mut on } else { &mut off }.push(started.elapsed());
                    place.drop_db(&mut conn, "bench_guard");
                }
            }
            let pair = Pair::of(on, off);
            println!(
                "| {} | {n} | {:.0} / {:.0} ms = **{:.2}×** (medians of 3) |",
                place.name(),
                ms(pair.ours),
                ms(pair.plain),
                pair.ratio()
            );
        }
    }
}

/// Writes a binary crate `name` in `dir` that embeds `n` revisions, with `migrations!()` or by hand.
fn write_crate(dir: &Path, name: &str, n: usize, by_hand: bool) -> PathBuf {
    let krate = dir.join(name);
    let migrations = krate.join("migrations");
    let _ = std::fs::remove_dir_all(&krate);
    for i in 0..n {
        let folder = migrations.join(folder_name(i));
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(folder.join("up.sql"), up_sql(i)).unwrap();
        std::fs::write(folder.join("down.sql"), down_sql(i)).unwrap();
    }
    std::fs::create_dir_all(krate.join("src")).unwrap();
    let facade = env!("CARGO_MANIFEST_DIR");
    std::fs::write(
        krate.join("Cargo.toml"),
        format!(
            "[package]\nname = \"{name}\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\n[dependencies]\n\
             migrate = {{ path = {facade:?} }}\nrusqlite = \"0.37\"\n\n[profile.release]\nstrip = true\n\n[workspace]\n"
        ),
    )
    .unwrap();
    // The workspace's lock file, so both crates build against the dependencies already compiled.
    std::fs::copy(Path::new(facade).join("Cargo.lock"), krate.join("Cargo.lock")).unwrap();
    let main = if by_hand {
        let mut files = String::new();
        for i in 0..n {
            let f = folder_name(i);
            files.push_str(&format!(
                "    (\"{f}\", include_str!(\"../migrations/{f}/up.sql\"), include_str!(\"../migrations/{f}/down.sql\")),\n"
            ));
        }
        format!(
            "//! Embeds the revisions by hand.\nuse migrate::{{Migrator, Revision, Script, ScriptKind}};\n\n\
             static FILES: &[(&str, &str, &str)] = &[\n{files}];\n\n\
             fn main() {{\n    let revisions: Vec<Revision> = FILES\n        .iter()\n        .map(|(folder, up, down)| {{\n\
             \x20           let (version, name) = folder.split_once('_').unwrap();\n\
             \x20           let up = Script::new_owned(\"up.sql\".into(), None, up.to_string(), ScriptKind::Sql, true);\n\
             \x20           let down = Script::new_owned(\"down.sql\".into(), None, down.to_string(), ScriptKind::Sql, true);\n\
             \x20           Revision::new_owned(version.into(), name.into(), folder.to_string(), vec![up], vec![down])\n\
             \x20       }})\n        .collect();\n\
             \x20   let mut conn = rusqlite::Connection::open_in_memory().unwrap();\n\
             \x20   let report = Migrator::new(&revisions).upgrade(&mut conn).unwrap();\n\
             \x20   println!(\"{{}}\", report.steps.len());\n}}\n"
        )
    } else {
        "//! Embeds the revisions with migrations!().\n\
         static MIGRATIONS: migrate::Migrations = migrate::migrations!(\"migrations\");\n\n\
         fn main() {\n    let started = std::time::Instant::now();\n    let decoded = MIGRATIONS.revisions().len();\n\
         \x20   eprintln!(\"{} {}\", decoded, started.elapsed().as_nanos());\n\
         \x20   let mut conn = rusqlite::Connection::open_in_memory().unwrap();\n\
         \x20   let report = MIGRATIONS.upgrade(&mut conn).unwrap();\n    println!(\"{}\", report.steps.len());\n}\n"
            .to_owned()
    };
    std::fs::write(krate.join("src/main.rs"), main).unwrap();
    krate
}

/// Builds `krate` (release) in the shared `target`, returning how long it took.
fn cargo(krate: &Path, target: &Path, args: &[&str]) -> Duration {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let started = Instant::now();
    let status = Command::new(cargo)
        .args(args)
        .args(["--release", "--quiet", "--manifest-path"])
        .arg(krate.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", target)
        .status()
        .unwrap();
    assert!(status.success(), "cargo {args:?} on {} failed", krate.display());
    started.elapsed()
}

/// The crate alone (dependencies built), the rebuild after one edit, the stripped binary's size, that it runs, and
/// what it printed on stderr (the macro's binary: how long decoding the embedded list took, in nanoseconds).
fn build_figures(krate: &Path, target: &Path, name: &str, n: usize) -> (Duration, Duration, u64, String) {
    cargo(krate, target, &["build"]);
    cargo(krate, target, &["clean", "-p", name]);
    let full = cargo(krate, target, &["build"]);
    let edited = krate.join("migrations").join(folder_name(n / 2)).join("up.sql");
    std::fs::write(&edited, format!("{}-- edited\n", up_sql(n / 2))).unwrap();
    let rebuild = cargo(krate, target, &["build"]);
    let binary = target.join("release").join(name);
    let size = std::fs::metadata(&binary).unwrap().len();
    let out = Command::new(&binary).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), n.to_string(), "{name} applies its {n} revisions");
    (full, rebuild, size, String::from_utf8_lossy(&out.stderr).into_owned())
}

fn bench_build(dir: &Path, sizes: &[usize]) {
    let target = dir.join("build-target");
    println!(
        "\n| revisions | the crate alone: macro / by hand | rebuild after one edit | stripped binary | decoding the list |"
    );
    println!("|---|---|---|---|---|");
    for &n in sizes {
        let ours = write_crate(dir, &format!("embed{n}"), n, false);
        let hand = write_crate(dir, &format!("hand{n}"), n, true);
        let (of, or, os, decode) = build_figures(&ours, &target, &format!("embed{n}"), n);
        let (hf, hr, hs, _) = build_figures(&hand, &target, &format!("hand{n}"), n);
        let decode: Vec<&str> = decode.split_whitespace().collect();
        assert_eq!(decode.first().copied(), Some(n.to_string().as_str()), "embed{n} decodes its {n} revisions");
        let decode_ms = decode[1].parse::<f64>().expect("nanoseconds") / 1e6;
        println!(
            "| {n} | {:.2} / {:.2} s = **{:.2}×** | {:.2} / {:.2} s = **{:.2}×** | {:.2} / {:.2} MB = **{:.2}×** | {decode_ms:.3} ms |",
            of.as_secs_f64(),
            hf.as_secs_f64(),
            of.as_secs_f64() / hf.as_secs_f64(),
            or.as_secs_f64(),
            hr.as_secs_f64(),
            or.as_secs_f64() / hr.as_secs_f64(),
            os as f64 / 1e6,
            hs as f64 / 1e6,
            os as f64 / hs as f64
        );
    }
}

/// The crate alone built with `migrations!("migrations", lint)` and without, alternating, medians of `rounds`.
fn bench_lint(dir: &Path, sizes: &[usize], rounds: usize) {
    let target = dir.join("build-target");
    println!("\n| revisions | the crate alone: lint on / off | the lint itself, in process (release) |");
    println!("|---|---|---|");
    for &n in sizes {
        let off = write_crate(dir, &format!("lintoff{n}"), n, false);
        let on = write_crate(dir, &format!("linton{n}"), n, false);
        let main = std::fs::read_to_string(on.join("src/main.rs")).unwrap();
        std::fs::write(
            on.join("src/main.rs"),
            main.replace(r#"migrations!("migrations")"#, r#"migrations!("migrations", lint)"#),
        )
        .unwrap();
        let (mut with, mut without) = (Vec::new(), Vec::new());
        // Dependencies first, outside the figures.
        cargo(&on, &target, &["build"]);
        cargo(&off, &target, &["build"]);
        for _ in 0..rounds {
            for (krate, name, times) in
                [(&on, format!("linton{n}"), &mut with), (&off, format!("lintoff{n}"), &mut without)]
            {
                cargo(krate, &target, &["clean", "-p", &name]);
                times.push(cargo(krate, &target, &["build"]));
            }
        }
        let revisions = revisions(n);
        let options = migrate_core::lint::LintOptions::default();
        let lint_time = median(
            (0..rounds)
                .map(|_| {
                    let started = Instant::now();
                    let findings = migrate_core::lint::lint(&revisions, &options);
                    assert!(findings.is_empty(), "the bench's revisions are safe: {findings:?}");
                    started.elapsed()
                })
                .collect(),
        );
        let (with, without) = (median(with), median(without));
        println!(
            "| {n} | {:.2} / {:.2} s = **{:.3}×** | {:.1} ms |",
            with.as_secs_f64(),
            without.as_secs_f64(),
            with.as_secs_f64() / without.as_secs_f64(),
            ms(lint_time)
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let which = args.first().map(String::as_str).unwrap_or("all");
    let mut sizes: Vec<usize> = args.iter().skip(1).map(|s| s.parse().expect("a number of revisions")).collect();
    if sizes.is_empty() {
        sizes = vec![1_000, 10_000];
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target").join("bench");
    std::fs::create_dir_all(&dir).unwrap();
    match which {
        "start" => bench_runs(&dir, &sizes, true),
        "runs" => bench_runs(&dir, &sizes, false),
        "build" => bench_build(&dir, &sizes),
        "guard" => bench_guard(&dir, &sizes),
        "lint" => bench_lint(&dir, &sizes, 9),
        "all" => {
            bench_runs(&dir, &sizes, false);
            bench_build(&dir, &sizes);
        }
        other => panic!("unknown part {other:?}: start, runs, build, guard, lint or all"),
    }
}
