//! `migrate::testing` and `#[migrate::test]` as a user's tests use them: a database per test on each backend, empty
//! or migrated from a template, isolated, dropped at the end and after a panic; a copy equal to migrating; a template
//! left half-built by a killed run never used.

use std::panic::{catch_unwind, AssertUnwindSafe};

use migrate::testing::{self, TestDatabase};
use migrate::{Backend, Migrations, Migrator};

static EXAMPLE: Migrations = migrate::migrations!("examples/migrations");
static ACCOUNTS: Migrations = migrate::migrations!("tests/fixtures/accounts");

/// `(version, name, up checksum, down checksum)` of each history row.
fn history(db: &mut TestDatabase) -> Vec<(String, String, String, Option<String>)> {
    let rows = Migrator::new(&[]).applied(db).unwrap();
    rows.into_iter().map(|r| (r.version, r.name, r.up_checksum.to_hex(), r.down_checksum.map(|c| c.to_hex()))).collect()
}

/// Whether the database (or SQLite file) called `name` exists, asked through `db`'s server.
fn exists(db: &mut TestDatabase, name: &str) -> bool {
    let sql = match db.backend() {
        Backend::Postgres => format!("SELECT count(*) FROM pg_database WHERE datname = '{name}'"),
        Backend::Mysql => format!("SELECT count(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '{name}'"),
        _ => return std::path::Path::new(name).exists(),
    };
    db.value(&sql).as_deref() == Some("1")
}

#[migrate::test(EXAMPLE)]
fn starts_migrated(db: &mut TestDatabase) {
    assert!(db.name().starts_with("migrate_test_") || db.name().contains("migrate_test_"), "{}", db.name());
    let versions: Vec<String> = history(db).into_iter().map(|r| r.0).collect();
    assert_eq!(versions, ["0001", "0002", "0003"]);
    assert!(EXAMPLE.upgrade(db).unwrap().is_empty());
    db.execute("INSERT INTO users (id, login, email) VALUES (1, 'ada', 'ada@example.com')");
    db.execute("INSERT INTO posts (id, author, body) VALUES (1, 1, 'hello')");
    assert_eq!(
        db.rows("SELECT login, email FROM users"),
        [[Some("ada".to_owned()), Some("ada@example.com".to_owned())]]
    );
    // The same database through another connection, and through its URL as the command line takes it.
    let mut other = db.connect();
    assert_eq!(other.value("SELECT count(*) FROM posts").as_deref(), Some("1"));
    assert!(db.url().contains(db.name().trim_start_matches('/')) || db.url().ends_with(db.name()), "{}", db.url());
}

#[migrate::test]
fn starts_empty(db: &mut TestDatabase) {
    assert!(db.schema().is_empty(), "{}", db.schema());
    assert!(history(db).is_empty());
    // The round trip a user's test runs: up, down, up with the schema compared, on a database of its own.
    let trip = EXAMPLE.migrator().round_trip(db).unwrap();
    assert!(trip.is_ok(), "{trip}");
    assert_eq!(trip.checked.len(), 3);
}

/// A refused statement panics naming the backend, the statement and the database's message and code, the same way
/// on every backend (MySQL's error once printed as `MySqlError { … }`).
#[migrate::test]
fn a_refused_statement_says_which_and_why(db: &mut TestDatabase) {
    db.execute("CREATE TABLE t (id INTEGER NOT NULL)");
    let panic = catch_unwind(AssertUnwindSafe(|| db.execute("INSERT INTO t VALUES (NULL)"))).unwrap_err();
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    let backend = db.backend().to_string();
    assert!(message.starts_with(&format!("{backend} refused \"INSERT INTO t VALUES (NULL)\": ")), "{message}");
    assert!(!message.contains("Error {") && message.ends_with(')'), "a message and its code: {message}");
}

#[migrate::test(EXAMPLE)]
fn returns_a_result(db: &mut TestDatabase) -> Result<(), migrate::Error> {
    EXAMPLE.migrator().downgrade_to(db, "base")?;
    assert!(db.schema().is_empty());
    Ok(())
}

