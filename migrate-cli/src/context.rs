//! What every command works with: [`Context`] (the global options, the printer, the database URL once looked up)
//! and [`RunFlags`], and how they become a core `Migrator`, a scanned folder and a connection.

use std::time::Duration;

use migrate_core::scan::Blocks;
use migrate_core::{HistoryTable, Migrator, OutOfOrder, Revision, Scan, ScanOptions};

use crate::cli::Global;
use crate::config;
use crate::database::{self, DatabaseUrl};
use crate::failure::Failure;
use crate::output::Output;

/// What every command works with: the options, the printer, and the database URL once looked up.
pub struct Context {
    /// The printer.
    pub out: Output,
    /// The global options.
    pub global: Global,
    /// What migrate.toml set, and where each option came from.
    pub settings: config::Settings,
    /// Cancelled by a signal while revisions run ([`crate::stop`]).
    pub cancel: migrate_core::Cancel,
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
    /// An invalid history table name or schema, or a negative lock wait or lock timeout.
    pub fn migrator<'r>(&self, revisions: &'r [Revision], flags: RunFlags) -> Result<Migrator<'r>, Failure> {
        let g = &self.global;
        let mut table = HistoryTable::new(&g.history_table)?;
        if let Some(schema) = &g.history_schema {
            table = table.in_schema(schema)?;
        }
        let lock_wait = Duration::try_from_secs_f64(g.lock_wait)
            .map_err(|_| Failure::usage(format!("--lock-wait {} is not a number of seconds", g.lock_wait), None))?;
        let lock_timeout = Duration::try_from_secs_f64(g.lock_timeout).map_err(|_| {
            Failure::usage(format!("--lock-timeout {} is not a number of seconds", g.lock_timeout), None)
        })?;
        let lock_retry = Duration::try_from_secs_f64(g.lock_retry)
            .map_err(|_| Failure::usage(format!("--lock-retry {} is not a number of seconds", g.lock_retry), None))?;
        Ok(Migrator::new(revisions)
            .history_table(table)
            .lock(!g.no_lock)
            .lock_wait(lock_wait)
            .lock_timeout((!lock_timeout.is_zero()).then_some(lock_timeout))
            .lock_retry(lock_retry)
            .out_of_order(if flags.out_of_order { OutOfOrder::Allow } else { OutOfOrder::Error })
            .single_transaction(flags.single_transaction)
            .allow_empty_down(g.allow_empty_down)
            .cancel_with(self.cancel.clone()))
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
        self.url(&raw, source).map(Some)
    }

    /// `raw` as a URL of this run: its password hidden from all output from here on, with the connect timeout and
    /// the TLS settings every connection takes.
    ///
    /// # Errors
    /// A URL that cannot be read, or a connect timeout that is not a number of seconds.
    pub fn url(&mut self, raw: &str, source: database::Source) -> Result<DatabaseUrl, Failure> {
        self.out.hide(&database::passwords(raw));
        let url = DatabaseUrl::parse(raw, source)?;
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
        let pooled = self.global.pooler == crate::cli::Pooler::Transaction;
        if pooled && url.backend() != migrate_core::Backend::Postgres {
            return Err(Failure::usage(
                format!("--pooler transaction is for PostgreSQL; {} is {}", url.shown(), url.backend()),
                Some("leave --pooler out for this database".into()),
            ));
        }
        Ok(url.with_connect_timeout(timeout).with_tls(mode, root).with_pooler(pooled))
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
        let conn = self.open(&url, create)?;
        // A stop asked for while a revision runs in one transaction interrupts it on this connection.
        if let Some(interrupt) = conn.interrupter() {
            self.cancel.on_interrupt(interrupt);
        }
        Ok(conn)
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
