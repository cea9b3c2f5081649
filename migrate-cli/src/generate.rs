//! `migrate new <name> --from <desired>`: the revision's files written from a schema change and proven before they
//! are saved. The current state is the folder applied to a scratch database; the desired one a schema file applied
//! to another (`schema.sql`, or `schema.<backend>.sql` beside it where one exists) or a database read as it is. The
//! two snapshots are compared and the up and down written (`migrate_core::schema::generate`); then the up is applied
//! to the current scratch database, which must give the desired schema, and the down, which must give the current
//! one back. Only a revision that passed is saved.

use std::path::Path;

use migrate_core::schema::generate::{generate, proof_differences, Rename};
use migrate_core::schema::{Difference, Sides};
use migrate_core::{Backend, Command, Schema, Target};

use crate::context::{Context, RunFlags};
use crate::database::Source;
use crate::failure::{Exit, Failure};
use crate::scratch::Scratch;

/// What `--from` and the options around it ask.
pub struct From {
    /// A schema file (SQL) or a database URL.
    pub desired: String,
    /// The servers of the scratch databases, one per backend the revision is written for.
    pub dev_urls: Vec<String>,
    /// `table.old=new`: columns renamed, not dropped and added.
    pub renames: Vec<String>,
}

/// The generated files for one backend, proven, and what to review in them.
#[derive(Default)]
pub struct Written {
    pub up: String,
    pub down: String,
    pub review: Vec<String>,
}

/// The revision's files, written and proven on each `--dev-url` (or on a temporary SQLite file, for a SQLite
/// database without one): `up.sql` and `down.sql` where every backend's SQL is the same, and a pair per backend
/// where it differs; with what to review. `Ok(None)` when the folder already gives the desired schema everywhere.
///
/// # Errors
/// Two servers of one backend, and what [`write`] refuses.
pub fn files(ctx: &mut Context, from: &From, no_transaction: bool) -> Result<Option<Files>, Failure> {
    let mut written: Vec<(Backend, Written)> = Vec::new();
    let urls: Vec<Option<&str>> = match from.dev_urls.as_slice() {
        [] => vec![None],
        urls => urls.iter().map(|u| Some(u.as_str())).collect(),
    };
    for url in urls {
        let (backend, revision) = write(ctx, from, url)?;
        if written.iter().any(|(b, _)| *b == backend) {
            return Err(Failure::usage(
                format!("two --dev-url servers are {backend}: a revision is written once per backend"),
                Some("give one --dev-url per backend".into()),
            ));
        }
        written.push((backend, revision.unwrap_or_default()));
    }
    if written.iter().all(|(_, w)| w.up.is_empty() && w.down.is_empty()) {
        return Ok(None);
    }
    let directive = if no_transaction { "-- migrate:no-transaction\n" } else { "" };
    let file = |name: &str, body: &str, review: &[String]| {
        (name.to_owned(), format!("{directive}{}{body}", header(&from.desired, review)))
    };
    let mut review: Vec<String> = written.iter().flat_map(|(_, w)| w.review.iter().cloned()).collect();
    let first = &written[0].1;
    if written.iter().all(|(_, w)| w.up == first.up && w.down == first.down) {
        // The same SQL everywhere: one pair.
        let files = vec![file("up.sql", &first.up, &first.review), file("down.sql", &first.down, &[])];
        return Ok(Some(Files { files, review: first.review.clone() }));
    }
    // A pair per backend; the generic pair runs on any other backend, for which nothing was written.
    let names: Vec<&str> = written.iter().map(|(b, _)| b.name()).collect();
    let generic = |side: &str| {
        let own: Vec<String> = names.iter().map(|n| format!("{side}.{n}.sql")).collect();
        format!("{directive}-- Each backend this revision was written for has its own file: {}.\n", own.join(", "))
    };
    let mut files = vec![("up.sql".to_owned(), generic("up")), ("down.sql".to_owned(), generic("down"))];
    if [Backend::Postgres, Backend::Sqlite, Backend::Mysql].iter().any(|b| !names.contains(&b.name())) {
        let sentence = format!(
            "this revision was written for {} only: write here the SQL for any other backend this folder runs on, \
             or keep this file a comment if none does",
            names.join(" and ")
        );
        files[0].1.push_str(&format!("-- migrate:review {sentence}\n"));
        review.push(sentence);
    }
    for (backend, w) in &written {
        let or_nothing = |sql: &str| {
            if sql.trim().is_empty() {
                format!("-- Nothing changes on {backend}.\n")
            } else {
                sql.to_owned()
            }
        };
        files.push(file(&format!("up.{}.sql", backend.name()), &or_nothing(&w.up), &w.review));
        files.push(file(&format!("down.{}.sql", backend.name()), &or_nothing(&w.down), &[]));
    }
    Ok(Some(Files { files, review }))
}

