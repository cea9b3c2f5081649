//! Stops the chaos trials do not make on their own: a process killed while a statement on a table that takes no
//! part in transactions (MyISAM) has taken effect but its progress write has not committed.

use std::time::{Duration, Instant};

use crate::harness::{Db, Kind, OwnMariadb, Project};

/// MySQL: an INSERT into a MyISAM table takes effect at once. Before, its progress write waited for the next commit,
/// so a kill -9 during the next statement left the row a statement behind and `resume` inserted the row again. Now
/// the statement runs alone behind its intent, and its write commits with it: `resume` goes on after it.
#[test]
fn mysql_a_kill_after_a_myisam_statement_leaves_a_true_record() {
    let Some(db) = Db::new(Kind::Mysql, "stops_myisam") else { return };
    db.exec("CREATE TABLE m (id INT) ENGINE = MyISAM");
    let p = Project::new();
    p.write("0001_fill/up.sql", "INSERT INTO m VALUES (1);\nDO SLEEP(3);\nINSERT INTO m VALUES (2);\n")
        .write("0001_fill/down.sql", "DELETE FROM m;\n");
    let mut child = p.command(Some(&db), &["upgrade"]).spawn().unwrap();
    wait_for_activity(&db, "DO SLEEP");
    child.kill().unwrap();
    child.wait().unwrap();
    // The server ends the dead client's statement on its own: wait until it has.
    wait_until_ended(&db, "DO SLEEP");
    let row = db.history();
    assert_eq!(row[0][6].as_deref(), Some("1"), "the INSERT is recorded done: {row:?}");
    p.run(Some(&db), &["resume"]).ok();
    let ids: Vec<_> =
        db.query("SELECT CAST(id AS CHAR) FROM m ORDER BY id").into_iter().map(|r| r[0].clone()).collect();
    assert_eq!(ids, [Some("1".to_owned()), Some("2".to_owned())], "each row once");
}

/// `migrate upgrade` on `db`, started, its output kept.
fn upgrading(p: &Project, db: &Db) -> std::process::Child {
    let mut command = p.command(Some(db), &["upgrade"]);
    command.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
    command.spawn().unwrap()
}

/// Sends `signal` (`TERM`, `INT`) to the process `pid`.
fn signal(pid: u32, signal: &str) {
    let sent = std::process::Command::new("kill").args([&format!("-{signal}"), &pid.to_string()]).status().unwrap();
    assert!(sent.success(), "kill -{signal} {pid}");
}

/// How many sessions of the test's schema or database run a statement that starts with `start` (on PostgreSQL,
/// holds it anywhere: the statement rides in a batch of the revision's).
fn running(db: &Db, start: &str) -> usize {
    match db.kind {
        Kind::Postgres => {
            let sql = format!(
                "SELECT count(*)::text FROM pg_stat_activity WHERE query LIKE '%{start}%' AND pid <> pg_backend_pid()"
            );
            db.query(&sql)[0][0].as_deref().and_then(|n| n.parse().ok()).unwrap_or(0)
        }
        // SHOW PROCESSLIST, not information_schema: MariaDB answers a query of the latter through an on-disk
        // temporary table, which failed once in hundreds of polls ("Error on delete of '/tmp/#sql-temptable…'").
        _ => {
            let database = db.query("SELECT DATABASE()")[0][0].clone();
            let rows = db.query("SHOW FULL PROCESSLIST");
            let info = |row: &Vec<Option<String>>| row.get(7).cloned().flatten().unwrap_or_default();
            rows.iter().filter(|row| row.get(3).cloned().flatten() == database && info(row).starts_with(start)).count()
        }
    }
}

