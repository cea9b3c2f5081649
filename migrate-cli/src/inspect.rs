//! The commands that only read: `current`, `history`, `status`, `show`, `verify`. None takes the lock or writes.

use migrate_core::schema::{self, Schema, Sides};
use migrate_core::status::{Entry, Standing, Summary};
use migrate_core::{
    AppliedRow, Backend, Backends, Migrator, Problem, Revision, RowState, Scan, ScanOptions, ScriptKind, Severity,
};
use serde_json::{json, Value};

use crate::context::{Context, RunFlags};
use crate::failure::{Exit, Failure};
use crate::output::{recorded, Cell, Style};

/// What the database says, when there is one.
struct Observed {
    backend: Backend,
    shown: String,
    rows: Vec<AppliedRow>,
    /// The schema snapshot, when asked for.
    schema: Option<Schema>,
}

/// Reads the history table of the configured database; `None` without one, unless `required`.
fn observe(ctx: &mut Context, required: bool) -> Result<Option<Observed>, Failure> {
    observe_with(ctx, required, false)
}

/// As [`observe`], with the schema snapshot too when `snapshot`, on the same connection.
fn observe_with(ctx: &mut Context, required: bool, snapshot: bool) -> Result<Option<Observed>, Failure> {
    let url = if required { Some(ctx.require_database_url()?) } else { ctx.database_url()? };
    let Some(url) = url else { return Ok(None) };
    let migrator = ctx.migrator(&[], RunFlags::default())?;
    let mut conn = ctx.open(&url, false)?;
    let rows = migrator.history(&mut *conn.driver())?;
    let schema = if snapshot { Some(migrator.snapshot(&mut *conn.driver())?) } else { None };
    Ok(Some(Observed { backend: url.backend(), shown: url.shown().to_owned(), rows, schema }))
}

/// ` (3 tries)` where a revision was tried more than once (its lock wait ran out); empty otherwise.
fn tries(row: &AppliedRow) -> String {
    if row.tries > 1 {
        format!(" ({} tries)", row.tries)
    } else {
        String::new()
    }
}

fn row_json(row: &AppliedRow) -> Value {
    json!({
        "version": row.version,
        "name": row.name,
        "state": row.state.as_str(),
        "applied_at": row.applied_at,
        "duration_ms": row.duration_ms,
        "statements_done": row.statements_done,
        "in_doubt": row.in_doubt,
        "error": row.error,
        "tries": row.tries,
    })
}

fn problem_json(p: &Problem, dir: &std::path::Path) -> Value {
    json!({
        "path": dir.join(&p.path),
        "line": p.line,
        "message": p.message,
        "severity": p.severity.name(),
        "backends": p.backends.iter().map(Backend::name).collect::<Vec<_>>(),
    })
}

/// The problems of `scan` that concern `backend` (all of them when it is not known): errors, then warnings.
fn concerning(scan: &Scan, backend: Option<Backend>) -> (Vec<&Problem>, Vec<&Problem>) {
    let judged = backend.map_or(Backends::ALL, Backends::only);
    scan.problems.iter().filter(|p| p.backends.intersects(judged)).partition(|p| p.severity == Severity::Error)
}

fn dirty_text(row: &AppliedRow) -> String {
    let doing = if row.state == RowState::Downgrading { "reverting" } else { "applying" };
    let mut text = format!("{doing} stopped after {} statement(s)", row.statements_done);
    match &row.error {
        Some(error) if row.in_doubt => {
            text.push_str(&format!("; statement {} is in doubt: {error}", row.statements_done + 1))
        }
        Some(error) => text.push_str(&format!("; it failed at {error}")),
        None => {}
    }
    text
}

