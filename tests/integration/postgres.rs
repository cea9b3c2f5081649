//! What only PostgreSQL has: the transaction-scoped lock, the history in a named schema, `search_path` restored
//! after each revision, and error positions mapped back to lines.

use std::time::Duration;

use migrate::postgres::{LockMode, Postgres};
use migrate::{Driver, Error, HistoryTable, Migrator};

use crate::backend::{Conn, ConnExt, Db, Kind};
use crate::common::{versions, Folder};

migrate::migrations!(mod counted = "tests/fixtures/counted");

fn client(conn: &mut Conn) -> &mut postgres::Client {
    match conn {
        Conn::Postgres(client) => client,
        _ => unreachable!(),
    }
}

#[test]
fn transaction_scoped_lock_for_poolers() {
    let Some(db) = Db::new(Kind::Postgres, "pg_transaction_lock") else { return };
    let mut conn = db.connect();
    let mut driver = Postgres::new(client(&mut conn)).lock_mode(LockMode::Transaction);
    let report = counted::MIGRATIONS.migrator().upgrade(&mut driver as &mut dyn Driver).unwrap();
    assert_eq!(report.steps.len(), 10);
    // Between runs nothing is held: a session lock on the same key is free.
    let mut other = db.connect();
    let mut session = Postgres::new(client(&mut other));
    session.lock(Duration::ZERO).expect("nothing left locked");
    // While a session holds it, the transaction-scoped runner times out naming the holder.
    let folder = Folder::new();
    folder.write("0011_x/up.sql", "CREATE TABLE x (id INTEGER);").write("0011_x/down.sql", "DROP TABLE x;");
    let mut revisions = counted::MIGRATIONS.revisions().to_vec();
    revisions.extend(folder.revisions());
    let mut driver = Postgres::new(client(&mut conn)).lock_mode(LockMode::Transaction);
    let err = Migrator::new(&revisions)
        .lock_wait(Duration::from_millis(200))
        .upgrade(&mut driver as &mut dyn Driver)
        .unwrap_err();
    assert!(matches!(&err, Error::LockTimeout { holder: Some(h), .. } if h.contains("pid")), "{err}");
}

#[test]
fn history_in_a_named_schema() {
    let Some(db) = Db::new(Kind::Postgres, "pg_named_schema") else { return };
    let mut conn = db.connect();
    let schema = format!("{}_history", db.ident);
    let table = HistoryTable::new("schema_history").unwrap().in_schema(&schema).unwrap();
    let m = counted::MIGRATIONS.migrator().history_table(table);
    assert_eq!(m.upgrade(&mut conn).unwrap().steps.len(), 10);
    let count = client(&mut conn).query_one(&format!("SELECT count(*) FROM {schema}.schema_history"), &[]).unwrap();
    assert_eq!(count.get::<_, i64>(0), 10);
    assert!(Migrator::new(&[]).applied(&mut conn).unwrap().is_empty(), "nothing in the default table");
    client(&mut conn).batch_execute(&format!("DROP SCHEMA {schema} CASCADE")).unwrap();
}

#[test]
fn search_path_is_restored_after_each_revision() {
    let Some(db) = Db::new(Kind::Postgres, "pg_search_path") else { return };
    let folder = Folder::new();
    let elsewhere = format!("{}_elsewhere", db.ident);
    folder
        .write("0001_wander/up.sql", &format!("CREATE SCHEMA {elsewhere};\nSET search_path TO {elsewhere};\n"))
        .write("0001_wander/down.sql", &format!("DROP SCHEMA {elsewhere};"))
        .write("0002_home/up.sql", "CREATE TABLE at_home (id INTEGER);")
        .write("0002_home/down.sql", "DROP TABLE at_home;");
    let mut conn = db.connect();
    Migrator::new(&folder.revisions()).upgrade(&mut conn).unwrap();
    assert!(conn.has_table("at_home"), "the second revision ran in the original schema");
    assert_eq!(conn.strings("SHOW search_path"), std::slice::from_ref(&db.ident));
    client(&mut conn).batch_execute(&format!("DROP SCHEMA IF EXISTS {elsewhere} CASCADE")).unwrap();
}

