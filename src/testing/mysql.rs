//! MySQL and MariaDB test databases: `CREATE DATABASE` per test. A migrated one replays a template database as the
//! server prints it (no template databases on MySQL), checked once per process against the template itself.

use ::mysql::prelude::Queryable;
use ::mysql::{Conn, Opts, OptsBuilder, Value};

use super::{redact, Connection, Origin, PerProcess, Pool, TestDatabase};
use crate::{schema, Backend, ErrorKind, Migrator};

/// Drops test database `name` at `server`, ending the sessions still using it first (a pool the test made from
/// [`TestDatabase::url`] would hold its metadata locks, and `DROP DATABASE` would wait for them); errors are ignored
/// (it runs on drop).
pub(super) fn drop_database(server: &str, name: &str) {
    let _ = admin(server, |c| {
        let sessions: Vec<u64> =
            c.exec("SELECT ID FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()", (name,))?;
        for id in sessions {
            let _ = c.query_drop(format!("KILL {id}"));
        }
        c.query_drop(format!("DROP DATABASE IF EXISTS {}", quote(name)))
    });
}

/// The server's message and error number, as every other error of this crate reads.
fn message(err: ::mysql::Error) -> String {
    migrate_mysql::db_error(err).to_string()
}

fn quote(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

pub(super) fn connect(server: &str, database: Option<&str>) -> Result<Conn, String> {
    let opts = Opts::from_url(server).map_err(|e| format!("{} is not a MySQL URL: {e}", redact(server)))?;
    let opts = match database {
        Some(db) => OptsBuilder::from_opts(opts).db_name(Some(db)).into(),
        None => opts,
    };
    let what = database.unwrap_or("the server");
    Conn::new(opts).map_err(|e| format!("cannot connect to {what} at {}: {}", redact(server), message(e)))
}

/// Runs `f` on a connection with no database chosen, kept in a small pool so each test does not pay a connection.
fn admin<R>(server: &str, f: impl FnOnce(&mut Conn) -> Result<R, ::mysql::Error>) -> Result<R, String> {
    static POOL: Pool<Conn> = Pool::new();
    // A connection the server dropped is not put back.
    let broken = |_: &Conn, result: &Result<R, ::mysql::Error>| {
        matches!(result, Err(::mysql::Error::IoError(_) | ::mysql::Error::DriverError(_)))
    };
    // A DROP DATABASE waits for metadata locks at most this long, not the server's default of a year.
    let connect = || {
        let mut conn = connect(server, None)?;
        conn.query_drop("SET SESSION lock_wait_timeout = 30").map_err(message)?;
        Ok(conn)
    };
    POOL.with(server, connect, f, broken)?.map_err(message)
}

fn create(server: &str, name: &str) -> TestDatabase {
    admin(server, |c| c.query_drop(format!("CREATE DATABASE {}", quote(name))))
        .unwrap_or_else(|e| panic!("cannot create test database {name} at {}: {e}", redact(server)));
    TestDatabase::at(Backend::Mysql, server, name)
}

pub(super) fn empty(server: &str, name: &str) -> TestDatabase {
    create(server, name)
}

pub(super) fn migrated(server: &str, migrator: &Migrator<'_>, template: &str, name: &str) -> TestDatabase {
    let copy = self::template(server, migrator, template).unwrap_or_else(|e| panic!("{e}"));
    let mut db = create(server, name);
    match &copy {
        Copy::Replay(script) => {
            let replayed = migrate_mysql::execute_all(db.connection_mysql(), script).or_else(|err| match &err {
                // A run for newer files of the folder dropped the template (see `template_name`): built again.
                // The replay reads the template's rows (ER_BAD_DB_ERROR, ER_NO_SUCH_TABLE): built again, replayed
                // into the database emptied.
                ::mysql::Error::MySqlError(e) if e.code == 1049 || e.code == 1146 => {
                    match build(server, migrator, template) {
                        Ok((Copy::Replay(script), _)) => {
                            let empty = format!("DROP DATABASE {q}; CREATE DATABASE {q}; USE {q}", q = quote(name));
                            migrate_mysql::execute_all(db.connection_mysql(), &empty)
                                .and_then(|()| migrate_mysql::execute_all(db.connection_mysql(), &script))
                        }
                        _ => Err(err),
                    }
                }
                _ => Err(err),
            });
            if let Err(err) = replayed {
                panic!("replaying template {template} into test database {name} failed: {}", message(err));
            }
            db.origin = Origin::Copied;
        }
        Copy::Migrate => {
            if let Err(err) = migrator.upgrade(&mut db) {
                panic!("migrating test database {name} failed: {err}");
            }
            db.origin = Origin::Migrated;
        }
    }
    db
}

/// How a test database gets the template's content.
#[derive(Clone, Debug)]
enum Copy {
    /// One multi-statement script replaying the template into the current database.
    Replay(String),
    /// Migrating it (the copy would not reproduce the template; a note said why).
    Migrate,
}

/// How databases are made from template database `name`, decided once per process: the template is migrated under a
/// named lock (across processes; an interrupted build is finished by the next one, since upgrading is idempotent),
/// read into a script, and the script replayed once into a scratch database that must come out equal to it. The
/// replay needs the template no more, so a run for newer files of the folder may drop it (see `template_name`).
fn template(server: &str, migrator: &Migrator<'_>, name: &str) -> Result<Copy, String> {
    static TEMPLATES: PerProcess<Result<Copy, String>> = PerProcess::new();
    TEMPLATES.get(format!("{name} {server}"), || {
        let (copy, note) = build(server, migrator, name)?;
        if let Some(note) = note {
            super::note(&format!("migrate::testing: each MySQL test database is migrated, not copied: {note}"));
        }
        Ok(copy)
    })
}

/// The named lock a build of template `name` holds, from creating it to reading it.
fn lock(conn: &mut Conn, name: &str, wait: u32) -> Result<bool, String> {
    let got: Option<i64> = conn.query_first(format!("SELECT GET_LOCK('{name}', {wait})")).map_err(message)?.flatten();
    Ok(got == Some(1))
}

fn build(server: &str, migrator: &Migrator<'_>, name: &str) -> Result<(Copy, Option<String>), String> {
    if migrator.core().config().table.schema().is_some() {
        return Ok((Copy::Migrate, Some("the history table is in another database".to_owned())));
    }
    let mut lock = connect(server, None)?;
    if !self::lock(&mut lock, name, 600)? {
        return Err(format!("cannot take the lock to build template database {name}"));
    }
    let built = build_locked(server, migrator, name, &mut lock);
    if built.is_ok() {
        drop_superseded(&mut lock, name);
    }
    let _ = lock.query_drop(format!("DO RELEASE_LOCK('{name}')"));
    built
}

/// Drops the folder's template databases that `name` supersedes, each only when no build holds its lock.
fn drop_superseded(conn: &mut Conn, name: &str) {
    let Ok(names) = conn.query::<String, _>("SHOW DATABASES LIKE 'migrate\\_tpl\\_%'") else { return };
    for old in super::superseded(name, names) {
        if lock(conn, &old, 0) == Ok(true) {
            let _ = conn.query_drop(format!("DROP DATABASE IF EXISTS {}", quote(&old)));
            let _ = conn.query_drop(format!("DO RELEASE_LOCK('{old}')"));
        }
    }
}

fn build_locked(
    server: &str,
    migrator: &Migrator<'_>,
    name: &str,
    lock: &mut Conn,
) -> Result<(Copy, Option<String>), String> {
    let built = (|| {
        lock.query_drop(format!("CREATE DATABASE IF NOT EXISTS {}", quote(name))).map_err(message)?;
        let mut conn = connect(server, Some(name))?;
        match migrator.upgrade(&mut conn) {
            Ok(_) => Ok(conn),
            // A build killed mid-revision left it dirty (or half of a revision failing on the next run): start
            // again from nothing. Any other error (a lost connection, a timeout) is not a reason to drop it.
            Err(err) if matches!(err.kind(), ErrorKind::Dirty | ErrorKind::Migration) => {
                drop(conn);
                migrate_mysql::execute_all(lock, &format!("DROP DATABASE {n}; CREATE DATABASE {n}", n = quote(name)))
                    .map_err(message)?;
                conn = connect(server, Some(name))?;
                migrator.upgrade(&mut conn).map_err(|again| {
                    format!("migrating the MySQL template failed: {again} (the first attempt: {err})")
                })?;
                Ok(conn)
            }
            Err(err) => Err(format!("migrating the MySQL template failed: {err}")),
        }
    })();
    let mut conn = built?;
    let (script, tables) = match script(&mut conn, name).map_err(message)? {
        Ok(made) => made,
        Err(why) => return Ok((Copy::Migrate, Some(why))),
    };
    // The check: replayed into a scratch database, the script must give the template's schema, history and the
    // content of every table.
    let expected = (
        migrator.snapshot(&mut conn).map_err(|e| e.to_string())?,
        history(&mut conn, migrator)?,
        checksums(&mut conn, &tables)?,
    );
    let mut copy = create(server, &super::unique_name());
    let replayed = match &mut copy.conn {
        Connection::Mysql(c) => migrate_mysql::execute_all(c, &script).map_err(message),
        #[allow(unreachable_patterns)]
        _ => unreachable!(),
    };
    if let Err(err) = replayed {
        return Ok((Copy::Migrate, Some(format!("replaying template {name} fails: {err}"))));
    }
    let got = (
        migrator.snapshot(&mut copy).map_err(|e| e.to_string())?,
        history(copy.connection_mysql(), migrator)?,
        checksums(copy.connection_mysql(), &tables)?,
    );
    if got != expected {
        let sides = schema::Sides {
            extra: "is in the copy, not in the template",
            missing: "is in the template, not in the copy",
            expected: "in the template",
            actual: "in the copy",
        };
        let mut why: Vec<String> = schema::diff(&expected.0, &got.0).iter().map(|d| d.words(&sides)).collect();
        if got.1 != expected.1 {
            why.push("the history rows differ".to_owned());
        }
        for ((table, ours), theirs) in tables.iter().zip(&expected.2).zip(&got.2) {
            if ours != theirs {
                why.push(format!("the rows of {table} differ (CHECKSUM TABLE)"));
            }
        }
        return Ok((Copy::Migrate, Some(format!("a copy of template {name} differs from it: {}", why.join("; ")))));
    }
    Ok((Copy::Replay(script), None))
}

impl TestDatabase {
    fn connection_mysql(&mut self) -> &mut Conn {
        match &mut self.conn {
            Connection::Mysql(c) => c,
            #[allow(unreachable_patterns)]
            _ => unreachable!("a MySQL test database"),
        }
    }
}

/// `CHECKSUM TABLE` of each of `tables`, in order.
fn checksums(conn: &mut Conn, tables: &[String]) -> Result<Vec<Option<String>>, String> {
    if tables.is_empty() {
        return Ok(Vec::new());
    }
    let list = tables.iter().map(|t| quote(t)).collect::<Vec<_>>().join(", ");
    let rows = rows(conn, &format!("CHECKSUM TABLE {list}")).map_err(message)?;
    Ok(rows.into_iter().map(|mut row| row.pop().flatten()).collect())
}

/// The history table's rows, every column, in order.
fn history(conn: &mut Conn, migrator: &Migrator<'_>) -> Result<Vec<Vec<Option<String>>>, String> {
    let table = migrator.core().config().table.qualified(quote);
    rows(conn, &format!("SELECT * FROM {table} ORDER BY 1")).map_err(message)
}

/// The script that makes a database equal to `template` (the current database of `conn`): its tables (as `SHOW
/// CREATE TABLE` prints them) with their rows, routines, views (each after the views it names) and triggers (after
/// the rows, so they do not fire on them), with the base tables' names. Rows are copied with
/// `NO_AUTO_VALUE_ON_ZERO` (an id of 0 stays 0), routines and triggers made under the `sql_mode` they were made
/// with, and views, triggers and routines without their `DEFINER` (made as the test's user). `Ok(Err(why))` when the
/// template has what this cannot copy.
type Replay = (String, Vec<String>);
fn script(conn: &mut Conn, template: &str) -> Result<Result<Replay, String>, ::mysql::Error> {
    let unqualify = |text: &str| text.replace(&format!("{}.", quote(template)), "");
    let kinds: Vec<(String, String)> = conn.query(
        "SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME",
    )?;
    if let Some((seq, _)) = kinds.iter().find(|(_, kind)| kind == "SEQUENCE") {
        return Ok(Err(format!("it has a sequence ({seq})")));
    }
    let events: Vec<String> =
        conn.query("SELECT EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA = DATABASE()")?;
    if let Some(event) = events.first() {
        return Ok(Err(format!("it has an event ({event})")));
    }
    let mut tables = Vec::new();
    let mut names = Vec::new();
    let mut data = Vec::new();
    let mut views = Vec::new();
    for (name, kind) in &kinds {
        let q = quote(name);
        if kind == "VIEW" {
            let row: Option<::mysql::Row> = conn.query_first(format!("SHOW CREATE VIEW {q}"))?;
            let Some(text) = row.and_then(|r| r.get_opt::<String, _>(1)).and_then(Result::ok) else {
                return Ok(Err(format!("SHOW CREATE VIEW {q} shows nothing")));
            };
            views.push((name.clone(), strip_definer(&unqualify(&text))));
            continue;
        }
        let row: Option<(String, String)> = conn.query_first(format!("SHOW CREATE TABLE {q}"))?;
        let Some((_, text)) = row else { return Ok(Err(format!("SHOW CREATE TABLE {q} shows nothing"))) };
        tables.push(unqualify(&text));
        names.push(name.clone());
        let filled: Option<i64> = conn.query_first(format!("SELECT EXISTS (SELECT 1 FROM {q})"))?;
        if filled == Some(1) {
            let columns: Vec<String> = conn.exec(
                "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? \
                 AND (GENERATION_EXPRESSION IS NULL OR GENERATION_EXPRESSION = '') ORDER BY ORDINAL_POSITION",
                (name,),
            )?;
            let columns = columns.iter().map(|c| quote(c)).collect::<Vec<_>>().join(", ");
            data.push(format!("INSERT INTO {q} ({columns}) SELECT {columns} FROM {}.{q}", quote(template)));
        }
    }
    let mut routines = Vec::new();
    let found: Vec<(String, String)> = conn.query(
        "SELECT ROUTINE_NAME, ROUTINE_TYPE FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE() ORDER BY ROUTINE_NAME",
    )?;
    for (name, kind) in found {
        let row: Option<::mysql::Row> = conn.query_first(format!("SHOW CREATE {kind} {}", quote(&name)))?;
        let Some((mode, text)) = row.as_ref().and_then(mode_and_text) else {
            return Ok(Err(format!("SHOW CREATE {kind} {name} does not show its body (a privilege is missing)")));
        };
        routines.push(format!("SET SESSION sql_mode = {mode};\n{}", strip_definer(&unqualify(&text))));
    }
    let mut triggers = Vec::new();
    let found: Vec<String> = conn.query(
        "SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE() \
         ORDER BY EVENT_OBJECT_TABLE, ACTION_ORDER",
    )?;
    for name in found {
        let row: Option<::mysql::Row> = conn.query_first(format!("SHOW CREATE TRIGGER {}", quote(&name)))?;
        let Some((mode, text)) = row.as_ref().and_then(mode_and_text) else {
            return Ok(Err(format!("SHOW CREATE TRIGGER {name} shows nothing")));
        };
        triggers.push(format!("SET SESSION sql_mode = {mode};\n{}", strip_definer(&unqualify(&text))));
    }
    let mut script = vec![
        "SET @migrate_sql_mode = @@SESSION.sql_mode".to_owned(),
        "SET SESSION sql_mode = CONCAT_WS(',', NULLIF(@migrate_sql_mode, ''), 'NO_AUTO_VALUE_ON_ZERO')".to_owned(),
        "SET FOREIGN_KEY_CHECKS = 0".to_owned(),
    ];
    script.extend(tables);
    script.extend(data);
    script.extend(routines);
    script.push("SET SESSION sql_mode = @migrate_sql_mode".to_owned());
    script.extend(in_dependency_order(views));
    script.extend(triggers);
    script.push("SET FOREIGN_KEY_CHECKS = 1".to_owned());
    script.push("SET SESSION sql_mode = @migrate_sql_mode".to_owned());
    Ok(Ok((script.join(";\n"), names)))
}

/// The `sql_mode` (as a string literal) and the statement of a `SHOW CREATE TRIGGER/PROCEDURE/FUNCTION` row.
fn mode_and_text(row: &::mysql::Row) -> Option<(String, String)> {
    let mode: String = row.get_opt::<Option<String>, _>(1)?.ok()?.unwrap_or_default();
    let text: String = row.get_opt::<Option<String>, _>(2)?.ok()??;
    Some((format!("'{}'", mode.replace('\'', "''")), text))
}

/// Views ordered so each comes after the views its text names (by their quoted name), else by name.
fn in_dependency_order(mut views: Vec<(String, String)>) -> Vec<String> {
    let mut out = Vec::with_capacity(views.len());
    while !views.is_empty() {
        let ready = views
            .iter()
            .position(|(name, text)| !views.iter().any(|(other, _)| other != name && text.contains(&quote(other))))
            .unwrap_or(0); // a cycle of mentions (a name in a string): keep the rest in name order
        out.push(views.remove(ready).1);
    }
    out
}

/// `text` without its `DEFINER=user@host` clause, so the copy is made as the test's user.
fn strip_definer(text: &str) -> String {
    let Some(start) = text.find("DEFINER=") else { return text.to_owned() };
    let mut rest = &text[start + "DEFINER=".len()..];
    // user@host, each part backquoted (a doubled backquote inside) or bare, or CURRENT_USER.
    for part in 0..2 {
        if let Some(inner) = rest.strip_prefix('`') {
            let mut end = 0;
            let bytes = inner.as_bytes();
            while end < bytes.len() {
                if bytes[end] == b'`' {
                    if bytes.get(end + 1) == Some(&b'`') {
                        end += 2;
                        continue;
                    }
                    break;
                }
                end += 1;
            }
            rest = &inner[(end + 1).min(inner.len())..];
        } else {
            let end = rest.find(|c: char| c == '@' || c.is_whitespace()).unwrap_or(rest.len());
            rest = &rest[end..];
        }
        if part == 0 {
            match rest.strip_prefix('@') {
                Some(host) => rest = host,
                None => break,
            }
        }
    }
    format!("{}{}", &text[..start], rest.trim_start())
}

pub(super) fn rows(conn: &mut Conn, sql: &str) -> Result<Vec<Vec<Option<String>>>, ::mysql::Error> {
    let rows: Vec<::mysql::Row> = conn.query(sql)?;
    Ok(rows
        .into_iter()
        .map(|row| {
            row.unwrap()
                .into_iter()
                .map(|value| match value {
                    Value::NULL => None,
                    Value::Bytes(b) => Some(String::from_utf8_lossy(&b).into_owned()),
                    Value::Int(n) => Some(n.to_string()),
                    Value::UInt(n) => Some(n.to_string()),
                    Value::Float(x) => Some(x.to_string()),
                    Value::Double(x) => Some(x.to_string()),
                    other => Some(other.as_sql(true).trim_matches('\'').to_owned()),
                })
                .collect()
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definers_are_stripped() {
        let view = "CREATE ALGORITHM=UNDEFINED DEFINER=`root`@`localhost` SQL SECURITY DEFINER VIEW `v` AS select 1";
        assert_eq!(strip_definer(view), "CREATE ALGORITHM=UNDEFINED SQL SECURITY DEFINER VIEW `v` AS select 1");
        assert_eq!(strip_definer("CREATE DEFINER=`a``b`@`%` TRIGGER t"), "CREATE TRIGGER t");
        assert_eq!(strip_definer("CREATE DEFINER=root@localhost PROCEDURE p()"), "CREATE PROCEDURE p()");
        assert_eq!(strip_definer("CREATE TABLE t (a int)"), "CREATE TABLE t (a int)");
    }

    #[test]
    fn views_follow_what_they_name() {
        let views = vec![
            ("a".to_owned(), "VIEW `a` AS select * from `b`".to_owned()),
            ("b".to_owned(), "VIEW `b` AS select * from `c`".to_owned()),
            ("c".to_owned(), "VIEW `c` AS select * from `t`".to_owned()),
        ];
        let order = in_dependency_order(views);
        assert!(order[0].starts_with("VIEW `c`") && order[2].starts_with("VIEW `a`"), "{order:?}");
    }
}
