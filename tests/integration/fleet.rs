//! `Migrator::run_fleet`: one command over many tenants (a SQLite file, a PostgreSQL schema or a MySQL database
//! each), several at a time, each under its own lock and history; a failing tenant is its own, and `fail_fast`
//! leaves the tenants not yet started untouched.

use migrate::fleet::{FleetOptions, Outcome};
use migrate::{Command, Error, Migrator, Target};

use crate::backend::{on_every_backend, ConnExt, Db, Kind};
use crate::common::{versions, Folder};

fn folder() -> Folder {
    let f = Folder::new();
    f.write("0001_accounts/up.sql", "CREATE TABLE accounts (id INT PRIMARY KEY, email VARCHAR(100));\n")
        .write("0001_accounts/down.sql", "DROP TABLE accounts;\n")
        .write("0002_notes/up.sql", "CREATE TABLE notes (id INT PRIMARY KEY, body VARCHAR(200));\n")
        .write("0002_notes/down.sql", "DROP TABLE notes;\n")
        .write("0003_email_index/up.sql", "CREATE INDEX accounts_email ON accounts (email);\n")
        .write("0003_email_index/down.sql", "DROP INDEX accounts_email ON accounts;\n");
    f
}

/// Eight tenants, four at a time; the fourth already has a `notes` table, so its 0002 fails. The others reach head;
/// it stays at 0001, with its own record true.
fn one_failing_tenant_among_healthy_ones(kind: Kind) {
    let tenants: Vec<Db> = match (0..8).map(|i| Db::new(kind, &format!("fleet_{i}"))).collect::<Option<Vec<_>>>() {
        Some(tenants) => tenants,
        None => return,
    };
    tenants[3].connect().exec("CREATE TABLE notes (id INT)");
    let f = folder();
    let revisions = f.revisions();
    let migrator = Migrator::new(&revisions);
    let targets = tenants.iter().enumerate().map(|(i, db)| (format!("tenant {i}"), db.connect())).collect();
    let runs = migrator.run_fleet(targets, &Command::Upgrade(Target::Head), &FleetOptions::default().jobs(4));
    assert_eq!(runs.len(), 8);
    for (i, run) in runs.iter().enumerate() {
        assert_eq!(run.name, format!("tenant {i}"));
        match (&run.outcome, i) {
            (Outcome::Failed(Error::Migration(failure)), 3) => assert_eq!(failure.revision.version, "0002"),
            (Outcome::Done(report), _) if i != 3 => {
                assert_eq!(report.after.as_ref().map(|r| r.version.as_str()), Some("0003"));
                assert_eq!(report.steps.len(), 3);
            }
            (other, _) => panic!("tenant {i}: {other:?}"),
        }
    }
    for (i, db) in tenants.iter().enumerate() {
        // MySQL cannot roll a revision back: the failing one is kept as dirty, with its error, until resolved.
        let want: &[&str] = match (i, kind) {
            (3, Kind::Mysql) => &["0001", "0002"],
            (3, _) => &["0001"],
            _ => &["0001", "0002", "0003"],
        };
        assert_eq!(versions(&mut db.connect()), want, "tenant {i}");
    }
    // The next run of the fleet has nothing to do but for the failing tenant, which fails the same way.
    let targets = tenants.iter().enumerate().map(|(i, db)| (format!("tenant {i}"), db.connect())).collect();
    let runs = migrator.run_fleet(targets, &Command::Upgrade(Target::Head), &FleetOptions::default().jobs(4));
    let done: Vec<usize> =
        runs.iter().map(|r| if let Outcome::Done(report) = &r.outcome { report.steps.len() } else { 99 }).collect();
    assert_eq!(done, [0, 0, 0, 99, 0, 0, 0, 0]);
}

/// `fail_fast`, one job: the tenants before the failure are migrated, the failing one is left as its run left it,
/// and the rest are not touched at all (no history table).
fn fail_fast_leaves_the_rest_untouched(kind: Kind) {
    let tenants: Vec<Db> = match (0..5).map(|i| Db::new(kind, &format!("fleet_ff_{i}"))).collect::<Option<Vec<_>>>() {
        Some(tenants) => tenants,
        None => return,
    };
    tenants[1].connect().exec("CREATE TABLE notes (id INT)");
    let f = folder();
    let revisions = f.revisions();
    let targets = tenants.iter().enumerate().map(|(i, db)| (format!("tenant {i}"), db.connect())).collect();
    let options = FleetOptions::default().jobs(1).fail_fast(true);
    let runs = Migrator::new(&revisions).run_fleet(targets, &Command::Upgrade(Target::Head), &options);
    let kinds: Vec<&str> = runs
        .iter()
        .map(|r| match r.outcome {
            Outcome::Done(_) => "done",
            Outcome::Failed(_) => "failed",
            Outcome::NotStarted => "not started",
        })
        .collect();
    assert_eq!(kinds, ["done", "failed", "not started", "not started", "not started"]);
    for db in &tenants[2..] {
        assert!(!db.connect().has_table("_migrate_history"), "a tenant not started was touched");
    }
}

on_every_backend!(one_failing_tenant_among_healthy_ones, fail_fast_leaves_the_rest_untouched);
