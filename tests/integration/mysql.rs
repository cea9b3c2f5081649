//! What only MySQL shows: a syntax error's line reported within the file, and the dirty row it leaves.

use std::time::Duration;

use migrate::{Driver, Error, FailureOutcome, HistoryTable, MigrationFailure, Migrator, RowState};
use mysql::prelude::Queryable;

use crate::backend::{Conn, ConnExt, Db, Kind};
use crate::common::Folder;

#[test]
fn syntax_errors_point_at_their_line_and_leave_an_exact_record() {
    let Some(db) = Db::new(Kind::Mysql, "mysql_syntax_error") else { return };
    let folder = Folder::new();
    folder
        .write(
            "0001_typo/up.sql",
            "CREATE TABLE ok (id INT);\n\nCREATE TABLE typo (\n    id INT,\n    name VARCHAR(10) NOT NUL\n);\n",
        )
        .write("0001_typo/down.sql", "DROP TABLE typo;\nDROP TABLE ok;\n");
    let mut conn = db.connect();
    let revisions = folder.revisions();
    let err = Migrator::new(&revisions).upgrade(&mut conn).unwrap_err();
    let Error::Migration(failure) = &err else { panic!("{err}") };
    let MigrationFailure { line, source, outcome, .. } = &**failure;
    assert_eq!(*line, 5, "{err}");
    assert_eq!(source.code.as_deref(), Some("1064"));
    assert_eq!(*outcome, FailureOutcome::Dirty { statements_done: 1 });
    assert!(conn.has_table("ok"), "MySQL committed the first statement");
    let rows = Migrator::new(&revisions).applied(&mut conn).unwrap();
    assert_eq!((rows[0].state, rows[0].statements_done), (RowState::Upgrading, 1));
    assert!(rows[0].error.as_deref().unwrap().starts_with("line 5: CREATE TABLE typo ("), "{:?}", rows[0].error);
}

/// The history writes that ride ahead of the next revision's first statement (a DDL statement's completion and the
/// revision's time, deferred to the next round trip) are two statements: an error of the statement after them is
/// the statement's, with its line, never "recording progress in the history table" with the statement in doubt.
#[test]
fn a_statement_that_fails_after_deferred_writes_is_the_statement_failure() {
    let Some(db) = Db::new(Kind::Mysql, "mysql_after_deferred") else { return };
    let folder = Folder::new();
    folder
        .write("0001_a/up.sql", "CREATE TABLE a (id INT);\n")
        .write("0001_a/down.sql", "DROP TABLE a;\n")
        .write("0002_notes/up.sql", "CREATE TABLE notes (id INT);\n")
        .write("0002_notes/down.sql", "DROP TABLE notes;\n");
    let mut conn = db.connect();
    conn.exec("CREATE TABLE notes (id INT)");
    let revisions = folder.revisions();
    let err = Migrator::new(&revisions).upgrade(&mut conn).unwrap_err();
    let Error::Migration(failure) = &err else { panic!("not the statement's failure: {err}") };
    assert_eq!((failure.revision.version.as_str(), failure.line), ("0002", 1), "{err}");
    assert_eq!(failure.source.code.as_deref(), Some("1050"));
    let rows = Migrator::new(&revisions).applied(&mut conn).unwrap();
    assert_eq!((rows[1].state, rows[1].statements_done, rows[1].in_doubt), (RowState::Upgrading, 0, false));
    assert!(rows[1].error.as_deref().unwrap().contains("already exists"), "{:?}", rows[1].error);
}

#[test]
fn a_session_without_autocommit_still_commits_every_history_write() {
    use mysql::prelude::Queryable;
    let Some(db) = Db::new(Kind::Mysql, "mysql_autocommit_off") else { return };
    let folder = Folder::new();
    folder
        .write("0001_a/up.sql", "CREATE TABLE a (id INT);\nINSERT INTO a VALUES (1);\n")
        .write("0001_a/down.sql", "DROP TABLE a;\n");
    let mut conn = db.connect();
    let crate::backend::Conn::Mysql(client) = &mut conn else { unreachable!() };
    client.query_drop("SET autocommit = 0").unwrap();
    Migrator::new(&folder.revisions()).upgrade(&mut **client).unwrap();
    let autocommit: i64 = client.query_first("SELECT @@autocommit").unwrap().unwrap();
    assert_eq!(autocommit, 0, "the session's setting is restored");
    drop(conn);
    // A fresh connection sees the revision applied and its row written.
    let mut other = db.connect();
    assert_eq!(other.strings("SELECT CAST(count(*) AS CHAR) FROM a"), ["1"]);
    let rows = Migrator::new(&[]).applied(&mut other).unwrap();
    assert_eq!((rows.len(), rows[0].state), (1, RowState::Applied));
}

