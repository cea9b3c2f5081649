//! `status` and `verify` on a database with every kind of problem at once: applied, changed since applied, out of
//! order, applied but missing from the folder, dirty, pending, a placeholder down file and a stray file.

use crate::harness::{on_every_backend, Db, Kind, Project};

fn table(name: &str) -> (String, String) {
    (format!("CREATE TABLE {name} (id INTEGER);\n"), format!("DROP TABLE {name};\n"))
}

fn status_reports_every_kind_of_problem(kind: Kind) {
    let Some(db) = Db::new(kind, &format!("problems_{}", kind.name())) else { return };
    let p = Project::new();
    for (folder, name) in [("0001_a", "a"), ("0002_b", "b"), ("0004_d", "d")] {
        let (up, down) = table(name);
        p.write(&format!("{folder}/up.sql"), &up).write(&format!("{folder}/down.sql"), &down);
    }
    p.write("0006_f/up.sql", "-- migrate:no-transaction\nCREATE TABLE f (id INTEGER);\nSELECT * FROM nowhere;\n");
    p.write("0006_f/down.sql", "-- migrate:no-transaction\nDROP TABLE f;\n");
    let db = Some(&db);
    p.run(db, &["upgrade"]).code(1);

    // Then the folder moves on: an older revision merged late, a new one with a placeholder down file, an edited
    // file, a deleted folder and a stray file.
    let (up, down) = table("c");
    p.write("0003_c/up.sql", &up).write("0003_c/down.sql", &down);
    p.write("0007_g/up.sql", "CREATE TABLE g (id INTEGER);\n").write("0007_g/down.sql", "\n");
    p.write("0002_b/up.sql", "CREATE TABLE b (id INTEGER, extra INTEGER);\n");
    p.remove("0004_d");
    p.write("0001_a/notes.txt", "a stray file\n");

    let status = p.run(db, &["status"]);
    status.code(4).says(&[
        "changed       0002 (b)",
        "out-of-order  0003 (c)",
        "missing       0004 (d)",
        "dirty         0006 (f)",
        "pending       0007 (g)",
        "0002_b/up.sql changed since it was applied",
        "older than the newest applied revision",
        "applied here but not in the folder",
        "applying stopped after 1 statement(s)",
        "0007_g/down.sql is a placeholder",
        "problem: migrations/0001_a/notes.txt: unknown file in a revision folder",
        "needs attention",
    ]);
    // 0001's folder has a stray file: reported, and the revision still reads as applied.
    assert!(status.stdout.contains("applied       0001 (a)"), "{}", status.stdout);

    let json = p.run(db, &["status", "--format", "json"]).code(4).json();
    let statuses: Vec<(&str, &str)> = json["revisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["version"].as_str().unwrap(), r["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        statuses,
        [
            ("0001", "applied"),
            ("0002", "changed"),
            ("0003", "out_of_order"),
            ("0004", "missing"),
            ("0006", "dirty"),
            ("0007", "pending")
        ]
    );
    assert_eq!(json["summary"]["pending"], 2, "{json}");
    assert_eq!(json["problems"].as_array().unwrap().len(), 1);
    assert_eq!(json["exit_code"], 4);

    p.run(db, &["verify"]).code(4).says(&[
        "problem: migrations/0001_a/notes.txt",
        "problem: dirty 0006 (f)",
        "problem: changed 0002 (b)",
        "problem: out-of-order 0003 (c)",
        "problem: missing 0004 (d)",
        "warning: migrations/0007_g/down.sql: a placeholder",
    ]);
    // The dirty revision stops an upgrade before anything runs; the stray file in an applied revision's folder
    // would not (nothing of 0001 runs).
    p.run(db, &["upgrade"]).code(1).complains(&["the database is dirty"]);
}

on_every_backend!(status_reports_every_kind_of_problem);

/// A revision folder that is a link looping back into the folder cannot be read, so which revisions there are is
/// not known: `upgrade` refuses, naming it (before, it skipped it and exited 0).
#[cfg(unix)]
#[test]
fn a_link_that_loops_stops_every_run() {
    let db = Db::new(Kind::Sqlite, "link_loop").unwrap();
    let p = Project::new();
    let (up, down) = table("a");
    p.write("0001_a/up.sql", &up).write("0001_a/down.sql", &down);
    std::os::unix::fs::symlink(".", p.migrations().join("0002_loop")).unwrap();
    p.run(Some(&db), &["upgrade"]).code(1).complains(&["0002_loop", "reading it never ends"]);
    assert!(!db.tables().contains(&"a".to_owned()), "nothing ran");
}
