//! The bound on a revision's lock waits: an `ALTER TABLE` queued behind a long transaction stops waiting after the
//! lock timeout instead of stalling every query of the table behind it, is tried again within the retry budget, and
//! when the budget runs out the record stays true and the session's own setting is as the application left it.

use std::time::{Duration, Instant};

use migrate::{Error, Migrator, Report, Revision};

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

/// A session with an open transaction that read `accounts`: it holds a lock the `ALTER TABLE` must wait for. Its
/// query holds a value that must not be shown.
fn blocker(db: &Db) -> Conn {
    let mut blocker = db.connect();
    let begin = if db.kind == Kind::Postgres { "BEGIN" } else { "START TRANSACTION" };
    blocker.exec(&format!("{begin}; SELECT * FROM accounts WHERE 'sekrit' <> ''"));
    blocker
}

/// The session id of `conn`, as the database names it in its session list.
fn session_id(conn: &mut Conn) -> String {
    match conn.backend() {
        migrate::Backend::Postgres => conn.strings("SELECT pg_backend_pid()").remove(0),
        _ => conn.strings("SELECT CONNECTION_ID()").remove(0),
    }
}

/// `err` names the session `blocker` as the lock's holder, its query without the value in it.
fn names_the_holder(err: &Error, blocker: &mut Conn) {
    let Error::Migration(failure) = err else { panic!("{err:?}") };
    let held_by = failure.held_by.as_deref().unwrap_or_else(|| panic!("no holder named: {err}"));
    let id = session_id(blocker);
    let named = match blocker.backend() {
        migrate::Backend::Postgres => format!("pid {id} ("),
        _ => format!("connection {id} ("),
    };
    assert!(held_by.contains(&named) && !held_by.contains("sekrit"), "{held_by}");
    // MariaDB keeps no idle session's last query.
    if blocker.backend() == migrate::Backend::Postgres {
        assert!(held_by.contains("FROM accounts WHERE ? <> ?"), "{held_by}");
    }
    assert!(err.to_string().contains(&format!("held by: {held_by}")), "{err}");
}

/// Upgrades under a 300 ms bound, tried again for `retry`, while `blocker` holds the table: the error must come
/// within a few seconds of the budget.
fn bounded(revisions: &[Revision], conn: &mut Conn, single_transaction: bool, retry: Duration) -> Error {
    let started = Instant::now();
    let err = Migrator::new(revisions)
        .lock_timeout(Some(Duration::from_millis(300)))
        .lock_retry(retry)
        .single_transaction(single_transaction)
        .upgrade(conn)
        .unwrap_err();
    assert!(started.elapsed() < retry + Duration::from_secs(5), "waited {:?}: {err}", started.elapsed());
    err
}

/// Upgrades under a 300 ms bound while `blocker` holds the table for about a second more, then commits: the revision
/// is tried until it gets its lock.
fn outlasts(revisions: &[Revision], conn: &mut Conn, mut blocker: Conn, single_transaction: bool) -> Report {
    std::thread::scope(|scope| {
        let started = Instant::now();
        let run = scope.spawn(|| {
            Migrator::new(revisions)
                .lock_timeout(Some(Duration::from_millis(300)))
                .lock_retry(Duration::from_secs(30))
                .single_transaction(single_transaction)
                .upgrade(conn)
        });
        std::thread::sleep(Duration::from_millis(1200));
        blocker.exec("COMMIT");
        let report = run.join().unwrap().unwrap();
        assert!(started.elapsed() < Duration::from_secs(15), "{:?}", started.elapsed());
        report
    })
}