/// Polls until `running` says `done`, for 30 s at most.
fn wait(db: &Db, start: &str, done: impl Fn(usize) -> bool, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done(running(db, start)) {
        assert!(Instant::now() < deadline, "{what}: {start}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Polls until a session runs `start`.
fn wait_for_activity(db: &Db, start: &str) {
    wait(db, start, |n| n > 0, "no session ran");
}

/// Polls until no session runs `start` (the server ends a dead client's statement on its own time).
fn wait_until_ended(db: &Db, start: &str) {
    wait(db, start, |n| n == 0, "the server kept running");
}

/// SIGTERM (what `docker stop` and Kubernetes send) while a revision runs statement by statement: the statement
/// under way finishes, the run stops after it with its record complete and the lock released, says where it
/// stopped, and exits 143; `resume` goes on. Before, the process died at once and said nothing.
fn a_signal_stops_the_run_at_a_safe_point(kind: Kind, sleep: &str) {
    let Some(db) = Db::new(kind, "stops_signal") else { return };
    let p = Project::new();
    p.write("0001_a/up.sql", "CREATE TABLE a (id INTEGER);")
        .write("0001_a/down.sql", "DROP TABLE a;")
        .write(
            "0002_b/up.sql",
            &format!("-- migrate:no-transaction\n{sleep};\nINSERT INTO a VALUES (1);\nINSERT INTO a VALUES (2);\n"),
        )
        .write("0002_b/down.sql", "DELETE FROM a;");
    let child = upgrading(&p, &db);
    wait_for_activity(&db, sleep);
    signal(child.id(), "TERM");
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(143), "{stderr}");
    assert!(stderr.contains("SIGTERM: stopping at the next safe point"), "{stderr}");
    assert!(stderr.contains("stopped as asked after 1 revision(s), the last 0001 (a)"), "{stderr}");
    assert!(stderr.contains("`migrate resume` goes on with revision 0002 from statement 2"), "{stderr}");
    let row = &db.history()[1];
    assert_eq!((row[5].as_deref(), row[6].as_deref()), (Some("upgrading"), Some("1")), "{row:?}");
    // The lock was released: a run starts at once and is told what to do.
    p.run(Some(&db), &["--lock-wait", "0", "upgrade"]).code(1).complains(&["dirty"]);
    p.run(Some(&db), &["resume"]).ok();
    assert_eq!(db.versions(), ["0001", "0002"]);
    assert_eq!(db.query("SELECT CAST(count(*) AS CHAR) FROM a")[0][0].as_deref(), Some("2"));
}

#[test]
fn postgres_a_signal_stops_the_run_at_a_safe_point() {
    a_signal_stops_the_run_at_a_safe_point(Kind::Postgres, "SELECT pg_sleep(1.25)");
}

#[test]
fn mysql_a_signal_stops_the_run_at_a_safe_point() {
    a_signal_stops_the_run_at_a_safe_point(Kind::Mysql, "DO SLEEP(1)");
}

/// A second signal stops at once, as a kill does, where the first waits for a statement run on its own: the
/// database rolls back what was not committed, the record stays true, and the process exits 130 after SIGINT.
#[test]
fn postgres_a_second_signal_stops_at_once() {
    let Some(db) = Db::new(Kind::Postgres, "stops_twice") else { return };
    let p = Project::new();
    p.write("0001_a/up.sql", "-- migrate:no-transaction\nSELECT pg_sleep(5.5);\nCREATE TABLE a (id INTEGER);\n")
        .write("0001_a/down.sql", "DROP TABLE a;");
    let child = upgrading(&p, &db);
    wait_for_activity(&db, "pg_sleep(5.5)");
    let started = Instant::now();
    signal(child.id(), "INT");
    std::thread::sleep(Duration::from_millis(200));
    signal(child.id(), "INT");
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(4), "at once: {:?}", started.elapsed());
    assert!(stderr.contains("SIGINT again: stopping at once"), "{stderr}");
    // The server finishes the statement and its write, sent in one message, or neither: the row says which, and
    // nothing after it ran.
    wait_until_ended(&db, "pg_sleep(5.5)");
    let row = &db.history()[0];
    assert_eq!(row[5].as_deref(), Some("upgrading"), "{row:?}");
    assert!(!db.tables().contains(&"a".to_owned()), "nothing after it ran");
    p.run(Some(&db), &["resume"]).ok();
    assert!(db.tables().contains(&"a".to_owned()));
}

/// SIGTERM while a revision runs in one transaction: the statement under way is interrupted and the revision rolled
/// back, at once rather than when it ends; what ran before stays, and the next run applies the revision again.
fn a_signal_rolls_back_a_revision_in_one_transaction(kind: Kind, long: &str) {
    let Some(db) = Db::new(kind, "stops_transaction") else { return };
    let p = Project::new();
    p.write("0001_a/up.sql", "CREATE TABLE a (id INTEGER);")
        .write("0001_a/down.sql", "DROP TABLE a;")
        .write("0002_b/up.sql", &format!("CREATE TABLE b (id INTEGER);\n{long};\n"))
        .write("0002_b/down.sql", "DROP TABLE b;");
    let child = upgrading(&p, &db);
    match kind {
        Kind::Postgres => wait_for_activity(&db, "pg_sleep(20.7)"),
        // SQLite shows no running statement to another connection: give the run time to reach it.
        _ => std::thread::sleep(Duration::from_millis(1500)),
    }
    let started = Instant::now();
    signal(child.id(), "TERM");
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(143), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(8), "interrupted, not waited for: {:?}", started.elapsed());
    assert!(stderr.contains("revision 0002 (b), under way in one transaction, was rolled back"), "{stderr}");
    assert_eq!(db.versions(), ["0001"]);
    assert!(!db.tables().contains(&"b".to_owned()), "rolled back");
}