/// `current`: the revision the database is at and whether it is dirty. Exits 4 when it is dirty.
///
/// # Errors
/// No database, or the history cannot be read.
pub fn current(ctx: &mut Context) -> Result<Exit, Failure> {
    let observed = observe(ctx, true)?.expect("required");
    let scan = ctx.scan();
    let head = scan.revisions.last().map(Revision::version);
    let applied = observed.rows.iter().filter(|r| !r.state.is_dirty()).max_by(|a, b| a.version.cmp(&b.version));
    let dirty = observed.rows.iter().find(|r| r.state.is_dirty());
    let pending = scan.revisions.iter().filter(|r| !observed.rows.iter().any(|row| row.version == r.version())).count();
    let is_head = applied.is_some_and(|r| Some(r.version.as_str()) == head) || applied.is_none() && head.is_none();
    if ctx.out.is_json() {
        ctx.out.json(&json!({
            "database": observed.shown,
            "current": applied.map(row_json),
            "head": is_head,
            "pending": pending,
            "dirty": dirty.map(row_json),
        }));
    } else {
        let text = match applied {
            Some(row) => format!(
                "{} ({}), applied {} in {}{}",
                ctx.out.paint(&row.version, Style::Bold),
                row.name,
                row.applied_at,
                recorded(row.duration_ms),
                tries(row)
            ),
            None => "base (nothing applied)".to_owned(),
        };
        let tail = if is_head {
            ctx.out.paint(" (head)", Style::Good)
        } else {
            ctx.out.paint(&format!(" ({pending} pending)"), Style::Warn)
        };
        ctx.out.line(&format!("{text}{tail}"));
        if let Some(row) = dirty {
            ctx.out.line(&format!(
                "{} {} ({}): {}",
                ctx.out.paint("dirty:", Style::Bad),
                row.version,
                row.name,
                dirty_text(row)
            ));
            ctx.out.line(&format!(
                "next: fix the cause, then `migrate resume`; or settle it by hand and `migrate resolve {} --applied` \
                 or `--not-applied`",
                row.version
            ));
        }
    }
    Ok(if dirty.is_some() { Exit::Attention } else { Exit::Done })
}

/// `history`: every revision of the folder and the database in order, with when it was applied and how long it
/// took. Without a database, the folder alone.
///
/// # Errors
/// The history cannot be read.
pub fn history(ctx: &mut Context) -> Result<Exit, Failure> {
    let scan = ctx.scan();
    let observed = observe(ctx, false)?;
    let (rows, backend) = observed.as_ref().map_or((&[][..], Backend::Sqlite), |o| (&o.rows[..], o.backend));
    let entries = Migrator::new(&scan.revisions).status_of(rows, backend);
    let (problems, warnings) = concerning(&scan, observed.as_ref().map(|o| o.backend));
    if ctx.out.is_json() {
        ctx.out.json(&json!({
            "database": observed.as_ref().map(|o| o.shown.clone()),
            "revisions": entries.iter().map(|e| json!({
                "version": e.name.version,
                "name": e.name.name,
                "folder": e.revision.map(Revision::folder),
                "state": observed.as_ref().map(|_| state_word(e).0),
                "applied_at": e.row.as_ref().map(|r| r.applied_at.clone()),
                "duration_ms": e.row.as_ref().map(|r| r.duration_ms),
                "tries": e.row.as_ref().map(|r| r.tries),
            })).collect::<Vec<_>>(),
            "problems": problems.iter().chain(&warnings).map(|p| problem_json(p, &ctx.global.dir)).collect::<Vec<_>>(),
        }));
        return Ok(Exit::Done);
    }
    let table: Vec<Vec<Cell>> = entries
        .iter()
        .map(|e| {
            let (word, style) = state_word(e);
            let row = e.row.as_ref();
            vec![
                (e.name.version.clone(), None),
                (e.name.name.clone(), None),
                if observed.is_some() { (word.to_owned(), Some(style)) } else { ("-".to_owned(), None) },
                (row.map_or_else(String::new, |r| r.applied_at.clone()), None),
                (row.map_or_else(String::new, |r| recorded(r.duration_ms) + &tries(r)), Some(Style::Dim)),
            ]
        })
        .collect();
    ctx.out.table(&["VERSION", "NAME", "STATE", "APPLIED AT", "DURATION"], &table);
    if observed.is_none() {
        ctx.out.note("note: no database configured: the folder alone (set DATABASE_URL to see what is applied)");
    }
    for p in &problems {
        ctx.out.note(&format!("problem: {}", p.display_under(&ctx.global.dir)));
    }
    for p in &warnings {
        ctx.out.note(&format!("warning: {}", p.display_under(&ctx.global.dir)));
    }
    Ok(Exit::Done)
}

