//! What is observable on PostgreSQL alone: a redo that finds, under the lock, that another runner moved the
//! database, and offline scripts whose revisions change `search_path`.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use migrate_core::{Driver, HistoryTable};

use crate::harness::{Db, Kind, Project};

fn table(p: &Project, folder: &str, name: &str) {
    p.write(&format!("{folder}/up.sql"), &format!("CREATE TABLE {name} (id INTEGER);\n"));
    p.write(&format!("{folder}/down.sql"), &format!("DROP TABLE {name};\n"));
}

#[test]
fn redo_refuses_when_another_runner_moved_the_database_meanwhile() {
    let Some(db) = Db::new(Kind::Postgres, "redo_moved") else { return };
    let p = Project::new();
    for (folder, name) in [("0001_a", "a"), ("0002_b", "b"), ("0003_c", "c")] {
        table(&p, folder, name);
    }
    p.run(Some(&db), &["upgrade", "0002"]).ok();
    // The lock is held elsewhere while redo plans `revert 0002, apply 0002` and waits.
    let mut holder_client = postgres::Client::connect(&db.url, postgres::NoTls).unwrap();
    let mut holder = migrate_postgres::Postgres::new(&mut holder_client);
    let table_name = HistoryTable::default();
    holder.bind_history(&table_name);
    holder.lock(Duration::ZERO).unwrap();
    let redo = Command::new(env!("CARGO_BIN_EXE_migrate"))
        .current_dir(p.path())
        .args(["redo", "--lock-wait", "30"])
        .env("DATABASE_URL", &db.url)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // It is waiting once its session has tried the advisory lock.
    let deadline = Instant::now() + Duration::from_secs(20);
    while db.query(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'migrate' AND query LIKE \
             '%pg_try_advisory_lock%'",
    )[0][0]
        .as_deref()
        != Some("1")
    {
        assert!(Instant::now() < deadline, "redo never waited for the lock");
        std::thread::yield_now();
    }
    // Meanwhile another runner (here without the lock, as an operator with --no-lock would) applies 0003.
    p.run(Some(&db), &["upgrade", "--no-lock"]).ok().says(&["applied    0003 (c)"]);
    holder.unlock().unwrap();
    let out = redo.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("the database changed while this run waited for the lock: redo was to revert 0002, but would now revert 0003"),
        "{stderr}"
    );
    assert_eq!(db.versions(), ["0001", "0002", "0003"], "nothing was run");
}

#[test]
fn offline_scripts_restore_search_path_like_a_live_run() {
    let Some(live) = Db::new(Kind::Postgres, "search_path_live") else { return };
    let offline = Db::new(Kind::Postgres, "search_path_script").unwrap();
    let p = Project::new();
    table(&p, "0001_a", "a");
    // Revisions that change search_path, as pg_dump output does: the history write after them must still land.
    p.write("0002_dump/up.sql", "SELECT pg_catalog.set_config('search_path', '', false);\nSELECT 1;\n");
    p.write("0002_dump/down.sql", "SELECT 1;\n");
    p.write("0003_moved/up.sql", "-- migrate:no-transaction\nSET search_path TO nowhere;\nSELECT 1;\nSELECT 2;\n");
    p.write("0003_moved/down.sql", "-- migrate:no-transaction\nSELECT 1;\n");
    p.run(Some(&live), &["upgrade"]).ok();
    let script = p.run(None, &["sql", "upgrade", "--dialect", "postgres"]).ok().stdout.clone();
    offline.feed(&script).unwrap_or_else(|e| panic!("{e}\n{script}"));
    assert_eq!(offline.versions(), ["0001", "0002", "0003"]);
    assert_eq!(offline.history(), live.history());
}

