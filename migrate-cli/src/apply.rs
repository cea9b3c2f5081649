//! The commands that run revisions or change the record of them: `upgrade`, `downgrade`, `stamp`, `redo`.

use migrate_core::plan::{self, Plan};
use migrate_core::{Action, Command, Driver, Error, RedoRefusal, Report};
use serde_json::{json, Value};

use crate::context::{Context, RunFlags};
use crate::failure::{Exit, Failure};
use crate::output::{action_name, at, duration, revision_json, Style};
use crate::progress::Progress;

fn command_name(command: &Command) -> &'static str {
    match command {
        Command::Upgrade(_) => "upgrade",
        Command::Downgrade(_) => "downgrade",
        Command::Stamp(_) => "stamp",
    }
}

/// `upgrade`, `downgrade`, `stamp`: plans `command` and runs it, or with `dry_run` prints the plan.
///
/// # Errors
/// The folder's problems, the planner's refusals, connection, lock and migration failures.
pub fn apply(ctx: &mut Context, command: Command, flags: RunFlags, dry_run: bool) -> Result<Exit, Failure> {
    let folder = ctx.revisions()?;
    let migrator = ctx.runner(&folder, flags)?;
    let url = ctx.require_database_url()?;
    let mut untouched = None;
    if !dry_run && url.backend() == migrate_core::Backend::Sqlite {
        // A SQLite file that does not exist yet is made only for a run that has something to do and that the
        // planner accepts: a refused one, or one with nothing to do, leaves nothing behind. Its plan is made against
        // an empty database in memory.
        let mut probe = url.connect(false)?;
        if probe.missing_file().is_some() && migrator.plan(&mut *probe.driver(), &command)?.is_empty() {
            untouched = Some(probe);
        }
    }
    let mut conn = match untouched {
        Some(empty) => empty,
        None => ctx.connect(!dry_run)?,
    };
    let mut driver = conn.driver();
    let name = command_name(&command);
    if dry_run {
        let plan = migrator.plan(&mut *driver, &command)?;
        print_plans(ctx, name, &[plan]);
        return Ok(Exit::Done);
    }
    let mut progress = Progress::start(&ctx.out);
    let running = crate::stop::Running::start();
    let result = migrator.run(&mut *driver, &command, &mut progress);
    drop(running);
    drop(progress);
    print_report(ctx, name, &result?);
    write_schema(ctx, &migrator, &mut *driver)?;
    Ok(Exit::Done)
}

/// With `--write-schema FILE`, writes the database's schema snapshot to FILE after a run that succeeded.
fn write_schema(ctx: &Context, migrator: &migrate_core::Migrator<'_>, driver: &mut dyn Driver) -> Result<(), Failure> {
    let Some(file) = &ctx.global.write_schema else { return Ok(()) };
    let schema = migrator.snapshot(driver)?;
    std::fs::write(file, schema.to_string()).map_err(|err| {
        Failure::new(
            format!("the run succeeded, but the schema snapshot could not be written to {}: {err}", file.display()),
            Some(
                "fix the path (--write-schema, MIGRATE_WRITE_SCHEMA or write_schema), then `migrate schema > FILE`"
                    .into(),
            ),
        )
    })?;
    ctx.out.note(&format!("schema snapshot written to {}", file.display()));
    Ok(())
}

/// `redo [-N]`: reverts the newest N revisions and applies them again, under one hold of the lock.
///
/// # Errors
/// A count that is not a positive number; a redo that could not apply the same revisions again (a revision missing
/// from the folder, or pending revisions in between); what `upgrade` and `downgrade` refuse.
pub fn redo(ctx: &mut Context, count: &str, dry_run: bool) -> Result<Exit, Failure> {
    let n: u32 = count.trim_start_matches(['-', '+']).parse().ok().filter(|n| *n > 0).ok_or_else(|| {
        Failure::usage(format!("`{count}` is not a number of revisions to redo"), Some("e.g. `migrate redo -2`".into()))
    })?;
    let folder = ctx.revisions()?;
    let migrator = ctx.runner(&folder, RunFlags::default())?;
    let mut conn = ctx.connect(!dry_run)?;
    let mut driver = conn.driver();
    let refused = |err: Error| {
        let unknown = matches!(&err, Error::NotRedoable { reason: RedoRefusal::Unknown { .. } });
        let mut failure = Failure::from(err);
        if unknown {
            failure.hint = Some(format!("revert it alone with `migrate downgrade -{n}`"));
        }
        failure
    };
    if dry_run {
        let redo = migrator.plan_redo(&mut *driver, n).map_err(refused)?;
        print_plans(ctx, "redo", &[redo.down, redo.up]);
        return Ok(Exit::Done);
    }
    let mut progress = Progress::start(&ctx.out);
    let running = crate::stop::Running::start();
    let result = migrator.redo(&mut *driver, n, &mut progress);
    drop(running);
    drop(progress);
    let report = result.map_err(|err| {
        // The revisions redone that were reverted before the failure, newest first.
        let reverted = match &err {
            Error::Migration(failure) if failure.direction == migrate_core::Direction::Up => failure
                .applied
                .iter()
                .find(|(d, _)| *d == migrate_core::Direction::Down)
                .map(|(_, r)| r.version.clone()),
            _ => None,
        };
        let mut failure = refused(err);
        if failure.kind == "migration_failed" && failure.details["direction"] == "up" {
            // The revisions redone were reverted and stay reverted; running redo again would revert older ones.
            failure.hint = Some(format!(
                "fix the file, then apply the reverted revisions again with `migrate upgrade {}`",
                reverted.as_deref().unwrap_or("head")
            ));
        }
        failure
    })?;
    print_report(ctx, "redo", &report);
    write_schema(ctx, &migrator, &mut *driver)?;
    Ok(Exit::Done)
}

