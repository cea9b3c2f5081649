//! What needs no database server: `new`, `verify` of a folder, usage errors and exit codes, and a diesel project's
//! folder on a SQLite file.

use crate::harness::{Db, Kind, Project};

#[test]
fn new_names_revisions_by_utc_time_or_sequence() {
    let p = Project::new();
    let created = p.run(None, &["new", "create users", "--format", "json"]).ok().json();
    let folder = p.path().join(created["folder"].as_str().unwrap());
    let folder = folder.to_string_lossy().into_owned();
    let version = created["version"].as_str().unwrap();
    assert_eq!(version.len(), 14, "a UTC timestamp YYYYMMDDHHMMSS: {created}");
    assert!(folder.ends_with("_create users"), "{folder}");
    let up = std::fs::read_to_string(std::path::Path::new(&folder).join("up.sql")).unwrap();
    assert!(up.contains("Write the SQL that applies this revision"), "{up}");
    let down = std::fs::read_to_string(std::path::Path::new(&folder).join("down.sql")).unwrap();
    assert!(down.contains("-- migrate:irreversible"), "{down}");
    // A sequence number would sort before a timestamp: refused.
    p.run(None, &["new", "later", "--sequential"]).code(2).complains(&["versions are timestamps", "drop --sequential"]);
    p.run(None, &["new", "../escape"]).code(2).complains(&["cannot be a revision name"]);
    let q = Project::new();
    q.run(None, &["new", "first", "--sequential", "--no-transaction"]).ok();
    let up = std::fs::read_to_string(q.migrations().join("0001_first/up.sql")).unwrap();
    assert!(up.starts_with("-- migrate:no-transaction\n"), "{up}");
    q.run(None, &["new", "second", "--sequential"]).ok().says(&["migrations/0002_second/up.sql"]);
    // Alembic's spelling: the message names the revision and heads up.sql, after the directive.
    q.run(None, &["revision", "-m", "Add users table", "--sequential", "--no-transaction"])
        .ok()
        .says(&["migrations/0003_add_users_table/up.sql"]);
    let up = std::fs::read_to_string(q.migrations().join("0003_add_users_table/up.sql")).unwrap();
    assert!(up.starts_with("-- migrate:no-transaction\n-- Add users table\n-- Write the SQL"), "{up}");
    // Left as written, it is still a template, which the checks refuse, not a deliberate no-op.
    q.run(None, &["verify"]).code(4).says(&["0003_add_users_table/up.sql: has no statement"]);
    q.run(None, &["new", "-m", "x", "named"]).code(2);
}

#[test]
fn verify_reports_everything_the_macro_refuses() {
    let p = Project::new();
    p.write("0001_a/up.sql", "CREATE TABLE a (id INT);\n");
    p.write("0002_b/up.sql", "-- Your SQL goes here\n").write("0002_b/down.sql", "DROP TABLE b;\n");
    p.write("0003_x/up.sql", "CREATE TABLE x (id INT);\n").write("0003_x/down.sql", "DROP TABLE x;\n");
    p.write("2_c/up.sql", "CREATE TABLE c (id INT);\n").write("2_c/down.sql", "DROP TABLE c;\n");
    p.write("0004_d/up.sql", "CREATE INDEX CONCURRENTLY d_i ON d (id);\n")
        .write("0004_d/down.sql", "DROP INDEX d_i;\n");
    p.write("0005_e/up.oracle.sql", "SELECT 1;\n");
    p.write("0006_f/up.sql", "CREATE TABLE f (id INT);\nCOMMIT;\n").write("0006_f/down.sql", "DROP TABLE f;\n");
    let run = p.run(None, &["verify"]);
    run.code(4).says(&[
        "migrations/0001_a/down.sql: missing down.sql",
        "migrations/0002_b/up.sql: has no statement",
        "zero-pad",
        "migrations/0004_d/up.sql:1: on postgres: `CREATE INDEX CONCURRENTLY` cannot run inside a transaction",
        "migrations/0005_e/up.oracle.sql: unknown file",
        "migrations/0006_f/up.sql:2: on postgres and sqlite: `COMMIT` ends or opens a transaction",
        "no database configured, so only the folder was checked",
    ]);
    let json = p.run(None, &["verify", "--format", "json"]).code(4).json();
    assert_eq!(json["ok"], false);
    assert!(json["problems"].as_array().unwrap().len() >= 5, "{json}");
    // The same folder refuses to run.
    let db = Db::new(Kind::Sqlite, "refuse").unwrap();
    p.run(Some(&db), &["upgrade"]).code(1).complains(&["problem(s)", "`migrate verify` lists every problem"]);
    Project::new().run(None, &["verify"]).code(4).says(&["revision folder not found"]);
}

