//! `migrate sql`: the script an upgrade or downgrade would run, written without a connection (offline mode).

use migrate_core::{Backend, Command, Target};
use serde_json::json;

use crate::cli::{Dialect, SqlDirection};
use crate::context::{Context, RunFlags};
use crate::failure::{Exit, Failure};
use crate::output::{action_name, at, revision_json};

impl From<Dialect> for Backend {
    fn from(d: Dialect) -> Backend {
        match d {
            Dialect::Postgres => Backend::Postgres,
            Dialect::Sqlite => Backend::Sqlite,
            Dialect::Mysql => Backend::Mysql,
        }
    }
}

/// Prints the script. The database is assumed to be at `from` (default: base for an upgrade, head for a
/// downgrade); the plan is made by the same planner a live run uses, so it refuses what a live run would.
///
/// # Errors
/// No dialect, a bad target or `--from`, the folder's problems, the planner's refusals.
pub fn sql(
    ctx: &mut Context,
    direction: SqlDirection,
    target: Option<&str>,
    dialect: Option<Dialect>,
    from: Option<&str>,
) -> Result<Exit, Failure> {
    let backend =
        match dialect {
            Some(d) => d.into(),
            None => match ctx.database_url()? {
                Some(url) => url.backend(),
                None => return Err(Failure::usage(
                    "no dialect: give --dialect postgres, sqlite or mysql (or set DATABASE_URL, whose scheme is used; \
                     nothing connects)",
                    None,
                )),
            },
        };
    let folder = ctx.revisions()?;
    let migrator = ctx.runner(&folder, RunFlags::default())?;
    let (verb, default_from) = match direction {
        SqlDirection::Upgrade => ("upgrade", "base"),
        SqlDirection::Downgrade => ("downgrade", "head"),
    };
    let from = from.unwrap_or(default_from);
    let start = Target::parse(from);
    if let Target::Relative(_) = start {
        return Err(Failure::usage(format!("--from {from}: give a revision, head or base"), None));
    }
    let target = match (direction, target) {
        (_, Some(t)) => t,
        (SqlDirection::Upgrade, None) => "head",
        (SqlDirection::Downgrade, None) => {
            return Err(Failure::usage(
                "a downgrade script needs a target",
                Some("e.g. `migrate sql downgrade base` or `-1`".into()),
            ))
        }
    };
    let command = match direction {
        SqlDirection::Upgrade => Command::Upgrade(Target::parse(target)),
        SqlDirection::Downgrade => Command::Downgrade(Target::parse(target)),
    };
    let offline = migrator.script(backend, &command, &start)?;
    let (plan, after) = (&offline.plan, &offline.after);
    let header = vec![
        format!("migrate sql {verb} {target} --dialect {backend}: written by migrate {}", env!("CARGO_PKG_VERSION")),
        format!("revision folder: {}", ctx.global.dir.display()),
        format!(
            "assumes the database is at {} and leaves it at {} ({} step(s))",
            at(plan.current.as_ref()),
            at(after.as_ref()),
            plan.steps.len()
        ),
    ];
    let script = offline.text(&header);
    if ctx.out.is_json() {
        ctx.out.sql_json(&json!({
            "dialect": backend.name(),
            "direction": verb,
            "target": target,
            "from": revision_json(plan.current.as_ref()),
            "to": revision_json(after.as_ref()),
            "steps": plan.steps.iter().map(|s| json!({
                "action": action_name(s.action), "version": s.revision.version, "name": s.revision.name,
            })).collect::<Vec<_>>(),
            "script": script,
        }));
    } else {
        ctx.out.sql(script.trim_end());
    }
    Ok(Exit::Done)
}