#[test]
fn error_positions_map_to_lines() {
    let Some(db) = Db::new(Kind::Postgres, "pg_error_position") else { return };
    let folder = Folder::new();
    folder
        .write(
            "0001_typo/up.sql",
            "-- comment\nCREATE TABLE ok (id INTEGER);\n\nCREATE TABLE typo (\n    id INTEGER,\n    name TEXTT\n);\n",
        )
        .write("0001_typo/down.sql", "DROP TABLE typo;");
    let mut conn = db.connect();
    let err = Migrator::new(&folder.revisions()).upgrade(&mut conn).unwrap_err();
    let Error::Migration(failure) = &err else { panic!("{err}") };
    let migrate::MigrationFailure { line, statement, source, .. } = &**failure;
    assert_eq!(*line, 6, "the line of `TEXTT`, not of the statement: {err}");
    assert_eq!(statement, "CREATE TABLE typo (");
    assert_eq!(source.code.as_deref(), Some("42704"));
    assert!(!conn.has_table("ok"), "rolled back");
}

/// An error without a position (a division by zero at run time) is still placed at its statement, and no statement
/// of the failed revision runs a second time to find it: the sequence the revision advances, whose effects outlive
/// the rollback, moved once per statement. In transaction lock mode (poolers) the statement is not guessed at.
#[test]
fn a_failure_without_a_position_is_located_without_running_anything_again() {
    for (mode, line) in [(LockMode::Session, Some(4)), (LockMode::Transaction, None)] {
        let Some(db) = Db::new(Kind::Postgres, &format!("pg_locate_{mode:?}").to_lowercase()) else { return };
        let folder = Folder::new();
        folder.write("0001_seq/up.sql", "CREATE SEQUENCE s;\n").write("0001_seq/down.sql", "DROP SEQUENCE s;\n");
        folder
            .write(
                "0002_fail/up.sql",
                "-- two steps, then a failure\nSELECT nextval('s');\nSELECT nextval('s');\nSELECT 1 / 0;\n",
            )
            .write("0002_fail/down.sql", "SELECT 1;\n");
        let mut conn = db.connect();
        let revisions = folder.revisions();
        let err = {
            let mut pg = Postgres::new(client(&mut conn)).lock_mode(mode);
            Migrator::new(&revisions).upgrade(&mut pg).unwrap_err()
        };
        let found = match &err {
            Error::Migration(failure) => Some(failure.line),
            _ => None,
        };
        assert_eq!(found, line, "{mode:?}: {err}");
        let source = std::error::Error::source(&err).map(ToString::to_string).unwrap_or_default();
        assert!(source.contains("division by zero"), "{mode:?}: {err}: {source}");
        assert_eq!(conn.strings("SELECT last_value::text FROM s"), ["2"], "{mode:?}: each statement ran once");
        assert_eq!(versions(&mut conn), ["0001"], "{mode:?}: the failed revision left no record");
    }
}

/// The live lock and an offline script's lock are one lock: while a run holds it, the script's key is taken, for the
/// default table (keyed by the schema it resolves to) and for one in a named schema.
#[test]
fn live_and_offline_lock_agree() {
    let Some(db) = Db::new(Kind::Postgres, "pg_lock_identity") else { return };
    let mut live = db.connect();
    let mut other = db.connect();
    let named = HistoryTable::default().in_schema(&db.ident).unwrap();
    for table in [HistoryTable::default(), named] {
        let key = crate::common::offline_lock_identity(migrate::Backend::Postgres, &table, "pg_advisory_lock(", ");\n");
        let mut driver = Postgres::new(client(&mut live));
        driver.bind_history(&table);
        driver.lock(Duration::ZERO).unwrap();
        let try_lock = |c: &mut Conn| client(c).query_one(&format!("SELECT pg_try_advisory_lock({key})"), &[]).unwrap();
        assert!(!try_lock(&mut other).get::<_, bool>(0), "the script's lock is free while a run holds {table:?}");
        driver.unlock().unwrap();
        assert!(try_lock(&mut other).get::<_, bool>(0), "the script's lock is taken once the run let go");
        client(&mut other).batch_execute(&format!("SELECT pg_advisory_unlock({key})")).unwrap();
    }
}

