//! `migrate`: Alembic's command set on a folder of SQL revisions, for PostgreSQL, SQLite and MySQL/MariaDB.
//!
//! The folder is read at run time by the same scanner the `migrations!()` macro uses at compile time, and applied
//! through the same planner, runner and drivers, so the command line and an application that embeds the folder
//! can never disagree about it. See `migrate --help` and the README for every command, its output and exit codes.

mod apply;
mod cli;
mod config;
mod database;
mod failure;
mod inspect;
mod new;
mod offline;
mod output;
mod progress;
mod repair;
mod tls;

use std::process::ExitCode;
use std::time::Duration;

use migrate_core::scan::Blocks;
use migrate_core::{HistoryTable, Migrator, OutOfOrder, Revision, Scan, ScanOptions};

use crate::cli::{Cli, Command, Global};
use crate::database::DatabaseUrl;
use crate::failure::{Exit, Failure};
use crate::output::Output;

/// What every command works with: the options, the printer, and the database URL once looked up.
pub struct Context {
    /// The printer.
    pub out: Output,
    /// The global options.
    pub global: Global,
    /// What migrate.toml set, and where each option came from.
    pub settings: config::Settings,
}

/// Per-command run options that end up in the runner's configuration.
#[derive(Clone, Copy, Debug, Default)]
pub struct RunFlags {
    /// Apply pending revisions older than the newest applied one.
    pub out_of_order: bool,
    /// One transaction for the whole command.
    pub single_transaction: bool,
}

