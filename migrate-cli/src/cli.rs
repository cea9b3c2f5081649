//! The command line's grammar: global options and one subcommand per Alembic command.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Schema migrations from a folder of plain SQL revisions, on PostgreSQL, SQLite and MySQL/MariaDB.
///
/// Every option can also be set by an environment variable (MIGRATE_DIR, MIGRATE_LOCK_WAIT, …) or in migrate.toml
/// (this directory or the nearest parent): a flag wins over the environment, which wins over the file, which wins
/// over the default; `migrate config` shows where each value came from.
///
/// The database comes from --database-url, else DATABASE_URL, else a .env file (in this directory or a parent),
/// else database_url in migrate.toml:
/// postgres://user:password@host:port/database, mysql://user:password@host:port/database, sqlite:path/to/file.db.
/// Passwords are never printed.
///
/// Exit codes: 0 done (or nothing to report); 1 the command failed or was refused; 2 bad usage or
/// configuration; 3 `status`: revisions are pending, nothing is wrong; 4 `status`/`verify`/`current`: something
/// needs attention (dirty, changed, missing, out of order, a problem in the folder); 5 the migration lock was not
/// obtained within --lock-wait; 130 / 143 a run stopped at a safe point after SIGINT / SIGTERM (a second signal
/// stops at once).
#[derive(Debug, Parser)]
#[command(name = "migrate", version, max_term_width = 110)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct Global {
    /// The database URL (prefer DATABASE_URL or .env: a command line is visible to other users of the machine).
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,

    /// The revision folder (from migrate.toml: relative to that file).
    #[arg(long, global = true, value_name = "DIR", default_value = "migrations", env = "MIGRATE_DIR")]
    pub dir: PathBuf,

    /// The history table's name.
    #[arg(long, global = true, value_name = "NAME", default_value = migrate_core::history::DEFAULT_TABLE, env = "MIGRATE_HISTORY_TABLE")]
    pub history_table: String,

    /// The history table's schema (PostgreSQL) or database (MySQL); default: the connection's own.
    #[arg(long, global = true, value_name = "SCHEMA", env = "MIGRATE_HISTORY_SCHEMA")]
    pub history_schema: Option<String>,

    /// Output for people (tables, one line per revision) or for scripts (one JSON document on stdout).
    #[arg(long, global = true, value_enum, default_value_t = Format::Text, env = "MIGRATE_FORMAT")]
    pub format: Format,

    /// Colour: only on a terminal by default (and never with NO_COLOR set).
    #[arg(long, global = true, value_enum, default_value_t = Color::Auto, env = "MIGRATE_COLOR")]
    pub color: Color,

    /// How long connecting may take, handshake included, in seconds.
    #[arg(long, global = true, value_name = "SECONDS", default_value_t = crate::database::DEFAULT_CONNECT_TIMEOUT.as_secs_f64(), env = "MIGRATE_CONNECT_TIMEOUT")]
    pub connect_timeout: f64,

    /// How long to wait for the migration lock, in seconds.
    #[arg(long, global = true, value_name = "SECONDS", default_value_t = migrate_core::DEFAULT_LOCK_WAIT.as_secs_f64(), env = "MIGRATE_LOCK_WAIT")]
    pub lock_wait: f64,

    /// How long a revision's statement may wait for a lock on the table it changes, in seconds (0: no bound, the
    /// session's own setting): an ALTER TABLE queued behind a long transaction stalls every query of that table.
    #[arg(long, global = true, value_name = "SECONDS", default_value_t = migrate_core::DEFAULT_LOCK_TIMEOUT.as_secs_f64(), env = "MIGRATE_LOCK_TIMEOUT")]
    pub lock_timeout: f64,

    /// How long a revision whose lock wait ran out is tried again, in seconds (0: never), with growing pauses
    /// between tries; only a try that left nothing behind is repeated.
    #[arg(long, global = true, value_name = "SECONDS", default_value_t = migrate_core::DEFAULT_LOCK_RETRY.as_secs_f64(), env = "MIGRATE_LOCK_RETRY")]
    pub lock_retry: f64,

    /// Accept empty (placeholder) down files, as `migrations!(…, allow_empty_down)` does: a downgrade (redo, sql)
    /// runs them as no-ops instead of refusing, and verify does not count them as problems.
    #[arg(long, global = true, env = "MIGRATE_ALLOW_EMPTY_DOWN")]
    pub allow_empty_down: bool,

    /// Do not take the migration lock: only when something else guarantees a single runner.
    #[arg(long, global = true, env = "MIGRATE_NO_LOCK")]
    pub no_lock: bool,

    /// A statement to run on the connection right after connecting, before anything else (repeatable, run in
    /// order): session settings the revisions need, such as `SET FOREIGN_KEY_CHECKS = 0` on MySQL.
    #[arg(long = "init-sql", global = true, value_name = "SQL", action = clap::ArgAction::Append, env = "MIGRATE_INIT_SQL")]
    pub init_sql: Vec<String>,

    /// PostgreSQL TLS, as libpq means it: disable, prefer (the default: TLS if offered, unchecked), require (TLS,
    /// unchecked unless --sslrootcert), verify-ca (the certificate chains to a trusted root), verify-full (and names
    /// the host). Wins over the URL's sslmode.
    #[arg(long, global = true, value_enum, value_name = "MODE", env = "PGSSLMODE")]
    pub sslmode: Option<crate::tls::SslMode>,

    /// PEM file of the roots a PostgreSQL server's certificate must chain to (`system` for the system's); wins over
    /// the URL's sslrootcert.
    #[arg(long, global = true, value_name = "FILE", env = "PGSSLROOTCERT")]
    pub sslrootcert: Option<PathBuf>,

    /// After every upgrade, downgrade, stamp and redo that succeeds, write the database's schema snapshot (what
    /// `migrate schema` prints) to FILE, so schema changes show up in code review next to the revisions.
    #[arg(long, global = true, value_name = "FILE", env = "MIGRATE_WRITE_SCHEMA")]
    pub write_schema: Option<PathBuf>,

    /// How the connection reaches PostgreSQL: `none` (directly, or through a pooler in session mode) or
    /// `transaction` (through PgBouncer or another pooler in transaction mode): the migration lock is then taken
    /// in each revision's transaction, and nothing relies on the session between transactions.
    #[arg(long, global = true, value_enum, value_name = "MODE", default_value_t = Pooler::None, env = "MIGRATE_POOLER")]
    pub pooler: Pooler,

    /// Run the command (upgrade, downgrade, status, verify, current) over many databases, --jobs at a time, each
    /// under its own lock and history: a URL whose database name is a pattern (postgres://host/tenant_*), `sqlite:`
    /// and a pattern of files (sqlite:tenants/*.db), @FILE (one URL or pattern per line), or a URL; repeatable.
    #[arg(long, global = true, value_name = "SPEC", action = clap::ArgAction::Append)]
    pub fleet: Vec<String>,

    /// With --fleet: every schema whose name matches PATTERN in each PostgreSQL database is a target, with the
    /// history table and lock in the schema (the connection's search_path).
    #[arg(long, global = true, value_name = "PATTERN")]
    pub schemas: Option<String>,

    /// With --fleet: how many targets run at once.
    #[arg(long, global = true, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: u16,

    /// With --fleet: start no more targets once one has failed (those running finish).
    #[arg(long, global = true)]
    pub fail_fast: bool,

    /// The configuration file; default: migrate.toml in this directory or the nearest parent that has one.
    #[arg(long, global = true, value_name = "FILE", env = "MIGRATE_CONFIG")]
    pub config: Option<PathBuf>,
}

