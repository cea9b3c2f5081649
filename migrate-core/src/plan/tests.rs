//! Planner rules, table-driven through one `check()`.

use super::*;
use crate::history::RowState;
use crate::revision::Checksum;

fn script(file: &str, sql: &str, kind: ScriptKind, transaction: bool) -> Script {
    Script::new_owned(file.to_owned(), None, sql.to_owned(), kind, transaction)
}

fn rev(version: &str, name: &str, up: Script, down: Script) -> Revision {
    Revision::new_owned(version.to_owned(), name.to_owned(), format!("{version}_{name}"), vec![up], vec![down])
}

/// 0001..0005: plain, plain, irreversible down, no-transaction up, empty down.
fn revisions() -> Vec<Revision> {
    let sql = |text: &str| script("up.sql", text, ScriptKind::Sql, true);
    let down = |text: &str| script("down.sql", text, ScriptKind::Sql, true);
    vec![
        rev("0001", "users", sql("create table users (id int);"), down("drop table users;")),
        rev("0002", "email", sql("alter table users add email text;"), down("alter table users drop email;")),
        rev(
            "0003",
            "lossy",
            sql("alter table users drop email;"),
            script("down.sql", "-- migrate:irreversible\n", ScriptKind::Irreversible, true),
        ),
        rev(
            "0004",
            "index",
            script("up.sql", "-- migrate:no-transaction\ncreate index i on users (id);", ScriptKind::Sql, false),
            down("drop index i;"),
        ),
        rev("0005", "placeholder", sql("select 1;"), script("down.sql", "-- nothing\n", ScriptKind::Empty, true)),
    ]
}

fn row_for(r: &Revision) -> AppliedRow {
    let down = r.down(Backend::Sqlite);
    AppliedRow {
        version: r.version().to_owned(),
        name: r.name().to_owned(),
        up_checksum: r.up(Backend::Sqlite).checksum(),
        down_checksum: down.recorded_checksum(),
        down_sql: (down.kind() != ScriptKind::Irreversible).then(|| down.sql().to_owned()),
        applied_at: "2024-01-01T00:00:00.000Z".to_owned(),
        duration_ms: 1,
        state: RowState::Applied,
        statements_done: 0,
        progress_checksum: None,
        error: None,
        in_doubt: false,
        runner: None,
        tries: 1,
    }
}

fn rows(versions: &[&str]) -> Vec<AppliedRow> {
    let all = revisions();
    versions
        .iter()
        .map(|v| match all.iter().find(|r| r.version() == *v) {
            Some(r) => row_for(r),
            None => {
                let mut row = row_for(&all[0]);
                row.version = (*v).to_owned();
                row.name = "from_elsewhere".to_owned();
                row.down_sql = Some("drop table elsewhere;".to_owned());
                row
            }
        })
        .collect()
}

fn command(text: &str) -> Command {
    let (verb, target) = text.split_once(' ').unwrap();
    let target = Target::parse(target);
    match verb {
        "up" => Command::Upgrade(target),
        "down" => Command::Downgrade(target),
        "stamp" => Command::Stamp(target),
        _ => panic!("bad verb {verb}"),
    }
}

fn render(plan: &Plan<'_>) -> String {
    let steps: Vec<String> = plan
        .steps
        .iter()
        .map(|s| {
            let sign = match s.action {
                Action::Apply => "+",
                Action::Revert if s.script.is_none() => "~",
                Action::Revert => "-",
                Action::StampApplied => "=",
                Action::StampReverted => "x",
            };
            format!("{sign}{}", s.revision.version)
        })
        .collect();
    steps.join(" ")
}

/// Plans `cmd` against `applied` (rows tweaked by `edit`) and compares with `expected`: the steps (`+` apply,
/// `-` revert, `~` no-op revert, `=` stamp applied, `x` stamp reverted) or the error's kind.
fn check_with(applied: Vec<AppliedRow>, cmd: &str, policy: Policy, expected: Result<&str, &str>) {
    let revisions = revisions();
    let got = plan(&revisions, &applied, &command(cmd), &policy);
    let got = got.as_ref().map(render).map_err(|err| format!("{:?}", err.kind()));
    let got = got.as_ref().map(String::as_str).map_err(String::as_str);
    let versions: Vec<&str> = applied.iter().map(|r| r.version.as_str()).collect();
    assert_eq!(got, expected, "applied {versions:?}, command `{cmd}`");
}

fn check(applied: &[&str], cmd: &str, expected: Result<&str, &str>) {
    check_with(rows(applied), cmd, Policy::new(Backend::Sqlite), expected);
}

const ALL: &[&str] = &["0001", "0002", "0003", "0004", "0005"];

#[test]
fn upgrade_targets() {
    check(&[], "up head", Ok("+0001 +0002 +0003 +0004 +0005"));
    check(&["0001", "0002"], "up head", Ok("+0003 +0004 +0005"));
    check(ALL, "up head", Ok(""));
    check(&[], "up +2", Ok("+0001 +0002"));
    check(&["0001"], "up +1", Ok("+0002"));
    check(&["0001"], "up +5", Err("NotEnough"));
    check(&[], "up +0", Err("TargetNotFound"));
    check(&[], "up -1", Err("TargetNotFound"));
    check(&[], "up 0002", Ok("+0001 +0002"));
    check(&[], "up 2", Err("TargetNotFound"));
    check(&[], "up 0002_email", Ok("+0001 +0002"));
    check(&[], "up email", Ok("+0001 +0002"));
    check(&["0001", "0002"], "up 0002", Ok(""));
    check(&[], "up 000", Err("TargetNotFound"));
    check(&[], "up nope", Err("TargetNotFound"));
    check(&["0001", "0002", "0003"], "up 0002", Err("WrongDirection"));
    check(&[], "up base", Err("TargetNotFound"));
}

