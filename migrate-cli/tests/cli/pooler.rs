//! Through PgBouncer in transaction pooling mode (`scripts/pgbouncer.sh start`, at `MIGRATE_TEST_PGBOUNCER_URL`;
//! a note and a pass without it, a failure when `MIGRATE_TEST_REQUIRE_PGBOUNCER` is set): sixteen runners at once
//! with `--pooler transaction`, three storms, each on a fresh database: every process exits 0, each revision is
//! applied once (a log row each, one history row each), and no advisory lock is left on any server session.

use std::io::Write as _;
use std::process::Stdio;

use crate::harness::{all_succeed, with_database, Kind, Project};

/// PgBouncer's URL, or `None` after a note.
fn pgbouncer() -> Option<String> {
    match std::env::var("MIGRATE_TEST_PGBOUNCER_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var_os("MIGRATE_TEST_REQUIRE_PGBOUNCER").is_none(),
                "MIGRATE_TEST_REQUIRE_PGBOUNCER is set, but MIGRATE_TEST_PGBOUNCER_URL is not (scripts/pgbouncer.sh \
                 start runs one)"
            );
            // To stderr itself, past the test harness's capture, as the skipped backends' notes.
            let _ = writeln!(
                std::io::stderr(),
                "note: PgBouncer tests skipped: set MIGRATE_TEST_PGBOUNCER_URL (scripts/pgbouncer.sh start)"
            );
            None
        }
    }
}

fn project() -> Project {
    let p = Project::new();
    p.write("0001_log/up.sql", "CREATE TABLE log (rev int NOT NULL);\nCREATE TABLE a (id int);\n")
        .write("0001_log/down.sql", "DROP TABLE a;\nDROP TABLE log;\n");
    for rev in 2..=8 {
        let (up, down) = if rev == 5 {
            // Statement by statement, outside a transaction: the lock is taken again after it.
            (
                format!("-- migrate:no-transaction\nCREATE INDEX CONCURRENTLY a_c{rev} ON a (id);\nINSERT INTO log VALUES ({rev});\n"),
                format!("-- migrate:no-transaction\nDROP INDEX CONCURRENTLY a_c{rev};\nDELETE FROM log WHERE rev = {rev};\n"),
            )
        } else {
            (
                format!("INSERT INTO log VALUES ({rev});\nALTER TABLE a ADD COLUMN c{rev} int;\n"),
                format!("ALTER TABLE a DROP COLUMN c{rev};\nDELETE FROM log WHERE rev = {rev};\n"),
            )
        };
        p.write(&format!("{rev:04}_r{rev}/up.sql"), &up).write(&format!("{rev:04}_r{rev}/down.sql"), &down);
    }
    p
}

#[test]
fn storms_through_pgbouncer_in_transaction_mode_apply_each_revision_once() {
    let Some(bouncer) = pgbouncer() else { return };
    let direct = Kind::Postgres.server_url().expect("PgBouncer's tests need PostgreSQL's URL too");
    let mut admin = postgres::Client::connect(&direct, postgres::NoTls).unwrap();
    let p = project();
    for storm in 0..3 {
        let name = format!("pgb_storm_{}_{storm}", std::process::id());
        admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).unwrap();
        admin.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
        let url = with_database(&bouncer, &name);
        let children: Vec<_> = (0..16)
            .map(|_| {
                p.command(None, &["--pooler", "transaction", "--lock-wait", "120", "upgrade"])
                    .env("DATABASE_URL", &url)
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        all_succeed(children, &format!("storm {storm}"));
        let mut db = postgres::Client::connect(&with_database(&direct, &name), postgres::NoTls).unwrap();
        let logged: Vec<i32> =
            db.query("SELECT rev FROM log ORDER BY rev", &[]).unwrap().iter().map(|r| r.get(0)).collect();
        assert_eq!(logged, (2..=8).collect::<Vec<_>>(), "storm {storm}: each revision once");
        let history: i64 =
            db.query_one("SELECT count(*) FROM _migrate_history WHERE state = 'applied'", &[]).unwrap().get(0);
        assert_eq!(history, 8, "storm {storm}");
        let locks: i64 = db
            .query_one(
                "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database \
                 WHERE l.locktype = 'advisory' AND d.datname = current_database()",
                &[],
            )
            .unwrap()
            .get(0);
        assert_eq!(locks, 0, "storm {storm}: an advisory lock was left on a server session");
        drop(db);
        admin.batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)")).unwrap();
    }
}