/// The one word for where an entry stands, most urgent first, and its colour.
fn state_word(e: &Entry<'_>) -> (&'static str, Style) {
    match e.standing {
        Standing::Dirty(_) => ("dirty", Style::Bad),
        _ if e.is_missing() => ("missing", Style::Bad),
        _ if !e.changed.is_empty() => ("changed", Style::Bad),
        _ if e.out_of_order => ("out-of-order", Style::Bad),
        Standing::Applied => ("applied", Style::Good),
        Standing::Pending => ("pending", Style::Warn),
    }
}

/// What a person should know about an entry, one note each.
fn notes(e: &Entry<'_>) -> Vec<String> {
    let mut notes = attention_notes(e);
    if let Some(file) = &e.empty_down {
        notes.push(format!("{file} is a placeholder: a downgrade past it needs --allow-empty-down"));
    }
    if e.irreversible {
        notes.push("irreversible: no downgrade can pass it".into());
    }
    notes
}

/// The notes on what needs a person (see [`Entry::needs_attention`]).
fn attention_notes(e: &Entry<'_>) -> Vec<String> {
    let v = &e.name.version;
    let mut notes = Vec::new();
    if let (Standing::Dirty(_), Some(row)) = (e.standing, &e.row) {
        notes.push(format!("{}: `migrate resume`, or `migrate resolve {v} --applied|--not-applied`", dirty_text(row)));
    }
    if e.is_missing() {
        notes.push(
            "applied here but not in the folder; its down SQL is kept, so `migrate downgrade` can revert it".into(),
        );
    }
    for c in &e.changed {
        notes.push(format!("{} changed since it was applied: restore it, or `migrate accept {v}`", c.file));
    }
    if e.out_of_order {
        notes.push(
            "older than the newest applied revision: `migrate upgrade` refuses it (--out-of-order applies it)".into(),
        );
    }
    notes
}

fn entry_json(e: &Entry<'_>) -> Value {
    json!({
        "version": e.name.version,
        "name": e.name.name,
        "folder": e.revision.map(Revision::folder),
        "status": state_word(e).0.replace('-', "_"),
        "applied": e.row.as_ref().is_some_and(|r| !r.state.is_dirty()),
        "applied_at": e.row.as_ref().map(|r| r.applied_at.clone()),
        "duration_ms": e.row.as_ref().map(|r| r.duration_ms),
        "dirty": match (e.standing, &e.row) { (Standing::Dirty(_), Some(row)) => row_json(row), _ => Value::Null },
        "missing": e.is_missing(),
        "changed": e.changed.iter().map(|c| json!({
            "file": c.file,
            "recorded": c.recorded.map(|c| c.to_hex()),
            "current": c.current.map(|c| c.to_hex()),
        })).collect::<Vec<_>>(),
        "out_of_order": e.out_of_order,
        "empty_down": e.empty_down,
        "irreversible": e.irreversible,
        "needs_attention": e.needs_attention(),
        "notes": notes(e),
    })
}

fn summary_json(s: &Summary) -> Value {
    json!({
        "applied": s.applied, "pending": s.pending, "dirty": s.dirty, "changed": s.changed, "missing": s.missing,
        "out_of_order": s.out_of_order, "empty_down": s.empty_down,
    })
}

fn summary_text(s: &Summary) -> String {
    let mut parts = vec![format!("{} applied", s.applied), format!("{} pending", s.pending)];
    for (n, what) in
        [(s.dirty, "dirty"), (s.changed, "changed"), (s.missing, "missing"), (s.out_of_order, "out of order")]
    {
        if n > 0 {
            parts.push(format!("{n} {what}"));
        }
    }
    parts.join(", ")
}

