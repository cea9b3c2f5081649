//! `--fleet`: one command over many databases, `--jobs` at a time, each under its own lock and history; a failing
//! target does not stop the others (unless `--fail-fast`), a fleet killed part way is finished by the next run, and
//! the summary and exit code say who reached what.

use std::path::Path;
use std::time::Duration;

use crate::harness::{Db, Kind, Project};

fn project() -> Project {
    let p = Project::new();
    p.write("0001_accounts/up.sql", "CREATE TABLE accounts (id INT PRIMARY KEY, email VARCHAR(100));\n")
        .write("0001_accounts/down.sql", "DROP TABLE accounts;\n")
        .write("0002_notes/up.sql", "CREATE TABLE notes (id INT PRIMARY KEY, body VARCHAR(200));\n")
        .write("0002_notes/down.sql", "DROP TABLE notes;\n")
        .write("0003_tags/up.sql", "CREATE TABLE tags (id INT PRIMARY KEY);\n")
        .write("0003_tags/down.sql", "DROP TABLE tags;\n");
    p
}

/// SQLite tenants, one file each, under `tenants/`; those listed in `broken` already have a `notes` table.
fn tenants(p: &Project, count: usize, broken: &[usize]) {
    std::fs::create_dir_all(p.path().join("tenants")).unwrap();
    for i in 0..count {
        let conn = rusqlite::Connection::open(p.path().join(format!("tenants/t{i:02}.db"))).unwrap();
        if broken.contains(&i) {
            conn.execute_batch("CREATE TABLE notes (id INT)").unwrap();
        }
    }
}

fn versions(path: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let has = conn
        .query_row("SELECT count(*) FROM sqlite_master WHERE name = '_migrate_history'", [], |r| r.get::<_, i64>(0))
        .unwrap();
    if has == 0 {
        return Vec::new();
    }
    let mut statement = conn.prepare("SELECT version || ':' || state FROM _migrate_history ORDER BY version").unwrap();
    statement.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
}

#[test]
fn a_failing_tenant_among_healthy_ones() {
    let p = project();
    tenants(&p, 6, &[2]);
    let run = p.run(None, &["--fleet", "sqlite:tenants/*.db", "--jobs", "3", "upgrade"]);
    run.code(1).says(&[
        "sqlite:tenants/t00.db  (nothing applied)  0003 (tags)      3 applied",
        "sqlite:tenants/t02.db  (nothing applied)  0001 (accounts)  failed: applying revision 0002 (notes) failed",
        "6 target(s): 5 reached head, 1 failed, 0 not started",
    ]);
    assert!(run.stderr.contains("fleet: 6/6 done, 1 failed"), "{}", run.stderr);
    assert_eq!(versions(&p.path().join("tenants/t02.db")), ["0001:applied"]);
    assert_eq!(versions(&p.path().join("tenants/t05.db")), ["0001:applied", "0002:applied", "0003:applied"]);

    // Who is behind: status over the fleet, as JSON for a script.
    let json = p.run(None, &["--format", "json", "--fleet", "sqlite:tenants/*.db", "status"]).code(3).json();
    assert_eq!(json["reached"], 5, "{json}");
    assert_eq!(json["targets"][2]["pending"], 2, "{json}");
    assert_eq!(json["targets"][2]["after"], "0001 (accounts)", "{json}");
    assert_eq!(json["head"], "0003 (tags)", "{json}");

    // Its cause removed, the next run finishes it and has nothing to do elsewhere.
    rusqlite::Connection::open(p.path().join("tenants/t02.db")).unwrap().execute_batch("DROP TABLE notes").unwrap();
    p.run(None, &["--fleet", "sqlite:tenants/*.db", "upgrade"]).ok().says(&[
        "sqlite:tenants/t01.db  0003 (tags)      0003 (tags)  nothing to do",
        "sqlite:tenants/t02.db  0001 (accounts)  0003 (tags)  2 applied",
        "6 target(s): 6 reached head, 0 failed, 0 not started",
    ]);
    p.run(None, &["--fleet", "sqlite:tenants/*.db", "verify"]).ok();

    // --fail-fast, one at a time: nothing after the failure is touched. A file of URLs names the targets.
    let q = project();
    tenants(&q, 4, &[1]);
    let list: String = (0..4).map(|i| format!("sqlite:tenants/t{i:02}.db\n")).collect();
    std::fs::write(q.path().join("fleet.txt"), format!("# the tenants\n{list}")).unwrap();
    q.run(None, &["--fleet", "@fleet.txt", "--jobs", "1", "--fail-fast", "upgrade"])
        .code(1)
        .says(&["4 target(s): 1 reached head, 1 failed, 2 not started"]);
    assert!(versions(&q.path().join("tenants/t03.db")).is_empty());
    q.run(None, &["--fleet", "sqlite:nowhere/*.db", "upgrade"]).code(2).complains(&["the fleet has no target"]);
    q.run(None, &["--fleet", "sqlite:tenants/*.db", "history"]).code(2).complains(&["does not run over --fleet"]);
}

