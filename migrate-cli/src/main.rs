//! `migrate`: Alembic's command set on a folder of SQL revisions, for PostgreSQL, SQLite and MySQL/MariaDB.
//!
//! The folder is read at run time by the same scanner the `migrations!()` macro uses at compile time, and applied
//! through the same planner, runner and drivers, so the command line and an application that embeds the folder
//! can never disagree about it. See `migrate --help` and docs/command-line.md for every command, its output and exit codes.

mod apply;
mod cli;
mod config;
mod context;
mod database;
mod failure;
mod fleet;
mod generate;
mod inspect;
mod lint;
mod new;
mod offline;
mod output;
mod progress;
mod repair;
mod scratch;
mod stop;
mod tls;
mod trip;

use std::process::ExitCode;

use crate::cli::{Cli, Command};
use crate::context::{Context, RunFlags};
use crate::failure::{Exit, Failure};
use crate::output::Output;

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
    let cancel = stop::install();
    let mut ctx = Context { out, global: cli.global, settings, cancel };
    let result = dispatch(&mut ctx, cli.command);
    if let Err(failure) = &result {
        ctx.out.failure(failure);
    }
    result
}

/// A command run over `--fleet`: those that migrate or read one database's record.
fn over_fleet(ctx: &mut Context, command: Command) -> Result<Exit, Failure> {
    let (work, flags) = match command {
        Command::Upgrade { target, run, out_of_order } if !run.dry_run => {
            (fleet::Work::Upgrade(target), RunFlags { out_of_order, single_transaction: run.single_transaction })
        }
        Command::Downgrade { target, run } if !run.dry_run => (
            fleet::Work::Downgrade(target),
            RunFlags { single_transaction: run.single_transaction, ..RunFlags::default() },
        ),
        Command::Status => (fleet::Work::Status, RunFlags::default()),
        Command::Verify { schema: None, dialect: None, deny_warnings: false } => {
            (fleet::Work::Verify, RunFlags::default())
        }
        Command::Current => (fleet::Work::Current, RunFlags::default()),
        _ => return Err(Failure::usage(
            "this command does not run over --fleet",
            Some(
                "--fleet runs upgrade, downgrade, status, verify and current (without --dry-run or verify's options)"
                    .into(),
            ),
        )),
    };
    fleet::run(ctx, work, flags)
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
    if !ctx.global.fleet.is_empty() {
        return over_fleet(ctx, command);
    }
    match command {
        Command::Init => new::init(ctx),
        Command::Completions { shell } => {
            let mut text = Vec::new();
            clap_complete::generate(shell, &mut <Cli as clap::CommandFactory>::command(), "migrate", &mut text);
            print_raw(&text, "the completion script")
        }
        Command::Config => inspect::config(ctx),
        Command::Man => {
            let mut text = Vec::new();
            clap_mangen::Man::new(<Cli as clap::CommandFactory>::command())
                .render(&mut text)
                .map_err(|err| Failure::new(format!("making the manual page: {err}"), None))?;
            print_raw(&text, "the manual page")
        }
        Command::New { name, message, sequential, no_transaction, dry_run, from, dev_url, rename } => {
            let what = match (name, message) {
                (Some(name), _) => new::Named::Name(name),
                (None, message) => new::Named::Message(message.unwrap_or_default()),
            };
            let from = from.map(|desired| generate::From { desired, dev_urls: dev_url, renames: rename });
            new::new(ctx, &what, sequential, no_transaction, dry_run, from.as_ref())
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
        Command::Schema { diagram } => inspect::schema(ctx, diagram),
        Command::Test { dev_url, pending } => trip::test(ctx, trip::Ask { dev_url, pending }),
        Command::Lint { dialect, level, start_after, deny_warnings, github } => {
            lint::lint(ctx, lint::Ask { dialect, levels: level, start_after, deny_warnings, github })
        }
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

#[cfg(test)]
mod tests {
    /// The modules that hold commands: `main.rs` dispatches to them, and none imports another or `main.rs`.
    const COMMANDS: [&str; 8] = ["apply", "fleet", "inspect", "lint", "new", "offline", "repair", "trip"];

    #[test]
    fn imports_run_down_from_the_commands() {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        for entry in std::fs::read_dir(&src).unwrap() {
            let path = entry.unwrap().path();
            let module = path.file_stem().unwrap().to_string_lossy().into_owned();
            if module == "main" || path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let code = text.split("#[cfg(test)]").next().unwrap_or("");
            assert!(
                !code.contains("use crate::{"),
                "{module}.rs imports from main.rs: move what it needs to context.rs"
            );
            for command in COMMANDS.iter().filter(|c| **c != module) {
                assert!(
                    !code.contains(&format!("crate::{command}::")),
                    "{module}.rs imports from the command module {command}.rs: move what both need below them"
                );
            }
        }
    }
}