impl Context {
    /// A migrator over `revisions` configured by the global options and `flags`.
    ///
    /// # Errors
    /// An invalid history table name or schema, or a negative lock wait.
    pub fn migrator<'r>(&self, revisions: &'r [Revision], flags: RunFlags) -> Result<Migrator<'r>, Failure> {
        let g = &self.global;
        let mut table = HistoryTable::new(&g.history_table)?;
        if let Some(schema) = &g.history_schema {
            table = table.in_schema(schema)?;
        }
        let lock_wait = Duration::try_from_secs_f64(g.lock_wait)
            .map_err(|_| Failure::usage(format!("--lock-wait {} is not a number of seconds", g.lock_wait), None))?;
        Ok(Migrator::new(revisions)
            .history_table(table)
            .lock(!g.no_lock)
            .lock_wait(lock_wait)
            .out_of_order(if flags.out_of_order { OutOfOrder::Allow } else { OutOfOrder::Error })
            .single_transaction(flags.single_transaction)
            .allow_empty_down(g.allow_empty_down))
    }

    /// Scans the revision folder. Placeholder (empty) down files are accepted here and reported by `status` and
    /// `verify`; a downgrade that would run one is refused unless `--allow-empty-down`.
    pub fn scan(&self) -> Scan {
        migrate_core::scan(&self.global.dir, &ScanOptions::default().allow_empty_down(true))
    }

    /// The folder, for a command that runs it: its problems go with it to the runner, which refuses only the steps
    /// that would run or rely on a file they name (`migrate verify` and `status` report them all).
    ///
    /// # Errors
    /// Every problem of the folder, if one stands in the way of every operation (the revisions or their order are
    /// not known).
    pub fn revisions(&self) -> Result<Scan, Failure> {
        let scan = self.scan();
        let everything: Vec<_> = scan.problems.iter().filter(|p| p.blocks() == Blocks::Everything).cloned().collect();
        if !everything.is_empty() {
            return Err(migrate_core::Error::Scan { folder: self.global.dir.clone(), problems: everything }.into());
        }
        Ok(scan)
    }

    /// [`Context::migrator`] over a scanned folder, with the folder's problems.
    ///
    /// # Errors
    /// As [`Context::migrator`].
    pub fn runner<'r>(&self, folder: &'r Scan, flags: RunFlags) -> Result<Migrator<'r>, Failure> {
        Ok(self.migrator(&folder.revisions, flags)?.folder_problems(self.global.dir.clone(), folder.problems.clone()))
    }

    /// The database URL, if one is configured; its password is hidden from all output from here on.
    ///
    /// # Errors
    /// A URL that cannot be read, or a `.env` file that cannot.
    pub fn database_url(&mut self) -> Result<Option<DatabaseUrl>, Failure> {
        let file = self.settings.database_url.as_deref();
        let Some((raw, source)) = database::find(self.global.database_url.as_deref(), file)? else { return Ok(None) };
        self.out.hide(&database::passwords(&raw));
        let url = DatabaseUrl::parse(&raw, source)?;
        self.out.hide(url.secrets());
        let seconds = self.global.connect_timeout;
        let timeout = Duration::try_from_secs_f64(seconds).ok().filter(|t| !t.is_zero()).ok_or_else(|| {
            Failure::usage(format!("--connect-timeout {seconds} is not a number of seconds above 0"), None)
        })?;
        // PGSSLMODE and PGSSLROOTCERT are PostgreSQL's variables: a MySQL URL takes only the flags and the file.
        let from_pg_variable = |key: &str| {
            self.settings.origins.iter().any(|(k, o)| *k == key && matches!(o, config::Origin::Environment(_)))
        };
        let mysql = url.backend() == migrate_core::Backend::Mysql;
        let mode = self.global.sslmode.filter(|_| !(mysql && from_pg_variable("sslmode")));
        let root = self.global.sslrootcert.as_deref().filter(|_| !(mysql && from_pg_variable("sslrootcert")));
        Ok(Some(url.with_connect_timeout(timeout).with_tls(mode, root)))
    }

    /// The database URL, which this command needs.
    ///
    /// # Errors
    /// As [`Context::database_url`], and a usage failure when none is configured.
    pub fn require_database_url(&mut self) -> Result<DatabaseUrl, Failure> {
        self.database_url()?.ok_or_else(|| {
            Failure::usage(
                "no database: this command needs one",
                Some(
                    "give --database-url, or set DATABASE_URL (in the environment or a .env file), e.g. \
                     DATABASE_URL=sqlite:app.db"
                        .to_owned(),
                ),
            )
        })
    }

    /// Connects to the database this command needs; a missing SQLite file is created only when `create` is set
    /// (see [`DatabaseUrl::connect`]), and otherwise noted on stderr.
    ///
    /// # Errors
    /// No database configured, a bad URL, or the connection fails.
    pub fn connect(&mut self, create: bool) -> Result<database::Connection, Failure> {
        let url = self.require_database_url()?;
        self.open(&url, create)
    }

    /// Opens `url` as every command does: the history schema checked first, `--init-sql` run, a missing SQLite file
    /// noted.
    ///
    /// # Errors
    /// A history schema SQLite cannot have, the connection, or an `--init-sql` statement fails.
    pub fn open(&mut self, url: &DatabaseUrl, create: bool) -> Result<database::Connection, Failure> {
        self.check_history_schema(url)?;
        let mut conn = url.connect(create)?;
        conn.init(&self.global.init_sql)?;
        self.note_missing(&conn);
        Ok(conn)
    }

    /// Refuses, before the file is opened (and created), a history schema that a SQLite connection opened here
    /// cannot have: it has only its main database.
    ///
    /// # Errors
    /// A usage failure naming the schema.
    pub fn check_history_schema(&self, url: &DatabaseUrl) -> Result<(), Failure> {
        match self.global.history_schema.as_deref() {
            Some(schema) if url.backend() == migrate_core::Backend::Sqlite && !schema.eq_ignore_ascii_case("main") => {
                Err(Failure::usage(
                    format!("--history-schema {schema}: a SQLite connection opened here has only its main database"),
                    Some(
                        "leave --history-schema out for SQLite: the history table lives in the file itself".to_owned(),
                    ),
                ))
            }
            _ => Ok(()),
        }
    }

    /// Notes on stderr that a SQLite file does not exist yet and is shown as an empty database.
    pub fn note_missing(&self, conn: &database::Connection) {
        if let Some(path) = conn.missing_file() {
            // On stderr in JSON mode too: a mistyped path must not pass silently for a new database.
            self.out.note(&format!(
                "note: {} does not exist yet: shown as an empty database (`migrate upgrade` creates it)",
                path.display()
            ));
        }
    }
}

fn run(mut cli: Cli, matches: &clap::ArgMatches) -> Result<Exit, Failure> {
    let settings = config::apply(&mut cli.global, matches);
    let mut out = Output::new(cli.global.format, cli.global.color);
    // A URL given by mistake in another argument (`migrate new <URL>`, `--history-table <URL>`) may be quoted in an
    // error: its password is hidden as the database URL's is.
    hide_argument_passwords(&mut out);
    let settings = match settings {
        Ok(settings) => settings,
        Err(failure) => {
            out.failure(&failure);
            return Err(failure);
        }
    };
    if let Some(url) = &settings.database_url {
        out.hide(&database::passwords(url));
    }
    let mut ctx = Context { out, global: cli.global, settings };
    let result = dispatch(&mut ctx, cli.command);
    if let Err(failure) = &result {
        ctx.out.failure(failure);
    }
    result
}