#[test]
fn history_table_in_its_own_schema() {
    let Some(db) = Db::new(Kind::Postgres, "history_schema") else { return };
    let p = Project::new();
    table(&p, "0001_a", "a");
    let schema = format!("{}_history", db.ident);
    let args = ["--history-schema", schema.as_str(), "--history-table", "revisions"];
    p.run(Some(&db), &[&args[..], &["upgrade"]].concat()).ok();
    p.run(Some(&db), &[&args[..], &["status"]].concat()).ok().says(&["1 applied, 0 pending"]);
    let rows = db.query(&format!("SELECT version FROM {schema}.revisions"));
    db.exec(&format!("DROP SCHEMA {schema} CASCADE"));
    assert_eq!(rows, [[Some("0001".to_owned())]]);
}

/// `migrate wait` on a server that starts listening only after a while: it keeps trying, then goes on once the
/// server accepts; on a port where nothing ever listens it gives up after its timeout, naming the last error.
#[test]
fn wait_for_a_server_still_starting() {
    let Some(db) = Db::new(Kind::Postgres, "wait_starting") else { return };
    let server = url::Url::parse(&db.url).unwrap();
    let target = format!("{}:{}", server.host_str().unwrap(), server.port().unwrap_or(5432));
    // A free port, given up, then listened on 1.5 s later by a proxy to the real server.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(1500));
        let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
        for client in listener.incoming().flatten() {
            let upstream = std::net::TcpStream::connect(&target).unwrap();
            let (mut a, b) = (client.try_clone().unwrap(), upstream.try_clone().unwrap());
            std::thread::spawn(move || {
                std::io::copy(&mut a, &mut b.try_clone().unwrap()).map(|_| b.shutdown(std::net::Shutdown::Write))
            });
            let (mut c, d) = (upstream, client);
            std::thread::spawn(move || {
                std::io::copy(&mut c, &mut d.try_clone().unwrap()).map(|_| d.shutdown(std::net::Shutdown::Write))
            });
        }
    });
    let mut late = server.clone();
    late.set_port(Some(port)).unwrap();
    let p = Project::new();
    let started = std::time::Instant::now();
    p.run(None, &["--database-url", late.as_str(), "wait", "--timeout", "20"])
        .ok()
        .says(&["accepts connections (after"]);
    assert!(started.elapsed() >= std::time::Duration::from_millis(1400), "{:?}", started.elapsed());
    let nowhere = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let started = std::time::Instant::now();
    p.run(None, &["--database-url", &format!("postgres://postgres@127.0.0.1:{nowhere}/x"), "wait", "--timeout", "1"])
        .code(1)
        .complains(&["did not accept a connection within 1 s", "--timeout"]);
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "{:?}", started.elapsed());
    // A server that accepts and never answers: no try outlasts the wait (before, one try took the whole 10 s
    // connect timeout).
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let started = std::time::Instant::now();
    p.run(
        None,
        &["--database-url", &format!("postgres://postgres@127.0.0.1:{silent_port}/x"), "wait", "--timeout", "2"],
    )
    .code(1)
    .complains(&["did not accept a connection within 2 s"]);
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "{:?}", started.elapsed());
    drop(silent);
}