/// Autocommit stays off between revisions (no round trips to switch it around each one), yet every run, with the
/// lock or without, failed or not, hands the session back with autocommit on and every history write committed: a
/// second connection sees the record, the failure's error text included.
#[test]
fn every_run_leaves_autocommit_on_and_its_record_committed() {
    use mysql::prelude::Queryable;
    let Some(db) = Db::new(Kind::Mysql, "mysql_autocommit_between") else { return };
    let folder = Folder::new();
    folder
        .write("0001_ddl/up.sql", "CREATE TABLE a (id INT);\n")
        .write("0001_ddl/down.sql", "DROP TABLE a;\n")
        .write("0002_dml_first/up.sql", "INSERT INTO a VALUES (1);\nCREATE TABLE b (id INT);\n")
        .write("0002_dml_first/down.sql", "DROP TABLE b;\nDELETE FROM a;\n")
        .write("0003_dml_last/up.sql", "CREATE TABLE c (id INT);\nINSERT INTO c VALUES (1);\n")
        .write("0003_dml_last/down.sql", "DROP TABLE c;\n")
        .write("0004_fails/up.sql", "CREATE TABLE d (id INT);\nINSERT INTO nowhere VALUES (1);\n")
        .write("0004_fails/down.sql", "DROP TABLE d;\n");
    let revisions = folder.revisions();
    for lock in [true, false] {
        let mut conn = db.connect();
        let crate::backend::Conn::Mysql(client) = &mut conn else { unreachable!() };
        let migrator = Migrator::new(&revisions).lock(lock);
        let err = migrator.upgrade(&mut **client).unwrap_err();
        assert!(matches!(&err, Error::Migration(f) if f.revision.version == "0004"), "{err}");
        let autocommit: i64 = client.query_first("SELECT @@autocommit").unwrap().unwrap();
        assert_eq!(autocommit, 1, "lock {lock}: autocommit is on after a failed run");
        let mut other = db.connect();
        let rows = Migrator::new(&[]).applied(&mut other).unwrap();
        let states: Vec<(&str, RowState)> = rows.iter().map(|r| (r.version.as_str(), r.state)).collect();
        assert_eq!(
            states,
            [
                ("0001", RowState::Applied),
                ("0002", RowState::Applied),
                ("0003", RowState::Applied),
                ("0004", RowState::Upgrading)
            ],
            "lock {lock}"
        );
        assert_eq!((rows[3].statements_done, rows[3].in_doubt), (1, false), "lock {lock}");
        assert!(rows[3].error.as_deref().is_some_and(|e| e.contains("nowhere")), "lock {lock}: {:?}", rows[3].error);
        assert_eq!(other.strings("SELECT CAST(count(*) AS CHAR) FROM c"), ["1"]);

        // Put the failed revision right, then revert everything and apply it again: autocommit is on after each.
        other.execute("DROP TABLE d");
        Migrator::new(&revisions).resolve(&mut other, "0004", migrate::Resolution::NotApplied).unwrap();
        migrator.downgrade_to(&mut **client, "base").unwrap();
        let autocommit: i64 = client.query_first("SELECT @@autocommit").unwrap().unwrap();
        assert_eq!(autocommit, 1, "lock {lock}: autocommit is on after a downgrade");
        assert!(Migrator::new(&[]).applied(&mut other).unwrap().is_empty(), "lock {lock}");
        assert!(!other.has_table("a") && !other.has_table("b") && !other.has_table("c"), "lock {lock}");
    }
}

