//! Statements in doubt, and history tables made before the in-doubt column. A statement that cannot share a
//! transaction with its progress write (`CREATE INDEX CONCURRENTLY`, MySQL's DDL) has its intent recorded before it
//! runs; `resume` settles it from the catalog, refuses where the catalog cannot tell, and goes on once told.

use migrate::{AppliedRow, Database, Error, HistoryTable, InDoubt, Migrator, Revision, RowState};
use migrate_core::history;

use crate::backend::{on_every_backend, Conn, ConnExt, Db, Kind};
use crate::common::{versions, Folder};

on_every_backend!(a_table_made_before_the_added_columns_is_upgraded_by_the_first_write);

fn history_columns(conn: &mut Conn, kind: Kind) -> Vec<String> {
    let sql = match kind {
        Kind::Sqlite => "SELECT name FROM pragma_table_info('_migrate_history') ORDER BY cid",
        Kind::Postgres => {
            "SELECT column_name::text FROM information_schema.columns WHERE table_schema = current_schema() \
             AND table_name = '_migrate_history' ORDER BY ordinal_position"
        }
        Kind::Mysql => {
            "SELECT CAST(column_name AS CHAR) FROM information_schema.columns WHERE table_schema = DATABASE() \
             AND table_name = '_migrate_history' ORDER BY ordinal_position"
        }
    };
    conn.strings(sql)
}

/// A history table as the first version made it (without `in_doubt` and `runner`) is read as it is by commands that only read,
/// and gets the column under the lock, before the first write.
fn a_table_made_before_the_added_columns_is_upgraded_by_the_first_write(kind: Kind) {
    let Some(db) = Db::new(kind, "legacy_history") else { return };
    let folder = Folder::new();
    folder
        .write("0001_a/up.sql", "CREATE TABLE a (id INTEGER);")
        .write("0001_a/down.sql", "DROP TABLE a;")
        .write("0002_b/up.sql", "-- migrate:no-transaction\nCREATE TABLE b (id INTEGER);\nINSERT INTO b VALUES (1);")
        .write("0002_b/down.sql", "DROP TABLE b;");
    let revisions = folder.revisions();
    let mut conn = db.connect();
    Migrator::new(&revisions).upgrade_to(&mut conn, "0001").unwrap();
    conn.exec("ALTER TABLE _migrate_history DROP COLUMN in_doubt");
    conn.exec("ALTER TABLE _migrate_history DROP COLUMN runner");
    assert!(!history_columns(&mut conn, kind).contains(&"in_doubt".to_owned()));

    let migrator = Migrator::new(&revisions);
    assert_eq!(migrator.applied(&mut conn).unwrap().len(), 1, "read as it is");
    assert!(!history_columns(&mut conn, kind).contains(&"in_doubt".to_owned()), "reading wrote nothing");
    migrator.upgrade(&mut conn).unwrap();
    assert_eq!(versions(&mut conn), ["0001", "0002"]);
    let columns = history_columns(&mut conn, kind);
    assert_eq!(columns[columns.len() - 2..], ["in_doubt", "runner"]);
    migrator.downgrade_to(&mut conn, "base").unwrap();
    assert!(versions(&mut conn).is_empty());
}

/// Writes the history row a run leaves when it stops while statement `done + 1` of `revision`'s up file runs alone:
/// the first `done` statements are recorded, and the next is in doubt.
fn leave_in_doubt(conn: &mut Conn, revision: &Revision, done: usize) {
    conn.with_driver(|driver| {
        let backend = driver.backend();
        let statements = migrate::sql::split(revision.up(backend).sql(), backend);
        let mut row = AppliedRow::for_revision(revision, backend);
        row.state = RowState::Upgrading;
        row.statements_done = done as i64;
        row.progress_checksum = Some(history::progress_checksum(statements[..done].iter().map(|s| s.text)));
        row.in_doubt = true;
        row.error = Some(format!("line {}: {}: was running when the run stopped", statements[done].line, "…"));
        driver.bind_history(&HistoryTable::default());
        driver.create_history().unwrap();
        driver.insert_row(&row).unwrap();
    });
}

fn dirty(err: &Error) -> bool {
    matches!(err, Error::Dirty { in_doubt: true, statements_done: 1, .. })
}

