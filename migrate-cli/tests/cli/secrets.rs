//! A password in the database URL never appears in any output: not in results, not in errors, not in usage errors,
//! whether the URL comes from the environment, `--database-url` or a `.env` file.

use std::process::Command;

use mysql::prelude::Queryable;

use crate::harness::{run, Db, Kind, Project, Run};

const PASSWORD: &str = "Sup3r-S3cret_pw!";
const ENCODED: &str = "Sup3r-S3cret_pw%21";

#[track_caller]
fn assert_hidden(runs: &[Run]) {
    assert!(!runs.is_empty());
    for r in runs {
        for secret in [PASSWORD, ENCODED, "Sup3r-S3cret"] {
            assert!(
                !r.stdout.contains(secret) && !r.stderr.contains(secret),
                "`migrate {}` printed the password:\nstdout:\n{}\nstderr:\n{}",
                r.args,
                r.stdout,
                r.stderr
            );
        }
    }
}

/// Runs `migrate` with `url` in DATABASE_URL, or on the command line when `flag` is set.
fn with_url(p: &Project, url: &str, flag: bool, args: &[&str]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_migrate"));
    cmd.current_dir(p.path()).env_remove("DATABASE_URL").env("NO_COLOR", "1");
    let mut all: Vec<&str> = Vec::new();
    if flag {
        all.extend(["--database-url", url]);
    } else {
        cmd.env("DATABASE_URL", url);
    }
    all.extend(args);
    cmd.args(&all);
    run(cmd, &all)
}

fn project() -> Project {
    let p = Project::new();
    p.write("0001_a/up.sql", "CREATE TABLE a (id INTEGER);\n").write("0001_a/down.sql", "DROP TABLE a;\n");
    p.write("0002_b/up.sql", "-- migrate:no-transaction\nCREATE TABLE b (id INTEGER);\nSELECT * FROM nowhere;\n");
    p.write("0002_b/down.sql", "-- migrate:no-transaction\nDROP TABLE b;\n");
    p
}

/// Every command, succeeding and failing, with the URL given both ways.
fn session(p: &Project, url: &str) -> Vec<Run> {
    let mut runs = Vec::new();
    for flag in [false, true] {
        runs.push(with_url(p, url, flag, &["status"]));
        runs.push(with_url(p, url, flag, &["upgrade", "+1"]));
        runs.push(with_url(p, url, flag, &["upgrade", "--format", "json"]));
        runs.push(with_url(p, url, flag, &["upgrade", "nonexistent"]));
        runs.push(with_url(p, url, flag, &["current"]));
        runs.push(with_url(p, url, flag, &["history", "--format", "json"]));
        runs.push(with_url(p, url, flag, &["show", "0001"]));
        runs.push(with_url(p, url, flag, &["verify"]));
        runs.push(with_url(p, url, flag, &["sql", "upgrade"]));
        runs.push(with_url(p, url, flag, &["resume", "--dry-run"]));
        runs.push(with_url(p, url, flag, &["no-such-command"]));
        runs.push(with_url(p, url, flag, &["upgrade", "--lock-wait", "soon"]));
    }
    runs
}

fn password_session(kind: Kind) {
    let Some(db) = Db::new(kind, &format!("secret_{}", kind.name())) else { return };
    let mut parsed = url::Url::parse(&db.url).unwrap();
    let mut user_to_drop = None;
    if kind == Kind::Mysql {
        // A user of its own, whose password the server checks.
        let user = format!("mc_pw_{}", std::process::id());
        let mut admin = mysql::Conn::new(db.url.as_str()).unwrap();
        admin.query_drop(format!("DROP USER IF EXISTS '{user}'@'%'")).unwrap();
        admin.query_drop(format!("CREATE USER '{user}'@'%' IDENTIFIED BY '{PASSWORD}'")).unwrap();
        admin.query_drop(format!("GRANT ALL ON `{}`.* TO '{user}'@'%'", db.ident)).unwrap();
        parsed.set_username(&user).unwrap();
        user_to_drop = Some((admin, user));
    }
    // PostgreSQL here trusts local connections, so it accepts the URL whatever its password: every command runs.
    parsed.set_password(Some(ENCODED)).unwrap();
    let url = parsed.to_string();
    assert!(url.contains(ENCODED));
    let p = project();
    let runs = session(&p, &url);
    assert_eq!(runs[1].code, 0, "the password works: {}", runs[1].stderr);
    assert_eq!(runs[2].code, 1, "the second revision fails: {}", runs[2].stdout);
    assert_hidden(&runs);
    // A wrong password, where the server checks it.
    if kind == Kind::Mysql {
        parsed.set_password(Some("Sup3r-S3cret_wrong")).unwrap();
        let wrong = with_url(&p, parsed.as_str(), false, &["status"]);
        wrong.code(1).complains(&["cannot connect to mysql://", ":***@", "Access denied"]);
        assert_hidden(&[wrong]);
    }
    if let Some((mut admin, user)) = user_to_drop {
        admin.query_drop(format!("DROP USER IF EXISTS '{user}'@'%'")).unwrap();
    }
}

#[test]
fn password_never_printed_postgres() {
    password_session(Kind::Postgres);
}

#[test]
fn password_never_printed_mysql() {
    password_session(Kind::Mysql);
}

/// No server needed: the connection fails, the URL is unsupported, or it comes from a `.env` file.
#[test]
fn password_never_printed_when_nothing_connects() {
    let p = project();
    let mut runs = Vec::new();
    for url in [
        format!("postgres://app:{ENCODED}@127.0.0.1:1/app"),
        format!("mysql://app:{ENCODED}@127.0.0.1:1/app"),
        format!("oracle://app:{ENCODED}@db.example/app"),
        format!("postgres://app:{PASSWORD}@127.0.0.1:1/app"),
        format!("postgres://app:{ENCODED}@127.0.0.1:notaport/app"),
        format!("postgres://app@127.0.0.1:1/app?sslmode=disable&password={ENCODED}"),
    ] {
        runs.extend(session(&p, &url));
    }
    assert!(runs[0].stderr.contains("cannot connect to postgres://app:***@127.0.0.1:1/app"), "{}", runs[0].stderr);
    std::fs::write(p.path().join(".env"), format!("DATABASE_URL=postgres://app:{ENCODED}@127.0.0.1:1/app\n")).unwrap();
    let from_env_file = p.run(None, &["status"]);
    from_env_file.code(1).complains(&["cannot connect to postgres://app:***@127.0.0.1:1/app"]);
    runs.push(from_env_file);
    // A line of .env that cannot be parsed is not quoted back.
    std::fs::write(p.path().join(".env"), format!("DATABASE_URL=\"postgres://app:{PASSWORD}@127.0.0.1:1/app\n"))
        .unwrap();
    let broken = p.run(None, &["status"]);
    broken.code(2).complains(&["cannot read the .env file: line 1 cannot be parsed"]);
    runs.push(broken);
    std::fs::remove_file(p.path().join(".env")).unwrap();
    // A URL given by mistake where another argument goes is quoted in the error without its password.
    let url = format!("postgres://app:{ENCODED}@127.0.0.1:1/app");
    let misplaced = p.run(None, &["new", &url]);
    misplaced.code(2).complains(&["postgres://app:***@127.0.0.1:1/app"]);
    runs.push(misplaced);
    let misplaced = p.run(None, &["--database-url", "sqlite:x.db", "--history-table", &url, "status"]);
    misplaced.code(2);
    runs.push(misplaced);
    assert_hidden(&runs);
}