#[migrate::test(ACCOUNTS)]
fn a_copy_is_what_migrating_gives(db: &mut TestDatabase) {
    let mut migrated = TestDatabase::empty(db.backend()).unwrap();
    ACCOUNTS.upgrade(&mut migrated).unwrap();
    assert_eq!(db.schema().to_string(), migrated.schema().to_string());
    assert!(!db.schema().is_empty());
    assert_eq!(history(db), history(&mut migrated));
    assert_eq!(history(db).len(), ACCOUNTS.revisions().len());
    // Copied, not migrated: on MySQL the replay of the template came out equal to it.
    assert_eq!(db.origin(), testing::Origin::Copied);
    assert_eq!(migrated.origin(), testing::Origin::Empty);
    // Seed rows the revisions wrote come along.
    for table in ["settings", "accounts"] {
        let sql = format!("SELECT count(*) FROM {table}");
        assert_eq!(db.value(&sql), migrated.value(&sql), "{table}");
    }
}

#[migrate::test(EXAMPLE)]
fn each_test_has_its_own(db: &mut TestDatabase) {
    let mut other = TestDatabase::migrated(db.backend(), &EXAMPLE).unwrap();
    assert_ne!(db.name(), other.name());
    db.execute("INSERT INTO users (id, login) VALUES (1, 'ada')");
    assert_eq!(other.value("SELECT count(*) FROM users").as_deref(), Some("0"));
    assert_eq!(db.value("SELECT count(*) FROM users").as_deref(), Some("1"));
}

#[migrate::test]
fn dropped_at_the_end_and_after_a_panic(db: &mut TestDatabase) {
    let backend = db.backend();
    let mut name = String::new();
    testing::run(backend, Some(&EXAMPLE), |inner| {
        name = inner.name().to_owned();
        assert!(exists(db, &name), "{name} while its test runs");
    });
    assert!(!exists(db, &name), "{name} after its test");
    let mut name = String::new();
    let panicked = catch_unwind::<_, ()>(AssertUnwindSafe(|| {
        testing::run(backend, None, |inner| {
            name = inner.name().to_owned();
            inner.execute("CREATE TABLE t (a INT)");
            panic!("the test fails");
        })
    }));
    assert!(panicked.is_err());
    assert!(!name.is_empty());
    assert!(!exists(db, &name), "{name} after its test panicked");
}

/// A template build killed halfway (PostgreSQL: a database under the building name; MySQL: the template database
/// itself, holding one table and no history) is not copied: the next test builds the template again.
#[migrate::test(backends(postgres, mysql))]
fn a_half_built_template_is_built_again(db: &mut TestDatabase) {
    let folder = crate::common::Folder::new();
    let table = format!("t_{}", std::process::id());
    folder
        .write("0001_a/up.sql", &format!("CREATE TABLE {table} (a INT)"))
        .write("0001_a/down.sql", &format!("DROP TABLE {table}"))
        .write("0002_b/up.sql", &format!("INSERT INTO {table} VALUES (7)"))
        .write("0002_b/down.sql", &format!("DELETE FROM {table}"));
    let revisions = folder.revisions();
    let migrator = Migrator::new(&revisions);
    let template = testing::template_name(db.backend(), &migrator);
    match db.backend() {
        Backend::Postgres => {
            db.execute(&format!("DROP DATABASE IF EXISTS {template}_building"));
            db.execute(&format!("CREATE DATABASE {template}_building"));
        }
        _ => {
            db.execute(&format!("DROP DATABASE IF EXISTS {template}"));
            db.execute(&format!("CREATE DATABASE {template}"));
            db.execute(&format!("CREATE TABLE {template}.{table} (a INT)"));
        }
    }
    let mut copy = TestDatabase::migrated(db.backend(), &migrator).unwrap();
    assert_eq!(copy.origin(), testing::Origin::Copied);
    assert_eq!(copy.value(&format!("SELECT a FROM {table}")).as_deref(), Some("7"));
    assert_eq!(history(&mut copy).len(), 2);
    assert!(exists(db, &template));
    assert!(!exists(db, &format!("{template}_building")));
    drop(copy);
    if db.backend() == Backend::Postgres {
        let flags = db.rows(&format!(
            "SELECT datistemplate::text, datallowconn::text FROM pg_database WHERE datname = '{template}'"
        ));
        assert_eq!(flags, [[Some("true".to_owned()), Some("false".to_owned())]]);
        db.execute(&format!("ALTER DATABASE {template} IS_TEMPLATE false"));
    }
    db.execute(&format!("DROP DATABASE {template}"));
}

