//! `history` records a revision's real time, statement-by-statement revisions included (every MySQL revision,
//! `no-transaction` ones elsewhere), whose ending write is made before their last statement runs.

use crate::harness::{Db, Kind, Project};

fn recorded_duration(kind: Kind, up: &str) {
    let Some(db) = Db::new(kind, &format!("duration_{}", kind.name())) else { return };
    let p = Project::new();
    p.write("0001_slow/up.sql", up).write("0001_slow/down.sql", "SELECT 1;\n");
    p.run(Some(&db), &["upgrade"]).ok();
    let json = p.run(Some(&db), &["history", "--format", "json"]).ok().json();
    let ms = json["revisions"][0]["duration_ms"].as_i64().unwrap();
    // The statement sleeps a second: the record holds at least that (an upper bound would time the machine).
    assert!(ms >= 900, "{kind:?}: recorded {ms} ms for a revision whose last statement sleeps 1 s: {json}");
}

#[test]
fn a_statement_by_statement_revision_records_its_real_time() {
    recorded_duration(Kind::Postgres, "-- migrate:no-transaction\nSELECT 1;\nSELECT pg_sleep(1);\n");
    recorded_duration(Kind::Mysql, "CREATE TABLE t (a INT);\nDO SLEEP(1);\n");
}
