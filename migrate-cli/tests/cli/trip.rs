//! `migrate test`: the round trip of the folder on a scratch database made on the `--dev-url` server (a temporary
//! file for SQLite), which is dropped afterwards; the database itself is read (`--pending`), never changed.

use crate::harness::{on_every_backend, scratch_left, Db, Kind, Project};

fn round_trip_on_a_scratch_database(kind: Kind) {
    let Some(db) = Db::new(kind, "round_trip") else { return };
    let dev = match kind {
        Kind::Sqlite => "sqlite:".to_owned(),
        _ => kind.server_url().expect("the server of the test database"),
    };
    let drop_index =
        if kind == Kind::Mysql { "DROP INDEX accounts_email ON accounts;\n" } else { "DROP INDEX accounts_email;\n" };
    let p = Project::new();
    p.write("0001_accounts/up.sql", "CREATE TABLE accounts (id INT NOT NULL PRIMARY KEY, email VARCHAR(100));\n")
        .write("0001_accounts/down.sql", "DROP TABLE accounts;\n")
        .write("0002_email/up.sql", "CREATE INDEX accounts_email ON accounts (email);\n")
        .write("0002_email/down.sql", drop_index)
        .write("0003_name/up.sql", "ALTER TABLE accounts ADD COLUMN name VARCHAR(50);\n")
        .write("0003_name/down.sql", "ALTER TABLE accounts DROP COLUMN name;\n");
    let run = p.run(Some(&db), &["test", "--dev-url", &dev]);
    run.ok().says(&[
        "ok      0001 (accounts)",
        "ok      0002 (email)",
        "ok      0003 (name)",
        "3 passed, 0 skipped, in ",
    ]);
    // The database itself was not touched; the scratch one is gone.
    assert!(db.tables().iter().all(|t| t != "accounts"), "{:?}", db.tables());
    assert_eq!(scratch_left(&db, &run), 0, "a scratch database was left on the server");

    // A down that forgets the index: named, exit 4, and the trip stops there.
    p.write("0002_email/down.sql", "SELECT 1;\n");
    p.run(Some(&db), &["test", "--dev-url", &dev]).code(4).says(&[
        "ok      0001 (accounts)",
        "FAILED  0002 (email)",
        "down of 0002 (email) leaves index accounts_email",
    ]);
    let json = p.run(Some(&db), &["--format", "json", "test", "--dev-url", &dev]).code(4).json();
    assert_eq!(json["failed"], 1, "{json}");
    assert_eq!(json["revisions"][1]["result"], "failed", "{json}");
    p.write("0002_email/down.sql", drop_index);

    // --pending: only what the database has not applied, on a scratch database brought up to where it is.
    p.run(Some(&db), &["upgrade", "0002"]).ok();
    let pending = p.run(Some(&db), &["test", "--pending", "--dev-url", &dev]);
    pending.ok().says(&["ok      0003 (name)", "1 passed"]);
    assert!(!pending.stdout.contains("0001"), "{}", pending.stdout);
    assert_eq!(db.versions(), ["0001", "0002"], "--pending reads the database and changes nothing");
    assert_eq!(scratch_left(&db, &pending), 0);

    // A revision that fails to revert: the runner's error, for the scratch database that is gone.
    p.write("0003_name/down.sql", "ALTER TABLE accounts DROP COLUMN nickname;\n");
    let failed = p.run(Some(&db), &["test", "--dev-url", &dev]);
    failed
        .code(1)
        .complains(&["on the scratch database: reverting revision 0003 (name) failed", "run `migrate test` again"]);
    assert_eq!(scratch_left(&db, &failed), 0);
}

on_every_backend!(round_trip_on_a_scratch_database);

/// The round trip never runs on the database itself: a server database needs a --dev-url; a SQLite one gets a
/// temporary file without asking.
#[test]
fn without_a_dev_url() {
    let p = Project::new();
    p.write("0001_t/up.sql", "CREATE TABLE t (id INT);\n").write("0001_t/down.sql", "DROP TABLE t;\n");
    p.run(None, &["test"]).code(2).complains(&["no server for a scratch database", "--dev-url"]);
    let sqlite = p.command(None, &["test"]).env("DATABASE_URL", "sqlite:app.db").output().unwrap();
    assert!(sqlite.status.success(), "{}", String::from_utf8_lossy(&sqlite.stderr));
    assert!(!p.path().join("app.db").exists(), "the database itself is not made");
}