/// A generated revision's files, `(file name, text)`, and what to review in them.
pub struct Files {
    pub files: Vec<(String, String)>,
    pub review: Vec<String>,
}

/// Writes and proves the revision on the scratch server `dev_url`; `None` when the folder already gives the desired
/// schema there.
///
/// # Errors
/// A bad `--rename`, no scratch server, a schema file that does not apply, and a revision that fails its proof
/// (exit 4), with what differs.
fn write(ctx: &mut Context, from: &From, dev_url: Option<&str>) -> Result<(Backend, Option<Written>), Failure> {
    let renames = from
        .renames
        .iter()
        .map(|r| {
            Rename::parse(r).ok_or_else(|| {
                Failure::usage(
                    format!("--rename {r}: write TABLE.OLD=NEW"),
                    Some("e.g. --rename accounts.email=mail".into()),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let folder = ctx.revisions()?;
    let migrator = ctx.runner(&folder, RunFlags::default())?;
    let server = crate::scratch::server(ctx, dev_url, "migrate new --from")?;
    let backend = server.backend();
    // A signal stops the work at its next safe point, so the scratch databases are dropped on the way out.
    let _running = crate::stop::Running::start();
    crate::stop::started();
    let failed = |what: String| Failure::new(what, None);

    // The current state: the folder, applied.
    let current_db = Scratch::create(server.clone())?;
    let mut current_conn = current_db.url.connect(true)?;
    current_conn.init(&ctx.global.init_sql)?;
    migrator.run(&mut *current_conn.driver(), &Command::Upgrade(Target::Head), &mut ())?;
    let current = migrator.snapshot(&mut *current_conn.driver())?;

    // The desired state: a database as it is, or a schema file applied to a scratch database of its own.
    let desired = if is_url(&from.desired) {
        let url = ctx.url(&from.desired, Source::Flag)?;
        if url.backend() != backend {
            return Err(Failure::usage(
                format!("--from is a {} database; the scratch server is {backend}", url.backend()),
                Some("give a --dev-url of the same backend".into()),
            ));
        }
        let mut conn = url.connect(false)?;
        if let Some(path) = conn.missing_file() {
            // An empty schema would make a revision that drops every table.
            return Err(Failure::usage(
                format!("--from {}: the file {} does not exist", url.shown(), path.display()),
                Some("name the SQLite file of the desired schema, or a schema file".into()),
            ));
        }
        conn.init(&ctx.global.init_sql)?;
        let schema = migrator.snapshot(&mut *conn.driver())?;
        schema
    } else {
        let (file, sql) = schema_file(Path::new(&from.desired), backend)?;
        let desired_db = Scratch::create(server.clone())?;
        let mut conn = desired_db.url.connect(true)?;
        conn.init(&ctx.global.init_sql)?;
        conn.run_script(&sql).map_err(|err| {
            Failure::new(
                format!("the desired schema {} does not apply on {backend}: {err}", file.display()),
                Some(format!("fix {} (it runs on an empty database)", file.display())),
            )
        })?;
        let schema = migrator.snapshot(&mut *conn.driver())?;
        drop(conn);
        drop(desired_db);
        schema
    };

    let generated = generate(&current, &desired, backend, &renames).map_err(|why| Failure::new(why, None))?;
    if generated.is_empty() {
        return Ok((backend, None));
    }
    // The proof, on the current scratch database: up gives the desired schema, down the current one.
    let prove = |conn: &mut crate::database::Connection, sql: &str, want: &Schema, step: &str| -> Result<(), Failure> {
        conn.run_script(sql).map_err(|err| failed(format!("the generated {step} does not apply: {err}")))?;
        let got = migrator.snapshot(&mut *conn.driver())?;
        let wrong = proof_differences(want, &got);
        if wrong.is_empty() {
            return Ok(());
        }
        let sides =
            Sides { extra: "is there, and should not be", missing: "is missing", expected: "wanted", actual: "got" };
        let said: Vec<String> = wrong.iter().map(|d: &Difference| format!("  {}", d.words(&sides))).collect();
        Err(Failure {
            exit: Exit::Attention,
            ..failed(format!("the generated {step} does not give the schema it should:\n{}", said.join("\n")))
        })
    };
    let proof = prove(&mut current_conn, &generated.up, &desired, "up")
        .and_then(|()| prove(&mut current_conn, &generated.down, &current, "down"));
    drop(current_conn);
    drop(current_db);
    if let Err(failure) = proof {
        let files = format!("-- up.sql\n{}\n-- down.sql\n{}", generated.up, generated.down);
        return Err(Failure {
            message: format!("{}\nnothing was saved; what was generated:\n{files}", failure.message),
            hint: Some(
                "what the writer leaves to you is marked `-- migrate:review` in what was generated (functions, a \
                 constraint the server named, an enum a view uses); write the revision by hand from it"
                    .into(),
            ),
            ..failure
        });
    }
    Ok((backend, Some(Written { up: generated.up, down: generated.down, review: generated.review })))
}

fn is_url(text: &str) -> bool {
    text.contains("://") || text.starts_with("sqlite:") || text.starts_with("postgres:") || text.starts_with("mysql:")
}

/// The schema file for `backend`: `schema.<backend>.sql` beside `schema.sql` where there is one, as a revision's
/// override files are chosen.
fn schema_file(path: &Path, backend: Backend) -> Result<(std::path::PathBuf, String), Failure> {
    let over = path.with_extension(format!("{}.sql", backend.name()));
    let file = if over.is_file() { over } else { path.to_owned() };
    let sql = std::fs::read_to_string(&file).map_err(|err| {
        Failure::usage(
            format!("cannot read the desired schema {}: {err}", file.display()),
            Some("--from takes an SQL file of CREATE statements, or a database URL".into()),
        )
    })?;
    // pg_dump (since 17.6 and its backports) brackets its output with psql's `\restrict KEY` and `\unrestrict KEY`,
    // which guard psql and mean nothing to a server: left out. Any other psql command is the user's to remove.
    let mut kept = String::with_capacity(sql.len());
    for (index, line) in sql.lines().enumerate() {
        let command = line.trim_start();
        if command.starts_with("\\restrict ") || command.starts_with("\\unrestrict ") {
            continue;
        }
        if command.starts_with('\\') && !command.starts_with("\\.") {
            return Err(Failure::usage(
                format!(
                    "{}:{}: `{}` is a psql command, not SQL a server runs",
                    file.display(),
                    index + 1,
                    command.split_whitespace().next().unwrap_or(command)
                ),
                Some("delete the line (the schema file is run statement by statement, not by psql)".into()),
            ));
        }
        kept.push_str(line);
        kept.push('\n');
    }
    Ok((file, kept))
}

/// The head of a generated file: where it came from, and how many marks wait for a person.
fn header(from: &str, review: &[String]) -> String {
    let mut head =
        format!("-- Written by `migrate new --from {from}` and proven by a round trip on a scratch database.\n");
    if !review.is_empty() {
        head.push_str(&format!(
            "-- {} line(s) below marked `-- migrate:review` need a decision; the revision is refused until they are gone.\n",
            review.len()
        ));
    }
    head
}