/// Applying and reverting revisions of one DDL statement each switches autocommit a fixed number of times per run,
/// not twice per revision: each revision is one round trip, as with a plain client. The `SET`s counted per run: autocommit
/// off and on, and the session's `lock_wait_timeout` saved, bounded and restored.
#[test]
fn autocommit_is_not_switched_per_revision() {
    use mysql::prelude::Queryable;
    let Some(db) = Db::new(Kind::Mysql, "mysql_autocommit_switches") else { return };
    let folder = Folder::new();
    for i in 0..20 {
        folder
            .write(&format!("{i:04}_t{i}/up.sql"), &format!("CREATE TABLE t{i} (id INT);\n"))
            .write(&format!("{i:04}_t{i}/down.sql"), &format!("DROP TABLE t{i};\n"));
    }
    let revisions = folder.revisions();
    let mut conn = db.connect();
    let crate::backend::Conn::Mysql(client) = &mut conn else { unreachable!() };
    let switches = |client: &mut mysql::Conn| -> i64 {
        let row: (String, String) = client.query_first("SHOW SESSION STATUS LIKE 'Com_set_option'").unwrap().unwrap();
        row.1.parse().unwrap()
    };
    for (what, target) in [("upgrade", None), ("downgrade", Some("base"))] {
        let before = switches(client);
        let migrator = Migrator::new(&revisions);
        let report = match target {
            None => migrator.upgrade(&mut **client),
            Some(target) => migrator.downgrade_to(&mut **client, target),
        }
        .unwrap();
        assert_eq!(report.steps.len(), 20);
        let switched = switches(client) - before;
        assert!(switched <= 5, "{what}: {switched} SET statements for 20 revisions");
    }
}

/// A statement run alone leaves the write that completes it for the next round trip (its intent, committed before it
/// ran, names it in doubt). A process that dies in between, here aborting as the next statement is about to start,
/// leaves exactly that record (as a death while the statement ran would), and `resume` settles it from the catalog
/// and finishes the revision, with nobody answering.
/// The test binary runs itself as the process that dies.
#[test]
fn a_runner_dying_before_the_deferred_write_leaves_a_doubt_the_next_run_settles() {
    const CHILD: &str = "MIGRATE_TEST_DEFERRED_CHILD";
    fn revisions() -> Vec<migrate::Revision> {
        let script = |file: &str, sql: &str| {
            migrate::Script::new_owned(file.into(), None, sql.into(), migrate::ScriptKind::Sql, true)
        };
        vec![migrate::Revision::new_owned(
            "0001".into(),
            "two".into(),
            "0001_two".into(),
            vec![script("up.sql", "CREATE TABLE a (id INT);\nCREATE TABLE b (id INT);\n")],
            vec![script("down.sql", "DROP TABLE b;\nDROP TABLE a;\n")],
        )]
    }
    struct AbortAtSecond;
    impl migrate::Observer for AbortAtSecond {
        fn statement_started(&mut self, _: &migrate::Step<'_>, index: usize, _: usize) {
            if index == 1 {
                std::process::abort();
            }
        }
    }
    if let Ok(value) = std::env::var(CHILD) {
        let db = Db::from_child_env(&value);
        let mut conn = db.connect();
        let revisions = revisions();
        let migrator = Migrator::new(&revisions);
        let result = migrate::Database::with_driver(&mut conn, |d| {
            migrator.core().upgrade(d, migrate::Target::Head, &mut AbortAtSecond)
        });
        panic!("the child was to abort, and returned {result:?}");
    }
    let Some(db) = Db::new(Kind::Mysql, "mysql_deferred_abort") else { return };
    let name = "mysql::a_runner_dying_before_the_deferred_write_leaves_a_doubt_the_next_run_settles";
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", name, "--test-threads=1"])
        .env(CHILD, db.child_env())
        .output()
        .unwrap();
    assert!(!output.status.success(), "the child aborts: {}", String::from_utf8_lossy(&output.stdout));
    let mut conn = db.connect();
    let rows = Migrator::new(&[]).applied(&mut conn).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].state, rows[0].statements_done, rows[0].in_doubt), (RowState::Upgrading, 0, true));
    assert!(rows[0].error.as_deref().is_some_and(|e| e.contains("CREATE TABLE a")), "{:?}", rows[0].error);
    assert!(conn.has_table("a") && !conn.has_table("b"));
    let revisions = revisions();
    let report = Migrator::new(&revisions).resume(&mut conn).unwrap();
    assert_eq!(report.steps.len(), 1);
    let rows = Migrator::new(&[]).applied(&mut conn).unwrap();
    assert_eq!((rows[0].state, rows[0].statements_done, rows[0].in_doubt), (RowState::Applied, 2, false));
    assert!(conn.has_table("b"));
}

