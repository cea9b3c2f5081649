use super::*;
use crate::revision::{Script, ScriptKind};

/// A revision `0002_x` whose up file is `sql` (generic), after a `0001_base` that creates `accounts`.
fn folder(sql: &str) -> Vec<Revision> {
    let revision = |version: &str, name: &str, up: &str| {
        let script = |file: &str, text: &str| Script::new_owned(file.into(), None, text.into(), ScriptKind::Sql, true);
        Revision::new_owned(
            version.into(),
            name.into(),
            format!("{version}_{name}"),
            vec![script("up.sql", up)],
            vec![script("down.sql", "SELECT 1;")],
        )
    };
    vec![
        revision("0001", "base", "CREATE TABLE accounts (id INT PRIMARY KEY, email TEXT);"),
        revision("0002", "x", sql),
    ]
}

/// The rules `sql` breaks on `backend`, as `rule@line`.
fn found(sql: &str, backend: Backend) -> Vec<String> {
    let options = LintOptions { backends: Some(Backends::only(backend)), ..LintOptions::default() };
    lint(&folder(sql), &options).into_iter().map(|f| format!("{}@{}", f.rule, f.line)).collect()
}

/// Each rule on each backend it judges: a statement that breaks it, one that is safe, one that silences it, and
/// the same statement on a table the file created first.
#[test]
fn each_rule_with_an_unsafe_a_safe_and_a_silenced_statement() {
    use Backend::{Mysql, Postgres, Sqlite};
    let cases: &[(&str, &[Backend], &str, &str)] = &[
        (
            "add-index-non-concurrently",
            &[Postgres],
            "CREATE INDEX accounts_email ON accounts (email);",
            "CREATE INDEX CONCURRENTLY accounts_email ON accounts (email);",
        ),
        (
            "add-foreign-key-not-valid",
            &[Postgres],
            "ALTER TABLE accounts ADD CONSTRAINT fk FOREIGN KEY (id) REFERENCES owners (id);",
            "ALTER TABLE accounts ADD CONSTRAINT fk FOREIGN KEY (id) REFERENCES owners (id) NOT VALID;",
        ),
        (
            "add-check-constraint-not-valid",
            &[Postgres],
            "ALTER TABLE accounts ADD CONSTRAINT positive CHECK (id > 0);",
            "ALTER TABLE accounts ADD CONSTRAINT positive CHECK (id > 0) NOT VALID;",
        ),
        (
            "set-not-null",
            &[Postgres],
            "ALTER TABLE accounts ALTER COLUMN email SET NOT NULL;",
            "ALTER TABLE accounts ALTER COLUMN email DROP NOT NULL;",
        ),
        (
            "drop-index-non-concurrently",
            &[Postgres],
            "DROP INDEX accounts_email;",
            "DROP INDEX CONCURRENTLY accounts_email;",
        ),
        (
            "change-column-type",
            &[Postgres],
            "ALTER TABLE accounts ALTER COLUMN email TYPE VARCHAR(200);",
            "ALTER TABLE accounts ALTER COLUMN email SET DEFAULT '';",
        ),
        (
            "add-unique-constraint-without-index",
            &[Postgres],
            "ALTER TABLE accounts ADD CONSTRAINT email_unique UNIQUE (email);",
            "ALTER TABLE accounts ADD CONSTRAINT email_unique UNIQUE USING INDEX accounts_email;",
        ),
        (
            "mysql-lock-shared-exclusive",
            &[Mysql],
            "ALTER TABLE accounts ADD COLUMN n INT, LOCK=EXCLUSIVE;",
            "ALTER TABLE accounts ADD COLUMN n INT, LOCK=NONE;",
        ),
        (
            "mysql-algorithm-copy",
            &[Mysql],
            "ALTER TABLE accounts ADD COLUMN n INT, ALGORITHM=COPY;",
            "ALTER TABLE accounts ADD COLUMN n INT, ALGORITHM=INSTANT;",
        ),
        (
            "sqlite-add-not-null-without-default",
            &[Sqlite],
            "ALTER TABLE accounts ADD COLUMN n INTEGER NOT NULL;",
            "ALTER TABLE accounts ADD COLUMN n INTEGER NOT NULL DEFAULT 0;",
        ),
        ("drop-table", &[Postgres, Mysql, Sqlite], "DROP TABLE accounts;", "DROP VIEW accounts_view;"),
        (
            "drop-column",
            &[Postgres, Mysql, Sqlite],
            "ALTER TABLE accounts DROP COLUMN email;",
            "ALTER TABLE accounts ADD COLUMN nickname TEXT;",
        ),
        (
            "rename-table",
            &[Postgres, Mysql, Sqlite],
            "ALTER TABLE accounts RENAME TO users;",
            "CREATE TABLE users (id INT);",
        ),
        (
            "rename-column",
            &[Postgres, Mysql, Sqlite],
            "ALTER TABLE accounts RENAME COLUMN email TO mail;",
            "ALTER TABLE accounts ADD COLUMN mail TEXT;",
        ),
    ];
    for (rule, backends, unsafe_sql, safe_sql) in cases {
        for backend in [Postgres, Mysql, Sqlite] {
            let judged = backends.contains(&backend);
            let expected: Vec<String> = if judged { vec![format!("{rule}@1")] } else { vec![] };
            assert_eq!(found(unsafe_sql, backend), expected, "{rule} on {backend}: {unsafe_sql}");
            assert!(found(safe_sql, backend).is_empty(), "{rule} on {backend}: {safe_sql}");
            let silenced = format!("-- migrate:allow({rule}) done on purpose, see the ticket\n{unsafe_sql}");
            assert!(found(&silenced, backend).is_empty(), "{rule} on {backend}: {silenced}");
            // A table (or index) the same file created is exempt: nothing else uses it yet.
            let fresh = format!(
                "CREATE TABLE accounts (id INT PRIMARY KEY, email TEXT);\nCREATE INDEX accounts_email ON accounts (email);\n{unsafe_sql}"
            );
            if *rule != "sqlite-add-not-null-without-default" {
                assert!(found(&fresh, backend).is_empty(), "{rule} on {backend}: {fresh}");
            }
        }
    }
    // Every rule has a case above.
    for r in RULES {
        assert!(cases.iter().any(|(name, ..)| name == &r.name), "no case for {}", r.name);
    }
}