#[test]
fn usage_errors_and_exit_codes() {
    let p = Project::new();
    p.run(None, &[]).code(2).complains(&["Usage: migrate"]);
    p.run(None, &["--help"]).ok().says(&["Exit codes:", "upgrade", "downgrade", "sql"]);
    p.run(None, &["downgrade"]).code(2).complains(&["<TARGET>"]);
    p.run(None, &["status"]).code(2).complains(&["no database", "DATABASE_URL"]);
    p.run(None, &["sql", "upgrade"]).code(2).complains(&["no dialect"]);
    p.run(None, &["--history-table", "bad name", "--database-url", "sqlite:x.db", "status"])
        .code(2)
        .complains(&["invalid history table name"]);
    p.run(None, &["--database-url", "sqlite:x.db", "redo", "zero"]).code(2).complains(&["not a number of revisions"]);
    let json = p.run(None, &["status", "--format", "json"]).code(2).json();
    assert_eq!(json["error"]["kind"], "usage");
    assert!(!p.path().join("x.db").exists(), "nothing was created by failed commands");
}

#[test]
fn a_missing_sqlite_file_is_read_as_empty_and_created_only_by_writing_commands() {
    let p = Project::with_fixture("counted");
    let url = "sqlite:state/app.db";
    std::fs::create_dir(p.path().join("state")).unwrap();
    p.run(None, &["--database-url", url, "status"])
        .code(3)
        .says(&["0 applied, 10 pending"])
        .complains(&["does not exist yet"]);
    p.run(None, &["--database-url", url, "upgrade", "--dry-run"]).ok();
    assert!(!p.path().join("state/app.db").exists());
    // A run the planner refuses, or one with nothing to do, makes no file either.
    p.run(None, &["--database-url", url, "upgrade", "9999"]).code(1).complains(&["matches no revision"]);
    p.run(None, &["--database-url", url, "downgrade", "base"]).ok().says(&["nothing to do"]);
    assert!(!p.path().join("state/app.db").exists());
    p.run(None, &["--database-url", url, "upgrade", "+3"]).ok();
    assert!(p.path().join("state/app.db").exists());
    // The runners' lock file goes when the run ends: nothing beside the database in `git status`.
    assert!(!p.path().join("state/app.db-migrate-lock").exists());
    p.run(None, &["--database-url", "sqlite:nowhere/app.db", "upgrade"])
        .code(1)
        .complains(&["the folder nowhere does not exist"]);
    p.run(None, &["--database-url", "sqlite:file:app.db?mode=ro", "status"]).code(2).complains(&["URI filename"]);
}