#[test]
fn downgrade_targets() {
    check(&["0001", "0002"], "down -1", Ok("-0002"));
    check(&["0001", "0002"], "down base", Ok("-0002 -0001"));
    check(&["0001", "0002"], "down -2", Ok("-0002 -0001"));
    check(&["0001", "0002"], "down -3", Err("NotEnough"));
    check(&["0001", "0002"], "down +1", Err("TargetNotFound"));
    check(&["0001", "0002", "0003", "0004"], "down 0003", Ok("-0004"));
    check(&["0001", "0002", "0003", "0004"], "down lossy", Ok("-0004"));
    check(&["0001", "0002", "0003", "0004"], "down base", Err("Irreversible"));
    check(&["0001", "0002", "0003", "0004"], "down 0002", Err("Irreversible"));
    check(&["0001"], "down 0002", Err("WrongDirection"));
    check(&["0001", "0003"], "down 0002", Err("TargetNotFound"));
    check(&[], "down base", Ok(""));
    check(&["0001"], "down head", Err("TargetNotFound"));
}

#[test]
fn empty_downgrades_refuse_unless_allowed() {
    check(ALL, "down -1", Err("EmptyDown"));
    let allow = Policy { allow_empty_down: true, ..Policy::new(Backend::Sqlite) };
    check_with(rows(ALL), "down -2", allow, Ok("~0005 -0004"));
}

#[test]
fn stamp_targets() {
    check(&["0001", "0002"], "stamp 0004", Ok("=0003 =0004"));
    check(&["0001", "0002", "0003", "0004"], "stamp 0002", Ok("x0004 x0003"));
    check(&["0001", "0002"], "stamp base", Ok("x0002 x0001"));
    check(&["0001"], "stamp head", Ok("=0002 =0003 =0004 =0005"));
    check(&["0001"], "stamp +1", Err("TargetNotFound"));
    // Stamping past a revision the binary does not know removes its record.
    check(&["0001", "9999"], "stamp 0001", Ok("x9999"));
}

#[test]
fn out_of_order_is_refused_by_default() {
    check(&["0001", "0003"], "up head", Err("OutOfOrder"));
    check(&["0001", "0003"], "up +1", Err("OutOfOrder"));
    let allow = Policy { out_of_order: OutOfOrder::Allow, ..Policy::new(Backend::Sqlite) };
    check_with(rows(&["0001", "0003"]), "up head", allow, Ok("+0002 +0004 +0005"));
}

#[test]
fn unknown_applied_revisions() {
    check(&["0001", "9999"], "up head", Err("UnknownApplied"));
    // A downgrade reverts them with the down SQL kept in the history table.
    check(&["0001", "9999"], "down -1", Ok("-9999"));
    check(&["0001", "9999"], "down base", Ok("-9999 -0001"));
    let mut irreversible = rows(&["0001", "9999"]);
    irreversible[1].down_sql = None;
    check_with(irreversible, "down -1", Policy::new(Backend::Sqlite), Err("Irreversible"));
}

#[test]
fn refusals_before_anything_runs() {
    let mut dirty = rows(&["0001", "0002"]);
    dirty[1].state = RowState::Upgrading;
    check_with(dirty.clone(), "up head", Policy::new(Backend::Sqlite), Err("Dirty"));
    check_with(dirty, "down base", Policy::new(Backend::Sqlite), Err("Dirty"));

    let mut changed = rows(&["0001", "0002"]);
    changed[0].up_checksum = Checksum::of("something else");
    check_with(changed.clone(), "up head", Policy::new(Backend::Sqlite), Err("ChecksumMismatch"));
    check_with(changed, "stamp head", Policy::new(Backend::Sqlite), Err("ChecksumMismatch"));
    let mut changed_down = rows(&["0001"]);
    changed_down[0].down_checksum = None;
    check_with(changed_down, "down -1", Policy::new(Backend::Sqlite), Err("ChecksumMismatch"));

    let single = Policy { single_transaction: true, ..Policy::new(Backend::Sqlite) };
    check_with(rows(&[]), "up head", single, Err("NotTransactional"));
    check_with(rows(&[]), "up 0003", single, Ok("+0001 +0002 +0003"));
}

#[test]
fn checksum_mismatch_names_every_file() {
    let revisions = revisions();
    let mut applied = rows(&["0001", "0002"]);
    applied[0].up_checksum = Checksum::of("x");
    applied[1].down_checksum = Some(Checksum::of("y"));
    let err = plan(&revisions, &applied, &Command::Upgrade(Target::Head), &Policy::new(Backend::Sqlite)).unwrap_err();
    let Error::ChecksumMismatch { changes } = &err else { panic!("{err:?}") };
    let files: Vec<&str> = changes.iter().map(|c| c.file.as_str()).collect();
    assert_eq!(files, ["0001_users/up.sql", "0002_email/down.sql"]);
    let text = err.to_string();
    assert!(
        text.contains("0001 (users) 0001_users/up.sql") && text.contains("0002 (email) 0002_email/down.sql"),
        "{text}"
    );
}

#[test]
fn target_parsing() {
    assert_eq!(Target::parse("head"), Target::Head);
    assert_eq!(Target::parse("base"), Target::Base);
    assert_eq!(Target::parse("+3"), Target::Relative(3));
    assert_eq!(Target::parse("-2"), Target::Relative(-2));
    assert_eq!(Target::parse("2024-01-14"), Target::Revision("2024-01-14".into()));
    assert_eq!(Target::Relative(-2).to_string(), "-2");
}
