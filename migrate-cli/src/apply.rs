//! The commands that run revisions or change the record of them: `upgrade`, `downgrade`, `stamp`, `redo`.

use migrate_core::plan::{self, Plan, Policy};
use migrate_core::{run, Action, AppliedRow, Command, Report, RevisionName, Target};
use serde_json::{json, Value};

use crate::failure::{Exit, Failure};
use crate::output::{duration, Style};
use crate::progress::Progress;
use crate::{Context, RunFlags};

/// The word scripts see for an action.
pub fn action_name(action: Action) -> &'static str {
    match action {
        Action::Apply => "apply",
        Action::Revert => "revert",
        Action::StampApplied => "stamp_applied",
        Action::StampReverted => "stamp_reverted",
    }
}

fn command_name(command: &Command) -> &'static str {
    match command {
        Command::Upgrade(_) => "upgrade",
        Command::Downgrade(_) => "downgrade",
        Command::Stamp(_) => "stamp",
    }
}

/// `None` as JSON `null`, else `{version, name}`.
pub fn revision_json(name: Option<&RevisionName>) -> Value {
    name.map_or(Value::Null, |r| json!({ "version": r.version, "name": r.name }))
}

/// `0003 (posts)`, or `base (nothing applied)`.
pub fn at(name: Option<&RevisionName>) -> String {
    name.map_or_else(|| "base (nothing applied)".to_owned(), ToString::to_string)
}

/// `upgrade`, `downgrade`, `stamp`: plans `command` and runs it, or with `dry_run` prints the plan.
///
/// # Errors
/// The folder's problems, the planner's refusals, connection, lock and migration failures.
pub fn apply(ctx: &mut Context, command: Command, flags: RunFlags, dry_run: bool) -> Result<Exit, Failure> {
    let revisions = ctx.revisions()?;
    let config = ctx.config(flags)?;
    let mut conn = ctx.connect(!dry_run)?;
    let mut driver = conn.driver();
    let name = command_name(&command);
    if dry_run {
        let plan = run::preview(&revisions, &config, &mut *driver, &command)?;
        print_plans(ctx, name, &[plan]);
        return Ok(Exit::Done);
    }
    let mut progress = Progress::start(&ctx.out);
    let result = run::run_observed(&revisions, &config, &mut *driver, std::slice::from_ref(&command), &mut progress);
    drop(progress);
    print_report(ctx, name, &result?);
    Ok(Exit::Done)
}

