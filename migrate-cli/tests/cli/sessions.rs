//! Every command, on every backend, as an operator would type it.

use crate::harness::{on_every_backend, run, Db, Kind, OwnMariadb, Project};

const USERS_UP: &str = "CREATE TABLE users (\n    id INTEGER PRIMARY KEY,\n    login VARCHAR(40) NOT NULL\n);\n";
const POSTS_UP: &str =
    "CREATE TABLE posts (id INTEGER PRIMARY KEY, author INTEGER NOT NULL);\nINSERT INTO posts VALUES (1, 1);\n";
const TAGS_UP: &str = "CREATE TABLE tags (id INTEGER PRIMARY KEY, label VARCHAR(20));\n";

fn every_command(kind: Kind) {
    let Some(db) = Db::new(kind, &format!("session_{}", kind.name())) else { return };
    let p = Project::new();
    let dbr = &db;
    let db = Some(&db);

    // new: templates, then a folder that is not finished yet is reported by verify.
    p.run(db, &["new", "users", "--sequential"]).ok().says(&["created migrations/0001_users/up.sql", "down.sql"]);
    p.run(db, &["verify"]).code(4).says(&["0001_users/up.sql: has no statement", "problem(s)"]);
    p.write("0001_users/up.sql", USERS_UP).write("0001_users/down.sql", "DROP TABLE users;\n");
    p.run(db, &["new", "posts", "--sequential", "--dry-run"]).ok().says(&["would create migrations/0002_posts/up.sql"]);
    assert!(!p.migrations().join("0002_posts").exists());
    let created = p.run(db, &["new", "posts", "--sequential", "--format", "json"]).ok().json();
    assert_eq!(created["version"], "0002");
    p.write("0002_posts/up.sql", POSTS_UP).write("0002_posts/down.sql", "DROP TABLE posts;\n");
    p.run(db, &["new", "tags", "--sequential"]).ok();
    p.write("0003_tags/up.sql", TAGS_UP).write("0003_tags/down.sql", "DROP TABLE tags;\n");
    p.run(db, &["verify"]).ok().says(&["verified: 3 revision(s)", "0 applied, 3 pending"]);

    // status with everything pending: exit 3.
    p.run(db, &["status"]).code(3).says(&[
        "pending  0001 (users)",
        "pending  0003 (tags)",
        "pending: run `migrate upgrade`",
    ]);

    // upgrade: dry run, +1, then the rest; one line per revision with its duration.
    p.run(db, &["upgrade", "--dry-run"]).ok().says(&[
        "would apply  0001 (users)",
        "0003_tags/up.sql",
        "nothing was changed",
    ]);
    assert!(!dbr.tables().contains(&"_migrate_history".to_owned()), "a dry run creates nothing");
    p.run(db, &["upgrade", "+1"]).ok().says(&["applied    0001 (users)  ", " ms", "the database is at 0001 (users)"]);
    assert_eq!(dbr.versions(), ["0001"]);
    p.run(db, &["current"]).ok().says(&["0001 (users), applied ", "(2 pending)"]);
    p.run(db, &["upgrade"]).ok().says(&["applied    0002 (posts)", "applied    0003 (tags)", "2 step(s)"]);
    assert_eq!(dbr.versions(), ["0001", "0002", "0003"]);
    p.run(db, &["upgrade"]).ok().says(&["nothing to do: the database is at 0003 (tags)"]);
    p.run(db, &["current"]).ok().says(&["0003 (tags)", "(head)"]);
    let current = p.run(db, &["current", "--format", "json"]).ok().json();
    assert_eq!((current["current"]["version"].as_str(), current["head"].as_bool()), (Some("0003"), Some(true)));

    // history and show.
    p.run(db, &["history"]).ok().says(&["VERSION", "APPLIED AT", "0002     posts  applied"]);
    let history = p.run(db, &["history", "--format", "json"]).ok().json();
    assert_eq!(history["revisions"].as_array().unwrap().len(), 3);
    assert!(history["revisions"][1]["applied_at"].as_str().unwrap().ends_with('Z'));
    p.run(db, &["show", "posts"]).ok().says(&[
        "revision 0002 (posts)",
        "state     applied (applied at ",
        "-- up.sql sha256 ",
        "2 statement(s)",
        "INSERT INTO posts VALUES (1, 1);",
        "-- down.sql",
    ]);
    let shown = p.run(db, &["show", "0003", "--format", "json"]).ok().json();
    assert_eq!(shown["files"][0]["statements"], 1);
    assert_eq!(shown["state"]["status"], "applied");

    // downgrade, redo, and their dry runs.
    p.run(db, &["downgrade", "-1"]).ok().says(&["reverted   0003 (tags)", "the database is at 0002 (posts)"]);
    p.run(db, &["redo"]).ok().says(&["reverted   0002 (posts)", "applied    0002 (posts)"]);
    assert_eq!(dbr.versions(), ["0001", "0002"]);
    assert_eq!(dbr.query("SELECT count(*) FROM posts")[0][0].as_deref(), Some("1"));
    p.run(db, &["redo", "-2", "--dry-run"]).ok().says(&["would revert  0002 (posts)", "would apply   0002 (posts)"]);
    p.run(db, &["downgrade", "base", "--dry-run"]).ok().says(&["would revert  0001 (users)"]);
    assert_eq!(dbr.versions(), ["0001", "0002"]);

    // stamp: record without running.
    p.run(db, &["stamp", "head"]).ok().says(&["stamped    0003 (tags)"]);
    assert!(!dbr.tables().contains(&"tags".to_owned()), "stamp runs no SQL");
    p.run(db, &["stamp", "0002"]).ok().says(&["unstamped  0003 (tags)"]);
    let up = p.run(db, &["upgrade", "--format", "json"]).ok().json();
    assert_eq!(up["steps"][0]["action"], "apply");
    assert_eq!(up["after"]["version"], "0003");
    assert!(dbr.tables().contains(&"tags".to_owned()));

    // A changed file: refused until accepted on purpose.
    p.write("0002_posts/down.sql", "DROP TABLE IF EXISTS posts;\n");
    p.run(db, &["status"]).code(4).says(&["changed  0002 (posts)", "0002_posts/down.sql changed since it was applied"]);
    p.run(db, &["downgrade", "-2"]).code(1).complains(&["applied revisions changed", "next:", "`migrate accept 0002`"]);
    p.run(db, &["accept", "0002", "--dry-run"]).ok().says(&["would accept 0002 (posts) 0002_posts/down.sql"]);
    p.run(db, &["status"]).code(4);
    p.run(db, &["accept", "posts"]).ok().says(&["accepted 0002 (posts) 0002_posts/down.sql: recorded "]);
    p.run(db, &["status"]).ok().says(&["3 applied, 0 pending", "up to date"]);
    p.run(db, &["accept", "0002"]).ok().says(&["nothing to accept"]);

    // The offline script, without a connection.
    let script = p.run(None, &["sql", "upgrade", "--dialect", kind.name()]).ok().stdout.clone();
    assert!(script.contains("CREATE TABLE users") && script.contains("INSERT INTO"), "{script}");
    let down = p.run(db, &["sql", "downgrade", "base"]).ok().stdout.clone();
    assert!(down.contains("DROP TABLE tags") && down.contains("DELETE FROM"), "{down}");

    // Back to base.
    p.run(db, &["downgrade", "base"]).ok().says(&["reverted   0001 (users)", "the database is at base"]);
    assert!(dbr.versions().is_empty());
    assert_eq!(dbr.tables(), ["_migrate_history"]);
    p.run(db, &["current"]).ok().says(&["base (nothing applied)"]);
}