#[test]
fn postgres_a_signal_rolls_back_a_revision_in_one_transaction() {
    a_signal_rolls_back_a_revision_in_one_transaction(Kind::Postgres, "SELECT pg_sleep(20.7)");
}

#[test]
fn sqlite_a_signal_rolls_back_a_revision_in_one_transaction() {
    a_signal_rolls_back_a_revision_in_one_transaction(
        Kind::Sqlite,
        "WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000000000) SELECT count(*) FROM n",
    );
}

/// A server with `innodb_rollback_on_timeout`: a lock wait timeout (1205) rolls back the revision's whole open
/// transaction, as a deadlock does. The record says what the server kept: none of the revision's statements, so no
/// row, and the revision is pending; it is not tried again (the try undid more than its own statement), and the next
/// upgrade leaves each statement in effect once.
#[test]
fn mysql_a_lock_wait_timeout_that_rolls_back_the_transaction_leaves_a_true_record() {
    use ::mysql::prelude::Queryable;
    // Runs where the MySQL tests run (the server binaries come with the server the tests use).
    let Some(_db) = Db::new(Kind::Mysql, "rollback_on_timeout") else { return };
    let server = OwnMariadb::start(&["--innodb-rollback-on-timeout=ON", "--innodb-lock-wait-timeout=1"], false);
    let url = format!("mysql://root@127.0.0.1:{}/t", server.port);
    let p = Project::new();
    p.run(
        None,
        &["--database-url", &format!("mysql://root@127.0.0.1:{}/mysql", server.port), "wait", "--timeout", "60"],
    )
    .ok();
    let mut admin = ::mysql::Conn::new(format!("mysql://root@127.0.0.1:{}/mysql", server.port).as_str()).unwrap();
    admin.query_drop("CREATE DATABASE t").unwrap();
    let mut other = ::mysql::Conn::new(url.as_str()).unwrap();
    other.query_drop("CREATE TABLE d (id INT PRIMARY KEY, x INT NOT NULL) ENGINE = InnoDB").unwrap();
    other.query_drop("INSERT INTO d VALUES (1, 0), (2, 0)").unwrap();
    p.write(
        "0001_d/up.sql",
        "INSERT INTO d VALUES (100, 0);\nUPDATE d SET x = x + 1 WHERE id = 1;\nUPDATE d SET x = x + 1 WHERE id = 2;\n",
    )
    .write("0001_d/down.sql", "DELETE FROM d WHERE id >= 100;\n");
    // Another session holds id 2 for longer than the server lets the revision wait.
    other.query_drop("START TRANSACTION").unwrap();
    other.query_drop("UPDATE d SET x = x + 10 WHERE id = 2").unwrap();
    p.run(None, &["--database-url", &url, "upgrade"]).code(1).complains(&["(1205)", "1 time(s)"]);
    other.query_drop("COMMIT").unwrap();
    let row: Vec<(String, u64)> = other.query("SELECT state, statements_done FROM _migrate_history").unwrap();
    assert_eq!(row, [], "the server kept none of it");
    let rows: Vec<u64> = other.query("SELECT id FROM d ORDER BY id").unwrap();
    assert_eq!(rows, [1, 2], "row 100 was rolled back with the rest");
    p.run(None, &["--database-url", &url, "upgrade"]).ok();
    let all: Vec<(u64, u64)> = other.query("SELECT id, x FROM d ORDER BY id").unwrap();
    assert_eq!(all, [(1, 1), (2, 11), (100, 0)], "each statement in effect once");
}

