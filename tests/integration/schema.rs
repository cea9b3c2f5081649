//! The schema snapshot and the round trip, on each backend: the accounts fixture goes up, down and up again with
//! its schema compared at each step; broken down files are caught with their difference named; the text does not
//! depend on the order objects were created in.

use migrate::roundtrip::Outcome;
use migrate::{schema, Checksum, Migrator, ScanOptions};

use crate::backend::{on_every_backend, ConnExt, Db, Kind};

fn accounts() -> Vec<migrate::Revision> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/accounts");
    crate::common::scan_ok(&dir, ScanOptions::default())
}

fn accounts_round_trip(kind: Kind) {
    let Some(db) = Db::new(kind, "accounts_round_trip") else { return };
    let revisions = accounts();
    let mut conn = db.connect();
    let trip = Migrator::new(&revisions).round_trip(&mut conn).unwrap();
    assert!(trip.is_ok(), "{trip}");
    assert_eq!(trip.checked.len(), revisions.len(), "{trip}");
    let snapshot = Migrator::new(&revisions).snapshot(&mut conn).unwrap();
    let text = snapshot.to_string();
    eprintln!("{text}");
    for expected in ["table accounts", "column display_name", "trigger accounts_updated_at", "view active_members"] {
        assert!(text.contains(expected), "{expected} not in\n{text}");
    }
    assert!(!text.contains("_migrate_history"), "{text}");
    // Two reads agree, and the text reads back to the same schema.
    assert_eq!(Migrator::new(&revisions).snapshot(&mut conn).unwrap().to_string(), text);
    let parsed = migrate::Schema::parse(&text).unwrap();
    assert!(schema::diff(&parsed, &migrate::Schema::parse(&parsed.to_string()).unwrap()).is_empty());
    assert_eq!(parsed.to_string(), text);
}

/// A folder whose first revision makes tables `p` and `t`, and whose second revision is `up` (with per-backend
/// overrides) and a down that drops only table `u`, which `up` also makes: whatever else `up` did stays.
fn broken(kind: Kind, up: &str, overrides: &[(&str, &str)]) -> Option<(Db, crate::common::Folder)> {
    let db = Db::new(kind, &format!("broken_{}", Checksum::of(up).to_hex().get(..8).unwrap_or("")))?;
    let folder = crate::common::Folder::new();
    folder
        .write(
            "0001_base/up.sql",
            "CREATE TABLE p (id INT NOT NULL PRIMARY KEY);\n\
             CREATE TABLE t (a INT DEFAULT 1, CONSTRAINT t_a_fk FOREIGN KEY (a) REFERENCES p (id));",
        )
        .write("0001_base/down.sql", "DROP TABLE t;\nDROP TABLE p;")
        .write("0002_change/up.sql", &format!("CREATE TABLE u (x INT);\n{up}"))
        .write("0002_change/down.sql", "DROP TABLE u;");
    for (file, text) in overrides {
        folder.write(&format!("0002_change/{file}"), &format!("CREATE TABLE u (x INT);\n{text}"));
        folder.write(&format!("0002_change/{}", file.replace("up.", "down.")), "DROP TABLE u;");
    }
    Some((db, folder))
}

/// The round trip of `broken(kind, up, overrides)` fails at 0002's down, with `expected` among its sentences.
fn caught(kind: Kind, up: &str, overrides: &[(&str, &str)], expected: &str) {
    let Some((db, folder)) = broken(kind, up, overrides) else { return };
    let revisions = folder.revisions();
    let mut conn = db.connect();
    let trip = Migrator::new(&revisions).round_trip(&mut conn).unwrap();
    let failure = trip.failure.as_ref().unwrap_or_else(|| panic!("not caught on {kind:?}:\n{trip}"));
    assert_eq!(failure.revision.version, "0002", "{trip}");
    assert_eq!(trip.checked.len(), 1, "{trip}");
    let sentences = failure.sentences();
    assert!(sentences.iter().any(|s| s == expected), "{kind:?}: {expected:?} not in {sentences:#?}");
    assert!(trip.to_string().contains(expected), "{trip}");
}

fn forgotten_index(kind: Kind) {
    caught(kind, "CREATE INDEX idx_t_a ON t (a);", &[], "down of 0002 (change) leaves index idx_t_a on t");
}

fn forgotten_column(kind: Kind) {
    caught(kind, "ALTER TABLE t ADD COLUMN b INT;", &[], "down of 0002 (change) leaves column t.b");
}

fn trigger_left_behind(kind: Kind) {
    let postgres = "CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;\n\
                    CREATE TRIGGER t_touch BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION touch();";
    let mysql = "CREATE TRIGGER t_touch BEFORE UPDATE ON t FOR EACH ROW SET NEW.a = NEW.a;";
    let sqlite = "CREATE TRIGGER t_touch AFTER UPDATE ON t BEGIN SELECT 1; END;";
    let overrides = [("up.postgres.sql", postgres), ("up.mysql.sql", mysql)];
    caught(kind, sqlite, &overrides, "down of 0002 (change) leaves trigger t_touch on t");
}