const BROKEN_UP: &str = "-- migrate:no-transaction\nCREATE TABLE b1 (id INTEGER);\nINSERT INTO missing_table\n  VALUES (1);\nCREATE TABLE b2 (id INTEGER);\n";
const BROKEN_DOWN: &str = "-- migrate:no-transaction\nDROP TABLE b2;\nDROP TABLE b1;\n";

fn dirty_resume_and_resolve(kind: Kind) {
    let Some(db) = Db::new(kind, &format!("dirty_{}", kind.name())) else { return };
    let p = Project::new();
    p.write("0001_ok/up.sql", "CREATE TABLE ok_t (id INTEGER);\n").write("0001_ok/down.sql", "DROP TABLE ok_t;\n");
    p.write("0002_broken/up.sql", BROKEN_UP).write("0002_broken/down.sql", BROKEN_DOWN);
    let dbr = &db;
    let db = Some(&db);

    // The failure names the revision, the file and line, the database's error, and what to do next.
    let failed = p.run(db, &["upgrade"]);
    failed.code(1).says(&["applied    0001 (ok)"]).complains(&[
        "applying revision 0002 (broken) failed at 0002_broken/up.sql:3",
        "statement: INSERT INTO missing_table",
        "missing_table",
        "1 statement(s) before this one stay applied",
        "completed before it and kept: applied 0001 (ok)",
        "next:",
        "`migrate resume`",
        "`migrate resolve 0002 --applied`",
    ]);
    let code = match kind {
        Kind::Sqlite => "SQLITE_ERROR/1",
        Kind::Postgres => "42P01",
        Kind::Mysql => "1146",
    };
    let json = p.run(db, &["upgrade", "--format", "json"]).code(1).json();
    assert_eq!(json["error"]["kind"], "dirty", "{json}");
    p.run(db, &["status"]).code(4).says(&["dirty    0002 (broken)", "applying stopped after 1 statement(s)"]);
    p.run(db, &["current"]).code(4).says(&["0001 (ok)", "dirty: 0002 (broken)"]);
    let status = p.run(db, &["status", "--format", "json"]).code(4).json();
    assert_eq!(status["revisions"][1]["status"], "dirty");
    assert!(status["revisions"][1]["dirty"]["error"].as_str().unwrap().contains(code), "{status}");
    p.run(db, &["upgrade"]).code(1).complains(&["the database is dirty", "`migrate resume`"]);

    // resume: after the cause is fixed, from the failed statement on.
    p.run(db, &["resume", "--dry-run"])
        .ok()
        .says(&["would continue applying 0002 (broken) at statement 2 of 3 (up.sql:3)"]);
    // A statement that already ran must not change: resume refuses, dry run or not.
    p.write("0002_broken/up.sql", &BROKEN_UP.replace("CREATE TABLE b1", "CREATE TABLE b1_renamed"));
    p.run(db, &["resume", "--dry-run"])
        .code(1)
        .complains(&["cannot resume 0002 (broken)", "already ran are not the ones"]);
    p.run(db, &["resume"]).code(1).complains(&["cannot resume 0002 (broken)"]);
    p.write("0002_broken/up.sql", BROKEN_UP);
    dbr.exec("CREATE TABLE missing_table (id INTEGER)");
    p.run(db, &["resume"]).ok().says(&["resumed 0002 (broken)", "the database is at 0002 (broken)"]);
    assert_eq!(dbr.versions(), ["0001", "0002"]);
    p.run(db, &["status"]).ok();
    p.run(db, &["resume"]).code(1).complains(&["no revision is dirty"]);

    // resolve: settled by hand, either way.
    p.write("0003_again/up.sql", "-- migrate:no-transaction\nCREATE TABLE c1 (id INTEGER);\nSELECT * FROM nowhere;\n");
    p.write("0003_again/down.sql", "-- migrate:no-transaction\nDROP TABLE c1;\n");
    p.run(db, &["upgrade"]).code(1).complains(&["0003_again/up.sql:3"]);
    p.run(db, &["resolve", "0002", "--applied"]).code(1).complains(&["revision 0002 (broken) is not dirty"]);
    p.run(db, &["resolve", "0003", "--not-applied", "--dry-run"]).ok().says(&["would be record removed"]);
    dbr.exec("DROP TABLE c1");
    p.run(db, &["resolve", "again", "--not-applied"]).ok().says(&["record removed: not applied: 0003 (again)"]);
    assert_eq!(dbr.versions(), ["0001", "0002"]);
    p.run(db, &["upgrade"]).code(1);
    p.run(db, &["resolve", "0003", "--applied", "--format", "json"]).ok();
    assert_eq!(dbr.versions(), ["0001", "0002", "0003"]);
    p.run(db, &["status"]).ok();
    p.run(db, &["resolve", "0003"]).code(2);
}