/// PostgreSQL: a `CREATE INDEX CONCURRENTLY` in doubt is settled from the catalog: the index is there (ran), it is
/// not (runs again), or it was left INVALID (refused, naming the statement that removes it).
#[test]
fn postgres_a_concurrent_index_in_doubt_is_settled_from_the_catalog() {
    let up = "-- migrate:no-transaction\nCREATE TABLE t (id INTEGER, v INTEGER);\n\
              CREATE UNIQUE INDEX CONCURRENTLY t_v ON t (v);\nINSERT INTO t VALUES (1, 1);\n";
    let folder = Folder::new();
    folder.write("0001_t/up.sql", up).write("0001_t/down.sql", "DROP TABLE t;");
    let revisions = folder.revisions();
    let migrator = Migrator::new(&revisions);
    for case in ["ran", "not run", "invalid"] {
        let Some(db) = Db::new(Kind::Postgres, "doubt_concurrent") else { return };
        let mut conn = db.connect();
        conn.exec("CREATE TABLE t (id INTEGER, v INTEGER)");
        match case {
            "ran" => conn.exec("CREATE UNIQUE INDEX t_v ON t (v)"),
            "invalid" => {
                // A concurrent build that fails leaves its index behind, INVALID.
                conn.exec("INSERT INTO t VALUES (0, 7), (0, 7)");
                let mut other = db.connect();
                let Conn::Postgres(client) = &mut other else { unreachable!() };
                assert!(client.batch_execute("CREATE UNIQUE INDEX CONCURRENTLY t_v ON t (v)").is_err());
            }
            _ => {}
        }
        leave_in_doubt(&mut conn, &revisions[0], 1);
        let err = migrator.upgrade(&mut conn).unwrap_err();
        assert!(dirty(&err), "{case}: {err}");
        assert!(err.to_string().contains("in doubt"), "{err}");
        if case == "invalid" {
            let err = migrator.resume(&mut conn).unwrap_err();
            let text = err.to_string();
            assert!(
                text.contains("INVALID")
                    && text.contains("DROP INDEX CONCURRENTLY \"t_v\";")
                    && text.contains("line 3"),
                "{text}"
            );
            assert!(matches!(err, Error::Resume { needs_answer: true, .. }), "{text}");
            // The library's words; the command line adds its flags.
            assert!(err.advice().is_some_and(|a| a.contains("InDoubt::NotRun")) && !text.contains("--in"), "{text}");
            conn.exec("DELETE FROM t");
            migrator.resume_with(&mut conn, InDoubt::NotRun).unwrap();
        } else {
            migrator.resume(&mut conn).unwrap();
        }
        assert_eq!(conn.strings("SELECT count(*)::text FROM t"), ["1"], "{case}: the INSERT ran once");
        assert_eq!(
            conn.strings("SELECT indisvalid::text FROM pg_index WHERE indexrelid = 't_v'::regclass"),
            ["true"],
            "{case}"
        );
        assert_eq!(migrator.applied(&mut conn).unwrap()[0].state, RowState::Applied);
        assert!(!migrator.applied(&mut conn).unwrap()[0].in_doubt);
    }
}

/// MySQL: DDL in doubt is settled from the catalog (a table created, a column added); a statement the catalog cannot
/// judge is refused until the operator says whether it took effect.
#[test]
fn mysql_ddl_in_doubt_is_settled_from_the_catalog_or_by_the_operator() {
    let up = "CREATE TABLE t (id INTEGER);\nALTER TABLE t ADD COLUMN c INTEGER;\nINSERT INTO t VALUES (1, 2);\n";
    let folder = Folder::new();
    folder.write("0001_t/up.sql", up).write("0001_t/down.sql", "DROP TABLE t;");
    let revisions = folder.revisions();
    let migrator = Migrator::new(&revisions);
    for ran in [true, false] {
        let Some(db) = Db::new(Kind::Mysql, "doubt_ddl") else { return };
        let mut conn = db.connect();
        conn.exec("CREATE TABLE t (id INTEGER)");
        if ran {
            conn.exec("ALTER TABLE t ADD COLUMN c INTEGER");
        }
        leave_in_doubt(&mut conn, &revisions[0], 1);
        assert!(dirty(&migrator.upgrade(&mut conn).unwrap_err()));
        migrator.resume(&mut conn).unwrap();
        assert_eq!(conn.strings("SELECT CAST(count(*) AS CHAR) FROM t WHERE c = 2"), ["1"], "ran: {ran}");
        assert_eq!(versions(&mut conn), ["0001"]);
    }

    let up = "CREATE TABLE t (id INTEGER);\nALTER TABLE t MODIFY id BIGINT;\nINSERT INTO t VALUES (1);\n";
    folder.write("0001_t/up.sql", up);
    let revisions = folder.revisions();
    let migrator = Migrator::new(&revisions);
    let Some(db) = Db::new(Kind::Mysql, "doubt_unknown") else { return };
    let mut conn = db.connect();
    conn.exec("CREATE TABLE t (id BIGINT)");
    leave_in_doubt(&mut conn, &revisions[0], 1);
    let err = migrator.resume(&mut conn).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::Resume { needs_answer: true, .. }), "{text}");
    assert!(text.contains("ALTER TABLE t MODIFY id BIGINT") && text.contains("resume saying which"), "{text}");
    migrator.resume_with(&mut conn, InDoubt::NotRun).unwrap();
    assert_eq!(conn.strings("SELECT CAST(count(*) AS CHAR) FROM t"), ["1"]);
    assert_eq!(versions(&mut conn), ["0001"]);
}