/// A role without the TEMP privilege still migrates: the statement counter is not to be had, so a failure without
/// a position is reported without its statement, and nothing else changes.
#[test]
fn a_role_without_temp_privilege_still_migrates() {
    let Some(server) = Kind::Postgres.server_url() else { return };
    let name = migrate_test_support::scratch_name("mt", "pg_no_temp");
    let mut admin = postgres::Client::connect(&server, postgres::NoTls).unwrap();
    for setup in [
        format!("DROP DATABASE IF EXISTS {name}"),
        format!("DROP ROLE IF EXISTS {name}"),
        format!("CREATE ROLE {name} LOGIN"),
        format!("CREATE DATABASE {name}"),
        format!("REVOKE TEMPORARY ON DATABASE {name} FROM PUBLIC"),
    ] {
        admin.batch_execute(&setup).unwrap();
    }
    let mut config: postgres::Config = server.parse().unwrap();
    config.dbname(&name);
    config
        .connect(postgres::NoTls)
        .unwrap()
        .batch_execute(&format!("GRANT CREATE ON SCHEMA public TO {name}"))
        .unwrap();
    config.user(&name);
    config.password("");
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut client = config.connect(postgres::NoTls).unwrap();
        assert!(client.batch_execute("CREATE TEMPORARY TABLE probe (id int)").is_err(), "the role has no TEMP");
        let folder = Folder::new();
        folder
            .write("0001_ok/up.sql", "CREATE TABLE a (id INT);\nINSERT INTO a VALUES (1);\n")
            .write("0001_ok/down.sql", "DROP TABLE a;\n")
            .write("0002_fail/up.sql", "INSERT INTO a VALUES (2);\nSELECT 1 / 0;\n")
            .write("0002_fail/down.sql", "SELECT 1;\n");
        let revisions = folder.revisions();
        let err = Migrator::new(&revisions).upgrade(&mut client).unwrap_err();
        assert!(!matches!(err, Error::Migration(_)), "no statement is guessed at: {err}");
        let rows = Migrator::new(&revisions).applied(&mut client).unwrap();
        assert_eq!(rows.iter().map(|r| r.version.as_str()).collect::<Vec<_>>(), ["0001"]);
    }));
    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).unwrap();
    admin.batch_execute(&format!("DROP ROLE IF EXISTS {name}")).unwrap();
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