#[test]
fn postgres_a_revision_waits_no_longer_than_the_lock_timeout() {
    let Some(db) = Db::new(Kind::Postgres, "pg_lock_timeout") else { return };
    for (no_transaction, single_transaction) in [(false, false), (false, true), (true, false)] {
        let what = format!("no-transaction {no_transaction}, single transaction {single_transaction}");
        // The application's own setting, which the run must leave as it found it.
        let (revisions, mut conn) = start(&db, no_transaction, "SET lock_timeout = '7s'");
        // Without tries again: the first wait that runs out fails the run.
        let blocker = blocker(&db);
        let err = bounded(&revisions, &mut conn, single_transaction, Duration::ZERO);
        assert!(format!("{err:?}").contains("lock timeout (55P03)"), "{what}: {err:?}");
        assert!(err.to_string().contains("gave up waiting for a lock on what it changes, 1 time(s)"), "{what}: {err}");
        assert_eq!(conn.strings("SHOW lock_timeout"), ["7s"], "{what}");
        assert_eq!(conn.strings("SELECT count(*) FROM accounts"), ["1"], "{what}: the table is intact");
        // Nothing of it took effect, so nothing is recorded, even statement by statement: it is pending.
        assert_eq!(versions(&mut conn), ["0001"], "{what}");
        assert_eq!(conn.strings("SELECT count(*) FROM _migrate_history"), ["1"], "{what}: no dirty row");
        // Tried again for a second and a half: several tries, then the same failure.
        let err = bounded(&revisions, &mut conn, single_transaction, Duration::from_millis(1500));
        let Error::Migration(failure) = &err else { panic!("{what}: {err:?}") };
        // Within the budget, and stopped only when the next pause and try would not fit in it.
        let spent = failure.tried_for;
        assert!(failure.tries > 1 && spent >= Duration::from_millis(600), "{what}: {err}");
        assert!(spent <= Duration::from_millis(1600), "{what}: {err}");
        assert_eq!(versions(&mut conn), ["0001"], "{what}");
        // A blocker that ends while the run tries: it gets its lock and applies, once.
        let report = outlasts(&revisions, &mut conn, blocker, single_transaction);
        assert!(report.steps.len() == 1 && report.steps[0].tries > 1, "{what}: {report:?}");
        let recorded = conn.strings("SELECT tries FROM _migrate_history WHERE version = '0002'");
        assert_eq!(recorded, [report.steps[0].tries.to_string()], "{what}: the history counts the tries");
        assert_eq!(versions(&mut conn), ["0001", "0002"], "{what}");
        assert_eq!(conn.strings("SHOW lock_timeout"), ["7s"], "{what}");
    }
    // Through a pooler, with the transaction-scoped lock: it goes with each failed try's transaction, and is taken
    // again for the next.
    let (revisions, mut conn) = start(&db, false, "SET lock_timeout = '7s'");
    let mut holder = blocker(&db);
    let Conn::Postgres(client) = &mut conn else { unreachable!() };
    let mut driver = migrate::postgres::Postgres::new(client).lock_mode(migrate::postgres::LockMode::Transaction);
    let report = std::thread::scope(|scope| {
        let run = scope.spawn(|| {
            let migrator = Migrator::new(&revisions).lock_timeout(Some(Duration::from_millis(300)));
            migrator.upgrade(&mut driver as &mut dyn migrate::Driver)
        });
        std::thread::sleep(Duration::from_millis(1200));
        holder.exec("COMMIT");
        run.join().unwrap().unwrap()
    });
    assert!(report.steps[0].tries > 1, "{report:?}");
    drop(driver);
    assert_eq!(versions(&mut conn), ["0001", "0002"]);
    // Without a bound the session's own setting holds: here 300 ms.
    let (revisions, mut conn) = start(&db, false, "SET lock_timeout = '300ms'");
    let _blocker = blocker(&db);
    let started = Instant::now();
    let err = Migrator::new(&revisions).lock_timeout(None).lock_retry(Duration::ZERO).upgrade(&mut conn).unwrap_err();
    assert!(format!("{err:?}").contains("lock timeout (55P03)") && started.elapsed() < Duration::from_secs(5), "{err}");
}

#[test]
fn mysql_a_statement_waits_no_longer_than_the_lock_timeout() {
    let Some(db) = Db::new(Kind::Mysql, "my_lock_timeout") else { return };
    let (revisions, mut conn) = start(&db, false, "SET SESSION lock_wait_timeout = 77");
    let mut blocker = blocker(&db);
    // A bound below a second is a second: the server's unit.
    let err = bounded(&revisions, &mut conn, false, Duration::ZERO);
    names_the_holder(&err, &mut blocker);
    assert!(format!("{err:?}").contains("Lock wait timeout exceeded"), "{err:?}");
    assert_eq!(conn.strings("SELECT @@SESSION.lock_wait_timeout"), ["77"], "the session's own, restored");
    // The statement did not run, and it was the revision's first: no row, the revision is pending.
    assert_eq!(versions(&mut conn), ["0001"]);
    assert_eq!(conn.strings("SELECT count(*) FROM _migrate_history"), ["1"]);
    assert!(!conn.strings("SHOW COLUMNS FROM accounts").contains(&"email".to_owned()));
    let report = outlasts(&revisions, &mut conn, blocker, false);
    assert!(report.steps[0].tries > 1, "{report:?}");
    assert_eq!(versions(&mut conn), ["0001", "0002"]);
    let recorded = conn.strings("SELECT tries FROM _migrate_history WHERE version = '0002'");
    assert_eq!(recorded, [report.steps[0].tries.to_string()], "the history counts the tries");
    assert_eq!(conn.strings("SELECT @@SESSION.lock_wait_timeout"), ["77"]);
}

