//! `--fleet`: one command over many databases, `--jobs` at a time: a database per tenant on a server (a URL whose
//! database name is a pattern), a schema per tenant in a PostgreSQL database (`--schemas PATTERN`), a SQLite file
//! per tenant (`sqlite:` and a pattern of paths), or a file of URLs (`@FILE`). Each target is migrated under its own
//! lock and keeps its own history (`migrate_core::fleet`), so a failing target stops the others only with
//! `--fail-fast`, and a fleet stopped part way is finished by running it again. The summary says each target's
//! revision before and after; the exit code says whether every target reached what the command asked.

use std::io::IsTerminal as _;
use std::sync::atomic::{AtomicUsize, Ordering};

use migrate_core::fleet::{self, FleetOptions, Outcome, TargetRun};
use migrate_core::plan::status::Summary;
use migrate_core::{AppliedRow, Backend, Command, Migrator, RowState};
use serde_json::json;

use crate::context::{Context, RunFlags};
use crate::database::{DatabaseUrl, Source};
use crate::failure::{Exit, Failure};
use crate::output::{Cell, Style};

/// What to run on each target.
pub enum Work {
    /// `upgrade [TARGET]`.
    Upgrade(String),
    /// `downgrade TARGET`.
    Downgrade(String),
    /// `status`: who is behind or dirty.
    Status,
    /// `verify`: who is dirty, or has changed or unknown revisions.
    Verify,
    /// `current`.
    Current,
}

impl Work {
    fn word(&self) -> &'static str {
        match self {
            Work::Upgrade(_) => "upgrade",
            Work::Downgrade(_) => "downgrade",
            Work::Status => "status",
            Work::Verify => "verify",
            Work::Current => "current",
        }
    }

    fn command(&self) -> Option<Command> {
        match self {
            Work::Upgrade(target) => Some(Command::Upgrade(target.as_str().into())),
            Work::Downgrade(target) => Some(Command::Downgrade(target.as_str().into())),
            _ => None,
        }
    }
}

/// One database of the fleet.
struct Tenant {
    url: DatabaseUrl,
    /// A PostgreSQL schema of the database: the connection's `search_path`, where the history table and its lock
    /// resolve.
    schema: Option<String>,
}

/// What a target was, and became.
struct State {
    before: Option<String>,
    after: Option<String>,
    /// Revisions applied or reverted by this run.
    steps: usize,
    summary: Summary,
}

/// A target whose run failed: the error in one line, and what its record says after it, where it could be read.
struct Failed {
    error: String,
    state: Option<Box<State>>,
}

impl Failed {
    fn unreachable(error: String) -> Failed {
        Failed { error, state: None }
    }
}

type Run = TargetRun<State, Failed>;

/// What a target's record says after its run, failed or not.
fn state_of(run: &Run) -> Option<&State> {
    match &run.outcome {
        Outcome::Done(state) => Some(state),
        Outcome::Failed(failed) => failed.state.as_deref(),
        Outcome::NotStarted => None,
    }
}

impl State {
    /// Whether a target whose run ended without error reached what the command asked: for the commands that read,
    /// nothing needs attention (and for `status`, nothing is pending).
    fn reached(&self, work: &Work) -> bool {
        match work {
            Work::Status => self.summary.pending == 0 && !self.summary.needs_attention(),
            Work::Verify => !self.summary.needs_attention(),
            _ => true,
        }
    }
}