#[test]
fn a_diesel_folder_works_as_it_is() {
    let p = Project::with_fixture("diesel");
    let db = Db::new(Kind::Sqlite, "diesel").unwrap();
    let db = Some(&db);
    // `verify` judges as the macro does: a placeholder down file is refused, unless accepted as the macro's
    // `allow_empty_down` accepts it.
    p.run(db, &["verify"]).code(4).says(&["problem: migrations/2025-11-19-091444-0000_long_version/down.sql: has no"]);
    p.run(db, &["verify", "--allow-empty-down"]).ok().says(&[
        "warning: migrations/2025-11-19-091444-0000_long_version/down.sql: a placeholder",
        "note: migrations/2025-12-01-120000_bigint_ids/up.sql: a deliberate no-op",
        "verified: 5 revision(s)",
    ]);
    p.run(db, &["upgrade"]).ok().says(&[
        "applied    00000000000000 (diesel_initial_setup)",
        "applied    202511190914440000 (long_version)",
        "applied    20251201120000 (bigint_ids)",
    ]);
    p.run(db, &["status"])
        .ok()
        .says(&["long_version/down.sql is a placeholder: a downgrade past it needs --allow-empty-down"]);
    // A deliberate no-op reverts as one; the placeholder is refused only when a downgrade would have to run it.
    p.run(db, &["downgrade", "-1"]).ok().says(&["reverted   20251201120000 (bigint_ids)"]);
    p.run(db, &["downgrade", "-1"]).code(1).complains(&["empty down file", "--allow-empty-down"]);
    p.run(db, &["downgrade", "-1", "--allow-empty-down"]).ok().says(&["reverted   202511190914440000 (long_version)"]);
    // One option for every command, from migrate.toml too: as the project's `migrations!()` says it.
    p.run(db, &["upgrade"]).ok();
    p.run(db, &["downgrade", "-2"]).code(1).complains(&["empty down file"]);
    std::fs::write(p.path().join("migrate.toml"), "allow_empty_down = true\n").unwrap();
    p.run(db, &["config"]).ok().says(&["allow_empty_down", "true", "migrate.toml"]);
    p.run(db, &["verify"]).ok().says(&["verified: 5 revision(s)"]);
    p.run(db, &["sql", "downgrade", "00000000000000", "--dialect", "sqlite"]).ok().says(&["long_version"]);
    p.run(db, &["downgrade", "-2"]).ok().says(&["reverted   202511190914440000 (long_version)"]);
    p.run(db, &["downgrade", "base"]).ok();
    p.run(db, &["show", "with spaces in name"]).ok().says(&["revision 20240313170000 (with spaces in name)"]);
}

#[test]
fn colour_only_on_a_terminal_or_when_asked() {
    let p = Project::with_fixture("counted");
    let db = Db::new(Kind::Sqlite, "colour").unwrap();
    let plain = |args: &[&str]| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_migrate"));
        cmd.current_dir(p.path()).args(args).env("DATABASE_URL", &db.url).env_remove("NO_COLOR");
        crate::harness::run(cmd, args)
    };
    // Stdout is a pipe here, not a terminal.
    let piped = plain(&["status"]);
    assert!(!piped.stdout.contains('\x1b'), "{:?}", piped.stdout);
    let forced = plain(&["--color", "always", "status"]);
    assert!(forced.stdout.contains("\x1b[33mpending\x1b[0m"), "{:?}", forced.stdout);
    let json = plain(&["--color", "always", "--format", "json", "status"]);
    assert!(!json.stdout.contains('\x1b'), "JSON is never coloured");
}

#[test]
fn history_table_name_and_offline_json() {
    let p = Project::with_fixture("counted");
    let db = Db::new(Kind::Sqlite, "table_name").unwrap();
    p.run(Some(&db), &["--history-table", "schema_revisions", "upgrade", "+2"]).ok();
    let rows = db.query("SELECT version FROM schema_revisions ORDER BY version");
    assert_eq!(rows.len(), 2);
    p.run(Some(&db), &["--history-table", "schema_revisions", "status"]).code(3).says(&["2 applied, 8 pending"]);
    // The default table is another one: nothing applied there.
    p.run(Some(&db), &["status"]).code(3).says(&["0 applied, 10 pending"]);
    let script =
        p.run(None, &["sql", "upgrade", "+1", "--from", "0002", "--dialect", "sqlite", "--format", "json"]).ok().json();
    assert_eq!(script["from"]["version"], "0002");
    assert_eq!(script["to"]["version"], "0003");
    assert!(script["script"].as_str().unwrap().contains("BEGIN IMMEDIATE;"), "{script}");
}

/// A port where something accepts connections and never answers (not the database) ends the command after
/// `--connect-timeout`, instead of hanging in the handshake.
#[test]
fn a_server_that_never_answers_ends_after_the_connect_timeout() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            held.push(stream);
        }
    });
    let p = Project::new();
    p.write("0001_a/up.sql", "CREATE TABLE a (id INT);\n").write("0001_a/down.sql", "DROP TABLE a;\n");
    for url in [format!("mysql://root@127.0.0.1:{port}/x"), format!("postgres://postgres@127.0.0.1:{port}/x")] {
        let started = std::time::Instant::now();
        p.run(None, &["--database-url", &url, "--connect-timeout", "1", "status"])
            .code(1)
            .complains(&["cannot connect to", "no answer to the handshake within 1 s"]);
        assert!(started.elapsed() < std::time::Duration::from_secs(20), "{url}: {:?}", started.elapsed());
    }
    p.run(None, &["--database-url", "sqlite:x.db", "--connect-timeout", "0", "status"])
        .code(2)
        .complains(&["--connect-timeout 0 is not a number of seconds above 0"]);
}