/// `--pooler`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Pooler {
    /// A direct connection, or a pooler in session mode.
    #[default]
    None,
    /// A pooler in transaction mode (PgBouncer's `pool_mode = transaction`).
    Transaction,
}

/// `--format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Readable text.
    Text,
    /// One JSON document on stdout.
    Json,
}

/// `--color`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Color {
    /// On a terminal, unless NO_COLOR is set.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// A SQL dialect, for `migrate sql`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Dialect {
    /// PostgreSQL.
    Postgres,
    /// SQLite.
    Sqlite,
    /// MySQL and MariaDB.
    Mysql,
}

/// The commands.
/// Another tool whose history `migrate import` reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ForeignTool {
    /// diesel's `__diesel_schema_migrations`.
    Diesel,
    /// sqlx's `_sqlx_migrations`.
    Sqlx,
    /// refinery's `refinery_schema_history`.
    Refinery,
}

/// What the operator says about a statement left in doubt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum InDoubtArg {
    /// It took effect: resume after it.
    Ran,
    /// It did not take effect: resume runs it again.
    NotRun,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start a project (Alembic's `init`): the revision folder, a migrate.toml with every option commented out, and
    /// the lines to add to the application (Cargo.toml, build.rs, the call at start-up). Changes nothing that is
    /// there already.
    Init,
    /// Create a revision: <UTC timestamp>_<name>/up.sql and down.sql, with templates. Alembic's spelling works too:
    /// `migrate revision -m "Add users table"` (the message names the folder, add_users_table, and heads up.sql).
    #[command(visible_alias = "revision")]
    New {
        /// The revision's name (the folder is <version>_<name>).
        #[arg(required_unless_present = "message")]
        name: Option<String>,
        /// What the revision does, in words: its name is made from it, and it is the first line of up.sql.
        #[arg(short, long, conflicts_with = "name")]
        message: Option<String>,
        /// Number the revision after the newest (0001, 0002, ...) instead of a UTC timestamp.
        #[arg(long)]
        sequential: bool,
        /// Start both files with `-- migrate:no-transaction`.
        #[arg(long)]
        no_transaction: bool,
        /// Print what would be created; create nothing.
        #[arg(long)]
        dry_run: bool,
        /// Write both files from a schema change: the desired schema as an SQL file (`schema.sql`, or
        /// `schema.<backend>.sql` beside it) or a database URL, against the folder applied to a scratch database.
        /// The revision is proven (its up gives the desired schema, its down the current one) before it is saved;
        /// what a machine must not guess is marked `-- migrate:review` and holds the revision back until deleted.
        #[arg(long, value_name = "FILE|URL")]
        from: Option<String>,
        /// With --from: the server of the scratch databases (postgres://…, mysql://…, or sqlite: for temporary
        /// files); default with a SQLite database: temporary files. Repeat it, one per backend, for a folder that
        /// serves several: the revision is written and proven on each, as one file where the SQL is the same, as
        /// a file per backend (up.postgres.sql, …) where it differs.
        #[arg(long, value_name = "URL", env = "MIGRATE_DEV_URL", requires = "from")]
        dev_url: Vec<String>,
        /// With --from: a column renamed, not dropped and added, as TABLE.OLD=NEW (repeatable).
        #[arg(long, value_name = "TABLE.OLD=NEW", requires = "from")]
        rename: Vec<String>,
    },
    /// Apply pending revisions up to TARGET (default head): a version, a unique version prefix, a folder name, a
    /// name, or +N.
    Upgrade {
        /// head, a revision, or +N.
        #[arg(default_value = "head")]
        target: String,
        #[command(flatten)]
        run: RunOptions,
        /// Apply pending revisions older than the newest applied one instead of refusing.
        #[arg(long)]
        out_of_order: bool,
    },
    /// Revert applied revisions down to TARGET, which stays applied: -N, a revision, or base.
    Downgrade {
        /// -N, a revision, or base.
        #[arg(allow_hyphen_values = true)]
        target: String,
        #[command(flatten)]
        run: RunOptions,
    },
    /// Print a completion script for a shell: `migrate completions bash > /etc/bash_completion.d/migrate`,
    /// `migrate completions zsh > "${fpath[1]}/_migrate"`, `migrate completions fish > ~/.config/fish/completions/migrate.fish`.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), made from the same grammar as `--help`: `migrate man > migrate.1`.
    Man,
    /// Every global option's value and where it came from: a flag, an environment variable, migrate.toml, or the
    /// default (passwords hidden).
    Config,
    /// Wait until the database accepts a connection (a server still starting, in a container or a CI job), trying
    /// again every quarter second; exit 1 with the last error when the wait runs out.
    Wait {
        /// How long to wait at most, in seconds.
        #[arg(long, value_name = "SECONDS", default_value_t = 60.0)]
        timeout: f64,
    },
    /// The revision the database is at, and whether it is dirty (exit 4 if it is).
    Current,
    /// Every revision in order, with when it was applied and how long it took.
    History,
    /// Each revision's state: applied, pending, changed, missing, out of order, dirty. Exit 3 if revisions are
    /// pending, 4 if anything needs attention.
    Status,
    /// One revision: its files, checksums, directives, SQL, and its state in the database.
    Show {
        /// A version, a unique version prefix, a folder name or a name.
        revision: String,
    },
    /// Record the database as being at REVISION without running any SQL (baseline an existing database).
    Stamp {
        /// A revision, head or base.
        revision: String,
        /// Print what would be recorded; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Revert the last N applied revisions (default 1), then apply them again, under one hold of the lock.
    Redo {
        /// How many: N or -N.
        #[arg(allow_hyphen_values = true, default_value = "1")]
        count: String,
        /// Print the plan; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Check the folder (everything the migrations!() macro checks) and the database against it; change nothing.
    /// Exit 4 if anything needs attention.
    Verify {
        /// Also compare the database's schema with this snapshot (as `migrate schema` prints it): exit 4 on drift,
        /// each difference named.
        #[arg(long, value_name = "FILE")]
        schema: Option<std::path::PathBuf>,
        /// Judge the folder for this backend's dialect; default: the database URL's, or every backend without one.
        #[arg(long, value_enum)]
        dialect: Option<Dialect>,
        /// Count the folder's warnings as problems (exit 4), as `#![deny(deprecated)]` does for the macro's.
        #[arg(long)]
        deny_warnings: bool,
    },
    /// The safety lint of the up files: statements that hold a lock other queries wait behind (an index built
    /// without CONCURRENTLY, a foreign key or check added valid, SET NOT NULL, ALGORITHM=COPY), or that break the
    /// version of the application still running (a table or column dropped or renamed). Each finding names its rule,
    /// file and line, and the safe way to write it; a statement silences one with `-- migrate:allow(rule) reason`
    /// on the line before it. Changes nothing, connects to nothing. Exit 4 on a finding at level deny.
    Lint {
        /// Judge in this backend's dialect; default: the database URL's scheme, or every backend without one.
        #[arg(long, value_enum)]
        dialect: Option<Dialect>,
        /// A rule's level: RULE=allow, RULE=warn (the default) or RULE=deny; repeatable.
        #[arg(long, value_name = "RULE=LEVEL")]
        level: Vec<String>,
        /// Judge only the revisions after this version: the ones a project already shipped are exempt.
        #[arg(long, value_name = "VERSION")]
        start_after: Option<String>,
        /// Count warnings as failures too (exit 4).
        #[arg(long)]
        deny_warnings: bool,
        /// Also print each finding as a GitHub Actions annotation, on stdout.
        #[arg(long)]
        github: bool,
    },
    /// The round trip of the revisions: each is applied, reverted and applied again on a scratch database, with the
    /// schema compared around each step, so a down that does not undo its up (an index left behind, a default not
    /// put back) is named before a release. The scratch database is made on the --dev-url server (a temporary file
    /// for SQLite) and dropped afterwards; the database itself is never touched. Exit 4 when a revision fails the
    /// trip.
    Test {
        /// The server to make the scratch database on (a development one): postgres://…, mysql://…, or sqlite: for
        /// a temporary file; default with a SQLite database: a temporary file.
        #[arg(long, value_name = "URL", env = "MIGRATE_DEV_URL")]
        dev_url: Option<String>,
        /// Only the revisions pending on the database (which is read, not changed): the scratch database is first
        /// brought up to the last one applied.
        #[arg(long)]
        pending: bool,
    },
    /// Print the database's schema as read from its catalog (tables, columns, keys, indexes, views, triggers,
    /// routines, sequences, types; the history table left out), in a sorted text form to commit and compare; or,
    /// with `--diagram mermaid`, as an entity-relationship diagram a README renders.
    Schema {
        /// Print a diagram instead: `mermaid` (tables, columns, keys, and a line per foreign key), for a
        /// ```` ```mermaid ```` block on GitHub, GitLab and most documentation sites.
        #[arg(long, value_enum, value_name = "KIND")]
        diagram: Option<Diagram>,
    },
    /// Print the SQL script an upgrade or downgrade would run, history writes, transaction boundaries and the lock
    /// included, without connecting (offline mode).
    Sql {
        /// upgrade or downgrade.
        #[arg(value_enum)]
        direction: SqlDirection,
        /// Where to go: head, +N or a revision for an upgrade; base, -N or a revision for a downgrade.
        #[arg(allow_hyphen_values = true)]
        target: Option<String>,
        /// The dialect; default: the database URL's, if one is set.
        #[arg(long, value_enum)]
        dialect: Option<Dialect>,
        /// The revision the database is assumed to be at (default: base for an upgrade, head for a downgrade).
        #[arg(long, value_name = "REVISION")]
        from: Option<String>,
    },
    /// Mark the dirty revision as settled by hand: --applied (it is in effect) or --not-applied (it is not).
    Resolve {
        /// The dirty revision.
        revision: String,
        /// The revision is in effect: record it as applied.
        #[arg(long, conflicts_with = "not_applied", required_unless_present = "not_applied")]
        applied: bool,
        /// The revision is not in effect: remove its record.
        #[arg(long)]
        not_applied: bool,
        /// Print what would be recorded; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Continue the dirty revision from its failed statement (after checking the statements that ran are unchanged).
    Resume {
        /// Print what would run; change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Whether the statement left in doubt took effect, for when the catalog cannot tell (resume says so).
        #[arg(long, value_name = "ran|not-run")]
        in_doubt: Option<InDoubtArg>,
    },
    /// Adopt a database another tool migrated: record each version its history holds as applied here, with the
    /// folder's checksums; its own table is left as it is.
    Import {
        /// The tool whose history table to read: diesel (`__diesel_schema_migrations`), sqlx (`_sqlx_migrations`)
        /// or refinery (`refinery_schema_history`).
        #[arg(value_enum)]
        tool: ForeignTool,
        /// Also import when that history holds versions the folder does not have: those are left out.
        #[arg(long)]
        allow_unknown: bool,
        /// Print what would be recorded; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Accept on purpose that an applied revision's files changed: record their new checksums, run nothing.
    Accept {
        /// The applied revision.
        revision: String,
        /// Print what would be recorded; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

/// Options of the commands that run revisions.
#[derive(Debug, Args)]
pub struct RunOptions {
    /// Print the plan; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Run every revision of the command in one transaction (PostgreSQL, SQLite).
    #[arg(long)]
    pub single_transaction: bool,
}

/// `migrate sql upgrade|downgrade`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SqlDirection {
    /// The script of an upgrade.
    Upgrade,
    /// The script of a downgrade.
    Downgrade,
}

/// A kind of schema diagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Diagram {
    /// A Mermaid entity-relationship diagram.
    Mermaid,
}