/// Runs `work` over the fleet the global options name.
///
/// # Errors
/// A fleet that names no target, a pattern that cannot be read, a server whose databases or schemas cannot be
/// listed; a target's own failure is in the summary and the exit code, not an error here.
pub fn run(ctx: &mut Context, work: Work, flags: RunFlags) -> Result<Exit, Failure> {
    let tenants = targets(ctx)?;
    let folder = ctx.revisions()?;
    let migrator = ctx.runner(&folder, flags)?;
    let head = folder.revisions.last().map(|r| format!("{} ({})", r.version(), r.name()));
    let init_sql = ctx.global.init_sql.clone();
    let options = FleetOptions::default()
        .jobs(usize::from(ctx.global.jobs))
        .fail_fast(ctx.global.fail_fast)
        .cancel_with(ctx.cancel.clone());
    let total = tenants.len();
    let (failed, terminal) = (AtomicUsize::new(0), std::io::stderr().is_terminal() && !ctx.out.is_json());
    let _running = crate::stop::Running::start();
    crate::stop::started();
    let runs = fleet::run(
        tenants,
        &options,
        |_, tenant| visit(&migrator, &work, &init_sql, tenant),
        |run: &Run, ended| {
            let bad = matches!(&run.outcome, Outcome::Failed(_));
            let failed = failed.fetch_add(usize::from(bad), Ordering::SeqCst) + usize::from(bad);
            // On a terminal, one line kept up to date; elsewhere a line at every tenth of the fleet.
            if terminal {
                eprint!("\rfleet: {ended}/{total} done, {failed} failed");
                if ended == total {
                    eprintln!();
                }
            } else if ended == total || ended % total.div_ceil(10).max(1) == 0 {
                eprintln!("fleet: {ended}/{total} done, {failed} failed");
            }
        },
    );
    report(ctx, &work, head.as_deref(), &runs)
}

/// Connects to one target, reads its record, runs the command and reads the record again.
fn visit(migrator: &Migrator<'_>, work: &Work, init_sql: &[String], tenant: Tenant) -> Result<State, Failed> {
    // A SQLite file is made by an upgrade only, as without --fleet.
    let mut conn = tenant.url.connect(matches!(work, Work::Upgrade(_))).map_err(|f| Failed::unreachable(f.message))?;
    let mut statements = init_sql.to_vec();
    if let Some(schema) = &tenant.schema {
        statements.push(format!("SET search_path TO \"{}\"", schema.replace('"', "\"\"")));
    }
    conn.init(&statements).map_err(|f| Failed::unreachable(f.message))?;
    let read = |conn: &mut crate::database::Connection| -> Result<Vec<AppliedRow>, Failed> {
        migrator.history(&mut *conn.driver()).map_err(|e| Failed::unreachable(one_line(&e)))
    };
    let before = read(&mut conn)?;
    let (mut steps, mut error) = (0, None);
    if let Some(command) = work.command() {
        match migrator.run(&mut *conn.driver(), &command, &mut ()) {
            Ok(report) => steps = report.steps.len(),
            Err(err) => error = Some(one_line(&err)),
        }
    }
    let after = if work.command().is_some() { read(&mut conn)? } else { before.clone() };
    let summary = Summary::of(&migrator.status_of(&after, tenant.url.backend()));
    let state = State { before: newest(&before), after: newest(&after), steps, summary };
    match error {
        None => Ok(state),
        Some(error) => Err(Failed { error, state: Some(Box::new(state)) }),
    }
}

/// The newest revision a record has applied, or the dirty one where one stopped part way.
fn newest(rows: &[AppliedRow]) -> Option<String> {
    let row = rows.iter().rev().find(|r| r.state != RowState::Applied).or_else(|| rows.last())?;
    let dirty = if row.state == RowState::Applied { "" } else { " (dirty)" };
    Some(format!("{} ({}){dirty}", row.version, row.name))
}

/// An error in one line: what failed, where, and the database's own words.
fn one_line(err: &dyn std::error::Error) -> String {
    let text = err.to_string();
    let mut line = text.lines().map(str::trim).filter(|l| !l.is_empty()).take(2).collect::<Vec<_>>().join(": ");
    let mut source = err.source();
    while let Some(cause) = source {
        line.push_str(&format!(" ({cause})"));
        source = cause.source();
    }
    line
}

