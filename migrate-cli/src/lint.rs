//! `migrate lint`: the safety lint of the folder's up files (`migrate_core::lint`), for people, scripts (JSON) and CI
//! systems (GitHub Actions annotations), with an exit code.

use serde_json::json;

use migrate_core::lint::{self, Level};
use migrate_core::Backends;

use crate::cli::Dialect;
use crate::context::Context;
use crate::failure::{Exit, Failure};
use crate::output::Style;

/// What `migrate lint` was asked.
pub struct Ask {
    /// Judge in this backend's dialect; default: `DATABASE_URL`'s, or every backend without one.
    pub dialect: Option<Dialect>,
    /// `rule=level` pairs.
    pub levels: Vec<String>,
    /// Revisions up to this version are not judged.
    pub start_after: Option<String>,
    /// Warnings fail the command too.
    pub deny_warnings: bool,
    /// Print GitHub Actions annotations as well.
    pub github: bool,
}

/// Lints the folder and prints the findings; exit 4 when one is at level deny (or any, with `--deny-warnings`).
///
/// # Errors
/// A `--level` that names no rule or no level; a `DATABASE_URL` that cannot be read.
pub fn lint(ctx: &mut Context, ask: Ask) -> Result<Exit, Failure> {
    // migrate.toml's [lint] first; the flags win over it.
    let mut options = ctx.settings.lint.clone().unwrap_or_default();
    // A run without a lock timeout leaves unbounded every file that sets none of its own.
    options.lock_timeout_off = ctx.global.lock_timeout == 0.0;
    if ask.start_after.is_some() {
        options.start_after = ask.start_after;
    }
    for pair in &ask.levels {
        let (name, level) = pair.split_once('=').unwrap_or((pair, ""));
        if !Level::parse(level).is_some_and(|level| options.set_level(name, level)) {
            let rules: Vec<&str> = lint::RULES.iter().map(|r| r.name).collect();
            return Err(Failure::usage(
                format!(
                    "--level {pair}: write RULE=allow, RULE=warn or RULE=deny, where RULE is one of {}",
                    rules.join(", ")
                ),
                None,
            ));
        }
    }
    let backend = match ask.dialect {
        Some(dialect) => Some(migrate_core::Backend::from(dialect)),
        None => ctx.database_url()?.map(|url| url.backend()),
    };
    options.backends = Some(backend.map_or(Backends::ALL, Backends::only));
    let scan = ctx.scan();
    let findings = lint::lint(&scan.revisions, &options);
    let dir = ctx.global.dir.clone();
    let count = |level: Level| findings.iter().filter(|f| f.level == level).count();
    let (denied, warned) = (count(Level::Deny), count(Level::Warn));
    let failed = denied > 0 || (ask.deny_warnings && warned > 0);
    if ctx.out.is_json() {
        ctx.out.json(&json!({
            "findings": findings.iter().map(|f| json!({
                "rule": f.rule,
                "level": f.level.name(),
                "backend": f.backend.to_string(),
                "file": dir.join(&f.file).display().to_string(),
                "line": f.line,
                "statement": f.statement,
                "message": f.message,
            })).collect::<Vec<_>>(),
            "deny": denied,
            "warn": warned,
        }));
    } else {
        for f in &findings {
            let style = if f.level == Level::Deny { Style::Bad } else { Style::Warn };
            ctx.out.line(&format!(
                "{}:{}: {} on {}: {}\n  {}",
                dir.join(&f.file).display(),
                f.line,
                ctx.out.paint(&format!("{}[{}]", f.level.name(), f.rule), style),
                f.backend,
                f.statement,
                f.message
            ));
        }
        let judged = scan.revisions.len();
        ctx.out.line(&format!(
            "{denied} denied, {warned} warning(s) in {judged} revision(s) of {}{}",
            dir.display(),
            if findings.is_empty() { ": nothing to say" } else { "" }
        ));
    }
    if ask.github {
        for f in &findings {
            let kind = if f.level == Level::Deny { "error" } else { "warning" };
            // GitHub's workflow command: its message ends at the line's end.
            println!(
                "::{kind} file={},line={},title={}::{} on {}: {}",
                dir.join(&f.file).display(),
                f.line,
                f.rule,
                f.statement.replace('%', "%25"),
                f.backend,
                f.message.replace('%', "%25")
            );
        }
    }
    Ok(if failed { Exit::Attention } else { Exit::Done })
}