fn lock_timeout_names_the_holder(kind: Kind) {
    use migrate_core::{Driver, HistoryTable};
    let Some(db) = Db::new(kind, &format!("lock_{}", kind.name())) else { return };
    let p = Project::new();
    p.write("0001_a/up.sql", "CREATE TABLE a (id INTEGER);\n").write("0001_a/down.sql", "DROP TABLE a;\n");
    let table = HistoryTable::default();
    let wait = std::time::Duration::ZERO;
    // The lock is held by another connection, taken the way a live run takes it.
    let (sqlite, mut pg, mut my);
    let mut holder: Box<dyn Driver> = match kind {
        Kind::Sqlite => {
            sqlite = rusqlite::Connection::open(&db.ident).unwrap();
            Box::new(migrate_sqlite::Sqlite::new(&sqlite))
        }
        Kind::Postgres => {
            let url = db.url.clone();
            pg = ::postgres::Client::connect(&url, ::postgres::NoTls).unwrap();
            Box::new(migrate_postgres::Postgres::new(&mut pg))
        }
        Kind::Mysql => {
            my = ::mysql::Conn::new(db.url.as_str()).unwrap();
            Box::new(migrate_mysql::Mysql::new(&mut my))
        }
    };
    holder.bind_history(&table);
    holder.lock(wait).unwrap();
    let holder_text = match kind {
        Kind::Sqlite => "another runner of this database (process",
        Kind::Postgres => "PostgreSQL backend pid",
        Kind::Mysql => "connection ",
    };
    let run = p.run(Some(&db), &["upgrade", "--lock-wait", "0.5"]);
    run.code(5).complains(&["could not take the migration lock within", holder_text, "--lock-wait"]);
    holder.unlock().unwrap();
    drop(holder);
    p.run(Some(&db), &["upgrade", "--lock-wait", "5"]).ok().says(&["applied    0001 (a)"]);
}

