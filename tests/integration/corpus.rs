//! Real projects' revision folders, the judge of every folder rule: `../shared/corpus/<project>/migrations/<backend>`
//! beside the repository (or the folder `MIGRATE_CORPUS` names). A user's clone has none: the test then prints a
//! note and passes. Each folder is scanned as the macro and the command line scan it and judged in its backend's
//! dialect (no error may refuse it), applied on its own backend, reverted to base, applied again, and
//! round-tripped with the schema comparison. Where a project's own down file does not undo its up, that is the
//! project's finding, not ours: `tests/corpus/findings.txt` records each, and any change to them fails the test
//! (`MIGRATE_CORPUS_BLESS=1` writes the file anew, for a reviewed change).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use migrate::testing::TestDatabase;
use migrate::{scan, Backends, Migrator, ScanOptions, Target};

use crate::backend::Kind;

/// The corpus, if there is one here.
pub fn corpus() -> Option<PathBuf> {
    let dir = std::env::var_os("MIGRATE_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"));
    if dir.is_dir() {
        return Some(dir);
    }
    // To stderr itself, past the test harness's capture, as the skipped backends' notes.
    let _ = writeln!(
        std::io::stderr(),
        "note: corpus tests skipped: no real projects' folders at {} (set MIGRATE_CORPUS)",
        dir.display()
    );
    None
}