/// A revision that sets autocommit itself does not change how the next one runs: the driver sets it again, so a data
/// statement still commits with its history write (here the next revision records the setting it ran with).
#[test]
fn a_revision_setting_autocommit_does_not_change_the_next() {
    let Some(db) = Db::new(Kind::Mysql, "mysql_script_autocommit") else { return };
    let folder = Folder::new();
    folder
        .write("0001_sets/up.sql", "CREATE TABLE seen (a INT);\nSET autocommit = 1;\n")
        .write("0001_sets/down.sql", "DROP TABLE seen;\n")
        .write("0002_reads/up.sql", "CREATE TABLE t2 (id INT);\nINSERT INTO seen SELECT @@autocommit;\n")
        .write("0002_reads/down.sql", "DROP TABLE t2;\n");
    let mut conn = db.connect();
    Migrator::new(&folder.revisions()).upgrade(&mut conn).unwrap();
    assert_eq!(conn.strings("SELECT CAST(a AS CHAR) FROM seen"), ["0"], "the second revision ran with autocommit off");
}

/// One driver used for a run without the lock that fails part way, then for a command under the lock: the second
/// starts clean, and the session goes back with autocommit on and every history write committed.
#[test]
fn a_driver_reused_after_a_failed_run_starts_clean() {
    use mysql::prelude::Queryable;
    let Some(db) = Db::new(Kind::Mysql, "mysql_driver_reused") else { return };
    let folder = Folder::new();
    folder
        .write("0001_a/up.sql", "CREATE TABLE a (id INT);\n")
        .write("0001_a/down.sql", "DROP TABLE a;\n")
        .write("0002_fails/up.sql", "CREATE TABLE b (id INT);\nINSERT INTO nowhere VALUES (1);\n")
        .write("0002_fails/down.sql", "DROP TABLE b;\n");
    let revisions = folder.revisions();
    let mut conn = db.connect();
    let crate::backend::Conn::Mysql(client) = &mut conn else { unreachable!() };
    {
        let mut driver = migrate::mysql::Mysql::new(client);
        Migrator::new(&revisions).lock(false).upgrade(&mut driver).unwrap_err();
        let mut other = db.connect();
        other.execute("DROP TABLE b");
        Migrator::new(&revisions).resolve(&mut driver, "0002", migrate::Resolution::NotApplied).unwrap();
    }
    let autocommit: i64 = client.query_first("SELECT @@autocommit").unwrap().unwrap();
    assert_eq!(autocommit, 1);
    let mut other = db.connect();
    let rows = Migrator::new(&[]).applied(&mut other).unwrap();
    assert_eq!(rows.iter().map(|r| (r.version.as_str(), r.state)).collect::<Vec<_>>(), [("0001", RowState::Applied)]);
}

#[test]
fn a_revision_that_changes_database_cannot_misdirect_the_history() {
    let Some(db) = Db::new(Kind::Mysql, "mysql_use_elsewhere") else { return };
    let other = format!("{}_other", db.ident);
    let folder = Folder::new();
    folder
        .write(
            "0001_wander/up.sql",
            &format!(
                "-- migrate:no-transaction\nCREATE DATABASE IF NOT EXISTS {other};\nUSE {other};\nCREATE TABLE elsewhere (id INT);\n"
            ),
        )
        .write("0001_wander/down.sql", &format!("-- migrate:no-transaction\nDROP DATABASE {other};\n"));
    let mut conn = db.connect();
    let report = Migrator::new(&folder.revisions()).upgrade(&mut conn).unwrap();
    assert_eq!(report.after.unwrap().version, "0001");
    let mut fresh = db.connect();
    let rows = Migrator::new(&[]).applied(&mut fresh).unwrap();
    assert_eq!((rows.len(), rows[0].state, rows[0].statements_done), (1, RowState::Applied, 3));
    fresh.exec(&format!("DROP DATABASE {other}"));
}