/// A server that keeps `performance_schema.metadata_locks`: the session holding the metadata lock a revision waited
/// for is named as such (not as one of the oldest open transactions), and the others are not.
#[test]
fn mysql_the_metadata_lock_holder_is_named_where_the_server_keeps_them() {
    use ::mysql::prelude::Queryable;
    let Some(_db) = Db::new(Kind::Mysql, "metadata_locks") else { return };
    let server = OwnMariadb::start(
        &["--performance-schema=ON", "--performance-schema-instrument=wait/lock/metadata/sql/mdl=ON"],
        false,
    );
    let admin_url = format!("mysql://root@127.0.0.1:{}/mysql", server.port);
    let p = Project::new();
    p.run(None, &["--database-url", &admin_url, "wait", "--timeout", "60"]).ok();
    let mut admin = ::mysql::Conn::new(admin_url.as_str()).unwrap();
    admin.query_drop("CREATE DATABASE t; CREATE TABLE t.a (id INT); CREATE TABLE t.other (id INT)").unwrap();
    let url = format!("mysql://root@127.0.0.1:{}/t", server.port);
    // An older transaction on another table, and the one holding `a`.
    let mut older = ::mysql::Conn::new(url.as_str()).unwrap();
    older.query_drop("START TRANSACTION").unwrap();
    older.query_drop("SELECT * FROM other").unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    let mut holder = ::mysql::Conn::new(url.as_str()).unwrap();
    holder.query_drop("START TRANSACTION").unwrap();
    holder.query_drop("SELECT * FROM a").unwrap();
    let id: u64 = holder.query_first("SELECT CONNECTION_ID()").unwrap().unwrap();
    let older_id: u64 = older.query_first("SELECT CONNECTION_ID()").unwrap().unwrap();
    p.write("0001_b/up.sql", "ALTER TABLE a ADD COLUMN b INT;\n")
        .write("0001_b/down.sql", "ALTER TABLE a DROP COLUMN b;\n");
    let run = p.run(None, &["--database-url", &url, "upgrade", "--lock-timeout", "1", "--lock-retry", "0"]);
    run.code(1).complains(&[&format!("held by: connection {id} (root@")]);
    assert!(!run.stderr.contains("oldest open transactions"), "{}", run.stderr);
    assert!(!run.stderr.contains(&format!("connection {older_id} (")), "{}", run.stderr);
    holder.query_drop("COMMIT").unwrap();
    p.run(None, &["--database-url", &url, "upgrade"]).ok().says(&["applied    0001 (b)"]);
}

/// A signal while `migrate` waits for the lock (nothing under way yet) stops it at once, not when the lock comes.
#[test]
fn postgres_a_signal_while_waiting_for_the_lock_stops_at_once() {
    let Some(db) = Db::new(Kind::Postgres, "stops_waiting") else { return };
    let p = Project::new();
    p.write("0001_a/up.sql", "-- migrate:no-transaction\nSELECT pg_sleep(3.7);\n")
        .write("0001_a/down.sql", "SELECT 1;");
    let holder = upgrading(&p, &db);
    wait_for_activity(&db, "pg_sleep(3.7)");
    let waiter = upgrading(&p, &db);
    std::thread::sleep(Duration::from_millis(500));
    let started = Instant::now();
    signal(waiter.id(), "TERM");
    let out = waiter.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(143), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(2), "at once: {:?}", started.elapsed());
    assert!(stderr.contains("SIGTERM: stopping\n"), "{stderr}");
    assert!(holder.wait_with_output().unwrap().status.success(), "the runner holding the lock goes on");
    assert_eq!(db.versions(), ["0001"]);
}
