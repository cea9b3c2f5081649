//! Adopting a database another tool migrated: a SQLite file diesel itself migrated, and diesel's, sqlx's and
//! refinery's history tables as those tools make them, on every backend.

use std::path::Path;

use migrate::{Error, Foreign, Migrator, ScanOptions};

use crate::backend::{on_every_backend, Conn, ConnExt, Db, Kind};
use crate::common::{scan_ok, versions, Folder, TempDb};

on_every_backend!(each_tools_history_is_imported);

fn fixture() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/diesel")
}

/// diesel migrates the fixture; the import then records its five revisions, diesel's table stays as it was, the
/// folder is up to date, and a new revision applies.
#[test]
fn a_database_diesel_migrated_is_imported() {
    use ::diesel::{Connection as _, RunQueryDsl as _};
    use diesel_migrations::{FileBasedMigrations, MigrationHarness as _};
    let db = TempDb::new();
    {
        let mut diesel = ::diesel::sqlite::SqliteConnection::establish(&db.path.to_string_lossy()).unwrap();
        diesel.run_pending_migrations(FileBasedMigrations::from_path(fixture()).unwrap()).unwrap();
        ::diesel::sql_query("SELECT 1").execute(&mut diesel).unwrap();
    }
    let revisions = scan_ok(&fixture(), ScanOptions::default().allow_empty_down(true));
    let migrator = Migrator::new(&revisions);
    let mut conn = db.open();
    assert_eq!(migrator.plan_upgrade_steps(&mut conn), 5, "before the import everything looks pending");
    let diesel_rows = |conn: &rusqlite::Connection| -> i64 {
        conn.query_row("SELECT count(*) FROM __diesel_schema_migrations", [], |r| r.get(0)).unwrap()
    };
    assert_eq!(diesel_rows(&conn), 5);

    let dry = migrator.plan_import(&mut conn, Foreign::Diesel, false).unwrap();
    assert_eq!(dry.recorded.len(), 5);
    assert!(versions(&mut conn).is_empty(), "a dry run writes nothing");
    let imported = migrator.import(&mut conn, Foreign::Diesel, false).unwrap();
    assert_eq!(imported.recorded.len(), 5);
    assert_eq!(diesel_rows(&conn), 5, "diesel's table is left as it was");
    let rows = migrator.applied(&mut conn).unwrap();
    assert!(rows.iter().all(|r| r.runner.as_deref() == Some("imported from __diesel_schema_migrations (diesel)")));
    assert!(migrator.upgrade(&mut conn).unwrap().is_empty(), "nothing to apply");
    assert!(migrator.import(&mut conn, Foreign::Diesel, false).unwrap().recorded.is_empty(), "twice is once");

    // A revision written after the switch applies as usual.
    let folder = Folder::new();
    folder.write("2026-01-01-000000_after/up.sql", "CREATE TABLE after_switch (id INTEGER);");
    folder.write("2026-01-01-000000_after/down.sql", "DROP TABLE after_switch;");
    let mut more = revisions.clone();
    more.extend(folder.revisions());
    let report = Migrator::new(&more).upgrade(&mut conn).unwrap();
    assert_eq!(report.steps.len(), 1);
}

trait PendingCount {
    fn plan_upgrade_steps(&self, conn: &mut rusqlite::Connection) -> usize;
}

impl PendingCount for Migrator<'_> {
    fn plan_upgrade_steps(&self, conn: &mut rusqlite::Connection) -> usize {
        use migrate::Database as _;
        conn.with_driver(|d| {
            self.core().plan(d, &migrate::Command::Upgrade(migrate::Target::Head)).unwrap().steps.len()
        })
    }
}