/// A fleet killed while its tenants migrate (SIGKILL, mid-revision): each tenant's record is true (SQLite rolls the
/// interrupted revision back), and the next run finishes every tenant.
#[test]
fn a_fleet_killed_part_way_is_finished_by_the_next_run() {
    let p = project();
    // A revision that takes a while on each tenant.
    p.write(
        "0002_notes/up.sql",
        "CREATE TABLE notes (id INT PRIMARY KEY, body VARCHAR(200));\n\
         WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 200000)\n\
         INSERT INTO notes SELECT x, 'note ' || x FROM n;\n",
    );
    tenants(&p, 16, &[]);
    let mut child = p
        .command(None, &["--fleet", "sqlite:tenants/*.db", "--jobs", "2", "upgrade"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(600));
    child.kill().unwrap();
    child.wait().unwrap();
    let states: Vec<Vec<String>> = (0..16).map(|i| versions(&p.path().join(format!("tenants/t{i:02}.db")))).collect();
    let head = ["0001:applied", "0002:applied", "0003:applied"];
    assert!(states.iter().any(|s| s.len() < 3), "the kill came after the fleet was done: {states:?}");
    for state in &states {
        assert!(
            state.iter().zip(head).all(|(a, b)| a == b),
            "a record that is not a prefix of the folder, all applied: {state:?}"
        );
    }
    p.run(None, &["--fleet", "sqlite:tenants/*.db", "--jobs", "4", "upgrade"])
        .ok()
        .says(&["16 target(s): 16 reached head, 0 failed, 0 not started"]);
    for i in 0..16 {
        assert_eq!(versions(&p.path().join(format!("tenants/t{i:02}.db"))), head, "tenant {i}");
    }
}

/// A schema per tenant in a PostgreSQL database (each with its own history table and lock), and a database per
/// tenant on a MySQL server, found by pattern.
#[test]
fn schemas_and_databases_found_by_pattern() {
    let p = project();
    if let Some(server) = Kind::Postgres.server_url() {
        let schemas: Vec<Db> = (0..3).map(|i| Db::new(Kind::Postgres, &format!("fleets_{i}")).unwrap()).collect();
        let pattern = format!("mc_fleets_?_{}", std::process::id());
        p.run(None, &["--fleet", &server, "--schemas", &pattern, "--jobs", "3", "upgrade"])
            .ok()
            .says(&[&format!("schema {}", schemas[0].ident), "3 target(s): 3 reached head"]);
        for db in &schemas {
            assert_eq!(db.versions(), ["0001", "0002", "0003"], "{}", db.ident);
        }
        p.run(None, &["--fleet", &server, "--schemas", &pattern, "downgrade", "0001"])
            .ok()
            .says(&["3 target(s): 3 reached 0001"]);
        assert_eq!(schemas[2].versions(), ["0001"]);
    }
    if let Some(server) = Kind::Mysql.server_url() {
        let databases: Vec<Db> = (0..2).map(|i| Db::new(Kind::Mysql, &format!("fleetm_{i}")).unwrap()).collect();
        let url = format!(
            "{}/mc_fleetm_*_{}",
            server.trim_end_matches(|c| c != '/').trim_end_matches('/'),
            std::process::id()
        );
        p.run(None, &["--fleet", &url, "upgrade"]).ok().says(&["2 target(s): 2 reached head"]);
        for db in &databases {
            assert_eq!(db.versions(), ["0001", "0002", "0003"], "{}", db.ident);
        }
    }
}
