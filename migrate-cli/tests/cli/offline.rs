//! The offline script of each dialect, fed to the real database by its own client, leaves the history table (and
//! the schema) that `migrate upgrade` and `migrate downgrade` leave.

use crate::harness::{on_every_backend, Db, Kind, Project};

/// The accounts schema: 31 revisions with overrides, triggers (`DELIMITER` on MySQL), functions, no-transaction
/// index builds and an irreversible revision at 2024-03-20.
const MIDDLE: &str = "2024-02-04-115700";
const ABOVE_IRREVERSIBLE: &str = "20240320121200";

fn offline_script_matches_a_live_run(kind: Kind) {
    let Some(live) = Db::new(kind, &format!("off_live_{}", kind.name())) else { return };
    let offline = Db::new(kind, &format!("off_script_{}", kind.name())).expect("same backend");
    let p = Project::with_fixture("accounts");
    let dialect = kind.name();

    // Upgrade in two parts: base → MIDDLE, then MIDDLE → head, each written without a connection.
    p.run(Some(&live), &["upgrade"]).ok();
    let first = p.run(None, &["sql", "upgrade", MIDDLE, "--dialect", dialect]).ok().stdout.clone();
    offline.feed(&first).unwrap_or_else(|e| panic!("first part failed: {e}\n{first}"));
    assert_eq!(offline.versions().len(), 10);
    let rest = p.run(None, &["sql", "upgrade", "--from", MIDDLE, "--dialect", dialect]).ok().stdout.clone();
    offline.feed(&rest).unwrap_or_else(|e| panic!("second part failed: {e}"));
    assert_eq!(offline.versions().len(), 31);
    assert_eq!(offline.history(), live.history(), "history after upgrade");
    assert_eq!(offline.tables(), live.tables());

    // The record a script leaves is one the command line reads as its own.
    p.run(Some(&offline), &["status"]).ok().says(&["31 applied, 0 pending", "up to date"]);

    // Downgrade down to the irreversible revision, written as the planner decides it (`--from head`).
    p.run(Some(&live), &["downgrade", ABOVE_IRREVERSIBLE]).ok();
    let down = p.run(None, &["sql", "downgrade", ABOVE_IRREVERSIBLE, "--dialect", dialect]).ok().stdout.clone();
    offline.feed(&down).unwrap_or_else(|e| panic!("downgrade failed: {e}"));
    assert_eq!(offline.history(), live.history(), "history after downgrade");
    assert_eq!(offline.tables(), live.tables());
    // Past the irreversible revision the planner refuses, offline as live.
    p.run(None, &["sql", "downgrade", "base", "--dialect", dialect]).code(1).complains(&["is irreversible"]);

    // A script is refused by the history table if the database is not where it assumes: nothing runs twice.
    let again = p.run(None, &["sql", "upgrade", "--dialect", dialect]).ok().stdout.clone();
    assert!(offline.feed(&again).is_err(), "re-applying from base must fail on the existing history rows");
    assert_eq!(offline.history(), live.history());
}

on_every_backend!(offline_script_matches_a_live_run);
