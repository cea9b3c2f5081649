//! Scratch databases: made empty on a development server (`--dev-url`), or as a temporary SQLite file, for work that
//! must never touch the database itself (`migrate test`, `migrate new --from`), and dropped afterwards whatever
//! happened.

use std::path::PathBuf;

use migrate_core::Backend;

use crate::context::Context;
use crate::database::{DatabaseUrl, Source};
use crate::failure::Failure;

/// The server scratch databases are made on: `--dev-url` (`sqlite:` alone for a temporary file), or, for a SQLite
/// database, a temporary file without asking.
///
/// # Errors
/// No `--dev-url` where the database is on a server (or none is configured); a URL that cannot be read.
pub fn server(ctx: &mut Context, dev_url: Option<&str>, command: &str) -> Result<DatabaseUrl, Failure> {
    let database = ctx.database_url()?;
    match (dev_url, &database) {
        (Some(raw), _) if raw.get(..7).is_some_and(|s| s.eq_ignore_ascii_case("sqlite:")) => {
            ctx.url("sqlite:scratch.db", Source::DevUrl)
        }
        (Some(raw), _) => ctx.url(raw, Source::DevUrl),
        // A temporary file beside nothing: harmless, so no flag is needed.
        (None, Some(url)) if url.backend() == Backend::Sqlite => Ok(url.with_database("")),
        _ => Err(Failure::usage(
            format!("no server for a scratch database: `{command}` never works on the database itself"),
            Some(
                "give --dev-url (or MIGRATE_DEV_URL) a development server, e.g. postgres://postgres@localhost/postgres, \
                 mysql://root@localhost/test, or sqlite: for a temporary file"
                    .to_owned(),
            ),
        )),
    }
}

/// A scratch database, dropped (or its file removed) when this goes out of scope.
pub struct Scratch {
    /// Where it is.
    pub url: DatabaseUrl,
    /// The server it is on (`None` for SQLite), to drop it from.
    server: Option<DatabaseUrl>,
    /// The database's name, or the file's path.
    pub name: String,
}

impl Scratch {
    /// Makes an empty database on `server`'s server, or a temporary SQLite file.
    pub fn create(server: DatabaseUrl) -> Result<Scratch, Failure> {
        let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        let name = format!("migrate_test_{}_{}", std::process::id(), stamp.subsec_nanos());
        if server.backend() == Backend::Sqlite {
            let path: PathBuf = std::env::temp_dir().join(format!("{name}.db"));
            let url = server.with_database(&path.to_string_lossy());
            return Ok(Scratch { url, server: None, name: path.to_string_lossy().into_owned() });
        }
        let mut conn = server.connect(false)?;
        conn.driver().execute(&format!("CREATE DATABASE {name}")).map_err(|err| {
            Failure::new(
                format!("cannot make a scratch database on {}: {err}", server.shown()),
                Some("--dev-url must name a server where this user may create databases (a development one)".into()),
            )
        })?;
        Ok(Scratch { url: server.with_database(&name), server: Some(server), name })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let dropped = match &self.server {
            None => std::fs::remove_file(&self.name).map_err(|e| e.to_string()),
            Some(server) => server.connect(false).map_err(|f| f.message).and_then(|mut conn| {
                conn.driver().execute(&format!("DROP DATABASE {}", self.name)).map_err(|e| e.to_string())
            }),
        };
        if let Err(err) = dropped {
            eprintln!("migrate: the scratch database {} could not be dropped ({err}): drop it by hand", self.name);
        }
    }
}