/// Each folder of the corpus with the backend it is for: `(project/backend, path, kind)`, in name order.
pub fn folders(corpus: &Path) -> Vec<(String, PathBuf, Kind)> {
    let mut found = Vec::new();
    for project in std::fs::read_dir(corpus).expect("read the corpus") {
        let project = project.expect("read the corpus").path();
        let Ok(backends) = std::fs::read_dir(project.join("migrations")) else { continue };
        for folder in backends {
            let folder = folder.expect("read the corpus").path();
            let name = folder.file_name().unwrap().to_string_lossy().into_owned();
            let kind = match name.as_str() {
                "sqlite" => Kind::Sqlite,
                "postgres" | "postgresql" | "pg" => Kind::Postgres,
                "mysql" | "mariadb" => Kind::Mysql,
                _ => continue,
            };
            let project = project.file_name().unwrap().to_string_lossy().into_owned();
            found.push((format!("{project}/{name}"), folder, kind));
        }
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found
}

/// What a folder's trips found, one line each, prefixed with the folder's name.
fn findings(name: &str, dir: &Path, kind: Kind) -> Option<Vec<String>> {
    let scanned = scan(dir, &ScanOptions::default().allow_empty_down(true));
    let backend = match kind {
        Kind::Sqlite => migrate::Backend::Sqlite,
        Kind::Postgres => migrate::Backend::Postgres,
        Kind::Mysql => migrate::Backend::Mysql,
    };
    // An error for its own backend is a finding: the findings file shows it for review, since a check that refuses
    // what a real project's database ran is a regression, and one that finds a file the server would refuse (a
    // down file that cannot run, say) is the project's.
    let mut found: Vec<String> = scanned
        .problems
        .iter()
        .filter(|p| p.refuses_build_for(Backends::only(backend)))
        .map(|p| format!("{name}: refused: {p}"))
        .collect();
    assert!(!scanned.revisions.is_empty(), "{name}: read as an empty folder");
    let revisions = scanned.revisions;
    let migrator = Migrator::new(&revisions).allow_empty_down(true);

    // Applied, reverted to base, applied again, on a database of its own (a project may create extensions).
    let mut db = TestDatabase::empty(backend)?;
    let conn = db.connection();
    match migrator.upgrade(conn) {
        Ok(applied) => assert_eq!(applied.steps.len(), revisions.len(), "{name}"),
        // A project that needs what this server lacks (an extension, say) does not apply here: the finding names
        // the revision and the server's error, for review; nothing more of it can be tried.
        Err(err) => {
            found.push(format!("{name}: upgrade: {}", said(&err)));
            return Some(found);
        }
    }
    // A down that fails part way may leave its revision dirty: the finding says so, and the round trip below,
    // on fresh databases, goes on past it.
    match migrator.downgrade_to(conn, Target::Base) {
        Ok(reverted) => {
            assert_eq!(reverted.steps.len(), revisions.len(), "{name}");
            // Placeholder downs run as no-ops leave what their ups made: applying again may then fail.
            if let Err(err) = migrator.upgrade(conn) {
                found.push(format!("{name}: upgrade again: {}", said(&err)));
            }
        }
        Err(err) => found.push(format!("{name}: downgrade to base: {}", said(&err))),
    }
    drop(db);

    // The round trip, revision by revision; after a revision whose down does not undo its up, the trip goes on
    // from a database brought to that revision afresh.
    let mut from: Option<String> = None;
    loop {
        let mut db = TestDatabase::empty(backend)?;
        let conn = db.connection();
        if let Some(version) = &from {
            migrator.upgrade_to(conn, version.as_str()).unwrap_or_else(|err| panic!("{name}: to {version}: {err}"));
        }
        let trip = match migrator.round_trip(conn) {
            Ok(trip) => trip,
            // A project's own file that fails on its own backend (a down file with a typo, say) is its finding.
            Err(err @ migrate::Error::Migration(_)) => {
                found.push(format!("{name}: {}", said(&err)));
                let migrate::Error::Migration(failure) = err else { unreachable!() };
                from = Some(failure.revision.version.clone());
                continue;
            }
            Err(err) => panic!("{name}: round trip: {err}"),
        };
        for (revision, outcome) in &trip.checked {
            if let migrate::roundtrip::Outcome::NotReversible(reason) = outcome {
                found.push(format!("{name}: {revision} not reversible: {reason}"));
            }
        }
        let Some(failure) = trip.failure else { break };
        found.extend(failure.sentences().into_iter().map(|s| format!("{name}: {s}")));
        from = Some(failure.revision.version.clone());
    }
    Some(found)
}

/// An error in one line: its first two lines (what failed, and the statement) and the database's own message.
fn said(err: &migrate::Error) -> String {
    let text = err.to_string();
    let mut line = text.lines().take(2).map(str::trim).collect::<Vec<_>>().join(": ");
    if let Some(source) = std::error::Error::source(err) {
        line.push_str(&format!(" ({source})"));
    }
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn real_projects_folders_apply_revert_and_round_trip() {
    let Some(corpus) = corpus() else { return };
    let mut all = Vec::new();
    let mut skipped = false;
    for (name, dir, kind) in folders(&corpus) {
        match findings(&name, &dir, kind) {
            Some(found) => all.extend(found),
            None => skipped = true,
        }
    }
    held_to("findings.txt", &all, skipped);
}

/// Holds `lines` (each `<project>/<backend>: …`) to the record `tests/corpus/<file>`: any change fails, unless
/// `MIGRATE_CORPUS_BLESS=1` asks to write the record anew (a reviewed change). Where a backend was skipped, only the
/// folders that ran are compared.
fn held_to(file: &str, lines: &[String], skipped: bool) {
    let expected_file = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus").join(file);
    let text = lines.iter().map(|line| format!("{line}\n")).collect::<String>();
    if std::env::var_os("MIGRATE_CORPUS_BLESS").is_some() {
        assert!(!skipped, "every backend must run to write {file}");
        std::fs::write(&expected_file, &text).expect("write the record");
        return;
    }
    let expected = std::fs::read_to_string(&expected_file).unwrap_or_default();
    let expected: Vec<&str> = expected.lines().collect();
    let kept: Vec<&str> = if skipped {
        // A backend without a URL ran nothing: compare only the folders that ran.
        expected
            .iter()
            .copied()
            .filter(|line| lines.iter().any(|a| a.split(':').next() == line.split(':').next()))
            .collect()
    } else {
        expected
    };
    assert_eq!(
        lines.iter().map(String::as_str).collect::<Vec<_>>(),
        kept,
        "tests/corpus/{file} no longer holds; if the change is right, run with MIGRATE_CORPUS_BLESS=1 and review the diff"
    );
}

/// The revision writer (`migrate new --from`) on real folders: for every revision, a revision written from the
/// schema before it to the schema after it must give the one after, and its down the one before
/// (`migrate_test_support::replay`). What it reproduces per folder, the kinds of change it does not, and the
/// revisions it got wrong without a `-- migrate:review` mark (a silent mistake, where the others tell the user
/// what to look at) are held to `tests/corpus/replay.txt`, one line per folder. A folder the record has no line
/// for has no baseline yet: its line is printed, to be recorded with `MIGRATE_CORPUS_BLESS=1`.
#[test]
fn real_projects_revisions_are_written_again() {
    let Some(corpus) = corpus() else { return };
    let record = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/replay.txt");
    let recorded = std::fs::read_to_string(&record).unwrap_or_default();
    let bless = std::env::var_os("MIGRATE_CORPUS_BLESS").is_some();
    let (mut lines, mut changed) = (Vec::new(), Vec::new());
    for (name, dir, kind) in folders(&corpus) {
        let Some(found) = migrate_test_support::replay::replay(&dir, kind.backend()) else {
            assert!(!bless, "every backend must run to write {}", record.display());
            continue;
        };
        let kinds: Vec<String> = found.kinds().iter().map(|(k, n)| format!("{k} ({n})")).collect();
        let mut line = format!("{name}: {} of {} reproduced", found.reproduced, found.applied);
        if let Some(stopped) = &found.stopped {
            // Where the folder itself does not apply on this server (an extension it lacks, say).
            let at = stopped.split(':').next().unwrap_or_default();
            line.push_str(&format!("; the folder stops applying at {at} of {}", found.revisions));
        }
        if !kinds.is_empty() {
            line.push_str(&format!("; not: {}", kinds.join(", ")));
        }
        if !found.unmarked.is_empty() {
            line.push_str(&format!("; unmarked: {}", found.unmarked.join(", ")));
        }
        match recorded.lines().find(|l| l.split(": ").next() == Some(name.as_str())) {
            Some(held) if held != line => changed.push(format!("  was: {held}\n  now: {line}")),
            Some(_) => {}
            None => {
                let _ = writeln!(std::io::stderr(), "note: {name} is not in {}: {line}", record.display());
            }
        }
        lines.push(line);
    }
    if bless {
        std::fs::write(&record, lines.iter().map(|l| format!("{l}\n")).collect::<String>()).expect("write the record");
        return;
    }
    assert!(
        changed.is_empty(),
        "the writer's replay of real folders changed; if the change is right, run with MIGRATE_CORPUS_BLESS=1 and \
         review the diff:\n{}",
        changed.join("\n")
    );
}
