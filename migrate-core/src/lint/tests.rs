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
        revision(
            "0001",
            "base",
            "CREATE TABLE accounts (id INT PRIMARY KEY, email TEXT, name VARCHAR(50) NOT NULL, \
             status ENUM('new', 'paid') DEFAULT 'new', net CIDR);",
        ),
        revision("0002", "x", sql),
    ]
}

/// The rules `sql` breaks on `backend`, as `rule@line`.
fn found(sql: &str, backend: Backend) -> Vec<String> {
    let options = LintOptions { backends: Some(Backends::only(backend)), ..LintOptions::default() };
    lint(&folder(sql), &options).into_iter().map(|f| format!("{}@{}", f.rule, f.line)).collect()
}

/// Each rule on each backend it judges: a statement that breaks it, one that is safe, one that silences it, and
/// the same statement on a table the file created first. A case's file starts with its setup.
#[test]
fn each_rule_with_an_unsafe_a_safe_and_a_silenced_statement() {
    use Backend::{Mysql, Postgres, Sqlite};
    let setups: &[(&str, &str)] = &[
        ("validate-in-same-transaction", "ALTER TABLE accounts ADD CONSTRAINT positive CHECK (id > 0) NOT VALID;\n"),
        ("lock-timeout-off", "-- migrate:lock-timeout off\n"),
        ("table-rebuild", "CREATE TABLE accounts_new (id INT);\n"),
    ];
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
            "ALTER TABLE accounts ALTER COLUMN name TYPE VARCHAR(100);",
        ),
        (
            "add-column-volatile-default",
            &[Postgres],
            "ALTER TABLE accounts ADD COLUMN token UUID DEFAULT gen_random_uuid();",
            "ALTER TABLE accounts ADD COLUMN created TIMESTAMPTZ DEFAULT now();",
        ),
        (
            "add-not-null-column-without-default",
            &[Postgres],
            "ALTER TABLE accounts ADD COLUMN age INT NOT NULL;",
            "ALTER TABLE accounts ADD COLUMN age INT NOT NULL DEFAULT 0;",
        ),
        (
            "add-primary-key-without-index",
            &[Postgres],
            "ALTER TABLE accounts ADD PRIMARY KEY (id);",
            "ALTER TABLE accounts ADD CONSTRAINT accounts_pkey PRIMARY KEY USING INDEX accounts_id;",
        ),
        (
            "validate-in-same-transaction",
            &[Postgres],
            "ALTER TABLE accounts VALIDATE CONSTRAINT positive;",
            "ALTER TABLE owners VALIDATE CONSTRAINT positive;",
        ),
        (
            "lock-timeout-off",
            &[Postgres, Mysql],
            "ALTER TABLE accounts ADD COLUMN n INT;",
            "SET lock_timeout = '1s';\nALTER TABLE accounts ADD COLUMN n INT;",
        ),
        (
            "mysql-add-foreign-key",
            &[Mysql],
            "ALTER TABLE accounts ADD CONSTRAINT fk FOREIGN KEY (id) REFERENCES owners (id);",
            "SET foreign_key_checks = 0;\nALTER TABLE accounts ADD CONSTRAINT fk FOREIGN KEY (id) REFERENCES owners (id);",
        ),
        (
            "mysql-modify-column",
            &[Mysql],
            "ALTER TABLE accounts MODIFY COLUMN name VARCHAR(20) NOT NULL;",
            "ALTER TABLE accounts MODIFY COLUMN name VARCHAR(60) NOT NULL;",
        ),
        (
            "mysql-enum-reorder",
            &[Mysql],
            "ALTER TABLE accounts MODIFY status ENUM('paid', 'new');",
            "ALTER TABLE accounts MODIFY status ENUM('new', 'paid', 'refunded');",
        ),
        (
            "mysql-add-check-constraint",
            &[Mysql],
            "ALTER TABLE accounts ADD CONSTRAINT positive CHECK (id > 0);",
            "ALTER TABLE accounts ADD CONSTRAINT positive CHECK (id > 0), ALGORITHM=INPLACE;",
        ),
        (
            "drop-schema",
            &[Postgres, Mysql],
            "DROP SCHEMA IF EXISTS reporting CASCADE;",
            "DROP VIEW accounts_view;",
        ),
        (
            "table-rebuild",
            &[Postgres, Mysql, Sqlite],
            "DROP TABLE accounts;\nALTER TABLE accounts_new RENAME TO accounts;",
            "DROP TABLE accounts_new;",
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
            "sqlite-unsupported-alter",
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
        let setup = setups.iter().find(|(name, _)| name == rule).map_or("", |(_, sql)| *sql);
        let line = 1 + setup.matches('\n').count();
        for backend in [Postgres, Mysql, Sqlite] {
            let judged = backends.contains(&backend);
            let hits = |sql: &str| -> Vec<String> {
                found(&format!("{setup}{sql}"), backend)
                    .into_iter()
                    .filter(|f| f.starts_with(&format!("{rule}@")))
                    .collect()
            };
            let expected: Vec<String> = if judged { vec![format!("{rule}@{line}")] } else { vec![] };
            assert_eq!(hits(unsafe_sql), expected, "{rule} on {backend}: {unsafe_sql}");
            assert_eq!(hits(safe_sql), Vec::<String>::new(), "{rule} on {backend}: {safe_sql}");
            let silenced = format!("-- migrate:allow({rule}) done on purpose, see the ticket\n{unsafe_sql}");
            assert_eq!(hits(&silenced), Vec::<String>::new(), "{rule} on {backend}: {silenced}");
            // A table (or index) the same file created is exempt: nothing else uses it yet. SQLite refuses what
            // it refuses whatever the table.
            let fresh = format!(
                "CREATE SCHEMA reporting;\nCREATE TABLE accounts (id INT PRIMARY KEY, email TEXT);\nCREATE INDEX accounts_email ON accounts (email);\n{unsafe_sql}"
            );
            if *rule != "sqlite-unsupported-alter" {
                assert_eq!(hits(&fresh), Vec::<String>::new(), "{rule} on {backend}: {fresh}");
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

#[test]
fn what_sqlite_refuses_is_named() {
    let detail = |sql: &str| -> Vec<String> {
        let options = LintOptions { backends: Some(Backends::only(Backend::Sqlite)), ..LintOptions::default() };
        let findings = lint(&folder(sql), &options);
        findings.into_iter().filter(|f| f.rule == "sqlite-unsupported-alter").map(|f| f.message).collect()
    };
    let cases = [
        ("ALTER TABLE accounts ADD COLUMN n INT PRIMARY KEY;", "cannot be a PRIMARY KEY"),
        ("ALTER TABLE accounts ADD COLUMN n INT UNIQUE;", "cannot be UNIQUE"),
        ("ALTER TABLE accounts ADD COLUMN n INT NOT NULL DEFAULT NULL;", "a default other than NULL"),
        ("ALTER TABLE accounts ADD COLUMN at TEXT DEFAULT CURRENT_TIMESTAMP;", "constant default"),
        ("ALTER TABLE accounts ADD COLUMN at TEXT DEFAULT (datetime('now'));", "constant default"),
        ("ALTER TABLE accounts ADD COLUMN n INT GENERATED ALWAYS AS (id * 2) STORED;", "must be VIRTUAL"),
        ("ALTER TABLE accounts ALTER COLUMN email SET NOT NULL;", "cannot change a column"),
        ("ALTER TABLE accounts ADD CONSTRAINT u UNIQUE (email);", "adds columns only"),
        ("ALTER TABLE accounts DROP CONSTRAINT u;", "drops columns only"),
        ("ALTER TABLE accounts ADD COLUMN a INT, ADD COLUMN b INT;", "one change per statement"),
    ];
    for (sql, said) in cases {
        let messages = detail(sql);
        assert!(messages.len() == 1 && messages[0].contains(said), "{sql}: {messages:?}");
    }
    for sql in [
        "ALTER TABLE accounts ADD COLUMN n INT NOT NULL DEFAULT 0;",
        "ALTER TABLE accounts ADD COLUMN at TEXT DEFAULT '2024-01-01';",
        "ALTER TABLE accounts ADD COLUMN n INT DEFAULT (0);",
        "ALTER TABLE accounts ADD COLUMN n INT GENERATED ALWAYS AS (id * 2) VIRTUAL;",
        "ALTER TABLE accounts ADD n INT REFERENCES owners (id);",
        "ALTER TABLE accounts RENAME COLUMN email TO mail;",
        "ALTER TABLE accounts DROP COLUMN email;",
    ] {
        assert_eq!(detail(sql), Vec::<String>::new(), "{sql}");
    }
}

/// The table rebuild either way round: the new table renamed over the dropped one, or the old one renamed away
/// before the file creates it again; the copy's other statements are the rebuild's own.
#[test]
fn a_table_rebuild_is_one_finding() {
    let new_then_swap = "CREATE TABLE accounts_new (id INT, email TEXT NOT NULL);\n\
                         INSERT INTO accounts_new SELECT id, email FROM accounts;\n\
                         DROP TABLE accounts;\n\
                         ALTER TABLE accounts_new RENAME TO accounts;";
    let away_then_new = "ALTER TABLE accounts RENAME TO accounts_old;\n\
                         CREATE TABLE accounts (id INT, email TEXT NOT NULL);\n\
                         INSERT INTO accounts SELECT id, email FROM accounts_old;\n\
                         DROP TABLE accounts_old;";
    for backend in [Backend::Postgres, Backend::Mysql, Backend::Sqlite] {
        assert_eq!(found(new_then_swap, backend), ["table-rebuild@3"], "{backend}");
        assert_eq!(found(away_then_new, backend), ["table-rebuild@1"], "{backend}");
    }
    // A table dropped and another renamed, with no copy between them made by the file, are what they are.
    assert_eq!(
        found("DROP TABLE accounts;\nALTER TABLE owners RENAME TO accounts;", Backend::Postgres),
        ["drop-table@1", "rename-table@2"]
    );
}

/// The column types earlier revisions wrote, shipped ones included, decide whether a change copies the table.
#[test]
fn earlier_revisions_tell_what_a_column_was() {
    let mysql = |sql: &str| found(sql, Backend::Mysql);
    let postgres = |sql: &str| found(sql, Backend::Postgres);
    // A rename keeps the type: CHANGE to the same definition is a rename alone.
    assert_eq!(mysql("ALTER TABLE accounts CHANGE email mail TEXT;"), ["rename-column@1"]);
    assert_eq!(mysql("ALTER TABLE accounts CHANGE COLUMN name name VARCHAR(50) NULL;"), Vec::<String>::new());
    // The length prefix of a VARCHAR grows from one byte to two: a copy.
    assert_eq!(mysql("ALTER TABLE accounts MODIFY name VARCHAR(300) NOT NULL;"), ["mysql-modify-column@1"]);
    assert_eq!(
        mysql("ALTER TABLE accounts MODIFY name VARCHAR(300), ALGORITHM=INPLACE, LOCK=NONE;"),
        Vec::<String>::new()
    );
    // A column the catalog does not know: whatever MODIFY does, it may copy.
    assert_eq!(mysql("ALTER TABLE owners MODIFY name VARCHAR(60);"), ["mysql-modify-column@1"]);
    // Values removed from an ENUM.
    let message = &lint(
        &folder("ALTER TABLE accounts MODIFY status ENUM('new');"),
        &LintOptions { backends: Some(Backends::only(Backend::Mysql)), ..LintOptions::default() },
    )[0]
    .message;
    assert!(message.starts_with("ENUM('new','paid') becomes ENUM('new')"), "{message}");
    // An append that changes the storage size copies the table too: a SET past 8 members, an ENUM past 255.
    let set = |n: usize| (1..=n).map(|i| format!("'v{i}'")).collect::<Vec<_>>().join(", ");
    let grown = |from: usize, to: usize| -> Vec<&'static str> {
        // The table made by one revision, its column changed by the next.
        let mut revisions = folder(&format!("ALTER TABLE flags MODIFY f SET({});", set(to)));
        revisions.insert(1, folder(&format!("CREATE TABLE flags (id INT, f SET({}));", set(from)))[1].clone());
        let options = LintOptions { backends: Some(Backends::only(Backend::Mysql)), ..LintOptions::default() };
        lint(&revisions, &options).into_iter().map(|f| f.rule).collect()
    };
    assert_eq!(grown(8, 9), ["mysql-enum-reorder"]);
    assert_eq!(grown(3, 8), Vec::<&str>::new());
    assert_eq!(grown(40, 60), Vec::<&str>::new(), "33 to 64 members all take 8 bytes");
    // Within one file, the catalog follows the statements.
    assert_eq!(
        mysql("ALTER TABLE accounts RENAME COLUMN status TO state;\nALTER TABLE accounts MODIFY state ENUM('new', 'paid', 'lost');"),
        ["rename-column@1"]
    );
    // PostgreSQL: changes that keep the storage are not rewrites.
    for safe in [
        "name TYPE TEXT",
        "name TYPE VARCHAR",
        "name TYPE character varying(80)",
        "net TYPE inet",
        "email TYPE varchar",
    ] {
        assert_eq!(postgres(&format!("ALTER TABLE accounts ALTER COLUMN {safe};")), Vec::<String>::new(), "{safe}");
    }
    for rewrite in
        ["name TYPE VARCHAR(10)", "id TYPE BIGINT", "name TYPE TEXT USING upper(name)", "email TYPE VARCHAR(9)"]
    {
        assert_eq!(
            postgres(&format!("ALTER TABLE accounts ALTER COLUMN {rewrite};")),
            ["change-column-type@1"],
            "{rewrite}"
        );
    }
    // A shipped revision still teaches the catalog.
    let options = LintOptions {
        backends: Some(Backends::only(Backend::Mysql)),
        start_after: Some("0001".into()),
        ..LintOptions::default()
    };
    assert!(lint(&folder("ALTER TABLE accounts MODIFY status ENUM('new', 'paid', 'void');"), &options).is_empty());
}

#[test]
fn columns_added_with_what_fills_every_row() {
    let postgres = |sql: &str| found(sql, Backend::Postgres);
    for rewrite in [
        "ADD COLUMN n BIGSERIAL",
        "ADD COLUMN n INT GENERATED ALWAYS AS IDENTITY",
        "ADD COLUMN n INT GENERATED ALWAYS AS (id * 2) STORED",
        "ADD COLUMN at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()",
        "ADD COLUMN n INT DEFAULT nextval('s')",
    ] {
        assert_eq!(
            postgres(&format!("ALTER TABLE accounts {rewrite};")),
            ["add-column-volatile-default@1"],
            "{rewrite}"
        );
    }
    for instant in [
        "ADD COLUMN n INT DEFAULT 0",
        "ADD COLUMN at TIMESTAMPTZ NOT NULL DEFAULT now()",
        "ADD COLUMN at TIMESTAMPTZ DEFAULT CURRENT_TIMESTAMP",
        "ADD COLUMN n TEXT",
    ] {
        assert_eq!(postgres(&format!("ALTER TABLE accounts {instant};")), Vec::<String>::new(), "{instant}");
    }
    // Several clauses: each judged alone, each rule once.
    assert_eq!(
        postgres("ALTER TABLE accounts ADD COLUMN a INT NOT NULL, ADD COLUMN b INT NOT NULL, DROP COLUMN email;"),
        ["add-not-null-column-without-default@1", "drop-column@1"]
    );
    // The same on MySQL, where a column copies the table for other reasons (MariaDB 10.11 refuses ALGORITHM=INSTANT
    // or INPLACE for each of these, and takes the others instantly).
    let mysql = |sql: &str| found(sql, Backend::Mysql);
    for copy in [
        "ADD COLUMN n INT AUTO_INCREMENT UNIQUE",
        "ADD COLUMN n INT AS (id * 2) STORED",
        "ADD COLUMN token CHAR(36) DEFAULT (UUID())",
    ] {
        assert_eq!(mysql(&format!("ALTER TABLE accounts {copy};")), ["add-column-volatile-default@1"], "{copy}");
    }
    for instant in [
        "ADD COLUMN n INT AS (id * 2) VIRTUAL",
        "ADD COLUMN n INT DEFAULT (1 + 1)",
        "ADD COLUMN at TIMESTAMP DEFAULT CURRENT_TIMESTAMP",
        "ADD COLUMN n INT NOT NULL",
    ] {
        assert_eq!(mysql(&format!("ALTER TABLE accounts {instant};")), Vec::<String>::new(), "{instant}");
    }
    // A key written with the column builds its index as one added alone does.
    assert_eq!(
        postgres("ALTER TABLE accounts ADD COLUMN code TEXT UNIQUE;"),
        ["add-unique-constraint-without-index@1"]
    );
    assert_eq!(
        postgres("ALTER TABLE accounts ADD COLUMN n BIGINT PRIMARY KEY DEFAULT 1;"),
        ["add-primary-key-without-index@1"]
    );
    // A table the file emptied has no row for the NOT NULL to fail on.
    assert_eq!(
        postgres("DELETE FROM accounts;\nALTER TABLE accounts ADD COLUMN a INT NOT NULL;"),
        Vec::<String>::new()
    );
    assert_eq!(
        postgres("DELETE FROM accounts WHERE id > 9;\nALTER TABLE accounts ADD COLUMN a INT NOT NULL;"),
        ["add-not-null-column-without-default@2"]
    );
    // An inline key validates the rows as one added alone does.
    assert_eq!(
        postgres("ALTER TABLE accounts ADD COLUMN owner INT REFERENCES owners (id);"),
        ["add-foreign-key-not-valid@1"]
    );
}

#[test]
fn lock_timeout_off_is_reported_once_per_file_and_only_where_nothing_bounds_it() {
    let file = "-- migrate:lock-timeout off\nCREATE TABLE t (id INT);\nCREATE INDEX t_id ON t (id);\n\
                ALTER TABLE accounts ADD COLUMN a INT;\nALTER TABLE accounts ADD COLUMN b INT;";
    assert_eq!(found(file, Backend::Mysql), ["lock-timeout-off@4"]);
    assert_eq!(found(file, Backend::Sqlite), Vec::<String>::new());
    // The run's lock timeout off: every file without its own bound.
    let mut options = LintOptions { backends: Some(Backends::only(Backend::Postgres)), ..LintOptions::default() };
    options.lock_timeout_off = true;
    let rules = |sql: &str| -> Vec<&str> { lint(&folder(sql), &options).into_iter().map(|f| f.rule).collect() };
    assert_eq!(rules("ALTER TABLE accounts ADD COLUMN a INT;"), ["lock-timeout-off"]);
    assert!(rules("-- migrate:lock-timeout 5s\nALTER TABLE accounts ADD COLUMN a INT;").is_empty());
    assert!(rules("SET LOCAL lock_timeout = '5s';\nALTER TABLE accounts ADD COLUMN a INT;").is_empty());
}

/// PostgreSQL 12 and later set a column `NOT NULL` without a scan when a validated check says so: the way the
/// rule's advice goes, over two revisions or in one file.
#[test]
fn set_not_null_after_a_validated_check_is_instant() {
    let postgres = |sql: &str| found(sql, Backend::Postgres);
    let add = "ALTER TABLE accounts ADD CONSTRAINT email_nn CHECK (email IS NOT NULL) NOT VALID;";
    let validate = "ALTER TABLE accounts VALIDATE CONSTRAINT email_nn;";
    let set = "ALTER TABLE accounts ALTER COLUMN email SET NOT NULL;";
    // Not validated yet: the scan happens.
    assert_eq!(postgres(&format!("{add}\n{set}")), ["set-not-null@2"]);
    // Validated in the same file: instant, though the validation itself holds the lock of the add.
    assert_eq!(postgres(&format!("{add}\n{validate}\n{set}")), ["validate-in-same-transaction@2"]);
    // A check added valid covers it too; a check of another column does not.
    assert_eq!(
        postgres(&format!("ALTER TABLE accounts ADD CHECK (email IS NOT NULL);\n{set}")),
        ["add-check-constraint-not-valid@1"]
    );
    assert_eq!(
        postgres(&format!("ALTER TABLE accounts ADD CONSTRAINT n CHECK (name IS NOT NULL) NOT VALID;\nALTER TABLE accounts VALIDATE CONSTRAINT n;\n{set}")),
        ["validate-in-same-transaction@2", "set-not-null@3"]
    );
    // Over revisions: the check added and validated in shipped ones.
    let mut revisions = folder(set);
    let earlier =
        folder(&format!("{add}\n-- migrate:allow(validate-in-same-transaction) the table is small\n{validate}"));
    revisions.insert(1, earlier[1].clone());
    let options = LintOptions { backends: Some(Backends::only(Backend::Postgres)), ..LintOptions::default() };
    assert!(lint(&revisions, &options).iter().all(|f| f.rule != "set-not-null"));
}

#[test]
fn an_unclosed_quote_names_nothing_and_panics_nothing() {
    for sql in ["ALTER TABLE \"é", "ALTER TABLE \"", "DROP TABLE `é", "CREATE INDEX i ON \"é"] {
        for backend in [Backend::Postgres, Backend::Mysql, Backend::Sqlite] {
            let _ = found(sql, backend);
        }
    }
}