/// The summary table (or JSON), and the exit code.
fn report(ctx: &mut Context, work: &Work, head: Option<&str>, runs: &[Run]) -> Result<Exit, Failure> {
    let reached = runs.iter().filter(|r| matches!(&r.outcome, Outcome::Done(s) if s.reached(work))).count();
    let not_started = runs.iter().filter(|r| matches!(r.outcome, Outcome::NotStarted)).count();
    let failed = runs.len() - reached - not_started;
    let exit = match (failed + not_started, work) {
        (0, _) => Exit::Done,
        (_, Work::Status)
            if runs.iter().all(|r| matches!(&r.outcome, Outcome::Done(s) if !s.summary.needs_attention())) =>
        {
            Exit::Pending
        }
        (_, Work::Status | Work::Verify) => Exit::Attention,
        _ => Exit::Failed,
    };
    let result = |run: &Run| -> (String, &'static str, Option<String>) {
        match &run.outcome {
            Outcome::NotStarted => ("not started".into(), "not_started", None),
            Outcome::Failed(failed) => ("failed".into(), "failed", Some(failed.error.clone())),
            Outcome::Done(state) => {
                let s = &state.summary;
                let words = match work {
                    Work::Upgrade(_) | Work::Downgrade(_) if state.steps == 0 => "nothing to do".to_owned(),
                    Work::Upgrade(_) => format!("{} applied", state.steps),
                    Work::Downgrade(_) => format!("{} reverted", state.steps),
                    _ if s.needs_attention() => {
                        format!("needs attention: {} dirty, {} changed, {} unknown", s.dirty, s.changed, s.missing)
                    }
                    _ if s.pending > 0 => format!("{} pending", s.pending),
                    _ => "up to date".to_owned(),
                };
                let kind = if state.reached(work) { "ok" } else { "attention" };
                (words, kind, None)
            }
        }
    };
    if ctx.out.is_json() {
        let targets: Vec<_> = runs
            .iter()
            .map(|run| {
                let (words, kind, error) = result(run);
                let state = state_of(run);
                json!({
                    "target": run.name,
                    "result": kind,
                    "said": words,
                    "error": error,
                    "before": state.and_then(|s| s.before.clone()),
                    "after": state.and_then(|s| s.after.clone()),
                    "steps": state.map(|s| s.steps),
                    "pending": state.map(|s| s.summary.pending),
                    "dirty": state.map(|s| s.summary.dirty),
                    "seconds": run.took.as_secs_f64(),
                })
            })
            .collect();
        ctx.out.json(&json!({
            "command": format!("fleet {}", work.word()),
            "head": head,
            "targets": targets,
            "reached": reached,
            "failed": failed,
            "not_started": not_started,
            "exit_code": exit as i32,
        }));
        return Ok(exit);
    }
    let none = || "(nothing applied)".to_owned();
    let migrating = work.command().is_some();
    let mut table: Vec<Vec<Cell>> = Vec::new();
    for run in runs {
        let (words, kind, error) = result(run);
        let style = match kind {
            "ok" => Style::Good,
            "attention" => Style::Warn,
            _ => Style::Bad,
        };
        let (before, after) = match state_of(run) {
            Some(s) => (s.before.clone().unwrap_or_else(none), s.after.clone().unwrap_or_else(none)),
            None => (String::new(), String::new()),
        };
        let said = match error {
            Some(error) => format!("{words}: {error}"),
            None => words,
        };
        let mut row = vec![(run.name.clone(), None)];
        if migrating {
            row.push((before, None));
        }
        row.extend([(after, None), (said, Some(style))]);
        table.push(row);
    }
    let header: &[&str] =
        if migrating { &["TARGET", "BEFORE", "AFTER", "RESULT"] } else { &["TARGET", "CURRENT", "STATE"] };
    ctx.out.table(header, &table);
    let (asked, other) = match work {
        Work::Upgrade(t) | Work::Downgrade(t) => (format!("reached {t}"), "failed"),
        Work::Status => ("up to date".to_owned(), "behind or need attention"),
        Work::Verify => ("verified".to_owned(), "need attention"),
        Work::Current => ("read".to_owned(), "could not be read"),
    };
    ctx.out.line(&format!("{} target(s): {reached} {asked}, {failed} {other}, {not_started} not started", runs.len()));
    Ok(exit)
}

