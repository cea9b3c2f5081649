//! The outage a schema migration causes, reproduced: readers query a table without pause while a long transaction
//! holds it, and a revision alters it. The `ALTER TABLE` waits for the transaction, and every reader queues behind
//! the `ALTER TABLE`. Without the guard (no lock timeout, no retries) the readers stall for as long as the blocker
//! lasts; with it (the defaults: 2 s per try, tried again for 30 s) they stall at most about one lock timeout at a
//! time, and the revision applies once the blocker ends. Prints, per backend and mode, the readers' worst stall,
//! their p99 latency, and how the revision went.
//!
//! ```sh
//! MIGRATE_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1/postgres \
//! MIGRATE_TEST_MYSQL_URL=mysql://root@127.0.0.1/test \
//!   cargo run --release --example stall            # -- <seconds the blocker lasts, default 8>
//! ```
//!
//! SQLite is left out: its migration lock is the database's write lock, taken before a revision runs.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use migrate::testing::{self, TestDatabase};
use migrate::{Backend, Migrator, ScanOptions};

const READERS: usize = 4;

/// One trial: the readers' latencies over the trial, and what the upgrade said.
struct Trial {
    latencies: Vec<Duration>,
    took: Duration,
    outcome: String,
}

fn trial(backend: Backend, guard: bool, blocker_lasts: Duration) -> Trial {
    let folder = tempfile::tempdir().unwrap();
    let write = |file: &str, text: &str| {
        let path = folder.path().join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write("0001_accounts/up.sql", "CREATE TABLE accounts (id INT PRIMARY KEY, n INT NOT NULL);");
    write("0001_accounts/down.sql", "DROP TABLE accounts;");
    write("0002_email/up.sql", "ALTER TABLE accounts ADD COLUMN email VARCHAR(100);");
    write("0002_email/down.sql", "ALTER TABLE accounts DROP COLUMN email;");
    let revisions = migrate::scan(folder.path(), &ScanOptions::default()).revisions;
    let mut db = TestDatabase::empty(backend).expect("not skipped");
    Migrator::new(&revisions[..1]).upgrade(&mut db).unwrap();
    let values: Vec<String> = (1..=1000).map(|i| format!("({i}, {i})")).collect();
    db.execute(&format!("INSERT INTO accounts VALUES {}", values.join(", ")));

    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let readers: Vec<_> = (0..READERS)
            .map(|r| {
                let mut conn = db.connect();
                let stop = &stop;
                scope.spawn(move || {
                    let mut latencies = Vec::new();
                    let mut id = r;
                    while !stop.load(Ordering::Relaxed) {
                        id = id % 1000 + 1;
                        let started = Instant::now();
                        conn.rows(&format!("SELECT n FROM accounts WHERE id = {id}"));
                        latencies.push(started.elapsed());
                    }
                    latencies
                })
            })
            .collect();
        // The blocker: a transaction that read the table and stays open.
        let mut blocker = db.connect();
        let begin = if backend == Backend::Postgres { "BEGIN" } else { "START TRANSACTION" };
        blocker.execute(&format!("{begin}; SELECT count(*) FROM accounts"));
        let blocking = scope.spawn(move || {
            std::thread::sleep(blocker_lasts);
            blocker.execute("COMMIT");
        });
        std::thread::sleep(Duration::from_millis(300));
        let migrator = match guard {
            true => Migrator::new(&revisions),
            false => Migrator::new(&revisions).lock_timeout(None).lock_retry(Duration::ZERO),
        };
        let mut conn = db.connect();
        let started = Instant::now();
        let outcome = match migrator.upgrade(&mut conn) {
            Ok(report) => match report.steps[0].tries {
                1 => "applied at the first try".to_owned(),
                tries => format!("applied at try {tries}"),
            },
            Err(err) => format!("failed: {}", err.to_string().lines().next().unwrap_or_default()),
        };
        let took = started.elapsed();
        blocking.join().unwrap();
        // A little after, so the readers' queue has drained.
        std::thread::sleep(Duration::from_millis(300));
        stop.store(true, Ordering::Relaxed);
        let latencies = readers.into_iter().flat_map(|r| r.join().unwrap()).collect();
        Trial { latencies, took, outcome }
    })
}

fn main() {
    let blocker_lasts = Duration::from_secs_f64(std::env::args().nth(1).map_or(8.0, |s| s.parse().expect("seconds")));
    println!(
        "{READERS} readers, a transaction holding the table for {:.0} s, a revision adding a column:",
        blocker_lasts.as_secs_f64()
    );
    println!("| backend | guard | readers' worst stall | stalled per reader | readers' p99 | queries | the revision |");
    println!("|---|---|---|---|---|---|---|");
    for backend in [Backend::Postgres, Backend::Mysql] {
        if testing::server_url(backend).is_none() {
            println!(
                "| {backend} | skipped: {} is not set | | | | | |",
                testing::url_var(backend).unwrap_or("its URL")
            );
            continue;
        }
        for guard in [false, true] {
            let Trial { mut latencies, took, outcome } = trial(backend, guard, blocker_lasts);
            latencies.sort();
            let worst = latencies.last().copied().unwrap_or_default();
            let p99 = latencies[latencies.len() * 99 / 100];
            // Time spent in queries that waited (over 50 ms), per reader.
            let stalled: Duration = latencies.iter().filter(|l| **l > Duration::from_millis(50)).sum();
            println!(
                "| {backend} | {} | {:.2} s | {:.2} s | {:.1} ms | {} | {outcome} in {:.1} s |",
                if guard { "on (2 s, retried)" } else { "off" },
                worst.as_secs_f64(),
                stalled.as_secs_f64() / READERS as f64,
                p99.as_secs_f64() * 1e3,
                latencies.len(),
                took.as_secs_f64()
            );
        }
    }
}
