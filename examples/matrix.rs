//! The round trip of a folder (up, down, up per revision, schemas compared) on SQLite, PostgreSQL and MySQL, through
//! `migrate::testing` as a user's tests run it, each backend named in the output, with what it cost: the trip
//! itself, and a fresh migrated database for a test, made by migrating an empty one or by copying the template.
//!
//! ```sh
//! cargo run --example matrix                         # examples/migrations, SQLite only
//! MIGRATE_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1/postgres \
//! MIGRATE_TEST_MYSQL_URL=mysql://root@127.0.0.1/test \
//!   cargo run --release --example matrix -- tests/fixtures/accounts
//! ```

use std::time::{Duration, Instant};

use migrate::testing::{self, TestDatabase};
use migrate::{Backend, Migrator, ScanOptions};

const TRIALS: usize = 5;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

/// Times `make` (a new database) and dropping what it made, `TRIALS` times: the medians.
fn fresh(mut make: impl FnMut() -> TestDatabase) -> (Duration, Duration) {
    let (mut made, mut dropped) = (Vec::new(), Vec::new());
    for _ in 0..TRIALS {
        let started = Instant::now();
        let db = make();
        made.push(started.elapsed());
        let started = Instant::now();
        drop(db);
        dropped.push(started.elapsed());
    }
    (median(made), median(dropped))
}

fn measure(backend: Backend, migrator: &Migrator<'_>) {
    if testing::server_url(backend).is_none() {
        println!("{backend}: skipped, {} is not set", testing::url_var(backend).unwrap_or("its URL"));
        return;
    }
    let count = migrator.core().revisions().len();
    let mut trips = Vec::new();
    for n in 0..TRIALS {
        let mut db = TestDatabase::empty(backend).expect("not skipped");
        let started = Instant::now();
        let trip = migrator.round_trip(&mut db).unwrap();
        trips.push(started.elapsed());
        if n == 0 {
            let verdict = trip.failure.as_ref().map_or_else(|| "passed".to_owned(), |f| f.sentences().join("; "));
            println!("{backend}: round trip of {count} revision(s): {verdict}");
        }
    }
    println!("{backend}: round trip {} (median of {TRIALS})", ms(median(trips)));
    let (migrated, migrated_drop) = fresh(|| {
        let mut db = TestDatabase::empty(backend).expect("not skipped");
        migrator.upgrade(&mut db).unwrap();
        db
    });
    let started = Instant::now();
    drop(TestDatabase::migrated(backend, migrator));
    let first = started.elapsed();
    let (copied, copied_drop) = fresh(|| TestDatabase::migrated(backend, migrator).expect("not skipped"));
    println!(
        "{backend}: a fresh migrated database: migrating an empty one {} (dropped in {}), copying the template {} \
         (dropped in {}; {:.1}x faster); the first copy in a process, template check included, {}",
        ms(migrated),
        ms(migrated_drop),
        ms(copied),
        ms(copied_drop),
        migrated.as_secs_f64() / copied.as_secs_f64(),
        ms(first)
    );
}

fn main() {
    let dir = std::env::args().nth(1).unwrap_or_else(|| "examples/migrations".to_owned());
    let scanned = migrate::scan(std::path::Path::new(&dir), &ScanOptions::default());
    assert!(scanned.problems.is_empty(), "{dir}: {:?}", scanned.problems);
    let migrator = Migrator::new(&scanned.revisions);
    println!("folder {dir}: {} revision(s), {TRIALS} trials each", scanned.revisions.len());
    for backend in [Backend::Sqlite, Backend::Postgres, Backend::Mysql] {
        measure(backend, &migrator);
    }
}
