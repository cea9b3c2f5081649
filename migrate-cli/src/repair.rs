//! The ways out of a state a run cannot continue from: `resolve` and `resume` for a dirty revision (a
//! statement-by-statement revision that failed part way, as on MySQL), `accept` for a changed file.

use migrate_core::plan;
use migrate_core::run::{self, Resolution};
use migrate_core::{history, sql, AppliedRow, Direction, RowState};
use serde_json::json;

use crate::apply::{at, read_history, revision_json};
use crate::failure::{Exit, Failure};
use crate::output::{duration, Style};
use crate::{Context, RunFlags};

fn dirty_row(rows: &[AppliedRow]) -> Result<&AppliedRow, Failure> {
    rows.iter().find(|r| r.state.is_dirty()).ok_or_else(|| {
        migrate_core::Error::Resume { message: "no revision is dirty: there is nothing to resume or resolve".into() }
            .into()
    })
}

/// `resolve <rev> --applied|--not-applied`.
///
/// # Errors
/// Nothing is dirty, another revision is, or the database fails.
pub fn resolve(ctx: &mut Context, reference: &str, applied: bool, dry_run: bool) -> Result<Exit, Failure> {
    // A dirty database is being repaired: a problem elsewhere in the folder must not stand in the way.
    let revisions = ctx.scan().revisions;
    let config = ctx.config(RunFlags::default())?;
    let mut conn = ctx.connect(false)?;
    let mut driver = conn.driver();
    let how = if applied { Resolution::Applied } else { Resolution::NotApplied };
    let said = if applied { "recorded as applied" } else { "record removed: not applied" };
    let name = if dry_run {
        let rows = read_history(&mut *driver, &config)?;
        let refs: Vec<&AppliedRow> = rows.iter().collect();
        let name = plan::resolve(reference, &revisions, &refs)?;
        let dirty = dirty_row(&rows)?;
        if dirty.version != name.version {
            return Err(migrate_core::Error::Resume {
                message: format!(
                    "revision {name} is not dirty; the dirty revision is {} ({})",
                    dirty.version, dirty.name
                ),
            }
            .into());
        }
        name
    } else {
        run::resolve(&revisions, &config, &mut *driver, reference, how)?
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
pub fn resume(ctx: &mut Context, dry_run: bool) -> Result<Exit, Failure> {
    let revisions = ctx.revisions()?;
    let config = ctx.config(RunFlags::default())?;
    let mut conn = ctx.connect(false)?;
    let mut driver = conn.driver();
    if dry_run {
        let rows = read_history(&mut *driver, &config)?;
        let row = dirty_row(&rows)?;
        let direction = if row.state == RowState::Downgrading { Direction::Down } else { Direction::Up };
        let script = match revisions.iter().find(|r| r.version() == row.version) {
            Some(r) => r.script(direction, driver.backend()).clone(),
            None if direction == Direction::Down && row.down_sql.is_some() => {
                plan::stored_script(row.down_sql.as_deref().unwrap_or_default())
            }
            None => {
                return Err(Failure::new(
                    format!("cannot resume {} ({}): the folder does not have it", row.version, row.name),
                    Some(format!("settle it by hand, then `migrate resolve {} --applied|--not-applied`", row.version)),
                ))
            }
        };
        let statements = sql::split(script.sql(), driver.backend());
        let done = usize::try_from(row.statements_done).unwrap_or(usize::MAX).min(statements.len());
        let unchanged = done == 0 && row.progress_checksum.is_none()
            || row.progress_checksum == Some(history::progress_checksum(statements[..done].iter().map(|s| s.text)));
        if !unchanged {
            return Err(migrate_core::Error::Resume {
                message: format!(
                    "cannot resume {} ({}): the {done} statement(s) of {} that already ran are not the ones in the \
                     file now; restore the file, or finish the revision by hand and mark it resolved",
                    row.version,
                    row.name,
                    script.file()
                ),
            }
            .into());
        }
        let doing = if direction == Direction::Down { "reverting" } else { "applying" };
        let next = statements.get(done).map_or(0, |s| s.line);
        if ctx.out.is_json() {
            ctx.out.json(&json!({
                "command": "resume", "dry_run": true,
                "revision": { "version": row.version, "name": row.name },
                "direction": direction.name(),
                "statements_done": done, "statements": statements.len(),
                "next_line": next,
            }));
        } else {
            ctx.out.line(&format!(
                "dry run: would continue {doing} {} ({}) at statement {} of {} ({}:{next}); nothing was changed",
                row.version,
                row.name,
                done + 1,
                statements.len(),
                script.file(),
            ));
        }
        return Ok(Exit::Done);
    }
    let report = run::resume(&revisions, &config, &mut *driver)?;
    if ctx.out.is_json() {
        ctx.out.json(&json!({
            "command": "resume", "dry_run": false,
            "revision": revision_json(report.steps.first().map(|s| &s.revision)),
            "duration_ms": report.steps.first().map(|s| s.duration.as_secs_f64() * 1e3),
            "after": revision_json(report.after.as_ref()),
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
    let revisions = ctx.revisions()?;
    let config = ctx.config(RunFlags::default())?;
    let mut conn = ctx.connect(false)?;
    let mut driver = conn.driver();
    let backend = driver.backend();
    let changes = if dry_run {
        let rows = read_history(&mut *driver, &config)?;
        let entries = migrate_core::status::status(&revisions, &rows, backend);
        let refs: Vec<&AppliedRow> = rows.iter().collect();
        let name = plan::resolve(reference, &revisions, &refs)?;
        match entries.into_iter().find(|e| e.name.version == name.version && e.row.is_some() && !e.is_missing()) {
            Some(e) => e.changed,
            None => {
                return Err(migrate_core::Error::TargetNotFound {
                    target: reference.to_owned(),
                    detail: "is not an applied revision of this folder; only those can be accepted".into(),
                }
                .into())
            }
        }
    } else {
        run::accept(&revisions, &config, &mut *driver, reference)?
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