/// Writes generated text to stdout as it is; a reader that stops early (`| head`) is not an error.
fn print_raw(text: &[u8], what: &str) -> Result<Exit, Failure> {
    use std::io::Write as _;
    match std::io::stdout().write_all(text) {
        Ok(()) => Ok(Exit::Done),
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(Exit::Done),
        Err(err) => Err(Failure::new(format!("writing {what}: {err}"), None)),
    }
}

fn dispatch(ctx: &mut Context, command: Command) -> Result<Exit, Failure> {
    match command {
        Command::Completions { shell } => {
            let mut text = Vec::new();
            clap_complete::generate(shell, &mut <Cli as clap::CommandFactory>::command(), "migrate", &mut text);
            print_raw(&text, "the completion script")
        }
        Command::Config => config::show(ctx),
        Command::Man => {
            let mut text = Vec::new();
            clap_mangen::Man::new(<Cli as clap::CommandFactory>::command())
                .render(&mut text)
                .map_err(|err| Failure::new(format!("making the manual page: {err}"), None))?;
            print_raw(&text, "the manual page")
        }
        Command::New { name, sequential, no_transaction, dry_run } => {
            new::new(ctx, &name, sequential, no_transaction, dry_run)
        }
        Command::Upgrade { target, run, out_of_order } => {
            let flags = RunFlags { out_of_order, single_transaction: run.single_transaction };
            apply::apply(ctx, migrate_core::Command::Upgrade(target.as_str().into()), flags, run.dry_run)
        }
        Command::Downgrade { target, run } => {
            let flags = RunFlags { single_transaction: run.single_transaction, ..RunFlags::default() };
            apply::apply(ctx, migrate_core::Command::Downgrade(target.as_str().into()), flags, run.dry_run)
        }
        Command::Stamp { revision, dry_run } => {
            apply::apply(ctx, migrate_core::Command::Stamp(revision.as_str().into()), RunFlags::default(), dry_run)
        }
        Command::Redo { count, dry_run } => apply::redo(ctx, &count, dry_run),
        Command::Current => inspect::current(ctx),
        Command::Wait { timeout } => inspect::wait(ctx, timeout),
        Command::History => inspect::history(ctx),
        Command::Status => inspect::status(ctx),
        Command::Show { revision } => inspect::show(ctx, &revision),
        Command::Verify { schema, dialect, deny_warnings } => {
            let judge = inspect::Judge { dialect: dialect.map(migrate_core::Backend::from), deny_warnings };
            inspect::verify(ctx, schema.as_deref(), judge)
        }
        Command::Schema => inspect::schema(ctx),
        Command::Sql { direction, target, dialect, from } => {
            offline::sql(ctx, direction, target.as_deref(), dialect, from.as_deref())
        }
        Command::Resolve { revision, applied, not_applied: _, dry_run } => {
            repair::resolve(ctx, &revision, applied, dry_run)
        }
        Command::Resume { dry_run, in_doubt } => repair::resume(ctx, dry_run, in_doubt),
        Command::Accept { revision, dry_run } => repair::accept(ctx, &revision, dry_run),
        Command::Import { tool, allow_unknown, dry_run } => repair::import(ctx, tool, allow_unknown, dry_run),
    }
}

/// Hides from `out` the password of any URL among the arguments and in `DATABASE_URL`.
fn hide_argument_passwords(out: &mut Output) {
    for arg in std::env::args_os().chain(std::env::var_os("DATABASE_URL")) {
        out.hide(&database::passwords(&arg.to_string_lossy()));
    }
}

fn main() -> ExitCode {
    let parsed = <Cli as clap::CommandFactory>::command()
        .try_get_matches()
        .and_then(|matches| <Cli as clap::FromArgMatches>::from_arg_matches(&matches).map(|cli| (cli, matches)));
    let (cli, matches) = match parsed {
        Ok(parsed) => parsed,
        Err(err) => {
            // Usage errors, --help and --version. The arguments may hold a URL with a password: scrub it.
            let mut printer = Output::new(cli::Format::Text, cli::Color::Never);
            hide_argument_passwords(&mut printer);
            let text = printer.scrub(&err.render().to_string());
            if err.use_stderr() {
                printer.note(text.trim_end());
                return ExitCode::from(Exit::Usage as u8);
            }
            printer.line(text.trim_end());
            return ExitCode::from(Exit::Done as u8);
        }
    };
    match run(cli, &matches) {
        Ok(exit) => ExitCode::from(exit as u8),
        Err(failure) => ExitCode::from(failure.exit as u8),
    }
}