/// A revision that runs for more than two seconds gets a heartbeat on stderr naming it and its statement.
fn progress_of_a_long_revision(kind: Kind) {
    let sleep = match kind {
        Kind::Postgres => "SELECT pg_sleep(1);",
        Kind::Mysql => "DO SLEEP(1);",
        Kind::Sqlite => unreachable!("SQLite has no sleep; the heartbeat is the same code on every backend"),
    };
    let Some(db) = Db::new(kind, &format!("progress_{}", kind.name())) else { return };
    let p = Project::new();
    p.write("0001_slow/up.sql", &format!("-- migrate:no-transaction\nCREATE TABLE slow (id INTEGER);\n{sleep}\n"));
    p.write("0001_slow/down.sql", "DROP TABLE slow;\n");
    // The heartbeat shows after 300 ms here instead of 2 s, so the revision need not run for seconds.
    let mut cmd = p.command(Some(&db), &["upgrade"]);
    cmd.env("MIGRATE_PROGRESS_QUIET_MS", "300");
    run(cmd, &["upgrade"])
        .ok()
        .says(&["applied    0001 (slow)  1."])
        .complains(&["still [1/1] applying 0001 (slow): statement 2 of 2, 0 s"]);
}

/// 16 processes started together on a folder whose revisions run statement by statement (`no-transaction`) all
/// finish with exit 0: a runner that finds another's revision in progress waits for it instead of calling it dirty.
fn replicas_started_together_wait(kind: Kind) {
    let Some(db) = Db::new(kind, &format!("storm_{}", kind.name())) else { return };
    let p = Project::new();
    for n in 1..=6 {
        let up = format!(
            "-- migrate:no-transaction\nCREATE TABLE s{n} (id INTEGER);\nINSERT INTO s{n} VALUES (1);\n\
             CREATE TABLE t{n} (id INTEGER);\nINSERT INTO t{n} VALUES ({n});\n"
        );
        p.write(&format!("{n:04}_r{n}/up.sql"), &up);
        p.write(&format!("{n:04}_r{n}/down.sql"), &format!("DROP TABLE t{n};\nDROP TABLE s{n};\n"));
    }
    let children: Vec<_> = (0..16)
        .map(|_| {
            let mut cmd = p.command(Some(&db), &["upgrade", "--lock-wait", "60"]);
            cmd.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::piped());
            cmd.spawn().unwrap()
        })
        .collect();
    let failures: Vec<String> = children
        .into_iter()
        .map(|child| child.wait_with_output().unwrap())
        .filter(|out| !out.status.success())
        .map(|out| format!("{}: {}", out.status, String::from_utf8_lossy(&out.stderr)))
        .collect();
    assert!(failures.is_empty(), "{} of 16 failed:\n{}", failures.len(), failures.join("\n"));
    assert_eq!(db.versions(), ["0001", "0002", "0003", "0004", "0005", "0006"]);
    for n in 1..=6 {
        assert_eq!(db.query(&format!("SELECT count(*) FROM t{n}")), [[Some("1".to_owned())]], "t{n} filled once");
    }
}