/// TLS as libpq means it, against this machine's server (`ssl = on`, Debian's self-signed certificate for
/// `CN=localhost`): `require` encrypts, `disable` does not, `verify-full` with that certificate as root succeeds on
/// `localhost` and fails on `127.0.0.1`, `verify-ca` succeeds on both; `--sslmode` wins over the URL.
#[test]
fn tls_modes() {
    let Some(db) = Db::new(Kind::Postgres, "tls_modes") else { return };
    let root = "/etc/ssl/certs/ssl-cert-snakeoil.pem";
    assert!(std::path::Path::new(root).exists(), "this test needs the server's certificate at {root}");
    let p = Project::new();
    p.write("0001_a/up.sql", "CREATE TABLE a (id INTEGER);\n").write("0001_a/down.sql", "DROP TABLE a;\n");
    // Fails the connection unless it is encrypted.
    let encrypted = "DO $$BEGIN IF NOT (SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()) THEN \
                     RAISE EXCEPTION 'not encrypted'; END IF; END$$";
    let mut url = url::Url::parse(&db.url).unwrap();
    let on = |url: &url::Url, host: &str, extra: &str| {
        let mut url = url.clone();
        url.set_host(Some(host)).unwrap();
        format!("{url}{extra}")
    };
    let run =
        |url: &str, args: &[&str]| p.run(None, &[&["--database-url", url, "--init-sql", encrypted][..], args].concat());
    url.query_pairs_mut().append_pair("sslmode", "require");
    run(&on(&url, "127.0.0.1", ""), &["upgrade"]).ok().says(&["applied    0001 (a)"]);
    run(&on(&url, "127.0.0.1", ""), &["current", "--sslmode", "disable"]).code(2).complains(&["not encrypted"]);
    let full = format!("&sslmode=verify-full&sslrootcert={root}");
    run(&on(&url, "localhost", &full), &["current"]).ok();
    run(&on(&url, "127.0.0.1", &full), &["current"])
        .code(1)
        .complains(&["certificate not valid for name \"127.0.0.1\""]);
    run(&on(&url, "127.0.0.1", ""), &["current", "--sslmode", "verify-ca", "--sslrootcert", root]).ok();
    let not_pem = p.path().join("migrations/0001_a/up.sql");
    run(
        &on(&url, "localhost", ""),
        &["current", "--sslmode", "verify-full", "--sslrootcert", not_pem.to_str().unwrap()],
    )
    .code(2)
    .complains(&["holds no certificate"]);
}

/// A revision behind a long transaction: each try's note on stderr names the session holding the lock, the failure
/// names it too with the options that set the waits, and the next run applies the revision once that session ends.
#[test]
fn a_revision_behind_a_long_transaction_names_its_blocker() {
    let Some(db) = Db::new(Kind::Postgres, "lock_blocker") else { return };
    let p = Project::new();
    p.write("0001_a/up.sql", "CREATE TABLE a (id int);\n").write("0001_a/down.sql", "DROP TABLE a;\n");
    p.run(Some(&db), &["upgrade"]).ok();
    p.write("0002_b/up.sql", "ALTER TABLE a ADD COLUMN b int;\n")
        .write("0002_b/down.sql", "ALTER TABLE a DROP COLUMN b;\n");
    let mut blocker = postgres::Client::connect(&db.url, postgres::NoTls).unwrap();
    let pid: i32 = blocker.query_one("SELECT pg_backend_pid()", &[]).unwrap().get(0);
    blocker.batch_execute("BEGIN; SELECT * FROM a WHERE 'sekrit' <> ''").unwrap();
    let run = p.run(Some(&db), &["upgrade", "--lock-timeout", "0.2", "--lock-retry", "1.5"]);
    run.code(1).complains(&[
        &format!("gave up waiting for a lock (try 1: canceling statement due to lock timeout; held by pid {pid} ("),
        "trying again in",
        &format!("held by: pid {pid} ("),
        "SELECT * FROM a WHERE ? <> ?",
        "--lock-timeout",
    ]);
    assert!(!run.stderr.contains("sekrit"), "{}", run.stderr);
    blocker.batch_execute("COMMIT").unwrap();
    p.run(Some(&db), &["upgrade"]).ok().says(&["applied    0002 (b)"]);
    // A revision that took several tries says so, in the report and in the history.
    p.run(Some(&db), &["downgrade", "0001"]).ok();
    let mut blocker = postgres::Client::connect(&db.url, postgres::NoTls).unwrap();
    blocker.batch_execute("BEGIN; SELECT * FROM a").unwrap();
    let releases = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(1200));
        blocker.batch_execute("COMMIT").unwrap();
    });
    p.run(Some(&db), &["upgrade", "--lock-timeout", "0.2"]).ok().says(&["applied    0002 (b)", "tries)"]);
    releases.join().unwrap();
    p.run(Some(&db), &["history"]).ok().says(&["tries)"]);
    let json = p.run(Some(&db), &["history", "--format", "json"]).ok().json();
    assert!(json["revisions"][1]["tries"].as_i64().unwrap() > 1, "{json}");
}