/// `status`: one line per revision. Exits 3 when revisions are pending and nothing is wrong, 4 when something
/// needs attention (a problem in the folder included).
///
/// # Errors
/// No database, or the history cannot be read.
pub fn status(ctx: &mut Context) -> Result<Exit, Failure> {
    let observed = observe(ctx, true)?.expect("required");
    let scan = ctx.scan();
    let entries = Migrator::new(&scan.revisions).status_of(&observed.rows, observed.backend);
    let summary = Summary::of(&entries);
    let (problems, warnings) = concerning(&scan, Some(observed.backend));
    let exit = if summary.needs_attention() || !problems.is_empty() {
        Exit::Attention
    } else if summary.pending > 0 {
        Exit::Pending
    } else {
        Exit::Done
    };
    if ctx.out.is_json() {
        ctx.out.json(&json!({
            "database": observed.shown,
            "folder": ctx.global.dir,
            "summary": summary_json(&summary),
            "needs_attention": exit == Exit::Attention,
            "revisions": entries.iter().map(entry_json).collect::<Vec<_>>(),
            "problems": problems.iter().chain(&warnings).map(|p| problem_json(p, &ctx.global.dir)).collect::<Vec<_>>(),
            "exit_code": exit as i32,
        }));
        return Ok(exit);
    }
    let mut table: Vec<Vec<Cell>> = Vec::new();
    for e in &entries {
        let (word, style) = state_word(e);
        let notes = notes(e);
        let mut first = vec![(word.to_owned(), Some(style)), (e.name.to_string(), None)];
        first.push((notes.first().cloned().unwrap_or_default(), Some(Style::Dim)));
        table.push(first);
        for note in notes.iter().skip(1) {
            table.push(vec![(String::new(), None), (String::new(), None), (note.clone(), Some(Style::Dim))]);
        }
    }
    ctx.out.table(&["STATUS", "REVISION", "NOTE"], &table);
    for p in &problems {
        ctx.out.line(&format!("{} {}", ctx.out.paint("problem:", Style::Bad), p.display_under(&ctx.global.dir)));
    }
    for p in &warnings {
        ctx.out.line(&format!("{} {}", ctx.out.paint("warning:", Style::Warn), p.display_under(&ctx.global.dir)));
    }
    let verdict = match exit {
        Exit::Attention => ctx.out.paint("needs attention", Style::Bad),
        Exit::Pending => ctx.out.paint("pending: run `migrate upgrade`", Style::Warn),
        _ => ctx.out.paint("up to date", Style::Good),
    };
    ctx.out.line(&format!("{} on {}: {verdict}", summary_text(&summary), observed.shown));
    Ok(exit)
}

/// The folder that holds `revision`'s files: its own, or (a flat layout's revision) the revision folder itself.
fn folder_of(dir: &std::path::Path, revision: &Revision) -> std::path::PathBuf {
    let up = revision.path_of(revision.up(Backend::Postgres));
    dir.join(up.parent().unwrap_or(std::path::Path::new("")))
}

/// How `script` runs on `backend` (on each backend, when that is not known), in words.
fn runs(script: &migrate_core::Script, backend: Option<Backend>) -> &'static str {
    match (backend, script.transaction()) {
        (Some(Backend::Mysql), _) => "statement by statement (MySQL commits DDL implicitly)",
        (_, false) => "statement by statement (no-transaction)",
        (Some(_), true) => "in a transaction",
        (None, true) => "in a transaction (statement by statement on mysql)",
    }
}