/// `--init-sql` runs on the connection before anything else, in order, for every command; a failing one is named.
fn init_sql_runs_on_connect(kind: Kind) {
    let Some(db) = Db::new(kind, &format!("init_sql_{}", kind.name())) else { return };
    let p = Project::new();
    p.write("0001_a/up.sql", "INSERT INTO init_marker VALUES (2);\n")
        .write("0001_a/down.sql", "DELETE FROM init_marker;\n");
    let init = [
        "--init-sql",
        "CREATE TABLE IF NOT EXISTS init_marker (id INTEGER)",
        "--init-sql",
        "INSERT INTO init_marker VALUES (1)",
    ];
    p.run(Some(&db), &[&init[..], &["upgrade"]].concat()).ok().says(&["applied    0001 (a)"]);
    assert_eq!(db.query("SELECT count(*) FROM init_marker"), [[Some("2".to_owned())]], "both ran, in order, first");
    p.run(Some(&db), &["status", "--init-sql", "SELEC 1"]).code(2).complains(&["--init-sql #1 (`SELEC 1`) failed"]);
    // Several statements in one: a failure after the first is not lost (MySQL's client drops later results).
    p.run(Some(&db), &["status", "--init-sql", "SELECT 1; SELEC 2"])
        .code(2)
        .complains(&["--init-sql #1 (`SELECT 1; SELEC 2`) failed"]);
}

/// A MySQL folder whose table names a table created later in the same file applies with foreign-key checks turned
/// off on connecting, as the project's application does.
#[test]
fn mysql_forward_foreign_keys_with_init_sql() {
    let Some(db) = Db::new(Kind::Mysql, "init_sql_fk") else { return };
    let p = Project::new();
    p.write(
        "0001_orders/up.sql",
        "CREATE TABLE orders (id INT PRIMARY KEY, customer_id INT, FOREIGN KEY (customer_id) REFERENCES customers (id));\n\
         CREATE TABLE customers (id INT PRIMARY KEY);\n",
    )
    .write("0001_orders/down.sql", "DROP TABLE orders;\nDROP TABLE customers;\n");
    p.run(Some(&db), &["upgrade", "--init-sql", "SET FOREIGN_KEY_CHECKS = 0"]).ok().says(&["applied    0001 (orders)"]);
    p.run(Some(&db), &["downgrade", "base", "--init-sql", "SET FOREIGN_KEY_CHECKS = 0"]).ok();
    // Without it the server refuses the first table (errno 150), and the revision is left dirty as it stopped.
    p.run(Some(&db), &["upgrade"]).code(1).complains(&["errno: 150"]);
}

on_every_backend!(
    every_command,
    dirty_resume_and_resolve,
    lock_timeout_names_the_holder,
    replicas_started_together_wait,
    init_sql_runs_on_connect
);