/// The targets the global options name, in the order given (each pattern's matches in name order), each once.
fn targets(ctx: &mut Context) -> Result<Vec<(String, Tenant)>, Failure> {
    let mut found: Vec<(String, Tenant)> = Vec::new();
    for spec in ctx.global.fleet.clone() {
        let lines = match spec.strip_prefix('@') {
            Some(file) => std::fs::read_to_string(file)
                .map_err(|err| Failure::usage(format!("--fleet @{file}: cannot read it: {err}"), None))?
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_owned)
                .collect(),
            None => vec![spec.clone()],
        };
        for line in lines {
            for url in expand(ctx, &line)? {
                found.push((url.shown().to_owned(), Tenant { url, schema: None }));
            }
        }
    }
    if let Some(pattern) = ctx.global.schemas.clone() {
        if ctx.global.history_schema.is_some() {
            return Err(Failure::usage(
                "--schemas gives each schema its own history table: --history-schema would put them all in one",
                Some("leave --history-schema out".into()),
            ));
        }
        let matcher = pattern_of(&pattern, "--schemas")?;
        let mut schemas = Vec::new();
        for (name, tenant) in found {
            if tenant.url.backend() != Backend::Postgres {
                return Err(Failure::usage(format!("--schemas: {name} is not a PostgreSQL database"), None));
            }
            let listed = list(&tenant.url, "SELECT nspname FROM pg_namespace WHERE nspname !~ '^pg_' AND nspname <> 'information_schema' ORDER BY 1")?;
            for schema in listed.into_iter().filter(|s| matcher.matches(s)) {
                let url = tenant.url.clone();
                schemas.push((format!("{name} schema {schema}"), Tenant { url, schema: Some(schema) }));
            }
        }
        found = schemas;
    }
    let mut seen = std::collections::HashSet::new();
    found.retain(|(name, _)| seen.insert(name.clone()));
    if found.is_empty() {
        return Err(Failure::usage(
            format!("the fleet has no target: {} matched nothing", ctx.global.fleet.join(", ")),
            Some("check the pattern: `*` matches any run of characters in a database, schema or file name".into()),
        ));
    }
    Ok(found)
}

/// A spec's databases: the files a `sqlite:` pattern matches, the databases on a server whose names match the
/// pattern in the URL's database name, or the one database it names.
fn expand(ctx: &mut Context, spec: &str) -> Result<Vec<DatabaseUrl>, Failure> {
    let wild = |s: &str| s.contains(['*', '?', '[']);
    if let Some(path) = spec.strip_prefix("sqlite:").filter(|p| wild(p)) {
        let paths = glob::glob(path)
            .map_err(|err| Failure::usage(format!("--fleet {spec}: not a pattern of files: {err}"), None))?;
        let mut files: Vec<String> = paths.filter_map(Result::ok).map(|p| p.to_string_lossy().into_owned()).collect();
        files.sort();
        return files.iter().map(|f| ctx.url(&format!("sqlite:{f}"), Source::Flag)).collect();
    }
    let Ok(mut parsed) = url::Url::parse(spec) else { return Ok(vec![ctx.url(spec, Source::Flag)?]) };
    let database = parsed.path().trim_start_matches('/').to_owned();
    let database = crate::database::percent_decode(&database);
    if !wild(&database) {
        return Ok(vec![ctx.url(spec, Source::Flag)?]);
    }
    let matcher = pattern_of(&database, "--fleet")?;
    let (home, query) = match parsed.scheme() {
        "postgres" | "postgresql" => (
            "/postgres",
            "SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY 1",
        ),
        _ => ("/", "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys') ORDER BY 1"),
    };
    parsed.set_path(home);
    let server = ctx.url(parsed.as_str(), Source::Flag)?;
    let names = list(&server, query)?;
    Ok(names.into_iter().filter(|n| matcher.matches(n)).map(|n| server.with_database(&n)).collect())
}

fn pattern_of(pattern: &str, flag: &str) -> Result<glob::Pattern, Failure> {
    glob::Pattern::new(pattern).map_err(|err| Failure::usage(format!("{flag} {pattern}: not a pattern: {err}"), None))
}

/// The first column of `query` on `url`.
fn list(url: &DatabaseUrl, query: &str) -> Result<Vec<String>, Failure> {
    let mut conn = url.connect(false)?;
    conn.column(query).map_err(|err| Failure::new(format!("listing the fleet on {}: {err}", url.shown()), None))
}