/// `show <rev>`: one revision's files, checksums, directives and SQL, and its state in the database if one is
/// configured.
///
/// # Errors
/// The reference matches no revision, or several.
pub fn show(ctx: &mut Context, reference: &str) -> Result<Exit, Failure> {
    let scan = ctx.scan();
    let observed = observe(ctx, false)?;
    let migrator = Migrator::new(&scan.revisions);
    let name = migrator.find(reference, observed.as_ref().map_or(&[][..], |o| &o.rows[..]))?;
    let rows: Vec<&AppliedRow> = observed.iter().flat_map(|o| &o.rows).collect();
    let revision = scan.revisions.iter().find(|r| r.version() == name.version);
    let row = rows.iter().find(|r| r.version == name.version).copied();
    let backend = observed.as_ref().map(|o| o.backend);
    let entry = observed
        .as_ref()
        .and_then(|o| migrator.status_of(&o.rows, o.backend).into_iter().find(|e| e.name.version == name.version));
    let files: Vec<Value> = revision
        .map(|r| {
            r.scripts()
                .map(|s| {
                    let dialect = s.backend().or(backend).unwrap_or(Backend::Postgres);
                    json!({
                        "file": s.file(),
                        "path": ctx.global.dir.join(r.path_of(s)),
                        "backend": s.backend().map(Backend::name),
                        "used_here": backend.map(|b| {
                            let up = r.up(b).file() == s.file();
                            let down = r.down(b).file() == s.file();
                            up || down
                        }),
                        "checksum": s.checksum().to_hex(),
                        "kind": match s.kind() { ScriptKind::Sql => "sql", ScriptKind::Empty => "empty", ScriptKind::NoOp => "no-op", ScriptKind::Irreversible => "irreversible" },
                        "transaction": s.transaction() && dialect != Backend::Mysql,
                        "runs": runs(s, backend),
                        "statements": migrate_core::sql::split(s.sql(), dialect).len(),
                        "sql": s.sql(),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    if ctx.out.is_json() {
        // Unscrubbed: SQL, names from the folder, and the URL already shown without its password.
        ctx.out.sql_json(&json!({
            "version": name.version,
            "name": name.name,
            "folder": revision.map(|r| folder_of(&ctx.global.dir, r)),
            "in_folder": revision.is_some(),
            "database": observed.as_ref().map(|o| o.shown.clone()),
            "state": entry.as_ref().map(entry_json),
            "files": files,
            "stored_down_sql": row.and_then(|r| r.down_sql.clone()),
        }));
        return Ok(Exit::Done);
    }
    let out = &ctx.out;
    out.line(&format!("{} {}", out.paint("revision", Style::Bold), name));
    match revision {
        Some(r) => out.line(&format!("folder    {}", folder_of(&ctx.global.dir, r).display())),
        None => out.line("folder    (not in the folder; known from the database's history table)"),
    }
    match (&observed, &entry) {
        (Some(o), Some(e)) => {
            let (word, style) = state_word(e);
            let when = e.row.as_ref().map_or(String::new(), |r| {
                format!(" (applied at {} in {}{})", r.applied_at, recorded(r.duration_ms), tries(r))
            });
            out.line(&format!("state     {}{when} on {}", out.paint(word, style), o.shown));
            for note in notes(e) {
                out.line(&format!("          {note}"));
            }
        }
        _ => out.line("state     unknown (no database configured)"),
    }
    for f in &files {
        let used = match f["used_here"].as_bool() {
            Some(true) => " (runs on this database)",
            Some(false) => " (not used on this database)",
            None => "",
        };
        out.line(&format!(
            "\n{} {}{used}",
            out.paint(&format!("-- {}", f["file"].as_str().unwrap_or("")), Style::Bold),
            out.paint(
                &format!(
                    "sha256 {}, {} statement(s), {}, {}",
                    f["checksum"].as_str().unwrap_or(""),
                    f["statements"],
                    f["kind"].as_str().unwrap_or(""),
                    f["runs"].as_str().unwrap_or("")
                ),
                Style::Dim
            )
        ));
        out.sql(f["sql"].as_str().unwrap_or("").trim_end());
    }
    if revision.is_none() {
        if let Some(sql) = row.and_then(|r| r.down_sql.as_deref()) {
            out.line(&format!("\n{}", out.paint("-- down SQL kept in the history table", Style::Bold)));
            out.sql(sql.trim_end());
        }
    }
    Ok(Exit::Done)
}

/// How `verify` judges the folder: for which backend, and whether warnings fail it (the macro's `allow_empty_down`
/// is the global option's).
#[derive(Clone, Copy, Debug, Default)]
pub struct Judge {
    /// The backend whose dialect judges the folder; default: the database's, or every backend without one.
    pub dialect: Option<Backend>,
    /// Warnings count as problems.
    pub deny_warnings: bool,
}

/// `verify`: checks the folder as the macro does (for `judge`'s backend and options) and, with a database configured,
/// the database against it. Changes nothing. Exits 4 if anything needs attention (warnings too, with
/// `deny_warnings`); warnings and deliberate no-ops are listed.
///
/// # Errors
/// The history cannot be read.
pub fn verify(ctx: &mut Context, schema_file: Option<&std::path::Path>, judge: Judge) -> Result<Exit, Failure> {
    let Judge { dialect, deny_warnings } = judge;
    // The macro's scan, with its options: what this passes compiles, and the other way round.
    let options = ScanOptions::default().allow_empty_down(ctx.global.allow_empty_down);
    let scan = migrate_core::scan(&ctx.global.dir, &options);
    let observed = observe_with(ctx, schema_file.is_some(), schema_file.is_some())?;
    let dir = ctx.global.dir.clone();
    let judged = dialect.or(observed.as_ref().map(|o| o.backend)).map_or(Backends::ALL, Backends::only);
    let mut problems: Vec<String> = scan
        .problems
        .iter()
        .filter(|p| p.refuses_build_for(judged))
        .map(|p| p.display_under(&dir).to_string())
        .collect();
    let mut warnings: Vec<String> = scan
        .problems
        .iter()
        .filter(|p| p.severity == Severity::Warning && p.backends.intersects(judged))
        .map(|p| p.display_under(&dir).to_string())
        .collect();
    // The safety lint, where migrate.toml's [lint] asks for it (as `lint(...)` does of the macro).
    if let Some(options) = &ctx.settings.lint {
        let lock_timeout_off = ctx.global.lock_timeout == 0.0;
        let options = migrate_core::lint::LintOptions { backends: Some(judged), lock_timeout_off, ..options.clone() };
        for finding in migrate_core::lint::lint(&scan.revisions, &options) {
            let text = finding.display_under(&dir);
            match finding.level {
                migrate_core::lint::Level::Deny => problems.push(text),
                _ => warnings.push(text),
            }
        }
    }
    let mut notes: Vec<String> = Vec::new();
    for r in &scan.revisions {
        for backend in judged.iter() {
            let down = r.down(backend);
            if down.kind() == ScriptKind::Empty {
                warnings.push(format!(
                    "{}: a placeholder (no statement): a downgrade past {} is refused unless --allow-empty-down",
                    dir.join(r.path_of(down)).display(),
                    r.version()
                ));
            }
            for script in [r.up(backend), down] {
                let note = format!(
                    "{}: a deliberate no-op (comments only): it runs nothing and is recorded",
                    dir.join(r.path_of(script)).display()
                );
                if script.kind() == ScriptKind::NoOp && !notes.contains(&note) {
                    notes.push(note);
                }
            }
        }
    }
    warnings.dedup();
    let mut summary = None;
    if let Some(o) = &observed {
        let entries = Migrator::new(&scan.revisions).status_of(&o.rows, o.backend);
        for e in entries.iter().filter(|e| e.needs_attention()) {
            for note in attention_notes(e) {
                problems.push(format!("{} {}: {note}", state_word(e).0, e.name));
            }
        }
        summary = Some(Summary::of(&entries));
    }
    if let (Some(file), Some(live)) = (schema_file, observed.as_ref().and_then(|o| o.schema.as_ref())) {
        problems.extend(schema_drift(file, live)?);
    }
    let denied = deny_warnings && !warnings.is_empty();
    let exit = if problems.is_empty() && !denied { Exit::Done } else { Exit::Attention };
    if ctx.out.is_json() {
        ctx.out.json(&json!({
            "folder": dir,
            "backends": judged.iter().map(Backend::name).collect::<Vec<_>>(),
            "revisions": scan.revisions.len(),
            "database": observed.as_ref().map(|o| o.shown.clone()),
            "summary": summary.as_ref().map(summary_json),
            "ok": exit == Exit::Done,
            "problems": problems,
            "warnings": warnings,
            "notes": notes,
            "exit_code": exit as i32,
        }));
        return Ok(exit);
    }
    for p in &problems {
        ctx.out.line(&format!("{} {p}", ctx.out.paint("problem:", Style::Bad)));
    }
    for w in &warnings {
        ctx.out.line(&format!("{} {w}", ctx.out.paint("warning:", Style::Warn)));
    }
    for n in &notes {
        ctx.out.line(&format!("note: {n}"));
    }
    let scoped = scan.problems.iter().any(|p| p.refuses_build_for(judged) && p.backends != Backends::ALL);
    if scoped && judged == Backends::ALL {
        ctx.out.line(
            "note: a problem found by some backends' dialects only matters on those backends: judge the folder for \
             the one it runs on with --dialect, or with its database URL",
        );
    }
    let database = match (&observed, &summary) {
        (Some(o), Some(s)) => format!("; database {}: {}", o.shown, summary_text(s)),
        _ => format!("; no database configured, so only the folder was checked, as {judged} read it"),
    };
    let verdict = if denied && problems.is_empty() {
        ctx.out.paint(&format!("{} warning(s), denied by --deny-warnings", warnings.len()), Style::Bad)
    } else if problems.is_empty() {
        ctx.out.paint("verified", Style::Good)
    } else {
        ctx.out.paint(&format!("{} problem(s)", problems.len()), Style::Bad)
    };
    ctx.out.line(&format!("{verdict}: {} revision(s) in {}{database}", scan.revisions.len(), dir.display()));
    Ok(exit)
}

/// The database's schema, read from its catalog.
fn live_schema(ctx: &mut Context) -> Result<(String, Schema), Failure> {
    let url = ctx.require_database_url()?;
    let migrator = ctx.migrator(&[], RunFlags::default())?;
    let mut conn = ctx.open(&url, false)?;
    let schema = migrator.snapshot(&mut *conn.driver())?;
    Ok((url.shown().to_owned(), schema))
}

/// `schema`: prints the database's schema snapshot (in JSON, as the text under `schema`), or with `diagram` as a
/// diagram.
///
/// # Errors
/// No database URL; the connection or the catalog read failing.
pub fn schema(ctx: &mut Context, diagram: Option<crate::cli::Diagram>) -> Result<Exit, Failure> {
    let (shown, schema) = live_schema(ctx)?;
    if let Some(crate::cli::Diagram::Mermaid) = diagram {
        let text = migrate_core::schema::mermaid::diagram(&schema);
        if ctx.out.is_json() {
            ctx.out.json(&json!({ "database": shown, "mermaid": text }));
        } else {
            ctx.out.line(text.trim_end());
        }
        return Ok(Exit::Done);
    }
    if ctx.out.is_json() {
        ctx.out.json(&json!({ "database": shown, "schema": schema.to_string() }));
    } else {
        ctx.out.line(schema.to_string().trim_end());
    }
    Ok(Exit::Done)
}

/// What differs between the snapshot in `file` and the database, one sentence each.
fn schema_drift(file: &std::path::Path, live: &Schema) -> Result<Vec<String>, Failure> {
    let text = std::fs::read_to_string(file).map_err(|err| {
        Failure::usage(
            format!("cannot read the schema snapshot {}: {err}", file.display()),
            Some("write one with `migrate schema > FILE` on a database at the state to compare with".into()),
        )
    })?;
    let expected = Schema::parse(&text).map_err(|(line, what)| {
        Failure::usage(
            format!("{}:{line}: not a schema snapshot line: {what}", file.display()),
            Some("the file should be the output of `migrate schema`".into()),
        )
    })?;
    let mut drift = Vec::new();
    if let (Some(theirs), Some(ours)) = (expected.backend(), live.backend()) {
        if theirs != ours {
            drift.push(format!("{} is a {theirs} snapshot; the database is {ours}", file.display()));
        }
    }
    // Both sides through the text form, so what the file holds and what the database gives compare alike.
    let live = Schema::parse(&live.to_string()).expect("the text form reads back");
    let sides = Sides {
        extra: "is in the database, not in the snapshot",
        missing: "is in the snapshot, not in the database",
        expected: "in the snapshot",
        actual: "in the database",
    };
    let shown = file.display().to_string();
    drift.extend(
        schema::diff(&expected, &live).iter().map(|d| format!("schema drift from {shown}: {}", d.words(&sides))),
    );
    Ok(drift)
}

/// `wait`: tries to connect until the database accepts, or the wait runs out.
///
/// # Errors
/// A bad timeout; the last connection error when the wait runs out.
pub fn wait(ctx: &mut Context, timeout: f64) -> Result<Exit, Failure> {
    let limit = std::time::Duration::try_from_secs_f64(timeout)
        .map_err(|_| Failure::usage(format!("--timeout {timeout} is not a number of seconds"), None))?;
    let mut url = ctx.require_database_url()?;
    let each = url.connect_timeout();
    let started = std::time::Instant::now();
    let mut tries = 0;
    loop {
        tries += 1;
        // No try outlasts the wait: a server that accepts and never answers is given what is left of it.
        let left = limit.saturating_sub(started.elapsed()).max(std::time::Duration::from_millis(100));
        url = url.with_connect_timeout(each.min(left));
        match ctx.open(&url, false) {
            Ok(_) => {
                let waited = started.elapsed().as_secs_f64();
                if ctx.out.is_json() {
                    ctx.out.json(
                        &json!({ "command": "wait", "database": url.shown(), "waited_s": waited, "tries": tries }),
                    );
                } else {
                    ctx.out.line(&format!("{} accepts connections (after {waited:.1} s, {tries} tries)", url.shown()));
                }
                return Ok(Exit::Done);
            }
            Err(failure) if started.elapsed() >= limit => {
                return Err(Failure::new(
                    format!("{} did not accept a connection within {timeout} s: {}", url.shown(), failure.message),
                    Some("check that the server is starting and the URL is right, or wait longer: --timeout".into()),
                ));
            }
            Err(_) => {
                std::thread::sleep(std::time::Duration::from_millis(250).min(limit.saturating_sub(started.elapsed())))
            }
        }
    }
}

/// `config`: every global option's value and where it came from; the URL's password hidden.
///
/// # Errors
/// A `.env` file that cannot be read.
pub fn config(ctx: &mut Context) -> Result<Exit, Failure> {
    let g = &ctx.global;
    let url = crate::database::find(g.database_url.as_deref(), ctx.settings.database_url.as_deref())?;
    let value = |key: &str| -> String {
        match key {
            "database_url" => {
                url.as_ref().map_or_else(|| "(none)".to_owned(), |(raw, _)| crate::database::redacted(raw))
            }
            "dir" => g.dir.display().to_string(),
            "history_table" => g.history_table.clone(),
            "history_schema" => g.history_schema.clone().unwrap_or_else(|| "(the connection's own)".to_owned()),
            "format" => format!("{:?}", g.format).to_lowercase(),
            "color" => format!("{:?}", g.color).to_lowercase(),
            "connect_timeout" => format!("{} s", g.connect_timeout),
            "lock_wait" => format!("{} s", g.lock_wait),
            "lock_timeout" if g.lock_timeout == 0.0 => "0 (no bound: the session's own)".to_owned(),
            "lock_timeout" => format!("{} s", g.lock_timeout),
            "lock_retry" => format!("{} s", g.lock_retry),
            "no_lock" => g.no_lock.to_string(),
            "allow_empty_down" => g.allow_empty_down.to_string(),
            "init_sql" => format!("{:?}", g.init_sql),
            "sslmode" => g.sslmode.map_or_else(|| "(the URL's, else prefer)".to_owned(), |m| format!("{m:?}")),
            "sslrootcert" => {
                g.sslrootcert.as_ref().map_or_else(|| "(the URL's)".to_owned(), |p| p.display().to_string())
            }
            "write_schema" => {
                g.write_schema.as_ref().map_or_else(|| "(not written)".to_owned(), |p| p.display().to_string())
            }
            _ => String::new(),
        }
    };
    let origin = |key: &str| -> String {
        if key == "database_url" {
            return url.as_ref().map_or_else(|| "none".to_owned(), |(_, source)| source.describe().to_owned());
        }
        ctx.settings.origins.iter().find(|(k, _)| *k == key).map_or_else(String::new, |(_, o)| o.to_string())
    };
    let rows: Vec<(&str, String, String)> =
        crate::config::KEYS.iter().map(|(key, _)| (*key, value(key), origin(key))).collect();
    let file = ctx.settings.path.as_ref().map(|p| p.display().to_string());
    if ctx.out.is_json() {
        let options: Vec<_> =
            rows.iter().map(|(k, v, o)| json!({ "key": k, "value": ctx.out.scrub(v), "from": o })).collect();
        ctx.out.json(&json!({ "file": file, "options": options }));
        return Ok(Exit::Done);
    }
    ctx.out.line(&format!("file: {}", file.as_deref().unwrap_or("(no migrate.toml here or above)")));
    for (key, value, from) in rows {
        let value = ctx.out.scrub(&value);
        ctx.out.line(&format!("{key:<16} {value:<40} {from}"));
    }
    Ok(Exit::Done)
}