#[test]
fn progress_of_a_long_revision_postgres() {
    progress_of_a_long_revision(Kind::Postgres);
}

#[test]
fn progress_of_a_long_revision_mysql() {
    progress_of_a_long_revision(Kind::Mysql);
}

/// MySQL over TLS, against a MariaDB of the test's own with TLS on: `REQUIRED` encrypts, `DISABLED` does not,
/// `VERIFY_IDENTITY` with the test's CA succeeds on `localhost` and fails on `127.0.0.1`, `VERIFY_CA` needs the CA,
/// and `--sslmode` wins over the URL; a server without TLS is refused under `REQUIRED` and used in plain text under
/// `PREFERRED`.
#[test]
fn mysql_tls_modes() {
    // Runs where the MySQL tests run (the server binaries come with the server the tests use).
    let Some(_db) = Db::new(Kind::Mysql, "mysql_tls") else { return };
    let server = OwnMariadb::start(&[], true);
    let p = Project::new();
    p.write("0001_a/up.sql", "CREATE TABLE a (id INTEGER);\n").write("0001_a/down.sql", "DROP TABLE a;\n");
    let url = |host: &str, query: &str| format!("mysql://root@{host}:{}/mysql{query}", server.port);
    p.run(None, &["--database-url", &url("127.0.0.1", ""), "wait", "--timeout", "60"]).ok();
    // Fails the connection unless it is encrypted.
    let encrypted = "BEGIN NOT ATOMIC IF (SELECT VARIABLE_VALUE FROM information_schema.SESSION_STATUS \
                     WHERE VARIABLE_NAME = 'SSL_CIPHER') = '' THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = \
                     'not encrypted'; END IF; END";
    let run =
        |url: &str, args: &[&str]| p.run(None, &[&["--database-url", url, "--init-sql", encrypted][..], args].concat());
    run(&url("127.0.0.1", "?ssl-mode=REQUIRED"), &["current"]).ok();
    run(&url("127.0.0.1", "?ssl-mode=REQUIRED"), &["current", "--sslmode", "disable"])
        .code(2)
        .complains(&["not encrypted"]);
    let identity = format!("?ssl-mode=VERIFY_IDENTITY&ssl-ca={}", server.ca());
    run(&url("localhost", &identity), &["current"]).ok();
    run(&url("127.0.0.1", &identity), &["current"]).code(1).complains(&["cannot connect"]);
    // VERIFY_CA checks the chain; the mysql crate (26.0.1) also checks the name, missing rustls's newer name error,
    // so it is as strict as VERIFY_IDENTITY (stricter than asked, never looser).
    run(&url("localhost", ""), &["current", "--sslmode", "verify-ca", "--sslrootcert", &server.ca()]).ok();
    let other_ca = p.path().join("migrations/0001_a/up.sql");
    run(&url("localhost", ""), &["current", "--sslmode", "verify-ca", "--sslrootcert", other_ca.to_str().unwrap()])
        .code(1)
        .complains(&["cannot connect"]);
    run(&url("127.0.0.1", "?ssl-mode=PREFERRED"), &["current"]).ok();
    // PostgreSQL's PGSSLMODE, set for psql, does not reach a MySQL URL; the flag does.
    let mut cmd = p.command(None, &["--database-url", &url("127.0.0.1", ""), "--init-sql", encrypted, "current"]);
    cmd.env("PGSSLMODE", "require");
    crate::harness::run(cmd, &["current"]).code(2).complains(&["not encrypted"]);
    // The tests' own server has TLS off: REQUIRED is refused, PREFERRED connects in plain text.
    let plain = crate::harness::Kind::Mysql.server_url().unwrap();
    let sep = if plain.contains('?') { '&' } else { '?' };
    p.run(None, &["--database-url", &format!("{plain}{sep}ssl-mode=REQUIRED"), "current"])
        .code(1)
        .complains(&["requires secure connection"]);
    p.run(None, &["--database-url", &format!("{plain}{sep}ssl-mode=PREFERRED"), "current"]).ok();
}