/// A history schema SQLite cannot have is refused before the file is opened: nothing is created or written.
#[test]
fn a_sqlite_history_schema_is_refused_before_anything_is_written() {
    let p = Project::new();
    p.write("0001_a/up.sql", "CREATE TABLE a (id INT);\n").write("0001_a/down.sql", "DROP TABLE a;\n");
    for command in ["upgrade", "status"] {
        p.run(None, &["--database-url", "sqlite:app.db", "--history-schema", "other", command])
            .code(2)
            .complains(&["--history-schema other: a SQLite connection opened here has only its main database"]);
        assert!(!p.path().join("app.db").exists(), "{command} created the file");
    }
    p.run(None, &["--database-url", "sqlite:app.db", "--history-schema", "main", "upgrade"]).ok();
}

/// `migrate new --sequential` started 16 times at once gives 16 versions, none twice.
#[test]
fn concurrent_new_picks_distinct_versions() {
    let p = Project::new();
    std::fs::create_dir_all(p.migrations()).unwrap();
    let children: Vec<_> = (0..16)
        .map(|i| {
            let mut cmd = p.command(None, &["new", &format!("r{i}"), "--sequential"]);
            cmd.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::piped());
            cmd.spawn().unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let mut versions: Vec<String> = std::fs::read_dir(p.migrations())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().split('_').next().unwrap().to_owned())
        .collect();
    versions.sort();
    let expected: Vec<String> = (1..=16).map(|n| format!("{n:04}")).collect();
    assert_eq!(versions, expected);
}

/// A diesel-style folder whose files hold only a comment on purpose upgrades unchanged; `verify` notes the no-ops and
/// passes, while a template left as `migrate new` wrote it is still refused.
#[test]
fn comment_only_no_ops_upgrade_unchanged() {
    let p = Project::new();
    p.write("2024-01-01-000000_create_a/up.sql", "CREATE TABLE a (id INTEGER);\n")
        .write("2024-01-01-000000_create_a/down.sql", "DROP TABLE a;\n")
        .write(
            "2024-01-02-000000_bigint_ids/up.sql",
            "-- Integer size in SQLite is already i64, so we don't need to do anything\n",
        )
        .write("2024-01-02-000000_bigint_ids/down.sql", "-- Integer size in SQLite is already i64, nothing to undo\n");
    let url = ["--database-url", "sqlite:app.db"];
    p.run(None, &[&url[..], &["verify"]].concat())
        .ok()
        .says(&["note: migrations/2024-01-02-000000_bigint_ids/up.sql: a deliberate no-op"]);
    p.run(None, &[&url[..], &["upgrade"]].concat()).ok().says(&["applied", "20240102000000 (bigint_ids)"]);
    p.run(None, &[&url[..], &["status"]].concat()).ok();
    p.run(None, &[&url[..], &["new", "later"]].concat()).ok();
    p.run(None, &[&url[..], &["upgrade"]].concat()).code(1).complains(&["later/up.sql", "has no statement"]);
}

