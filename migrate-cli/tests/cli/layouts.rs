//! Folders laid out as sqlx and refinery lay them out run as they are, on every backend, with no file renamed;
//! what no layout explains is refused, never read as an empty folder.

use crate::harness::{on_every_backend, Db, Kind, Project};

fn a_sqlx_folder_runs_as_it_is(kind: Kind) {
    let Some(db) = Db::new(kind, &format!("layout_sqlx_{}", kind.name())) else { return };
    let db = Some(&db);
    let p = Project::new();
    p.write("20250102160800_create_accounts.up.sql", "CREATE TABLE accounts (id INTEGER);\n")
        .write("20250102160800_create_accounts.down.sql", "DROP TABLE accounts;\n")
        .write("20250104154109_create_files.up.sql", "-- no-transaction\nCREATE TABLE files (id INTEGER);\n")
        .write("20250104154109_create_files.down.sql", "-- no-transaction\nDROP TABLE files;\n")
        .write("20250213092054_add_files_hash.sql", "ALTER TABLE files ADD COLUMN hash TEXT;\n")
        .write("README.md", "sqlx migrate add <name>\n");
    p.run(db, &["verify"]).ok().says(&["verified: 3 revision(s)"]);
    p.run(db, &["upgrade"]).ok().says(&[
        "applied    20250102160800 (create_accounts)",
        "applied    20250104154109 (create_files)",
        "applied    20250213092054 (add_files_hash)",
    ]);
    p.run(db, &["show", "20250104154109"])
        .ok()
        .says(&["-- 20250104154109_create_files.up.sql", "statement by statement"]);
    // The simple file has no down: the revision is irreversible.
    p.run(db, &["downgrade", "base"]).code(1).complains(&["irreversible"]);
    p.run(db, &["stamp", "20250104154109"]).ok();
    p.run(db, &["downgrade", "base"]).ok().says(&["reverted   20250104154109", "reverted   20250102160800"]);
}

fn a_refinery_folder_runs_as_it_is(kind: Kind) {
    let Some(db) = Db::new(kind, &format!("layout_refinery_{}", kind.name())) else { return };
    let db = Some(&db);
    let p = Project::new();
    p.write("V1__initial.sql", "CREATE TABLE a (id INTEGER);\n")
        .write("V2__add_b.sql", "CREATE TABLE b (id INTEGER);\n")
        .write("V10__add_c.sql", "CREATE TABLE c (id INTEGER);\n");
    p.run(db, &["verify"]).ok().says(&["verified: 3 revision(s)"]);
    // Ordered by number, as refinery orders them.
    let run = p.run(db, &["upgrade"]);
    run.ok().says(&["applied    00000001 (initial)", "applied    00000002 (add_b)", "applied    00000010 (add_c)"]);
    let (two, ten) = (run.stdout.find("(add_b)").unwrap(), run.stdout.find("(add_c)").unwrap());
    assert!(two < ten, "{}", run.stdout);
}

on_every_backend!(a_sqlx_folder_runs_as_it_is, a_refinery_folder_runs_as_it_is);

/// A SQL file no layout explains, and two layouts in one folder, are refused before anything runs.
#[test]
fn what_no_layout_explains_is_refused() {
    let db = Db::new(Kind::Sqlite, "layout_refused").unwrap();
    let p = Project::new();
    p.write("20250102160800_create_accounts.up.sql", "CREATE TABLE accounts (id INTEGER);\n")
        .write("20250102160800_create_accounts.down.sql", "DROP TABLE accounts;\n")
        .write("schema.sql", "CREATE TABLE everything (id INTEGER);\n");
    p.run(Some(&db), &["verify"]).code(4).says(&["migrations/schema.sql: a SQL file no layout explains"]);
    p.run(Some(&db), &["upgrade"]).code(1).complains(&["schema.sql"]);
    p.remove("schema.sql");
    p.write("0002_more/up.sql", "SELECT 1;\n").write("0002_more/down.sql", "SELECT 1;\n");
    p.run(Some(&db), &["verify"]).code(4).says(&["mixes layouts", "sqlx's", "diesel's"]);
    p.run(Some(&db), &["upgrade"]).code(1).complains(&["mixes layouts"]);
    assert!(db.tables().iter().all(|t| t != "accounts"), "{:?}", db.tables());
}
