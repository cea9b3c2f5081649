//! The ways out of a state a run cannot continue from: `resolve` and `resume` for a dirty revision (a
//! statement-by-statement revision that failed part way, as on MySQL), `accept` for a changed file.

use migrate_core::{sql, Action, Foreign, InDoubt, Resolution, ResumePoint};
use serde_json::json;

use crate::cli::{ForeignTool, InDoubtArg};
use crate::context::{Context, RunFlags};
use crate::failure::{Exit, Failure};
use crate::output::{at, revision_json};
use crate::output::{duration, Style};

/// `resolve <rev> --applied|--not-applied`.
///
/// # Errors
/// Nothing is dirty, another revision is, or the database fails.
pub fn resolve(ctx: &mut Context, reference: &str, applied: bool, dry_run: bool) -> Result<Exit, Failure> {
    // A dirty database is being repaired: a problem elsewhere in the folder must not stand in the way.
    let revisions = ctx.scan().revisions;
    let migrator = ctx.migrator(&revisions, RunFlags::default())?;
    let mut conn = ctx.connect(false)?;
    let mut driver = conn.driver();
    let how = if applied { Resolution::Applied } else { Resolution::NotApplied };
    let said = if applied { "recorded as applied" } else { "record removed: not applied" };
    let name = if dry_run {
        migrator.plan_resolve(&mut *driver, reference)?
    } else {
        migrator.resolve(&mut *driver, reference, how)?
    };
    if ctx.out.is_json() {
        ctx.out.json(&json!({
            "command": "resolve",
            "dry_run": dry_run,
            "revision": revision_json(Some(&name)),
            "resolution": if applied { "applied" } else { "not_applied" },
        }));
    } else if dry_run {
        ctx.out.line(&format!("dry run: {name} would be {said}; nothing was changed"));
    } else {
        ctx.out.line(&format!("{} {name}", ctx.out.paint(&format!("{said}:"), Style::Good)));
    }
    Ok(Exit::Done)
}

/// `resume`: continues the dirty revision from its failed statement.
///
/// # Errors
/// Nothing is dirty, the statements that ran changed, a statement fails again, or the database fails.
pub fn resume(ctx: &mut Context, dry_run: bool, in_doubt: Option<InDoubtArg>) -> Result<Exit, Failure> {
    let folder = ctx.revisions()?;
    let migrator = ctx.runner(&folder, RunFlags::default())?;
    let mut conn = ctx.connect(false)?;
    let mut driver = conn.driver();
    let answer = in_doubt.map(|a| if a == InDoubtArg::Ran { InDoubt::Ran } else { InDoubt::NotRun });
    let point = migrator.plan_resume(&mut *driver)?;
    // How the statement in doubt settles, read from the catalog (resume reads it again under the lock).
    let settled = migrator.plan_settle(&mut *driver, &point, answer)?;
    if let (Some(settled), false) = (&settled, ctx.out.is_json()) {
        let word = if dry_run { "would settle" } else { "settled" };
        ctx.out.line(&format!(
            "in doubt: {}; {word} as {}",
            settled.reason,
            if settled.ran { "ran" } else { "not run" }
        ));
    }
    let settled_json = settled.as_ref().map(|s| json!({ "ran": s.ran, "reason": s.reason }));
    if dry_run {
        let ResumePoint { name, action, script, done, statements, .. } = point;
        let done = if settled.as_ref().is_some_and(|s| s.ran) { done + 1 } else { done };
        let doing = if action == Action::Revert { "reverting" } else { "applying" };
        let next = sql::split(script.sql(), driver.backend()).get(done).map_or(0, |s| s.line);
        if ctx.out.is_json() {
            ctx.out.json(&json!({
                "command": "resume", "dry_run": true,
                "revision": revision_json(Some(&name)),
                "direction": action.direction().name(),
                "statements_done": done, "statements": statements,
                "next_line": next,
                "in_doubt": settled_json,
            }));
        } else if done < statements {
            ctx.out.line(&format!(
                "dry run: would continue {doing} {name} at statement {} of {statements} ({}:{next}); nothing was \
                 changed",
                done + 1,
                script.file(),
            ));
        } else {
            ctx.out.line(&format!(
                "dry run: would finish {doing} {name}: all {statements} statement(s) ran; nothing was changed"
            ));
        }
        return Ok(Exit::Done);
    }
    let running = crate::stop::Running::start();
    let report = match answer {
        Some(answer) => migrator.resume_with(&mut *driver, &mut crate::stop::Started, answer)?,
        None => migrator.resume(&mut *driver, &mut crate::stop::Started)?,
    };
    drop(running);
    if ctx.out.is_json() {
        ctx.out.json(&json!({
            "command": "resume", "dry_run": false,
            "revision": revision_json(report.steps.first().map(|s| &s.revision)),
            "duration_ms": report.steps.first().map(|s| s.duration.as_secs_f64() * 1e3),
            "after": revision_json(report.after.as_ref()),
            "in_doubt": settled_json,
        }));
    } else if let Some(step) = report.steps.first() {
        ctx.out.line(&format!(
            "{} {}  {}; the database is at {}",
            ctx.out.paint("resumed", Style::Good),
            step.revision,
            duration(step.duration.as_secs_f64() * 1e3),
            at(report.after.as_ref())
        ));
    }
    Ok(Exit::Done)
}