/// A problem is refused where it matters: a broken down file blocks only the downgrade that would run it, and a
/// broken up file only the upgrade that would; `verify` and `status` report both (exit 4).
#[test]
fn a_broken_file_blocks_only_what_runs_it() {
    let p = Project::new();
    p.write("0001_a/up.sql", "CREATE TABLE a (id INTEGER);\n")
        .write("0001_a/down.sql", "DROP TABLE a;\n")
        .write("0002_index/up.sql", "CREATE INDEX a_id ON a (id);\n")
        .write("0002_index/down.sql", "DROP INDEX a_id;\nCOMMIT;\n")
        .write("0003_b/up.sql", "CREATE TABLE b (id INTEGER);\n")
        .write("0003_b/down.sql", "DROP TABLE b;\n")
        .write("0004_c/up.sql", "CREATE TABLE c (id INTEGER);\nCOMMIT;\n")
        .write("0004_c/down.sql", "DROP TABLE c;\n");
    let url = ["--database-url", "sqlite:app.db"];
    let run = |args: &[&str]| p.run(None, &[&url[..], args].concat());
    run(&["verify"]).code(4).says(&[
        "problem: migrations/0002_index/down.sql:2: on postgres and sqlite: `COMMIT` ends or opens a transaction",
        "problem: migrations/0004_c/up.sql:2: ",
    ]);
    // Upgrading to 0003 runs neither broken file; going on to 0004 would run its up file.
    run(&["upgrade", "0003"]).ok().says(&["applied    0001 (a)", "applied    0002 (index)", "applied    0003 (b)"]);
    run(&["upgrade"]).code(1).complains(&["0004_c/up.sql:2"]);
    run(&["status"]).code(4).says(&["problem: migrations/0002_index/down.sql:2"]);
    // Reverting 0003 runs nothing broken; reverting 0002 would run its down file, so it is refused, offline too.
    run(&["downgrade", "-1"]).ok().says(&["reverted   0003 (b)"]);
    run(&["downgrade", "-1"]).code(1).complains(&["0002_index/down.sql:2", "COMMIT"]);
    run(&["sql", "downgrade", "0001", "--from", "0002", "--dialect", "sqlite"])
        .code(1)
        .complains(&["0002_index/down.sql"]);
    run(&["current"]).ok().says(&["0002 (index)"]);
}

/// `migrate import diesel` on a database diesel migrated: a dry run first, then the record, then `status` says up
/// to date and `upgrade` applies nothing; diesel's table is left as it was.
#[test]
fn import_diesel_history() {
    let p = Project::with_fixture("diesel");
    let file = p.path().join("app.db");
    let conn = rusqlite::Connection::open(&file).unwrap();
    conn.execute_batch(
        "CREATE TABLE __diesel_schema_migrations (version VARCHAR(50) PRIMARY KEY NOT NULL, \
         run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP);
         INSERT INTO __diesel_schema_migrations (version) VALUES ('00000000000000'), ('20240313'), \
         ('20240313170000'), ('202511190914440000'), ('20251201120000');
         CREATE TABLE setup_marker (id INTEGER); CREATE TABLE spaced (id INTEGER); CREATE TABLE dated (id INTEGER);",
    )
    .unwrap();
    let url = ["--database-url", "sqlite:app.db"];
    let run = |args: &[&str]| p.run(None, &[&url[..], args].concat());
    run(&["status"]).code(3);
    run(&["import", "diesel", "--dry-run"]).ok().says(&["would record 20240313 (dated)", "nothing was changed"]);
    run(&["import", "diesel"]).ok().says(&[
        "recorded   00000000000000 (diesel_initial_setup) (from __diesel_schema_migrations)",
        "5 revision(s) recorded as applied from __diesel_schema_migrations, 0 already recorded",
    ]);
    run(&["status"]).ok();
    run(&["upgrade"]).ok().says(&["nothing to do"]);
    run(&["import", "diesel"]).ok().says(&["0 revision(s) recorded", "5 already recorded"]);
    conn.execute_batch("INSERT INTO __diesel_schema_migrations (version) VALUES ('20990101000000')").unwrap();
    run(&["import", "diesel"]).code(1).complains(&["20990101000000", "--allow-unknown"]);
    run(&["import", "diesel", "--allow-unknown"]).ok().says(&["left out   20990101000000 (not in the folder)"]);
    let count: i64 = conn.query_row("SELECT count(*) FROM __diesel_schema_migrations", [], |r| r.get(0)).unwrap();
    assert_eq!(count, 6, "diesel's table is left as it was");
}

/// Completion scripts and the manual page come from the same grammar as `--help`: every command is in them.
#[test]
fn completions_and_man_page() {
    let p = Project::new();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let run = p.run(None, &["completions", shell]);
        run.ok();
        for command in ["upgrade", "downgrade", "resume", "import", "wait"] {
            assert!(run.stdout.contains(command), "{shell} completions lack {command}");
        }
    }
    let man = p.run(None, &["man"]);
    man.ok().says(&[".TH migrate 1", "\\-\\-init\\-sql", "\\-\\-lock\\-wait"]);
    for command in ["upgrade", "downgrade", "resume", "import", "wait", "completions"] {
        assert!(man.stdout.contains(command), "the manual page lacks {command}");
    }
    p.run(None, &["completions", "tcsh"]).code(2);
}