/// In the transaction-scoped lock mode the lock is not held while a `no-transaction` revision runs: runners started
/// together find its row dirty, see that the session applying it is alive, and wait for it (within the lock wait)
/// instead of failing; all of them finish.
#[test]
fn transaction_mode_runners_wait_for_a_live_runner() {
    let Some(db) = Db::new(Kind::Postgres, "pg_transaction_wait") else { return };
    let folder = Folder::new();
    for n in 1..=3 {
        folder
            .write(
                &format!("{n:04}_r{n}/up.sql"),
                &format!("-- migrate:no-transaction\nCREATE TABLE r{n} (id int);\nSELECT pg_sleep(0.2);\nINSERT INTO r{n} VALUES (1);\n"),
            )
            .write(&format!("{n:04}_r{n}/down.sql"), &format!("DROP TABLE r{n};"));
    }
    let revisions = folder.revisions();
    let results: Vec<Result<usize, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..6)
            .map(|_| {
                let (db, revisions) = (&db, &revisions);
                scope.spawn(move || {
                    let mut conn = db.connect();
                    let mut driver = Postgres::new(client(&mut conn)).lock_mode(LockMode::Transaction);
                    Migrator::new(revisions)
                        .lock_wait(Duration::from_secs(30))
                        .upgrade(&mut driver as &mut dyn Driver)
                        .map(|report| report.steps.len())
                        .map_err(|err| err.to_string())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let failed: Vec<&String> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(failed.is_empty(), "{failed:#?}");
    assert_eq!(results.iter().map(|r| r.as_ref().unwrap()).sum::<usize>(), 3, "each revision applied once");
    let mut conn = db.connect();
    for n in 1..=3 {
        assert_eq!(conn.strings(&format!("SELECT count(*)::text FROM r{n}")), ["1"]);
    }
}

/// A transaction-mode runner that waits for a live runner and gives up says how long it waited in all (before: the
/// last try's wait, "within 0.1 s" with a lock wait of seconds).
#[test]
fn transaction_mode_lock_timeout_reports_the_whole_wait() {
    let Some(db) = Db::new(Kind::Postgres, "pg_transaction_timeout") else { return };
    let folder = Folder::new();
    folder
        .write("0001_slow/up.sql", "-- migrate:no-transaction\nCREATE TABLE s (id int);\nSELECT pg_sleep(4);\n")
        .write("0001_slow/down.sql", "DROP TABLE s;");
    let revisions = folder.revisions();
    std::thread::scope(|scope| {
        let first = scope.spawn(|| {
            let mut conn = db.connect();
            let mut driver = Postgres::new(client(&mut conn)).lock_mode(LockMode::Transaction);
            Migrator::new(&revisions).upgrade(&mut driver as &mut dyn Driver).map(|r| r.steps.len())
        });
        let mut conn = db.connect();
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while conn.strings(
            "SELECT count(*)::text FROM pg_stat_activity WHERE query LIKE '%pg_sleep(4)%' AND pid <> pg_backend_pid()",
        ) == ["0"]
        {
            assert!(std::time::Instant::now() < deadline, "the first runner never slept");
            std::thread::sleep(Duration::from_millis(20));
        }
        // A third session takes the lock half way through the wait, so the last try times out on its own.
        let key = crate::common::offline_lock_identity(
            migrate::Backend::Postgres,
            &HistoryTable::default(),
            "pg_advisory_lock(",
            ");\n",
        );
        let mut third = db.connect();
        let holder_thread = scope.spawn(move || {
            std::thread::sleep(Duration::from_millis(1000));
            third.exec("BEGIN");
            third.exec(&format!("SELECT pg_advisory_xact_lock({key})"));
            std::thread::sleep(Duration::from_millis(2500));
            third.exec("COMMIT");
        });
        let mut driver = Postgres::new(client(&mut conn)).lock_mode(LockMode::Transaction);
        let err = Migrator::new(&revisions)
            .lock_wait(Duration::from_secs(2))
            .upgrade(&mut driver as &mut dyn Driver)
            .unwrap_err();
        let Error::LockTimeout { waited, holder } = &err else { panic!("{err}") };
        assert!(*waited >= Duration::from_millis(1900), "the whole wait, not the last try's: {err}");
        holder_thread.join().unwrap();
        assert!(holder.is_some(), "{err}");
        assert_eq!(first.join().unwrap().unwrap(), 1);
    });
}

/// A stop asked for through a library's `Cancel` while a revision runs in one transaction: without a way to
/// interrupt the connection the revision commits and the run stops after it; with one (PostgreSQL's cancel
/// request), the revision is interrupted and rolled back.
#[test]
fn a_cancel_lets_a_transaction_commit_or_interrupts_it() {
    let Some(db) = Db::new(Kind::Postgres, "pg_cancel") else { return };
    let folder = Folder::new();
    folder
        .write("0001_a/up.sql", "CREATE TABLE a (id int);\nSELECT pg_sleep(1.3);")
        .write("0001_a/down.sql", "DROP TABLE a;")
        .write("0002_b/up.sql", "CREATE TABLE b (id int);\nSELECT pg_sleep(30.3);")
        .write("0002_b/down.sql", "DROP TABLE b;");
    let revisions = folder.revisions();
    let sleeping = |conn: &mut Conn, what: &str| {
        let sql = format!(
            "SELECT count(*)::text FROM pg_stat_activity WHERE query LIKE '%{what}%' AND pid <> pg_backend_pid()"
        );
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while conn.strings(&sql) == ["0"] {
            assert!(std::time::Instant::now() < deadline, "nothing ran {what}");
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let mut watcher = db.connect();
    let mut conn = db.connect();
    let cancel = migrate::Cancel::new();
    let err = std::thread::scope(|scope| {
        let run = scope.spawn(|| Migrator::new(&revisions).cancel_with(cancel.clone()).upgrade(&mut conn));
        sleeping(&mut watcher, "pg_sleep(1.3)");
        cancel.cancel();
        run.join().unwrap().unwrap_err()
    });
    let Error::Stopped { completed, at: migrate::StopPoint::Between } = &err else { panic!("{err}") };
    assert_eq!(completed.len(), 1, "the revision under way committed: {err}");
    assert_eq!(versions(&mut conn), ["0001"]);
    // With an interrupter: the revision is cut short and rolled back.
    let cancel = migrate::Cancel::new();
    let token = client(&mut conn).cancel_token();
    cancel.on_interrupt(move || {
        let _ = token.cancel_query(postgres::NoTls);
    });
    let started = std::time::Instant::now();
    let err = std::thread::scope(|scope| {
        let run = scope.spawn(|| Migrator::new(&revisions).cancel_with(cancel.clone()).upgrade(&mut conn));
        sleeping(&mut watcher, "pg_sleep(30.3)");
        cancel.cancel();
        run.join().unwrap().unwrap_err()
    });
    assert!(started.elapsed() < Duration::from_secs(20), "interrupted: {:?}", started.elapsed());
    let Error::Stopped { at: migrate::StopPoint::RolledBack(revision), .. } = &err else { panic!("{err}") };
    assert_eq!(revision.version, "0002");
    assert_eq!(versions(&mut conn), ["0001"]);
    assert!(!conn.has_table("b"));
}
