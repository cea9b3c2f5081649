//! The bound on a revision's lock waits: an `ALTER TABLE` queued behind a long transaction stops waiting after the
//! lock timeout instead of stalling every query of the table behind it, the record stays true, and the session's own
//! setting is as the application left it.

use std::time::{Duration, Instant};

use migrate::{Error, Migrator, Revision};

use crate::backend::{Conn, ConnExt, Db, Kind};
use crate::common::{versions, Folder};

/// `accounts` with a row, then a column added to it: the second revision needs a lock that a transaction which
/// read the table holds.
fn folder(no_transaction: bool) -> Vec<Revision> {
    let folder = Folder::new();
    let directive = if no_transaction { "-- migrate:no-transaction\n" } else { "" };
    folder
        .write("0001_accounts/up.sql", "CREATE TABLE accounts (id INT PRIMARY KEY);\nINSERT INTO accounts VALUES (1);")
        .write("0001_accounts/down.sql", "DROP TABLE accounts;")
        .write("0002_email/up.sql", &format!("{directive}ALTER TABLE accounts ADD COLUMN email VARCHAR(100);"))
        .write("0002_email/down.sql", &format!("{directive}ALTER TABLE accounts DROP COLUMN email;"));
    folder.revisions()
}

/// The folder, and a connection to `db` with its first revision applied (anything earlier dropped) and the
/// application's own `setting` made.
fn start(db: &Db, no_transaction: bool, setting: &str) -> (Vec<Revision>, Conn) {
    let revisions = folder(no_transaction);
    let mut conn = db.connect();
    conn.exec("DROP TABLE IF EXISTS accounts; DROP TABLE IF EXISTS _migrate_history");
    Migrator::new(&revisions[..1]).upgrade(&mut conn).unwrap();
    conn.exec(setting);
    (revisions, conn)
}

/// A session with an open transaction that read `accounts`: it holds a lock the `ALTER TABLE` must wait for.
fn blocker(db: &Db) -> Conn {
    let mut blocker = db.connect();
    let begin = if db.kind == Kind::Postgres { "BEGIN" } else { "START TRANSACTION" };
    blocker.exec(&format!("{begin}; SELECT * FROM accounts"));
    blocker
}

/// Upgrades under a 300 ms bound while `blocker` holds the table: the error must come within a few seconds.
fn bounded(revisions: &[Revision], conn: &mut Conn, single_transaction: bool) -> Error {
    let started = Instant::now();
    let err = Migrator::new(revisions)
        .lock_timeout(Some(Duration::from_millis(300)))
        .single_transaction(single_transaction)
        .upgrade(conn)
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5), "waited {:?}: {err}", started.elapsed());
    err
}

#[test]
fn postgres_a_revision_waits_no_longer_than_the_lock_timeout() {
    let Some(db) = Db::new(Kind::Postgres, "pg_lock_timeout") else { return };
    for (no_transaction, single_transaction) in [(false, false), (false, true), (true, false)] {
        let what = format!("no-transaction {no_transaction}, single transaction {single_transaction}");
        // The application's own setting, which the run must leave as it found it.
        let (revisions, mut conn) = start(&db, no_transaction, "SET lock_timeout = '7s'");
        let mut blocker = blocker(&db);
        let err = bounded(&revisions, &mut conn, single_transaction);
        assert!(format!("{err:?}").contains("lock timeout (55P03)"), "{what}: {err}");
        assert_eq!(conn.strings("SHOW lock_timeout"), ["7s"], "{what}");
        assert_eq!(conn.strings("SELECT count(*) FROM accounts"), ["1"], "{what}: the table is intact");
        if no_transaction {
            // Statement by statement: the row says nothing ran, and resume runs it once the blocker is gone.
            assert_eq!(
                conn.strings("SELECT state || ' ' || statements_done FROM _migrate_history WHERE version = '0002'"),
                ["upgrading 0"],
                "{what}"
            );
            blocker.exec("COMMIT");
            Migrator::new(&revisions).resume(&mut conn).unwrap();
        } else {
            assert_eq!(versions(&mut conn), ["0001"], "{what}: rolled back, nothing recorded");
            blocker.exec("COMMIT");
            Migrator::new(&revisions).upgrade(&mut conn).unwrap();
        }
        assert_eq!(versions(&mut conn), ["0001", "0002"], "{what}");
        assert_eq!(conn.strings("SHOW lock_timeout"), ["7s"], "{what}");
    }
    // Without a bound the session's own setting holds: here 300 ms.
    let (revisions, mut conn) = start(&db, false, "SET lock_timeout = '300ms'");
    let _blocker = blocker(&db);
    let started = Instant::now();
    let err = Migrator::new(&revisions).lock_timeout(None).upgrade(&mut conn).unwrap_err();
    assert!(format!("{err:?}").contains("lock timeout (55P03)") && started.elapsed() < Duration::from_secs(5), "{err}");
}

#[test]
fn mysql_a_statement_waits_no_longer_than_the_lock_timeout() {
    let Some(db) = Db::new(Kind::Mysql, "my_lock_timeout") else { return };
    let (revisions, mut conn) = start(&db, false, "SET SESSION lock_wait_timeout = 77");
    let mut blocker = blocker(&db);
    // A bound below a second is a second: the server's unit.
    let err = bounded(&revisions, &mut conn, false);
    assert!(format!("{err:?}").contains("Lock wait timeout exceeded"), "{err}");
    assert_eq!(conn.strings("SELECT @@SESSION.lock_wait_timeout"), ["77"], "the session's own, restored");
    // The statement did not run; the row says so, and resume runs it once the blocker is gone.
    assert_eq!(
        conn.strings("SELECT CONCAT(state, ' ', statements_done) FROM _migrate_history WHERE version = '0002'"),
        ["upgrading 0"]
    );
    assert!(!conn.strings("SHOW COLUMNS FROM accounts").contains(&"email".to_owned()));
    blocker.exec("COMMIT");
    Migrator::new(&revisions).resume(&mut conn).unwrap();
    assert_eq!(versions(&mut conn), ["0001", "0002"]);
    assert_eq!(conn.strings("SELECT @@SESSION.lock_wait_timeout"), ["77"]);
}