/// MySQL runs every revision statement by statement: the statement whose lock wait ran out is tried again alone,
/// after the ones before it, which are not run twice; when the budget runs out the row says exactly those ran.
#[test]
fn mysql_a_later_statement_is_tried_again_alone() {
    let Some(db) = Db::new(Kind::Mysql, "my_lock_retry_alone") else { return };
    let folder = Folder::new();
    folder
        .write("0001_accounts/up.sql", "CREATE TABLE accounts (id INT PRIMARY KEY);\nINSERT INTO accounts VALUES (1);")
        .write("0001_accounts/down.sql", "DROP TABLE accounts;")
        .write("0002_both/up.sql", "CREATE TABLE audit (id INT);\nINSERT INTO audit VALUES (1);\nALTER TABLE accounts ADD COLUMN email VARCHAR(100);")
        .write("0002_both/down.sql", "ALTER TABLE accounts DROP COLUMN email;\nDROP TABLE audit;");
    let revisions = folder.revisions();
    let mut conn = db.connect();
    Migrator::new(&revisions[..1]).upgrade(&mut conn).unwrap();
    let mut holder = blocker(&db);
    let err = bounded(&revisions, &mut conn, false, Duration::from_secs(1));
    names_the_holder(&err, &mut holder);
    let Error::Migration(failure) = &err else { panic!("{err:?}") };
    assert!(failure.tries > 1, "{err}");
    assert_eq!(
        conn.strings("SELECT CONCAT(state, ' ', statements_done) FROM _migrate_history WHERE version = '0002'"),
        ["upgrading 2"],
        "the two statements before it ran, once"
    );
    assert_eq!(conn.strings("SELECT count(*) FROM audit"), ["1"]);
    drop(holder);
    Migrator::new(&revisions).resume(&mut conn).unwrap();
    assert_eq!(versions(&mut conn), ["0001", "0002"]);
    // Again with a blocker that ends while the run tries: the third statement gets its lock.
    Migrator::new(&revisions).downgrade_to(&mut conn, "0001").unwrap();
    let report = outlasts(&revisions, &mut conn, blocker(&db), false);
    assert!(report.steps[0].tries > 1, "{report:?}");
    assert_eq!(conn.strings("SELECT count(*) FROM audit"), ["1"], "the statements before it ran once");
    assert_eq!(versions(&mut conn), ["0001", "0002"]);
}

/// `-- migrate:lock-timeout` in a file sets the bound for that file whatever the run's: shorter here, so the run's
/// 10 s never comes into it.
#[test]
fn a_revision_sets_its_own_lock_timeout() {
    for kind in [Kind::Postgres, Kind::Mysql] {
        let Some(db) = Db::new(kind, "lock_timeout_directive") else { continue };
        let folder = Folder::new();
        folder
            .write("0001_accounts/up.sql", "CREATE TABLE accounts (id INT PRIMARY KEY);")
            .write("0001_accounts/down.sql", "DROP TABLE accounts;")
            .write(
                "0002_email/up.sql",
                "-- migrate:lock-timeout 500ms\nALTER TABLE accounts ADD COLUMN email VARCHAR(100);",
            )
            .write("0002_email/down.sql", "ALTER TABLE accounts DROP COLUMN email;");
        let revisions = folder.revisions();
        let mut conn = db.connect();
        Migrator::new(&revisions[..1]).upgrade(&mut conn).unwrap();
        let _blocker = blocker(&db);
        let started = Instant::now();
        let err = Migrator::new(&revisions)
            .lock_timeout(Some(Duration::from_secs(10)))
            .lock_retry(Duration::ZERO)
            .upgrade(&mut conn)
            .unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(4), "{kind:?}: waited {:?}", started.elapsed());
        assert!(err.to_string().contains("gave up waiting for a lock"), "{kind:?}: {err}");
    }
}
