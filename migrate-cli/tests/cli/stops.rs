//! Stops the chaos trials do not make on their own: a process killed while a statement on a table that takes no
//! part in transactions (MyISAM) has taken effect but its progress write has not committed.

use std::time::{Duration, Instant};

use crate::harness::{Db, Kind, Project};

/// Polls `db` until a session of its database runs a statement that starts with `start`.
fn wait_for_statement(db: &Db, start: &str) {
    let sql = format!(
        "SELECT CAST(count(*) AS CHAR) FROM information_schema.PROCESSLIST WHERE DB = DATABASE() AND INFO LIKE '{start}%'"
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while db.query(&sql)[0][0].as_deref() == Some("0") {
        assert!(Instant::now() < deadline, "no session ran {start}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

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
    wait_for_statement(&db, "DO SLEEP");
    child.kill().unwrap();
    child.wait().unwrap();
    // The server ends the dead client's statement on its own: wait until it has.
    let deadline = Instant::now() + Duration::from_secs(30);
    while db.query("SELECT CAST(count(*) AS CHAR) FROM information_schema.PROCESSLIST WHERE DB = DATABASE() AND INFO LIKE 'DO SLEEP%'")[0][0].as_deref() != Some("0") {
        assert!(Instant::now() < deadline, "the killed client's statement never ended");
        std::thread::sleep(Duration::from_millis(50));
    }
    let row = db.history();
    assert_eq!(row[0][6].as_deref(), Some("1"), "the INSERT is recorded done: {row:?}");
    p.run(Some(&db), &["resume"]).ok();
    let ids: Vec<_> =
        db.query("SELECT CAST(id AS CHAR) FROM m ORDER BY id").into_iter().map(|r| r[0].clone()).collect();
    assert_eq!(ids, [Some("1".to_owned()), Some("2".to_owned())], "each row once");
}