/// MySQL has no template databases, so a copy replays the template: rows (an id of 0 a seed kept with
/// `NO_AUTO_VALUE_ON_ZERO` included, generated columns computed again), the next AUTO_INCREMENT value, views naming
/// views, a trigger and a function all come along.
#[migrate::test(backends(mysql))]
fn a_mysql_copy_replays_everything(db: &mut TestDatabase) {
    let folder = crate::common::Folder::new();
    let tag = std::process::id();
    folder
        .write(
            "0001_items/up.sql",
            &format!(
                "CREATE TABLE items (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(20), \
                 name_length INT GENERATED ALWAYS AS (CHAR_LENGTH(name)) STORED);\n\
                 SET @saved_mode = @@SESSION.sql_mode;\n\
                 SET SESSION sql_mode = CONCAT_WS(',', NULLIF(@saved_mode, ''), 'NO_AUTO_VALUE_ON_ZERO');\n\
                 INSERT INTO items (id, name) VALUES (0, 'zero'), (5, 'five');\n\
                 SET SESSION sql_mode = @saved_mode;\n\
                 CREATE TABLE item_log (msg VARCHAR(50));\n-- {tag}\n"
            ),
        )
        .write("0001_items/down.sql", "DROP TABLE item_log;\nDROP TABLE items;")
        .write(
            "0002_views/up.sql",
            "CREATE VIEW b_named AS SELECT id, name FROM items;\nCREATE VIEW a_ids AS SELECT id FROM b_named;",
        )
        .write("0002_views/down.sql", "DROP VIEW a_ids;\nDROP VIEW b_named;")
        .write(
            "0003_code/up.sql",
            "CREATE TRIGGER items_logged AFTER INSERT ON items FOR EACH ROW INSERT INTO item_log VALUES (NEW.name);\n\
             CREATE FUNCTION twice(x INT) RETURNS INT DETERMINISTIC RETURN x * 2;",
        )
        .write("0003_code/down.sql", "DROP FUNCTION twice;\nDROP TRIGGER items_logged;");
    let revisions = folder.revisions();
    let migrator = Migrator::new(&revisions);
    let mut copy = TestDatabase::migrated(db.backend(), &migrator).unwrap();
    assert_eq!(copy.origin(), testing::Origin::Copied);
    let column = |copy: &mut TestDatabase, sql: &str| -> Vec<String> {
        copy.rows(sql).into_iter().map(|row| row[0].clone().unwrap_or_default()).collect()
    };
    assert_eq!(column(&mut copy, "SELECT concat(id, ':', name_length) FROM items ORDER BY id"), ["0:4", "5:4"]);
    assert_eq!(column(&mut copy, "SELECT id FROM a_ids ORDER BY id"), ["0", "5"]);
    assert_eq!(copy.value("SELECT twice(21)").as_deref(), Some("42"));
    copy.execute("INSERT INTO items (name) VALUES ('next')");
    assert_eq!(column(&mut copy, "SELECT id FROM items WHERE name = 'next'"), ["6"]);
    assert_eq!(column(&mut copy, "SELECT msg FROM item_log"), ["next"]);
    let template = testing::template_name(db.backend(), &migrator);
    drop(copy);
    db.execute(&format!("DROP DATABASE {template}"));
}
