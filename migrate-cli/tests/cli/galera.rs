//! A three-node MariaDB Galera cluster (`scripts/galera.sh start`, its nodes' URLs in `MIGRATE_TEST_GALERA_NODES`,
//! comma-separated; a note and a pass without it, a failure when `MIGRATE_TEST_REQUIRE_GALERA` is set): a folder
//! applied on one node is applied on every node; sixteen runners spread over the three nodes, three storms, each
//! apply every revision once under the cluster lock (a leased row, not `GET_LOCK`, which holds on one node only);
//! a runner killed during a revision on one node leaves a record that another node's runner reads as it is, and
//! brings to head.

use std::io::Write as _;
use std::process::Stdio;
use std::time::Duration;

use mysql::prelude::Queryable;

use crate::harness::{all_succeed, with_database, Project};

fn nodes() -> Option<Vec<String>> {
    match std::env::var("MIGRATE_TEST_GALERA_NODES") {
        Ok(list) if !list.trim().is_empty() => Some(list.split(',').map(|n| n.trim().to_owned()).collect()),
        _ => {
            assert!(
                std::env::var_os("MIGRATE_TEST_REQUIRE_GALERA").is_none(),
                "MIGRATE_TEST_REQUIRE_GALERA is set, but MIGRATE_TEST_GALERA_NODES is not (scripts/galera.sh start \
                 runs a cluster)"
            );
            // To stderr itself, past the test harness's capture, as the skipped backends' notes.
            let _ = writeln!(
                std::io::stderr(),
                "note: Galera tests skipped: set MIGRATE_TEST_GALERA_NODES (scripts/galera.sh start)"
            );
            None
        }
    }
}

#[test]
fn a_folder_applied_on_one_node_is_applied_on_every_node() {
    let Some(nodes) = nodes() else { return };
    assert_eq!(nodes.len(), 3, "{nodes:?}");
    let name = format!("galera_{}", std::process::id());
    let mut first = mysql::Conn::new(nodes[0].as_str()).unwrap();
    for node in &nodes {
        let mut conn = mysql::Conn::new(node.as_str()).unwrap();
        let size: Option<String> =
            conn.query_first("SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'wsrep_cluster_size'").unwrap();
        assert_eq!(size.as_deref(), Some("3"), "{node} is not in a cluster of three");
    }
    first.query_drop(format!("DROP DATABASE IF EXISTS {name}")).unwrap();
    first.query_drop(format!("CREATE DATABASE {name}")).unwrap();
    let p = Project::new();
    p.write("0001_accounts/up.sql", "CREATE TABLE accounts (id INT PRIMARY KEY, email VARCHAR(100));\n")
        .write("0001_accounts/down.sql", "DROP TABLE accounts;\n")
        .write(
            "0002_seed/up.sql",
            "INSERT INTO accounts VALUES (1, 'a@example.com');\nCREATE INDEX accounts_email ON accounts (email);\n",
        )
        .write("0002_seed/down.sql", "DROP INDEX accounts_email ON accounts;\nDELETE FROM accounts;\n");
    let on = |node: &str| with_database(node, &name);
    p.run(None, &["--database-url", &on(&nodes[0]), "upgrade"]).ok().says(&["2 step(s)"]);
    // Read where it was not applied (wsrep_sync_wait: after every write the cluster has ordered).
    for node in &nodes[1..] {
        p.run(None, &["--database-url", &on(node), "status"]).ok().says(&["2 applied, 0 pending"]);
        let mut conn = mysql::Conn::new(on(node).as_str()).unwrap();
        conn.query_drop("SET SESSION wsrep_sync_wait = 1").unwrap();
        let rows: Vec<String> = conn.query("SELECT email FROM accounts").unwrap();
        assert_eq!(rows, ["a@example.com"], "{node}");
    }
    // A session set to RSU would run DDL on its node alone while the history replicates: refused.
    p.run(
        None,
        &["--database-url", &on(&nodes[1]), "--init-sql", "SET SESSION wsrep_OSU_method = 'RSU'", "downgrade", "base"],
    )
    .code(1)
    .complains(&["wsrep_OSU_method is RSU"]);
    // Reverted on the third node, reverted everywhere.
    p.run(None, &["--database-url", &on(&nodes[2]), "downgrade", "base"]).ok();
    p.run(None, &["--database-url", &on(&nodes[0]), "status"]).code(3).says(&["0 applied, 2 pending"]);
    first.query_drop(format!("DROP DATABASE {name}")).unwrap();
}