/// `accept <rev>`: records the current checksums of an applied revision's files.
///
/// # Errors
/// The reference names no applied revision of the folder, or the database fails.
pub fn accept(ctx: &mut Context, reference: &str, dry_run: bool) -> Result<Exit, Failure> {
    let folder = ctx.revisions()?;
    let migrator = ctx.runner(&folder, RunFlags::default())?;
    let mut conn = ctx.connect(false)?;
    let mut driver = conn.driver();
    let changes = if dry_run {
        migrator.plan_accept(&mut *driver, reference)?
    } else {
        migrator.accept(&mut *driver, reference)?
    };
    if ctx.out.is_json() {
        ctx.out.json(&json!({
            "command": "accept", "dry_run": dry_run,
            "changes": changes.iter().map(|c| json!({
                "revision": revision_json(Some(&c.revision)),
                "file": c.file,
                "recorded": c.recorded.map(|c| c.to_hex()),
                "current": c.current.map(|c| c.to_hex()),
            })).collect::<Vec<_>>(),
        }));
        return Ok(Exit::Done);
    }
    if changes.is_empty() {
        ctx.out.line(&format!("nothing to accept: the files of `{reference}` match the record"));
    }
    let short =
        |c: Option<migrate_core::Checksum>| c.map_or("irreversible".to_owned(), |c| c.to_hex()[..12].to_owned());
    for c in &changes {
        ctx.out.line(&format!(
            "{} {} {}: recorded {} → now {}",
            ctx.out.paint(if dry_run { "would accept" } else { "accepted" }, Style::Good),
            c.revision,
            c.file,
            short(c.recorded),
            short(c.current)
        ));
    }
    if dry_run && !changes.is_empty() {
        ctx.out.line("dry run: nothing was changed");
    }
    Ok(Exit::Done)
}

/// `import <tool>`: records the versions another tool's history holds as applied here.
///
/// # Errors
/// No such history, versions the folder does not have (without `--allow-unknown`), or the database fails.
pub fn import(ctx: &mut Context, tool: ForeignTool, allow_unknown: bool, dry_run: bool) -> Result<Exit, Failure> {
    let foreign = match tool {
        ForeignTool::Diesel => Foreign::Diesel,
        ForeignTool::Sqlx => Foreign::Sqlx,
        ForeignTool::Refinery => Foreign::Refinery,
    };
    let folder = ctx.revisions()?;
    let migrator = ctx.runner(&folder, RunFlags::default())?;
    let mut conn = ctx.connect(!dry_run)?;
    let mut driver = conn.driver();
    let imported = if dry_run {
        migrator.plan_import(&mut *driver, foreign, allow_unknown)?
    } else {
        migrator.import(&mut *driver, foreign, allow_unknown)?
    };
    let names = |ids: &[migrate_core::RevisionId]| ids.iter().map(|id| revision_json(Some(id))).collect::<Vec<_>>();
    if ctx.out.is_json() {
        ctx.out.json(&json!({
            "command": "import", "dry_run": dry_run, "from": foreign.table(),
            "recorded": names(&imported.recorded),
            "already": names(&imported.already),
            "left_out": imported.unknown,
        }));
        return Ok(Exit::Done);
    }
    let verb = if dry_run { "would record" } else { "recorded" };
    for id in &imported.recorded {
        ctx.out.line(&format!(
            "{} {id} (from {})",
            ctx.out.paint(&format!("{verb:<10}"), Style::Good),
            foreign.table()
        ));
    }
    for id in &imported.already {
        ctx.out.line(&format!("already    {id}"));
    }
    for version in &imported.unknown {
        ctx.out.line(&format!("left out   {version} (not in the folder)"));
    }
    let (done, tail) = if dry_run { ("would be recorded", "; nothing was changed") } else { ("recorded", "") };
    ctx.out.line(&format!(
        "{} revision(s) {done} as applied from {}, {} already recorded{tail}",
        imported.recorded.len(),
        foreign.table(),
        imported.already.len()
    ));
    Ok(Exit::Done)
}
