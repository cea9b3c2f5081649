//! Roles with less than every right, and databases that take no writes: the history table is created only where a
//! run's own read found none, so a role that may write the table but not create objects runs data revisions; a
//! refusal (read-only, a missing privilege) says what it is, not which step met it.

use migrate::{Error, Foreign, Migrator, Refusal};

use crate::backend::{ConnExt, Db, Kind};
use crate::common::{versions, Folder};

/// The first revision makes a table; the second only writes rows.
fn folder() -> Folder {
    let folder = Folder::new();
    folder
        .write("0001_t/up.sql", "CREATE TABLE t (id INTEGER);")
        .write("0001_t/down.sql", "DROP TABLE t;")
        .write("0002_rows/up.sql", "INSERT INTO t VALUES (1);\nINSERT INTO t VALUES (2);")
        .write("0002_rows/down.sql", "DELETE FROM t;");
    folder
}

fn refusal(err: &Error) -> Option<Refusal> {
    match err {
        Error::Database { source, .. } => source.refusal(),
        Error::Migration(failure) => failure.source.refusal(),
        _ => None,
    }
}

/// A deploy role with data rights only: before, every writing command sent `CREATE TABLE IF NOT EXISTS` for the
/// history table and was refused ("permission denied for schema"), even for a revision that only inserts rows.
fn a_role_without_create_runs_data_revisions(kind: Kind, db: &Db, grant: &[String], user: &str) {
    let folder = folder();
    let revisions = folder.revisions();
    let mut owner = db.connect();
    Migrator::new(&revisions).upgrade_to(&mut owner, "0001").unwrap();
    for sql in grant {
        owner.exec(sql);
    }
    let mut deployer = db.connect_as(user);
    let report = Migrator::new(&revisions).upgrade(&mut deployer).unwrap();
    assert_eq!(report.steps.len(), 1, "{kind:?}");
    assert_eq!(versions(&mut owner), ["0001", "0002"]);
    assert_eq!(owner.strings("SELECT CAST(count(*) AS CHAR) FROM t"), ["2"]);
    // A revision that creates something is refused for the privilege, and says so.
    folder.write("0003_u/up.sql", "CREATE TABLE u (id INTEGER);").write("0003_u/down.sql", "DROP TABLE u;");
    let more = folder.revisions();
    let err = Migrator::new(&more).upgrade(&mut deployer).unwrap_err();
    assert_eq!(refusal(&err), Some(Refusal::Privilege), "{err}");
    assert!(err.advice().unwrap().contains("lacks a privilege"), "{err}");
    assert!(!err.to_string().contains("creating the history table"), "{err}");
}

#[test]
fn postgres_a_role_without_create_runs_data_revisions() {
    let Some(db) = Db::new(Kind::Postgres, "least_privilege") else { return };
    let role = format!("{}_deploy", db.ident);
    let grant = [
        format!("DROP ROLE IF EXISTS {role}"),
        format!("CREATE ROLE {role} LOGIN"),
        format!("GRANT USAGE ON SCHEMA {} TO {role}", db.ident),
        format!("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {} TO {role}", db.ident),
    ];
    a_role_without_create_runs_data_revisions(Kind::Postgres, &db, &grant, &role);
    let mut owner = db.connect();
    owner.exec(&format!("DROP OWNED BY {role}"));
    owner.exec(&format!("DROP ROLE {role}"));
}

#[test]
fn mysql_a_role_without_create_runs_data_revisions() {
    let Some(db) = Db::new(Kind::Mysql, "least_privilege") else { return };
    let user = format!("{}_d", db.ident);
    let grant = [
        format!("DROP USER IF EXISTS '{user}'@'%'"),
        format!("CREATE USER '{user}'@'%'"),
        format!("GRANT SELECT, INSERT, UPDATE, DELETE ON `{}`.* TO '{user}'@'%'", db.ident),
    ];
    a_role_without_create_runs_data_revisions(Kind::Mysql, &db, &grant, &user);
    db.connect().exec(&format!("DROP USER '{user}'@'%'"));
}

/// A session that takes no writes is refused as read-only, with the history table there (before: "creating the
/// history table" failed first, whatever the cause).
fn a_read_only_target_is_refused_as_read_only(kind: Kind, read_only: &str) {
    let Some(db) = Db::new(kind, "read_only_target") else { return };
    let revisions = folder().revisions();
    let mut conn = db.connect();
    Migrator::new(&revisions).upgrade_to(&mut conn, "0001").unwrap();
    conn.exec(read_only);
    let err = Migrator::new(&revisions).upgrade(&mut conn).unwrap_err();
    assert_eq!(refusal(&err), Some(Refusal::ReadOnly), "{kind:?}: {err}");
    assert!(err.advice().unwrap().contains("accepts no writes"), "{err}");
    assert!(!err.to_string().contains("creating the history table"), "{err}");
    // Reading still works.
    assert_eq!(Migrator::new(&revisions).applied(&mut conn).unwrap().len(), 1);
}

#[test]
fn postgres_a_read_only_target_is_refused_as_read_only() {
    a_read_only_target_is_refused_as_read_only(Kind::Postgres, "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY");
}

#[test]
fn mysql_a_read_only_target_is_refused_as_read_only() {
    a_read_only_target_is_refused_as_read_only(Kind::Mysql, "SET SESSION TRANSACTION READ ONLY");
}

#[test]
fn sqlite_a_read_only_target_is_refused_as_read_only() {
    a_read_only_target_is_refused_as_read_only(Kind::Sqlite, "PRAGMA query_only = ON");
}

/// An import that finds nothing to import creates nothing.
#[test]
fn a_failed_import_creates_no_history_table() {
    let Some(db) = Db::new(Kind::Sqlite, "failed_import") else { return };
    let revisions = folder().revisions();
    let mut conn = db.connect();
    let err = Migrator::new(&revisions).import(&mut conn, Foreign::Diesel, false).unwrap_err();
    assert!(matches!(err, Error::Import { .. }), "{err}");
    assert!(!conn.has_table("_migrate_history"), "nothing recorded, nothing created");
}
