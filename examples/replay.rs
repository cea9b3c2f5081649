//! The replay of real folders through the revision writer (`migrate new --from`'s core), shared with the corpus
//! test (`migrate_test_support::replay`): for every revision of each folder given, the schema before and after it,
//! a revision written from one to the other, its up applied to a database at the schema before (it must give the
//! one after) and its down (it must give the one before back). Prints, per folder, how many revisions the writer
//! reproduced and the kinds of change it did not. A folder runs on PostgreSQL, or on the backend its prefix names.
//!
//! ```text
//! MIGRATE_TEST_POSTGRES_URL=postgres://postgres@localhost/postgres MIGRATE_TEST_MYSQL_URL=mysql://root@localhost/test \
//!     cargo run --example replay --all-features -- path/to/migrations sqlite:path/to/other mysql:path/to/third …
//! ```

use std::path::Path;
use std::time::Instant;

use migrate::Backend;
use migrate_test_support::replay::replay;

fn main() {
    println!("| folder | backend | revisions | reproduced | not reproduced (unmarked) | what was not, by kind |");
    println!("|---|---|---|---|---|---|");
    for arg in std::env::args().skip(1) {
        let started = Instant::now();
        let (backend, dir) = match arg.split_once(':') {
            Some((prefix, dir)) => (Backend::from_name(prefix).expect("sqlite:, postgres: or mysql:"), dir),
            None => (Backend::Postgres, arg.as_str()),
        };
        let Some(found) = replay(Path::new(dir), backend) else {
            eprintln!("{dir}: skipped, no {backend} server (set its MIGRATE_TEST_…_URL)");
            continue;
        };
        if let Some(stopped) = &found.stopped {
            eprintln!("{dir}: the replay stops where the folder does not apply on this server: {stopped}");
        }
        for (folder, what) in &found.details {
            eprintln!("{dir}: {folder}: {what}");
        }
        for folder in &found.unmarked {
            eprintln!("{dir}: {folder}: not reproduced, and nothing in it was marked for review");
        }
        let kinds: Vec<String> = found.kinds().iter().map(|(k, n)| format!("{k} ({n})")).collect();
        println!(
            "| {dir} | {backend} | {} of {} | {} | {} ({}) | {} |",
            found.applied,
            found.revisions,
            found.reproduced,
            found.applied - found.reproduced,
            found.unmarked.len(),
            if kinds.is_empty() { "—".to_owned() } else { kinds.join("; ") }
        );
        eprintln!("{dir}: {:.1} s", started.elapsed().as_secs_f64());
    }
}
