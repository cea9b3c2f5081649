//! Applies the example revisions to a SQLite file and prints what it did. Run it twice: the second time nothing
//! is pending, and it says so.
//!
//! ```text
//! cargo run --example quickstart [path/to/app.db]
//! ```

use std::error::Error;

use migrate::Action;

migrate::migrations!(mod schema = "examples/migrations");

fn main() -> Result<(), Box<dyn Error>> {
    let path = std::env::args().nth(1).unwrap_or_else(|| "quickstart.db".to_owned());
    let mut conn = rusqlite::Connection::open(&path)?;

    let report = schema::MIGRATIONS.upgrade(&mut conn)?;

    if report.is_empty() {
        println!("{path}: nothing to apply, already at {}", at(&report.after));
        return Ok(());
    }
    for step in &report.steps {
        let verb = if step.action == Action::Apply { "applied" } else { "reverted" };
        println!("{verb} {:<24} {:>8.2} ms", step.revision.to_string(), step.duration.as_secs_f64() * 1e3);
    }
    println!(
        "{path}: {} revision(s) applied, from {} to {}",
        report.steps.len(),
        at(&report.before),
        at(&report.after)
    );
    Ok(())
}

fn at(revision: &Option<migrate::RevisionId>) -> String {
    revision.as_ref().map_or_else(|| "base".to_owned(), ToString::to_string)
}
