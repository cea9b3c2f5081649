//! `migrate lint`: the safety lint of the folder, for people, scripts and CI.

use crate::harness::Project;

fn project() -> Project {
    let p = Project::new();
    p.write("0001_accounts/up.sql", "CREATE TABLE accounts (id INT PRIMARY KEY, email TEXT, legacy TEXT);\n")
        .write("0001_accounts/down.sql", "DROP TABLE accounts;\n")
        .write(
            "0002_index/up.sql",
            "CREATE INDEX accounts_email ON accounts (email);\n\
             -- migrate:allow(drop-column) nothing has read it since 2.3\n\
             ALTER TABLE accounts DROP COLUMN legacy;\n",
        )
        .write("0002_index/down.sql", "DROP INDEX accounts_email;\nALTER TABLE accounts ADD COLUMN legacy TEXT;\n");
    p
}

#[test]
fn findings_levels_formats_and_exit_codes() {
    let p = project();
    p.run(None, &["lint", "--dialect", "postgres"]).ok().says(&[
        "migrations/0002_index/up.sql:1: warn[add-index-non-concurrently] on postgres: CREATE INDEX accounts_email",
        "instead: CREATE INDEX CONCURRENTLY",
        "0 denied, 1 warning(s) in 2 revision(s) of migrations",
    ]);
    // The allow comment is no folder problem.
    p.run(None, &["verify", "--dialect", "postgres"]).ok();
    p.run(None, &["lint", "--dialect", "postgres", "--deny-warnings"]).code(4);
    p.run(None, &["lint", "--dialect", "postgres", "--level", "add-index-non-concurrently=deny"])
        .code(4)
        .says(&["deny[add-index-non-concurrently]", "1 denied, 0 warning(s)"]);
    p.run(None, &["lint", "--dialect", "postgres", "--level", "add-index-non-concurrently=allow"])
        .ok()
        .says(&["0 denied, 0 warning(s) in 2 revision(s) of migrations: nothing to say"]);
    p.run(None, &["lint", "--dialect", "postgres", "--start-after", "0002"]).ok().says(&["0 denied, 0 warning(s)"]);
    // MySQL builds indexes online: nothing to say there.
    p.run(None, &["lint", "--dialect", "mysql"]).ok().says(&["0 denied, 0 warning(s)"]);
    let json = p.run(None, &["lint", "--dialect", "postgres", "--format", "json"]).ok().json();
    assert_eq!(json["findings"][0]["rule"], "add-index-non-concurrently", "{json}");
    assert_eq!(json["findings"][0]["line"], 1, "{json}");
    assert_eq!(json["warn"], 1, "{json}");
    p.run(None, &["lint", "--dialect", "postgres", "--github"])
        .ok()
        .says(&["::warning file=migrations/0002_index/up.sql,line=1,title=add-index-non-concurrently::CREATE INDEX"]);
    p.run(None, &["lint", "--level", "no-such-rule=deny"])
        .code(2)
        .complains(&["--level no-such-rule=deny", "drop-column"]);
    // An allow with no reason is itself a finding, and silences nothing.
    p.write("0002_index/up.sql", "-- migrate:allow(drop-column)\nALTER TABLE accounts DROP COLUMN legacy;\n");
    p.run(None, &["lint", "--dialect", "sqlite"])
        .ok()
        .says(&["up.sql:1: warn[allow-without-reason]", "up.sql:2: warn[drop-column] on sqlite"]);
}

/// migrate.toml's `[lint]`: levels and `start_after` for `migrate lint` (its flags win) and for `migrate verify`,
/// which reports a finding at deny as a problem (exit 4) and one at warn as a warning.
#[test]
fn the_configuration_file_sets_levels_for_lint_and_verify() {
    let p = project();
    p.run(None, &["verify", "--dialect", "postgres"]).ok();
    std::fs::write(p.path().join("migrate.toml"), "[lint]\ndeny = [\"add-index-non-concurrently\"]\n").unwrap();
    p.run(None, &["lint", "--dialect", "postgres"]).code(4).says(&["deny[add-index-non-concurrently]"]);
    p.run(None, &["lint", "--dialect", "postgres", "--level", "add-index-non-concurrently=warn"]).ok();
    p.run(None, &["verify", "--dialect", "postgres"]).code(4).says(&["deny[add-index-non-concurrently] on postgres"]);
    std::fs::write(p.path().join("migrate.toml"), "[lint]\nstart_after = \"0002\"\ndeny = [\"drop-table\"]\n").unwrap();
    p.run(None, &["verify", "--dialect", "postgres"]).ok();
    p.run(None, &["lint", "--dialect", "postgres", "--start-after", "0001"]).ok().says(&["0 denied, 1 warning(s)"]);
    std::fs::write(p.path().join("migrate.toml"), "[lint]\ndeny = [\"drop-everything\"]\n").unwrap();
    p.run(None, &["lint"]).code(2).complains(&["[lint] `deny` names no rule `drop-everything`", "drop-column"]);
    std::fs::write(p.path().join("migrate.toml"), "[lint]\nforbid = []\n").unwrap();
    p.run(None, &["lint"]).code(2).complains(&["[lint] unknown key `forbid`"]);
}
