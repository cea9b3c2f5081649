//! A generic file is judged in the dialect of the backend that runs it: what one dialect reads as broken is
//! refused on that backend only, warnings never block, and a file that really is broken for its backend is still
//! refused. Each case runs on the real database it is about.

use crate::harness::{Db, Kind, Project};

const PLPGSQL: &str =
    "CREATE FUNCTION f() RETURNS int AS $$\nDECLARE x int;\nBEGIN\n  RETURN 1;\nEND\n$$ LANGUAGE plpgsql;\n";

/// A PL/pgSQL function with a `DECLARE` block (SQLite would read its `BEGIN` as a statement) applies on
/// PostgreSQL; the same folder is refused on SQLite, naming SQLite.
#[test]
fn a_plpgsql_function_applies_on_postgres() {
    let p = Project::new();
    p.write("0001_function/up.sql", PLPGSQL).write("0001_function/down.sql", "DROP FUNCTION f();\n");
    if let Some(db) = Db::new(Kind::Postgres, "dialect_plpgsql") {
        p.run(Some(&db), &["verify"]).ok().says(&["verified: 1 revision(s)"]);
        p.run(Some(&db), &["upgrade"]).ok().says(&["applied    0001 (function)"]);
        assert_eq!(db.query("SELECT f()"), [[Some("1".to_owned())]]);
        p.run(Some(&db), &["status"]).ok().says(&["up to date"]);
        p.run(Some(&db), &["downgrade", "base"]).ok();
    }
    let sqlite = Db::new(Kind::Sqlite, "dialect_plpgsql").unwrap();
    p.run(Some(&sqlite), &["verify"]).code(4).says(&["0001_function/up.sql:3: on sqlite: `BEGIN`"]);
    p.run(Some(&sqlite), &["upgrade"]).code(1).complains(&["0001_function/up.sql:3: on sqlite"]);
    // Without a database, every backend is judged and the problem names the one that finds it.
    p.run(None, &["verify"]).code(4).says(&["on sqlite: `BEGIN`", "as postgres, sqlite and mysql read it"]);
    p.run(None, &["verify", "--dialect", "postgres"]).ok();
}

/// `COMMIT` inside a revision that runs in a transaction really breaks the record on PostgreSQL: still refused.
#[test]
fn commit_in_a_transactional_revision_is_refused_on_postgres() {
    let Some(db) = Db::new(Kind::Postgres, "dialect_commit") else { return };
    let p = Project::new();
    p.write("0001_a/up.sql", "CREATE TABLE a (id int);\nCOMMIT;\n").write("0001_a/down.sql", "DROP TABLE a;\n");
    p.run(Some(&db), &["upgrade"]).code(1).complains(&["0001_a/up.sql:2: on postgres and sqlite: `COMMIT`"]);
    assert!(db.versions().is_empty());
    assert!(!db.tables().contains(&"a".to_owned()), "{:?}", db.tables());
}

/// A MySQL routine in a `DELIMITER //` block, in a generic up.sql, applies on MySQL.
#[test]
fn a_delimiter_block_applies_on_mysql() {
    let Some(db) = Db::new(Kind::Mysql, "dialect_delimiter") else { return };
    let p = Project::new();
    p.write(
        "0001_routine/up.sql",
        "CREATE TABLE t (a INT);\nDELIMITER //\nCREATE PROCEDURE p()\nBEGIN\n  INSERT INTO t VALUES (1);\n  \
         INSERT INTO t VALUES (2);\nEND //\nDELIMITER ;\n",
    )
    .write("0001_routine/down.sql", "DROP PROCEDURE p;\nDROP TABLE t;\n");
    p.run(Some(&db), &["verify"]).ok();
    p.run(Some(&db), &["upgrade"]).ok().says(&["applied    0001 (routine)"]);
    db.exec("CALL p()");
    assert_eq!(db.query("SELECT COUNT(*) FROM t"), [[Some("2".to_owned())]]);
    p.run(Some(&db), &["downgrade", "base"]).ok();
}

/// PostgreSQL refuses a file whose `/*` comment never closes; the revision is refused before anything runs,
/// instead of the rest of the file being dropped and the revision recorded as applied.
#[test]
fn an_unclosed_comment_is_refused_on_postgres() {
    let Some(db) = Db::new(Kind::Postgres, "dialect_unclosed") else { return };
    let p = Project::new();
    p.write("0001_a/up.sql", "CREATE TABLE a (x int);\n/* never closed\nCREATE TABLE b (x int);\n")
        .write("0001_a/down.sql", "DROP TABLE a;\n");
    p.run(Some(&db), &["verify"]).code(4).says(&["0001_a/up.sql:2: on postgres: a `/*` comment opens here"]);
    p.run(Some(&db), &["upgrade"]).code(1).complains(&["0001_a/up.sql:2", "never closed"]);
    assert!(db.versions().is_empty());
    assert!(db.tables().iter().all(|t| t != "a" && t != "b"), "{:?}", db.tables());
}

/// `PRAGMA foreign_keys` in a transactional SQLite revision does nothing: a warning, never a refusal.
#[test]
fn a_pragma_that_does_nothing_applies_with_a_warning() {
    let db = Db::new(Kind::Sqlite, "dialect_pragma").unwrap();
    let p = Project::new();
    p.write("0001_a/up.sql", "PRAGMA foreign_keys = ON;\nCREATE TABLE a (x INTEGER);\n")
        .write("0001_a/down.sql", "DROP TABLE a;\n");
    p.run(Some(&db), &["verify"]).ok().says(&["warning: migrations/0001_a/up.sql:1: on sqlite: `PRAGMA foreign_keys`"]);
    p.run(Some(&db), &["verify", "--deny-warnings"]).code(4).says(&["1 warning(s), denied by --deny-warnings"]);
    p.run(Some(&db), &["upgrade"]).ok().complains(&["warning: migrations/0001_a/up.sql:1"]);
    let json = p.run(Some(&db), &["upgrade", "--format", "json"]).ok().json();
    assert_eq!(json["warnings"].as_array().unwrap().len(), 0, "nothing ran, so nothing to warn about: {json}");
    assert_eq!(db.versions(), ["0001"]);
    p.run(Some(&db), &["status"]).ok().says(&["warning: migrations/0001_a/up.sql:1"]);
}