/// `redo [-N]`: reverts the newest N revisions and applies them again, under one hold of the lock.
///
/// # Errors
/// A count that is not a positive number; a redo that could not apply the same revisions again (a revision missing
/// from the folder, or pending revisions in between); what `upgrade` and `downgrade` refuse.
pub fn redo(ctx: &mut Context, count: &str, allow_empty_down: bool, dry_run: bool) -> Result<Exit, Failure> {
    let n: i64 = count.trim_start_matches(['-', '+']).parse().ok().filter(|n| *n > 0).ok_or_else(|| {
        Failure::usage(format!("`{count}` is not a number of revisions to redo"), Some("e.g. `migrate redo -2`".into()))
    })?;
    let revisions = ctx.revisions()?;
    let config = ctx.config(RunFlags { allow_empty_down, ..RunFlags::default() })?;
    let mut conn = ctx.connect(!dry_run)?;
    let mut driver = conn.driver();
    let rows = run::read_history(&mut *driver, &config.table)?;
    let policy = Policy {
        backend: driver.backend(),
        out_of_order: config.out_of_order,
        allow_empty_down: config.allow_empty_down,
        single_transaction: false,
    };
    let down = Command::Downgrade(Target::Relative(-n));
    let down_plan = plan::plan(&revisions, &rows, &down, &policy)?;
    if let Some(step) = down_plan.steps.iter().find(|s| s.known.is_none()) {
        return Err(Failure::new(
            format!("cannot redo {}: the folder does not have it, so it could not be applied again", step.revision),
            Some(format!("revert it alone with `migrate downgrade -{n}`")),
        ));
    }
    if let Some(step) = down_plan.steps.iter().find(|s| s.script.is_none()) {
        return Err(Failure::new(
            format!(
                "cannot redo {}: its down file {} is empty, so reverting it would undo nothing and applying it again \
                 would repeat up.sql on a database that still has its changes",
                step.revision, step.file
            ),
            Some("write its down SQL first".into()),
        ));
    }
    let top = down_plan.steps.first().map(|s| s.revision.version.clone()).unwrap_or_default();
    let up = Command::Upgrade(Target::Revision(top.into()));
    // What the upgrade will do once the downgrade has run: the same revisions, or refuse now.
    let reverted: Vec<&str> = down_plan.steps.iter().map(|s| s.revision.version.as_str()).collect();
    let after: Vec<AppliedRow> = rows.iter().filter(|r| !reverted.contains(&r.version.as_str())).cloned().collect();
    let up_plan = plan::plan(&revisions, &after, &up, &policy)?;
    let mut again: Vec<&str> = up_plan.steps.iter().map(|s| s.revision.version.as_str()).collect();
    again.reverse();
    if again != reverted {
        let extra: Vec<String> = up_plan
            .steps
            .iter()
            .filter(|s| !reverted.contains(&s.revision.version.as_str()))
            .map(|s| s.revision.to_string())
            .collect();
        return Err(Failure::new(
            format!(
                "redo would also apply {}, which is pending between the revisions redone; nothing was changed",
                extra.join(", ")
            ),
            Some(
                "run `migrate downgrade` and `migrate upgrade` separately, or apply the pending revisions first".into(),
            ),
        ));
    }
    if dry_run {
        print_plans(ctx, "redo", &[down_plan, up_plan]);
        return Ok(Exit::Done);
    }
    // Under the lock the database must still be where this redo was planned: another runner may have moved it.
    let expected: [Vec<String>; 2] =
        [reverted.iter().map(|v| (*v).to_owned()).collect(), reverted.iter().rev().map(|v| (*v).to_owned()).collect()];
    let check = |index: usize, plan: &Plan<'_>| {
        let found: Vec<String> = plan.steps.iter().map(|s| s.revision.version.clone()).collect();
        if found == expected[index] {
            return Ok(());
        }
        let doing = if index == 0 { "revert" } else { "apply again" };
        Err(migrate_core::Error::Moved {
            message: format!(
                "redo was to {doing} {}, but would now {doing} {}",
                expected[index].join(", "),
                if found.is_empty() { "nothing".to_owned() } else { found.join(", ") }
            ),
        })
    };
    let mut progress = Progress::start(&ctx.out);
    let result = run::run_checked(&revisions, &config, &mut *driver, &[down, up], &mut progress, &check);
    drop(progress);
    let report = result.map_err(|err| {
        let mut failure = Failure::from(err);
        if failure.kind == "migration_failed" && failure.details["direction"] == "up" {
            // The revisions redone were reverted and stay reverted; running redo again would revert older ones.
            failure.hint = Some(format!(
                "fix the file, then apply the reverted revisions again with `migrate upgrade {}`",
                reverted.first().copied().unwrap_or("head")
            ));
        }
        failure
    })?;
    print_report(ctx, "redo", &report);
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
    if ctx.out.is_json() {
        ctx.out.json(&json!({
            "command": name,
            "dry_run": false,
            "before": revision_json(report.before.as_ref()),
            "after": revision_json(report.after.as_ref()),
            "steps": report.steps.iter().map(|s| json!({
                "action": action_name(s.action),
                "version": s.revision.version,
                "name": s.revision.name,
                "duration_ms": s.duration.as_secs_f64() * 1e3,
            })).collect::<Vec<_>>(),
        }));
        return;
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