fn changed_default(kind: Kind) {
    if kind == Kind::Sqlite {
        return; // SQLite cannot change a column's default in place
    }
    let Some((db, folder)) = broken(kind, "ALTER TABLE t ALTER COLUMN a SET DEFAULT 2;", &[]) else { return };
    // This down does put something back, only not what was there.
    folder.write("0002_change/down.sql", "DROP TABLE u;\nALTER TABLE t ALTER COLUMN a SET DEFAULT 3;");
    let revisions = folder.revisions();
    let mut conn = db.connect();
    let trip = Migrator::new(&revisions).round_trip(&mut conn).unwrap();
    let sentences = trip.failure.as_ref().map(|f| f.sentences()).unwrap_or_default();
    assert_eq!(sentences.len(), 1, "{trip}");
    assert!(sentences[0].starts_with("down of 0002 (change) changes column t.a: `"), "{trip}");
    assert!(sentences[0].contains("default 1") && sentences[0].contains("default 3"), "{trip}");
}

fn dropped_foreign_key(kind: Kind) {
    let drop = match kind {
        Kind::Sqlite => return, // SQLite cannot drop a foreign key in place
        Kind::Postgres => "ALTER TABLE t DROP CONSTRAINT t_a_fk;",
        Kind::Mysql => "ALTER TABLE t DROP FOREIGN KEY t_a_fk;",
    };
    caught(kind, drop, &[], "down of 0002 (change) does not restore foreign key t_a_fk on t");
}

fn view_left_behind(kind: Kind) {
    caught(kind, "CREATE VIEW v AS SELECT a FROM t;", &[], "down of 0002 (change) leaves view v");
}

/// A down marked irreversible is not tested, and said so; a comment-only down on a data revision passes as a
/// placeholder; the trip goes on past both.
fn irreversible_and_placeholder_downs(kind: Kind) {
    let Some(db) = Db::new(kind, "irreversible_and_placeholder") else { return };
    let folder = crate::common::Folder::new();
    folder
        .write("0001_base/up.sql", "CREATE TABLE t (a INT);")
        .write("0001_base/down.sql", "DROP TABLE t;")
        .write("0002_data/up.sql", "INSERT INTO t (a) VALUES (1);")
        .write("0002_data/down.sql", "-- the rows stay: nothing to undo in the schema")
        .write("0003_gone/up.sql", "CREATE TABLE w (a INT);")
        .write("0003_gone/down.sql", "-- migrate:irreversible\n")
        .write("0004_more/up.sql", "CREATE TABLE m (a INT);")
        .write("0004_more/down.sql", "DROP TABLE m;");
    let revisions = folder.revisions();
    let mut conn = db.connect();
    let trip = Migrator::new(&revisions).round_trip(&mut conn).unwrap();
    assert!(trip.is_ok(), "{trip}");
    let outcomes: Vec<&Outcome> = trip.checked.iter().map(|(_, o)| o).collect();
    assert!(
        matches!(outcomes[..], [Outcome::Passed, Outcome::Placeholder(_), Outcome::NotReversible(_), Outcome::Passed]),
        "{trip}"
    );
    let text = trip.to_string();
    assert!(text.contains("skipped 0003 (gone): down not tested, its down is marked irreversible"), "{text}");
    assert!(text.contains("0002 (data): its down is a placeholder (comments only)"), "{text}");
}

/// The same schema made in two orders reads as the same text; generated constraint names do not show.
fn snapshot_is_independent_of_creation_order(kind: Kind) {
    let first = [
        "CREATE TABLE p (id INT NOT NULL PRIMARY KEY, code VARCHAR(10) NOT NULL UNIQUE)",
        "CREATE TABLE t (a INT, b VARCHAR(20) DEFAULT 'x', FOREIGN KEY (a) REFERENCES p (id))",
        "CREATE INDEX t_b ON t (b)",
        "CREATE VIEW v AS SELECT a FROM t",
    ];
    let second = [
        "CREATE TABLE p (id INT NOT NULL PRIMARY KEY, code VARCHAR(10) NOT NULL, UNIQUE (code))",
        "CREATE TABLE t (a INT, b VARCHAR(20) DEFAULT 'x', FOREIGN KEY (a) REFERENCES p (id))",
        "CREATE VIEW v AS SELECT a FROM t",
        "CREATE INDEX t_b ON t (b)",
    ];
    let mut texts = Vec::new();
    for (n, statements) in [first, second].iter().enumerate() {
        let Some(db) = Db::new(kind, &format!("snapshot_order_{n}")) else { return };
        let mut conn = db.connect();
        for statement in statements {
            conn.exec(statement);
        }
        let a = Migrator::new(&[]).snapshot(&mut conn).unwrap().to_string();
        let b = Migrator::new(&[]).snapshot(&mut conn).unwrap().to_string();
        assert_eq!(a, b, "two reads differ");
        texts.push(a);
    }
    assert_eq!(texts[0], texts[1]);
    for expected in ["table p", "unique (code)", "foreign key (a)", "index t_b", "view v"] {
        assert!(texts[0].contains(expected), "{expected} not in\n{}", texts[0]);
    }
}

on_every_backend!(
    accounts_round_trip,
    forgotten_index,
    forgotten_column,
    trigger_left_behind,
    changed_default,
    dropped_foreign_key,
    view_left_behind,
    irreversible_and_placeholder_downs,
    snapshot_is_independent_of_creation_order
);