/// The live lock and an offline script's lock are one lock: while a run holds it, the name the script takes is in
/// use by that run's connection, for the default table (named by its database) and for one in a named database.
#[test]
fn live_and_offline_lock_agree() {
    let Some(db) = Db::new(Kind::Mysql, "mysql_lock_identity") else { return };
    let (Conn::Mysql(mut live), Conn::Mysql(mut other)) = (db.connect(), db.connect()) else { unreachable!() };
    let id: u64 = live.query_first("SELECT CONNECTION_ID()").unwrap().unwrap();
    let named = HistoryTable::default().in_schema(&db.ident).unwrap();
    for table in [HistoryTable::default(), named] {
        let name = crate::common::offline_lock_identity(migrate::Backend::Mysql, &table, "GET_LOCK(", ", 60)");
        let mut driver = migrate::mysql::Mysql::new(&mut live);
        driver.bind_history(&table);
        driver.lock(Duration::ZERO).unwrap();
        let user = |c: &mut mysql::Conn| c.query_first::<Option<u64>, _>(format!("SELECT IS_USED_LOCK({name})"));
        assert_eq!(user(&mut other).unwrap().flatten(), Some(id), "the script's lock is the run's: {table:?}");
        driver.unlock().unwrap();
        assert_eq!(user(&mut other).unwrap().flatten(), None, "released with the run's");
    }
}

/// A `DELIMITER` chunk holds several statements, which the server runs one after another: an error in any of them
/// is the revision's failure, wherever the chunk is in the file, and says how much of the chunk ran.
#[test]
fn every_error_of_a_multi_statement_chunk_is_reported() {
    let chunk = "CREATE TABLE a (id INT);\nDELIMITER //\nINSERT INTO a VALUES (1); INSERT INTO nope VALUES (1); //\n\
                 DELIMITER ;\n";
    for (case, up) in [("last", chunk.to_owned()), ("middle", format!("{chunk}CREATE TABLE b (id INT);\n"))] {
        let Some(db) = Db::new(Kind::Mysql, &format!("mysql_chunk_errors_{case}")) else { return };
        let folder = Folder::new();
        folder.write("0001_chunk/up.sql", &up).write("0001_chunk/down.sql", "DROP TABLE a;\n");
        let mut conn = db.connect();
        let revisions = folder.revisions();
        let err = Migrator::new(&revisions).upgrade(&mut conn).unwrap_err();
        let Error::Migration(failure) = &err else { panic!("{case}: {err}") };
        let MigrationFailure { line, source, outcome, .. } = &**failure;
        assert_eq!(*line, 3, "{case}: {err}");
        assert_eq!(source.code.as_deref(), Some("1146"), "{case}: {source:?}");
        assert!(source.message.contains("after 1 earlier statement(s) of the same chunk"), "{case}: {source:?}");
        assert_eq!(*outcome, FailureOutcome::Dirty { statements_done: 1 }, "{case}");
        let rows = Migrator::new(&revisions).applied(&mut conn).unwrap();
        assert_eq!((rows[0].state, rows[0].statements_done), (RowState::Upgrading, 1), "{case}");
        assert!(rows[0].error.as_deref().unwrap().contains("nope"), "{case}: {:?}", rows[0].error);
        assert!(!conn.has_table("b"), "{case}: nothing after the failing chunk ran");
    }
}

/// While a statement runs, the committed record says what has run before it: the progress write after a DDL
/// statement commits at once, not with the next DDL statement. Then the server cuts the connection (`KILL`) in the
/// middle of the revision, and the record still matches the schema.
#[test]
fn the_record_after_ddl_is_committed_before_the_next_statement_runs() {
    let Some(db) = Db::new(Kind::Mysql, "mysql_ddl_progress") else { return };
    let folder = Folder::new();
    folder
        .write(
            "0001_slow/up.sql",
            "CREATE TABLE a (id INT);\nCREATE TABLE b (id INT);\nDO SLEEP(5);\nCREATE TABLE c (id INT);\n",
        )
        .write("0001_slow/down.sql", "DROP TABLE c;\nDROP TABLE b;\nDROP TABLE a;\n");
    let revisions = folder.revisions();
    let mut runner = db.connect();
    let run = std::thread::spawn(move || Migrator::new(&revisions).upgrade(&mut runner).map(drop));
    let mut watcher = db.connect();
    let sleeping = format!(
        "SELECT CAST(id AS CHAR) FROM information_schema.processlist WHERE db = '{}' AND info LIKE 'DO SLEEP%'",
        db.ident
    );
    let started = std::time::Instant::now();
    let id = loop {
        if let Some(id) = watcher.strings(&sleeping).pop() {
            break id;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "the revision never reached its third statement");
        std::thread::sleep(Duration::from_millis(20));
    };
    let done = "SELECT CAST(statements_done AS CHAR) FROM _migrate_history WHERE version = '0001'";
    assert_eq!(watcher.strings(done), ["2"], "both CREATE TABLEs ran, and the committed record says so");
    watcher.exec(&format!("KILL {id}"));
    assert!(run.join().unwrap().is_err(), "the cut connection fails the run");
    assert_eq!(watcher.strings(done), ["2"]);
    assert!(watcher.has_table("a") && watcher.has_table("b") && !watcher.has_table("c"));
}

