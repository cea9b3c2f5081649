//! `migrate test`: the round trip from the command line. Every revision (or only those pending on the database) is
//! applied, reverted and applied again on a scratch database, with a schema snapshot around each step
//! (`Migrator::round_trip`), so a down that does not undo its up is caught before a release, without a Rust test.
//! The scratch database is made on the `--dev-url` server (a temporary file for SQLite) and dropped afterwards,
//! whatever happened.

use std::time::Instant;

use migrate_core::schema::roundtrip::Outcome;
use migrate_core::{Backend, Command, Target};
use serde_json::json;

use crate::context::{Context, RunFlags};
use crate::failure::{Exit, Failure};
use crate::output::{duration, Style};
use crate::scratch::Scratch;

/// What `migrate test` was asked.
pub struct Ask {
    /// The server to make the scratch database on; default: a temporary SQLite file when the database is SQLite.
    pub dev_url: Option<String>,
    /// Only the revisions pending on the database (`DATABASE_URL`), after the applied ones are brought up.
    pub pending: bool,
}

/// Runs the round trip and prints each revision's result; exit 4 when a revision's down leaves the schema other
/// than its up found it (or its up, run again, gives another schema).
///
/// # Errors
/// No `--dev-url` for a server database; the scratch database cannot be made; a revision fails to apply or revert.
pub fn test(ctx: &mut Context, ask: Ask) -> Result<Exit, Failure> {
    let folder = ctx.revisions()?;
    let migrator = ctx.runner(&folder, RunFlags::default())?;
    let server = crate::scratch::server(ctx, ask.dev_url.as_deref(), "migrate test")?;
    // With --pending, the scratch database is first brought to where the database is.
    let applied_up_to = if ask.pending {
        let mut conn = ctx.connect(false)?;
        let plan = migrator.plan(&mut *conn.driver(), &Command::Upgrade(Target::Head))?;
        let first = plan.steps.first().map(|s| s.revision.version.clone());
        let versions: Vec<&str> = folder.revisions.iter().map(|r| r.version()).collect();
        match first.and_then(|v| versions.iter().position(|x| *x == v)) {
            Some(0) => None,
            Some(at) => Some(versions[at - 1].to_owned()),
            None => {
                ctx.out.line("nothing to test: no revision is pending on the database");
                return Ok(Exit::Done);
            }
        }
    } else {
        None
    };
    let backend = server.backend();
    // A signal stops the trip at its next safe point, so the scratch database is dropped on the way out.
    let _running = crate::stop::Running::start();
    crate::stop::started();
    let scratch = Scratch::create(server)?;
    let started = Instant::now();
    let trip = (|| -> Result<_, Failure> {
        let mut conn = scratch.url.connect(true)?;
        conn.init(&ctx.global.init_sql)?;
        let mut driver = conn.driver();
        if let Some(version) = &applied_up_to {
            migrator.run(&mut *driver, &Command::Upgrade(Target::Revision(version.clone().into())), &mut ())?;
        }
        Ok(migrator.round_trip(&mut *driver, &mut ())?)
    })()
    .map_err(|failure| Failure {
        // What the runner says to do next is for a database that stays; this one is dropped.
        message: format!("on the scratch database: {}", failure.message),
        hint: Some("fix the revision the error names, then run `migrate test` again".to_owned()),
        ..failure
    })?;
    let elapsed = started.elapsed();
    let place = match backend {
        Backend::Sqlite => "a temporary SQLite file".to_owned(),
        _ => format!("the scratch database {} on {}", scratch.name, scratch.url.shown()),
    };
    drop(scratch);
    let passed = trip.checked.iter().filter(|(_, o)| !matches!(o, Outcome::NotReversible(_))).count();
    let skipped = trip.checked.len() - passed;
    if ctx.out.is_json() {
        let revisions: Vec<_> = trip
            .checked
            .iter()
            .map(|(revision, outcome)| {
                let (result, why) = match outcome {
                    Outcome::Passed => ("passed", None),
                    Outcome::Placeholder(_) => ("passed", Some("its down is a placeholder, run as a no-op".to_owned())),
                    Outcome::NotReversible(reason) => ("skipped", Some(reason.clone())),
                    _ => ("checked", None),
                };
                json!({ "version": revision.version, "name": revision.name, "result": result, "note": why })
            })
            .chain(trip.failure.iter().map(|f| {
                json!({
                    "version": f.revision.version,
                    "name": f.revision.name,
                    "result": "failed",
                    "differences": f.sentences(),
                })
            }))
            .collect();
        ctx.out.json(&json!({
            "backend": backend.to_string(),
            "revisions": revisions,
            "passed": passed,
            "skipped": skipped,
            "failed": usize::from(trip.failure.is_some()),
            "seconds": elapsed.as_secs_f64(),
        }));
    } else {
        ctx.out.note(&format!("round trip (up, down, up again) on {place}, dropped afterwards"));
        for line in trip.to_string().lines() {
            let failed = line.starts_with("FAILED") || line.starts_with("  ");
            ctx.out.line(&if failed { ctx.out.paint(line, Style::Bad) } else { line.to_owned() });
        }
        let failed = if trip.failure.is_some() { ", 1 failed (the trip stops there)" } else { "" };
        ctx.out
            .line(&format!("{passed} passed, {skipped} skipped{failed}, in {}", duration(elapsed.as_secs_f64() * 1e3)));
    }
    Ok(if trip.is_ok() { Exit::Done } else { Exit::Attention })
}