/// A folder whose revisions log themselves, so applying one twice shows.
fn logged_project(slow: bool) -> Project {
    let p = Project::new();
    p.write("0001_log/up.sql", "CREATE TABLE log (rev INT NOT NULL);\n")
        .write("0001_log/down.sql", "DROP TABLE log;\n");
    for rev in 2..=6 {
        let pause = if slow && rev == 4 { "DO SLEEP(3);\n" } else { "" };
        p.write(
            &format!("{rev:04}_r{rev}/up.sql"),
            &format!("CREATE TABLE t{rev} (id INT PRIMARY KEY);\n{pause}INSERT INTO log VALUES ({rev});\n"),
        )
        .write(
            &format!("{rev:04}_r{rev}/down.sql"),
            &format!("DELETE FROM log WHERE rev = {rev};\nDROP TABLE t{rev};\n"),
        );
    }
    p
}

fn fresh(nodes: &[String], name: &str) {
    let mut conn = mysql::Conn::new(nodes[0].as_str()).unwrap();
    conn.query_drop(format!("DROP DATABASE IF EXISTS {name}")).unwrap();
    conn.query_drop(format!("CREATE DATABASE {name}")).unwrap();
}

fn logged(node: &str) -> Vec<i32> {
    let mut conn = mysql::Conn::new(node).unwrap();
    conn.query_drop("SET SESSION wsrep_sync_wait = 1").unwrap();
    conn.query("SELECT rev FROM log ORDER BY rev").unwrap()
}

#[test]
fn storms_over_three_nodes_apply_each_revision_once() {
    let Some(nodes) = nodes() else { return };
    let p = logged_project(false);
    for storm in 0..3 {
        let name = format!("galera_storm_{}_{storm}", std::process::id());
        fresh(&nodes, &name);
        let children: Vec<_> = (0..16)
            .map(|i| {
                p.command(None, &["--lock-wait", "120", "upgrade"])
                    .env("DATABASE_URL", with_database(&nodes[i % 3], &name))
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        all_succeed(children, &format!("storm {storm}"));
        for node in &nodes {
            assert_eq!(
                logged(&with_database(node, &name)),
                [2, 3, 4, 5, 6],
                "storm {storm}: each revision once, on {node}"
            );
        }
        let mut conn = mysql::Conn::new(with_database(&nodes[1], &name).as_str()).unwrap();
        let held: Option<i64> = conn.query_first("SELECT count(*) FROM _migrate_history_lock").unwrap();
        assert_eq!(held, Some(0), "storm {storm}: the lock row is released");
        conn.query_drop(format!("DROP DATABASE {name}")).unwrap();
    }
}

/// A runner killed (SIGKILL) while a revision runs on node 1: its lease ends by itself, a runner on node 2 takes
/// the lock and finds the revision dirty as the killed runner left it (the record true: the statements before the
/// pause ran, the rest did not); `resume` finishes it and `upgrade` brings the database to head, read on node 3.
#[test]
fn a_runner_killed_on_one_node_is_finished_on_another() {
    let Some(nodes) = nodes() else { return };
    let p = logged_project(true);
    let name = format!("galera_kill_{}", std::process::id());
    fresh(&nodes, &name);
    let mut child = p
        .command(None, &["upgrade"])
        .env("DATABASE_URL", with_database(&nodes[0], &name))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Killed during revision 0004's pause.
    let mut watch = mysql::Conn::new(with_database(&nodes[0], &name).as_str()).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let sleeping: Option<i64> = watch
            .query_first("SELECT count(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE 'DO SLEEP(3)%'")
            .unwrap();
        if sleeping == Some(1) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the runner never reached revision 0004");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let second = with_database(&nodes[1], &name);
    // Within the lease a runner on node 2 waits for the lock; after it, it reads the record as it is.
    let run = p.run(None, &["--database-url", &second, "--lock-wait", "60", "upgrade"]);
    run.code(1).complains(&["dirty", "0004"]);
    p.run(None, &["--database-url", &second, "resume"]).ok();
    p.run(None, &["--database-url", &second, "upgrade"]).ok();
    p.run(None, &["--database-url", &with_database(&nodes[2], &name), "status"]).ok().says(&["6 applied, 0 pending"]);
    assert_eq!(logged(&second), [2, 3, 4, 5, 6]);
    mysql::Conn::new(nodes[0].as_str()).unwrap().query_drop(format!("DROP DATABASE {name}")).unwrap();
}

/// The library's driver without a way to open the heartbeat's connection refuses a Galera node, rather than take a
/// lock that holds on one node.
#[test]
fn a_driver_without_a_heartbeat_refuses_a_galera_node() {
    use migrate_core::Driver as _;
    let Some(nodes) = nodes() else { return };
    let mut conn = mysql::Conn::new(nodes[0].as_str()).unwrap();
    let mut driver = migrate_mysql::Mysql::new(&mut conn);
    let err = match driver.lock(Duration::from_secs(1)) {
        Err(migrate_core::LockFailure::Database(err)) => err,
        other => panic!("{:?}", other.err()),
    };
    assert!(err.message.contains("Galera cluster node") && err.message.contains("cluster_heartbeat"), "{err}");
}