/// Each tool's table as that tool makes it, holding two of the folder's three versions, beside the folder in that
/// tool's own layout, no file renamed (diesel's folders, sqlx's `<n>_<name>.up.sql`/`.down.sql` with unpadded
/// versions, refinery's `V<n>__<name>.sql`): imported, matched by number where the tool keeps integers; a version
/// the folder lacks is refused unless allowed.
fn each_tools_history_is_imported(kind: Kind) {
    for foreign in [Foreign::Diesel, Foreign::Sqlx, Foreign::Refinery] {
        let Some(db) = Db::new(kind, &format!("import_{}", foreign.name())) else { return };
        let folder = Folder::new();
        for n in 1..=3 {
            let (up, down) = (format!("CREATE TABLE t{n} (id INTEGER);"), format!("DROP TABLE t{n};"));
            match foreign {
                Foreign::Diesel => {
                    folder.write(&format!("{n:04}_t{n}/up.sql"), &up);
                    folder.write(&format!("{n:04}_t{n}/down.sql"), &down);
                }
                Foreign::Sqlx => {
                    folder.write(&format!("{n}_t{n}.up.sql"), &up);
                    folder.write(&format!("{n}_t{n}.down.sql"), &down);
                }
                _ => {
                    folder.write(&format!("V{n}__t{n}.sql"), &up);
                }
            }
        }
        let revisions = folder.revisions();
        let migrator = Migrator::new(&revisions);
        let mut conn = db.connect();
        let (create, rows) = match foreign {
            Foreign::Diesel => (
                "CREATE TABLE __diesel_schema_migrations (version VARCHAR(50) PRIMARY KEY NOT NULL, \
                 run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)",
                ["INSERT INTO __diesel_schema_migrations (version) VALUES ('0001')", "INSERT INTO __diesel_schema_migrations (version) VALUES ('0002')"],
            ),
            Foreign::Sqlx => (
                "CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, \
                 installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, success BOOLEAN NOT NULL, \
                 checksum BLOB, execution_time BIGINT NOT NULL)",
                ["INSERT INTO _sqlx_migrations (version, description, success, execution_time) VALUES (1, 't1', TRUE, 1)",
                 "INSERT INTO _sqlx_migrations (version, description, success, execution_time) VALUES (2, 't2', TRUE, 1)"],
            ),
            _ => (
                "CREATE TABLE refinery_schema_history (version INT PRIMARY KEY, name VARCHAR(255), \
                 applied_on VARCHAR(255), checksum VARCHAR(255))",
                ["INSERT INTO refinery_schema_history VALUES (1, 't1', '2024-01-02T03:04:05Z', '1')",
                 "INSERT INTO refinery_schema_history VALUES (2, 't2', '2024-01-02T03:04:06Z', '2')"],
            ),
        };
        let create = if kind == Kind::Postgres { create.replace("BLOB", "BYTEA") } else { create.to_owned() };
        conn.exec(&create);
        for sql in rows {
            conn.exec(sql);
        }
        conn.exec("CREATE TABLE t1 (id INTEGER)");
        conn.exec("CREATE TABLE t2 (id INTEGER)");
        let imported = migrator.import(&mut conn, foreign, false).unwrap();
        let recorded: Vec<&str> = imported.recorded.iter().map(|r| r.version.as_str()).collect();
        let expected = if foreign == Foreign::Diesel { ["0001", "0002"] } else { ["00000001", "00000002"] };
        assert_eq!(recorded, expected, "{}", foreign.name());
        assert_eq!(migrator.upgrade(&mut conn).unwrap().steps.len(), 1, "only 0003 is left");
        insert_unknown(&mut conn, foreign);
        let err = migrator.import(&mut conn, foreign, false).unwrap_err();
        assert!(matches!(&err, Error::Import { unknown, .. } if unknown.iter().any(|v| v.contains("99"))), "{err}");
        let imported = migrator.import(&mut conn, foreign, true).unwrap();
        assert_eq!((imported.recorded.len(), imported.already.len(), imported.unknown.len()), (0, 2, 1));
    }
}

fn insert_unknown(conn: &mut Conn, foreign: Foreign) {
    conn.exec(match foreign {
        Foreign::Diesel => "INSERT INTO __diesel_schema_migrations (version) VALUES ('0099')",
        Foreign::Sqlx => {
            "INSERT INTO _sqlx_migrations (version, description, success, execution_time) VALUES (99, 'x', TRUE, 1)"
        }
        _ => "INSERT INTO refinery_schema_history VALUES (99, 'x', '2024-01-02T03:04:07Z', '9')",
    });
}