/// InnoDB picks the revision as a deadlock victim (error 1213) and rolls back its whole open transaction: the
/// statements that ran in it, with their progress writes. The record says what the server kept (nothing of the
/// revision), not what the run had counted, and `resume` runs every statement again: no row lost, none twice.
#[test]
fn a_deadlock_victim_is_recorded_as_the_server_left_it() {
    let Some(db) = Db::new(Kind::Mysql, "mysql_deadlock") else { return };
    let mut conn = db.connect();
    conn.exec("CREATE TABLE d (id INT PRIMARY KEY, x INT NOT NULL) ENGINE = InnoDB");
    conn.exec("INSERT INTO d VALUES (1, 0), (2, 0)");
    conn.exec("CREATE TABLE filler (id INT PRIMARY KEY) ENGINE = InnoDB");
    let folder = Folder::new();
    folder
        .write(
            "0001_b/up.sql",
            "INSERT INTO d VALUES (100, 0);\nUPDATE d SET x = x + 1 WHERE id = 1;\nDO SLEEP(1);\n\
             UPDATE d SET x = x + 1 WHERE id = 2;\nINSERT INTO d VALUES (101, 0);\n",
        )
        .write("0001_b/down.sql", "DELETE FROM d WHERE id >= 100;\n");
    let revisions = folder.revisions();
    // Another session locks id 2 and, having written more rows (so InnoDB picks the revision as the victim), asks
    // for id 1 while the revision holds it and sleeps; the revision then asks for id 2.
    let mut other = db.connect();
    other.exec("START TRANSACTION");
    other.exec(
        "INSERT INTO filler WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200) \
         SELECT i FROM n",
    );
    other.exec("UPDATE d SET x = x + 10 WHERE id = 2");
    let err = std::thread::scope(|scope| {
        let run = scope.spawn(|| Migrator::new(&revisions).upgrade(&mut conn).unwrap_err());
        // The revision holds id 1 once it sleeps.
        let sleeping = "SELECT CAST(count(*) AS CHAR) FROM information_schema.PROCESSLIST \
                        WHERE DB = DATABASE() AND INFO LIKE 'DO SLEEP%'";
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while other.strings(sleeping) == ["0"] {
            assert!(std::time::Instant::now() < deadline, "the revision never reached its SLEEP");
            std::thread::sleep(Duration::from_millis(20));
        }
        other.exec("UPDATE d SET x = x + 10 WHERE id = 1");
        let err = run.join().unwrap();
        other.exec("COMMIT");
        err
    });
    let Error::Migration(failure) = &err else { panic!("{err}") };
    assert_eq!(failure.source.code.as_deref(), Some("1213"), "{err}");
    assert_eq!(failure.outcome, FailureOutcome::Dirty { statements_done: 0 }, "{err}");
    let rows = Migrator::new(&revisions).applied(&mut conn).unwrap();
    assert_eq!((rows[0].state, rows[0].statements_done), (RowState::Upgrading, 0), "{:?}", rows[0]);
    assert_eq!(conn.strings("SELECT CAST(count(*) AS CHAR) FROM d WHERE id = 100"), ["0"], "rolled back");
    Migrator::new(&revisions).resume(&mut conn).unwrap();
    let x = conn.strings("SELECT CONCAT(id, '=', x) FROM d ORDER BY id");
    assert_eq!(x, ["1=11", "2=11", "100=0", "101=0"], "every statement in effect once");
}