/// migrate.toml, found from a subdirectory, sets every option a flag or a variable does not; relative paths in it
/// are the file's; `migrate config` says where each value came from; an unknown key is refused, naming the file.
#[test]
fn configuration_file_and_variables() {
    let p = Project::new();
    std::fs::write(
        p.path().join("migrate.toml"),
        "database_url = \"sqlite:state/app.db\"\ndir = \"db/revisions\"\nhistory_table = \"schema_history\"\n\
         lock_wait = 3\ninit_sql = [\"CREATE TABLE IF NOT EXISTS from_init (id INTEGER)\"]\n",
    )
    .unwrap();
    std::fs::create_dir_all(p.path().join("state")).unwrap();
    let revision = p.path().join("db/revisions/0001_a");
    std::fs::create_dir_all(&revision).unwrap();
    std::fs::write(revision.join("up.sql"), "CREATE TABLE a (id INTEGER);\n").unwrap();
    std::fs::write(revision.join("down.sql"), "DROP TABLE a;\n").unwrap();
    let sub = p.path().join("src/deep");
    std::fs::create_dir_all(&sub).unwrap();
    let in_sub = |args: &[&str], vars: &[(&str, &str)]| {
        let mut cmd = p.command(None, args);
        cmd.current_dir(&sub);
        for (k, v) in vars {
            cmd.env(k, v);
        }
        crate::harness::run(cmd, args)
    };
    in_sub(&["upgrade"], &[]).ok().says(&["applied    0001 (a)"]);
    let conn = rusqlite::Connection::open(p.path().join("state/app.db")).unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(tables, ["a", "from_init", "schema_history"]);
    let shown = in_sub(&["config", "--history-table", "flagged"], &[("MIGRATE_LOCK_WAIT", "7")]);
    shown.ok().says(&[
        "database_url in migrate.toml",
        "history_table    flagged",
        "lock_wait        7 s",
        "environment (MIGRATE_LOCK_WAIT)",
        "db/revisions",
        "init_sql",
    ]);
    let json = in_sub(&["config", "--format", "json"], &[]).ok().json();
    assert!(json["file"].as_str().unwrap().ends_with("migrate.toml"), "{json}");
    in_sub(&["config"], &[]).ok().says(&["lock_timeout     2 s", "default"]);
    in_sub(&["config", "--lock-timeout", "0"], &[]).ok().says(&["lock_timeout     0 (no bound: the session's own)"]);
    in_sub(&["config"], &[("MIGRATE_LOCK_TIMEOUT", "0.5")]).ok().says(&["0.5 s", "environment (MIGRATE_LOCK_TIMEOUT)"]);
    in_sub(&["status", "--lock-timeout=-1"], &[]).code(2).complains(&["--lock-timeout -1 is not a number of seconds"]);
    std::fs::write(sub.join("migrate.toml"), "lock_wiat = 3\n").unwrap();
    in_sub(&["status"], &[]).code(2).complains(&["migrate.toml: unknown key `lock_wiat`", "lock_wait"]);
}

/// `migrate init`, Alembic's first command: the folder and a commented migrate.toml that reads as the defaults, the
/// lines to add to the application, and nothing changed the second time.
#[test]
fn init_starts_a_project() {
    let p = Project::new();
    std::fs::remove_dir_all(p.migrations()).ok();
    p.run(None, &["init"]).ok().says(&[
        "created migrations/",
        "created migrate.toml",
        "build.rs     fn main() { migrate_core::build::watch(\"migrations\"); }",
        "migrate revision -m",
    ]);
    assert!(p.migrations().is_dir());
    let toml = std::fs::read_to_string(p.path().join("migrate.toml")).unwrap();
    assert!(toml.lines().all(|l| l.is_empty() || l.starts_with('#')), "every option commented out:\n{toml}");
    p.run(None, &["config"]).ok().says(&["lock_wait", "60 s", "default"]);
    p.run(None, &["init"]).ok().says(&["kept (already there) migrations/", "kept (already there) migrate.toml"]);
    p.run(None, &["revision", "-m", "Create users table"]).ok().says(&["_create_users_table/up.sql"]);
}