#[test]
fn a_column_named_type_is_not_a_type_change() {
    assert!(found("ALTER TABLE accounts ALTER COLUMN type SET NOT NULL;", Backend::Postgres) == ["set-not-null@1"]);
    assert_eq!(found("ALTER TABLE accounts ALTER type TYPE TEXT;", Backend::Postgres), ["change-column-type@1"]);
    assert_eq!(
        found("ALTER TABLE accounts ALTER COLUMN n SET DATA TYPE bigint;", Backend::Postgres),
        ["change-column-type@1"]
    );
}

#[test]
fn an_allow_needs_a_rule_and_a_reason() {
    let sql = "-- migrate:allow(drop-column)\n-- migrate:allow(drop-everything) because\nALTER TABLE accounts DROP COLUMN email;";
    let findings =
        lint(&folder(sql), &LintOptions { backends: Some(Backends::only(Backend::Postgres)), ..Default::default() });
    let rules: Vec<String> = findings.iter().map(|f| format!("{}@{}", f.rule, f.line)).collect();
    // The allow without a reason still silences nothing: the finding stands, and so do the two bad comments.
    assert_eq!(rules, [format!("{ALLOW_RULE}@1"), format!("{ALLOW_RULE}@2"), "drop-column@3".to_owned()]);
    assert!(findings[0].message.contains("says no reason"), "{}", findings[0].message);
    assert!(findings[1].message.contains("names no rule"), "{}", findings[1].message);
}

#[test]
fn levels_and_the_revisions_already_shipped() {
    let revisions = folder("DROP TABLE accounts;\nCREATE INDEX i ON accounts (id);");
    let postgres = Some(Backends::only(Backend::Postgres));
    let mut options = LintOptions { backends: postgres, ..LintOptions::default() };
    let levels = |options: &LintOptions| -> Vec<(&str, Level)> {
        lint(&revisions, options).into_iter().map(|f| (f.rule, f.level)).collect()
    };
    assert_eq!(levels(&options), [("drop-table", Level::Warn), ("add-index-non-concurrently", Level::Warn)]);
    options.levels.insert("drop-table".into(), Level::Deny);
    options.levels.insert("add-index-non-concurrently".into(), Level::Allow);
    assert_eq!(levels(&options), [("drop-table", Level::Deny)]);
    options.start_after = Some("0002".into());
    assert!(levels(&options).is_empty(), "0002 was shipped already");
    options.start_after = Some("0001".into());
    assert_eq!(levels(&options).len(), 1);
}

#[test]
fn a_finding_reads_as_file_line_level_rule_backend() {
    let options = LintOptions { backends: Some(Backends::only(Backend::Postgres)), ..LintOptions::default() };
    let finding = &lint(&folder("SELECT 1;\n\nCREATE INDEX i ON accounts (id);"), &options)[0];
    assert_eq!(
        finding.to_string(),
        "0002_x/up.sql:3: warn[add-index-non-concurrently] on postgres: CREATE INDEX i ON accounts (id): CREATE INDEX \
         blocks every write to the table until the index is built; instead: CREATE INDEX CONCURRENTLY, in a file that \
         starts with -- migrate:no-transaction"
    );
}