fn print_plans(ctx: &Context, name: &str, plans: &[Plan<'_>]) {
    let steps: Vec<&plan::Step<'_>> = plans.iter().flat_map(|p| &p.steps).collect();
    let current = plans.first().and_then(|p| p.current.as_ref());
    if ctx.out.is_json() {
        ctx.out.json(&json!({
            "command": name,
            "dry_run": true,
            "current": revision_json(current),
            "steps": steps.iter().map(|s| json!({
                "action": action_name(s.action),
                "version": s.revision.version,
                "name": s.revision.name,
                "file": if s.file.is_empty() { Value::Null } else { json!(s.file) },
                "runs_sql": s.script.is_some(),
            })).collect::<Vec<_>>(),
        }));
        return;
    }
    if steps.is_empty() {
        ctx.out.line(&format!("dry run: nothing to do; the database is at {}", at(current)));
        return;
    }
    ctx.out.line(&format!(
        "dry run: {name} would run {} step(s) on a database at {}; nothing was changed",
        steps.len(),
        at(current)
    ));
    let rows: Vec<Vec<(String, Option<Style>)>> = steps
        .iter()
        .map(|s| {
            let (verb, style) = match s.action {
                Action::Apply => ("would apply", Style::Good),
                Action::Revert => ("would revert", Style::Warn),
                Action::StampApplied => ("would stamp", Style::Good),
                Action::StampReverted => ("would unstamp", Style::Warn),
            };
            let file = match (&s.script, s.action) {
                (None, Action::Revert) => "empty down file: recorded only".to_owned(),
                (None, _) => "no SQL runs".to_owned(),
                (Some(_), _) => s.file.clone(),
            };
            vec![(verb.to_owned(), Some(style)), (s.revision.to_string(), None), (file, Some(Style::Dim))]
        })
        .collect();
    ctx.out.table(&["STEP", "REVISION", "FILE"], &rows);
}

fn print_report(ctx: &Context, name: &str, report: &Report) {
    let warnings: Vec<String> = report.warnings.iter().map(|p| p.display_under(&ctx.global.dir).to_string()).collect();
    if ctx.out.is_json() {
        ctx.out.json(&json!({
            "command": name,
            "dry_run": false,
            "warnings": warnings,
            "before": revision_json(report.before.as_ref()),
            "after": revision_json(report.after.as_ref()),
            "steps": report.steps.iter().map(|s| json!({
                "action": action_name(s.action),
                "version": s.revision.version,
                "name": s.revision.name,
                "duration_ms": s.duration.as_secs_f64() * 1e3,
                "tries": s.tries,
            })).collect::<Vec<_>>(),
        }));
        return;
    }
    for warning in &warnings {
        ctx.out.note(&format!("{} {warning}", ctx.out.paint_err("warning:", Style::Warn)));
    }
    if report.is_empty() {
        ctx.out.line(&format!("nothing to do: the database is at {}", at(report.after.as_ref())));
        return;
    }
    let total: f64 = report.steps.iter().map(|s| s.duration.as_secs_f64() * 1e3).sum();
    let was =
        if report.before == report.after { String::new() } else { format!(", was at {}", at(report.before.as_ref())) };
    ctx.out.line(&format!(
        "{} step(s) in {}; the database is at {}{was}",
        report.steps.len(),
        duration(total),
        ctx.out.paint(&at(report.after.as_ref()), Style::Bold),
    ));
}
