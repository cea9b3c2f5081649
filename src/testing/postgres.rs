//! PostgreSQL test databases: `CREATE DATABASE` per test; a migrated one is cloned from a template database.

use ::postgres::{Client, NoTls};

use super::{redact, Origin, PerProcess, Pool, TestDatabase};
use crate::{Backend, Migrator};

/// Serialises template builds across processes (session advisory lock; "migrtest").
const TEMPLATE_LOCK: i64 = 0x6d69_6772_7465_7374;

/// The database's own message (and SQLSTATE), not the client's "db error".
pub(super) fn message(err: &::postgres::Error) -> String {
    match err.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => err.to_string(),
    }
}

pub(super) fn connect(server: &str, database: Option<&str>) -> Result<Client, String> {
    let mut config: ::postgres::Config =
        server.parse().map_err(|e| format!("{} is not a PostgreSQL URL: {e}", redact(server)))?;
    if let Some(database) = database {
        config.dbname(database);
    }
    let what = database.unwrap_or("the server");
    config.connect(NoTls).map_err(|e| format!("cannot connect to {what} at {}: {}", redact(server), message(&e)))
}

/// Runs `f` on a connection to the server's own database, kept in a small pool so each test does not pay a connection.
fn admin<R>(server: &str, f: impl FnOnce(&mut Client) -> Result<R, ::postgres::Error>) -> Result<R, String> {
    static POOL: Pool<Client> = Pool::new();
    POOL.with(server, || connect(server, None), f, |client, _| client.is_closed())?.map_err(|e| message(&e))
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Drops test database `name` at `server`, whatever is still connected to it; errors are ignored (it runs on drop).
pub(super) fn drop_database(server: &str, name: &str) {
    let _ = admin(server, |c| drop_with(c, name));
}

/// `DROP DATABASE … WITH (FORCE)` (PostgreSQL 13 and later), else without.
fn drop_with(client: &mut Client, name: &str) -> Result<(), ::postgres::Error> {
    let name = quote(name);
    client
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .or_else(|_| client.batch_execute(&format!("DROP DATABASE IF EXISTS {name}")))
}

fn database(server: &str, name: &str) -> TestDatabase {
    TestDatabase::at(Backend::Postgres, server, name)
}

pub(super) fn empty(server: &str, name: &str) -> TestDatabase {
    admin(server, |c| c.batch_execute(&format!("CREATE DATABASE {}", quote(name))))
        .unwrap_or_else(|e| panic!("cannot create test database {name} at {}: {e}", redact(server)));
    database(server, name)
}

pub(super) fn migrated(server: &str, migrator: &Migrator<'_>, template: &str, name: &str) -> TestDatabase {
    let clone = |template: &str| {
        admin(server, |c| c.batch_execute(&format!("CREATE DATABASE {} TEMPLATE {}", quote(name), quote(template))))
    };
    let source = self::template(server, migrator, template).unwrap_or_else(|e| panic!("{e}"));
    clone(&source)
        .or_else(|err| match err.ends_with("(3D000)") {
            // A run for newer files of the folder dropped it (see `template_name`): built again.
            true => clone(&build(server, migrator, template).unwrap_or_else(|e| panic!("{e}"))),
            false => Err(err),
        })
        .unwrap_or_else(|e| panic!("cannot create test database {name} from template {source}: {e}"));
    let mut db = database(server, name);
    db.origin = Origin::Copied;
    db
}

/// The template database `name`, migrated once: per process (a map) and across processes (an advisory lock while it
/// is built; built under another name and renamed, so an interrupted build is never cloned).
fn template(server: &str, migrator: &Migrator<'_>, name: &str) -> Result<String, String> {
    static TEMPLATES: PerProcess<Result<String, String>> = PerProcess::new();
    TEMPLATES.get(format!("{name} {server}"), || build(server, migrator, name))
}

fn build(server: &str, migrator: &Migrator<'_>, name: &str) -> Result<String, String> {
    let building = format!("{name}_building");
    // One session holds the lock from the check to the rename.
    let mut admin = connect(server, None)?;
    admin.batch_execute(&format!("SELECT pg_advisory_lock({TEMPLATE_LOCK})")).map_err(|e| message(&e))?;
    let built = (|| {
        let exists =
            admin.query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name]).map_err(|e| message(&e))?;
        if exists.is_some() {
            return Ok(());
        }
        drop_with(&mut admin, &building).map_err(|e| message(&e))?;
        admin.batch_execute(&format!("CREATE DATABASE {}", quote(&building))).map_err(|e| message(&e))?;
        let mut client = connect(server, Some(&building))?;
        let applied = migrator.upgrade(&mut client);
        drop(client);
        if let Err(err) = applied {
            let _ = drop_with(&mut admin, &building);
            return Err(format!("migrating the PostgreSQL template failed: {err}"));
        }
        admin
            .batch_execute(&format!(
                "ALTER DATABASE {b} RENAME TO {n}; ALTER DATABASE {n} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false",
                b = quote(&building),
                n = quote(name)
            ))
            .map_err(|e| message(&e))?;
        drop_superseded(&mut admin, name);
        Ok(())
    })();
    let _ = admin.batch_execute(&format!("SELECT pg_advisory_unlock({TEMPLATE_LOCK})"));
    built.map(|()| name.to_owned())
}

/// Drops the folder's templates that `name` supersedes, under the build lock. A template cannot be dropped, so each
/// is unmarked first; a clone under way makes the drop wait for it, and a drop refused for another reason leaves the
/// template marked again.
fn drop_superseded(admin: &mut Client, name: &str) {
    let Ok(rows) = admin.query("SELECT datname FROM pg_database WHERE datname LIKE 'migrate\\_tpl\\_%'", &[]) else {
        return;
    };
    for old in super::superseded(name, rows.iter().map(|r| r.get::<_, String>(0))) {
        let old = quote(&old);
        if admin.batch_execute(&format!("ALTER DATABASE {old} WITH IS_TEMPLATE false")).is_ok()
            && admin.batch_execute(&format!("DROP DATABASE {old}")).is_err()
        {
            let _ = admin.batch_execute(&format!("ALTER DATABASE {old} WITH IS_TEMPLATE true"));
        }
    }
}

pub(super) fn rows(client: &mut Client, sql: &str) -> Result<Vec<Vec<Option<String>>>, String> {
    let messages = client.simple_query(sql).map_err(|e| message(&e))?;
    Ok(messages
        .into_iter()
        .filter_map(|m| match m {
            ::postgres::SimpleQueryMessage::Row(row) => {
                Some((0..row.len()).map(|i| row.get(i).map(str::to_owned)).collect())
            }
            _ => None,
        })
        .collect())
}
