//! A blocking application that migrates at start-up, on whichever database `DATABASE_URL` names:
//! `postgres://…`, `mysql://…`, or a SQLite file path (default `startup.db`).
//!
//! ```text
//! cargo run --example startup
//! DATABASE_URL=postgres://postgres@127.0.0.1/postgres cargo run --example startup
//! DATABASE_URL=mysql://root@127.0.0.1/test cargo run --example startup
//! ```
//!
//! Start several at once: one applies each revision, the others wait for the lock and find nothing left to do.

use std::process::ExitCode;
use std::time::Duration;

use migrate::{Database, Migrator, Report};

migrate::migrations!(mod schema = "examples/migrations");

fn migrate_at_start<D: Database + ?Sized>(db: &mut D) -> Result<Report, migrate::Error> {
    Migrator::new(schema::MIGRATIONS.revisions())
        // Replicas starting together wait for each other up to this long, then fail with who holds the lock.
        .lock_wait(Duration::from_secs(30))
        .upgrade(db)
}

fn run(url: &str) -> Result<Report, Box<dyn std::error::Error>> {
    Ok(if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let mut client = postgres::Client::connect(url, postgres::NoTls)?;
        migrate_at_start(&mut client)?
    } else if url.starts_with("mysql://") {
        let mut conn = mysql::Conn::new(url)?;
        migrate_at_start(&mut conn)?
    } else {
        let mut conn = rusqlite::Connection::open(url.trim_start_matches("sqlite:"))?;
        migrate_at_start(&mut conn)?
    })
}

fn main() -> ExitCode {
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| "startup.db".to_owned());
    match run(&url) {
        Ok(report) => {
            for step in &report.steps {
                println!("applied {} in {:.1} ms", step.revision, step.duration.as_secs_f64() * 1e3);
            }
            let at = report.after.map_or_else(|| "base".to_owned(), |r| r.to_string());
            println!("schema at {at}; serving");
            ExitCode::SUCCESS
        }
        Err(err) => {
            // The error names the revision, file, line and the database's message; it never contains the URL.
            eprintln!("migration failed, not starting:\n{err}");
            ExitCode::FAILURE
        }
    }
}
