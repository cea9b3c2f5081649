//! The replay of real folders through the revision writer (`migrate new --from`'s core), on PostgreSQL (or on
//! SQLite, for a folder given as `sqlite:<path>`): for every
//! revision of each folder given, the schema before and after it (the folder applied up to it), a revision written
//! from one to the other, its up applied to a database at the schema before (it must give the one after) and its
//! down (it must give the one before back). Prints, per folder, how many revisions the writer reproduced and the
//! kinds of change it did not.
//!
//! ```text
//! MIGRATE_TEST_POSTGRES_URL=postgres://postgres@localhost/postgres \
//!     cargo run --example replay --all-features -- path/to/migrations sqlite:path/to/other …
//! ```

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use migrate::client::postgres::{Client, NoTls};
use migrate::schema::generate::{generate, proof_differences};
use migrate::{scan, Backend, Command, Migrator, Revision, ScanOptions, Schema, Target};

fn client(server: &str, database: &str) -> Client {
    let mut config: migrate::client::postgres::Config = server.parse().expect("a PostgreSQL URL");
    config.dbname(database);
    config.connect(NoTls).expect("connect")
}

/// A database the replay works on: a PostgreSQL one on the server, or a SQLite file.
enum Side {
    Postgres(Client),
    Sqlite(migrate::client::rusqlite::Connection),
}

impl Side {
    /// A fresh database `name`.
    fn fresh(server: &str, admin: &mut Client, name: &str, sqlite: bool) -> Side {
        if sqlite {
            let path = std::env::temp_dir().join(format!("{name}.db"));
            let _ = std::fs::remove_file(&path);
            return Side::Sqlite(migrate::client::rusqlite::Connection::open(path).expect("open"));
        }
        admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name}")).expect("drop");
        admin.batch_execute(&format!("CREATE DATABASE {name}")).expect("create");
        Side::Postgres(client(server, name))
    }

    fn backend(&self) -> Backend {
        match self {
            Side::Postgres(_) => Backend::Postgres,
            Side::Sqlite(_) => Backend::Sqlite,
        }
    }

    fn execute(&mut self, sql: &str) -> Result<(), String> {
        match self {
            Side::Postgres(c) => {
                c.batch_execute(sql).map_err(|e| e.as_db_error().map_or(e.to_string(), |d| d.message().to_owned()))
            }
            Side::Sqlite(c) => c.execute_batch(sql).map_err(|e| e.to_string()),
        }
    }

    fn snapshot(&mut self, revisions: &[Revision]) -> Schema {
        match self {
            Side::Postgres(c) => Migrator::new(revisions).snapshot(c),
            Side::Sqlite(c) => Migrator::new(revisions).snapshot(c),
        }
        .expect("snapshot")
    }

    fn upgrade_to(&mut self, revisions: &[Revision], version: &str) -> Result<(), String> {
        let target = Command::Upgrade(Target::Revision(version.to_owned().into()));
        match self {
            Side::Postgres(c) => Migrator::new(revisions).run(c, &target),
            Side::Sqlite(c) => Migrator::new(revisions).run(c, &target),
        }
        .map(|_| ())
        .map_err(|e| e.to_string())
    }
}

/// The kind of object a difference is about: `column`, `index`, `function`, …
fn kind(object: &str) -> String {
    object.split(' ').next().unwrap_or_default().to_owned()
}

fn main() {
    let server = std::env::var("MIGRATE_TEST_POSTGRES_URL").expect("MIGRATE_TEST_POSTGRES_URL");
    let mut admin: Client =
        server.parse::<migrate::client::postgres::Config>().unwrap().connect(NoTls).expect("connect");
    println!("| folder | revisions | reproduced | not reproduced | what was not, by kind |");
    println!("|---|---|---|---|---|");
    for arg in std::env::args().skip(1) {
        let started = Instant::now();
        let (sqlite, dir) = match arg.strip_prefix("sqlite:") {
            Some(dir) => (true, dir.to_owned()),
            None => (false, arg.clone()),
        };
        let scanned = scan(Path::new(&dir), &ScanOptions::default().allow_empty_down(true));
        let revisions = scanned.revisions;
        let (a_name, b_name) = (format!("replay_a_{}", std::process::id()), format!("replay_b_{}", std::process::id()));
        let mut a = Side::fresh(&server, &mut admin, &a_name, sqlite);
        let mut b = Side::fresh(&server, &mut admin, &b_name, sqlite);
        let backend = a.backend();
        let (mut passed, mut failed) = (0, 0);
        let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
        let count = |kinds: &mut BTreeMap<String, usize>, what: String| *kinds.entry(what).or_default() += 1;
        let mut before = a.snapshot(&revisions);
        let mut applied = 0;
        for revision in &revisions {
            if let Err(err) = a.upgrade_to(&revisions, revision.version()) {
                eprintln!("{dir}: {} does not apply on {backend}, the replay stops: {err}", revision.folder());
                break;
            }
            applied += 1;
            let after = a.snapshot(&revisions);
            let mut ok = true;
            match generate(&before, &after, backend, &[]) {
                Err(err) => {
                    ok = false;
                    count(&mut kinds, format!("refused: {err}"));
                }
                Ok(generated) => {
                    for (sql, want, step) in [(&generated.up, &after, "up"), (&generated.down, &before, "down")] {
                        if !ok {
                            break;
                        }
                        if let Err(first) = b.execute(sql) {
                            ok = false;
                            let words: Vec<&str> = first.split_whitespace().take(4).collect();
                            count(&mut kinds, format!("{step} fails: {}…", words.join(" ")));
                            eprintln!("{dir}: {}: the generated {step} fails: {first}", revision.folder());
                            continue;
                        }
                        let wrong = proof_differences(want, &b.snapshot(&revisions));
                        if !wrong.is_empty() {
                            ok = false;
                            for d in &wrong {
                                count(&mut kinds, format!("{step}: {}", kind(&d.object)));
                            }
                            eprintln!("{dir}: {}: the generated {step} differs: {:?}", revision.folder(), wrong);
                        }
                    }
                }
            }
            if ok {
                passed += 1;
                // B is back at the schema before: bring it to the one after with the revision itself.
                b.upgrade_to(&revisions, revision.version()).expect("the revision applies where it did on A");
            } else {
                failed += 1;
                // B is wherever the failed step left it: made anew at the revision.
                drop(b);
                b = Side::fresh(&server, &mut admin, &b_name, sqlite);
                b.upgrade_to(&revisions, revision.version()).expect("the folder applies up to the revision");
            }
            before = after;
        }
        drop((a, b));
        if sqlite {
            for name in [&a_name, &b_name] {
                let _ = std::fs::remove_file(std::env::temp_dir().join(format!("{name}.db")));
            }
        } else {
            for name in [&a_name, &b_name] {
                admin.batch_execute(&format!("DROP DATABASE {name}")).expect("drop");
            }
        }
        let what: Vec<String> = kinds.iter().map(|(k, n)| format!("{k} ({n})")).collect();
        let name = format!("{} ({backend})", dir.trim_start_matches("/tmp/corpus/"));
        println!(
            "| {name} | {applied} of {} | {passed} | {failed} | {} |",
            revisions.len(),
            if what.is_empty() { "—".to_owned() } else { what.join("; ") }
        );
        eprintln!("{dir}: {:.1} s", started.elapsed().as_secs_f64());
    }
}
