//! What only SQLite can show: the statements a start-up sends, and the connection's settings left as they were.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::common::TempDb;

migrate::migrations!(mod counted = "tests/fixtures/counted");

static STATEMENTS: AtomicUsize = AtomicUsize::new(0);

fn count_statement(_: rusqlite::trace::TraceEvent<'_>) {
    STATEMENTS.fetch_add(1, Ordering::SeqCst);
}

#[test]
fn a_start_up_with_nothing_pending_sends_one_statement() {
    let db = TempDb::new();
    let mut conn = db.open();
    assert_eq!(counted::MIGRATIONS.upgrade(&mut conn).unwrap().steps.len(), 10);
    conn.trace_v2(rusqlite::trace::TraceEventCodes::SQLITE_TRACE_STMT, Some(count_statement));
    let report = counted::MIGRATIONS.upgrade(&mut conn).unwrap();
    conn.trace_v2(rusqlite::trace::TraceEventCodes::empty(), None);
    assert!(report.is_empty());
    assert_eq!(STATEMENTS.load(Ordering::SeqCst), 1, "only the history read");
}

#[test]
fn the_connections_busy_timeout_is_restored() {
    let db = TempDb::new();
    let mut conn = db.open();
    conn.busy_timeout(Duration::from_millis(1234)).unwrap();
    counted::MIGRATIONS.migrator().lock_wait(Duration::from_secs(3)).upgrade(&mut conn).unwrap();
    let timeout: i64 = conn.query_row("PRAGMA busy_timeout", [], |r| r.get(0)).unwrap();
    assert_eq!(timeout, 1234);
}
