//! The replay of a real folder through the revision writer (`migrate new --from`'s core): for every revision, the
//! schema before and after it (the folder applied up to it, on a database of the folder's backend), a revision
//! written from one to the other, its up applied to a second database at the schema before (it must give the one
//! after) and its down (it must give the one before back). The corpus test and `examples/replay.rs` share it.

use std::collections::BTreeMap;
use std::path::Path;

use migrate::schema::generate::{generate, proof_differences};
use migrate::schema::Sides;
use migrate::testing::TestDatabase;
use migrate::{scan, Backend, Migrator, Revision, ScanOptions, Schema};

/// What the replay of one folder found.
#[derive(Debug, Default)]
pub struct Replay {
    /// The folder's revisions.
    pub revisions: usize,
    /// Those that applied on this server (a project may need an extension it lacks: the replay stops there).
    pub applied: usize,
    /// Those whose written revision passed both proofs.
    pub reproduced: usize,
    /// The revision that did not apply, and the server's message.
    pub stopped: Option<String>,
    /// Each revision not reproduced: `(folder, what failed)`, one entry per kind of difference or failure.
    pub failures: Vec<(String, String)>,
    /// What went wrong, in full: `(folder, the server's message or a difference in words)`.
    pub details: Vec<(String, String)>,
    /// Of the revisions not reproduced, those whose written files carried no `-- migrate:review` mark: the
    /// writer's silent mistakes, where the others told the user what to look at.
    pub unmarked: Vec<String>,
}

impl Replay {
    /// The kinds of what failed, with how many revisions each.
    pub fn kinds(&self) -> BTreeMap<&str, usize> {
        let mut kinds = BTreeMap::new();
        for (_, what) in &self.failures {
            *kinds.entry(what.as_str()).or_default() += 1;
        }
        kinds
    }
}

fn snapshot(db: &mut TestDatabase, revisions: &[Revision]) -> Schema {
    Migrator::new(revisions).snapshot(db).expect("read the schema")
}

/// The kind of object a difference is about: `column`, `index`, `function`, …
fn kind(object: &str) -> &str {
    object.split(' ').next().unwrap_or_default()
}

/// Replays the folder `dir` on `backend`, or `None` when that backend's tests are skipped.
///
/// # Panics
/// If a revision that applied on one database does not apply on the other.
pub fn replay(dir: &Path, backend: Backend) -> Option<Replay> {
    let scanned = scan(dir, &ScanOptions::default().allow_empty_down(true));
    let revisions = scanned.revisions;
    let migrator = Migrator::new(&revisions).allow_empty_down(true);
    let mut a = TestDatabase::empty(backend)?;
    let mut b = TestDatabase::empty(backend)?;
    let mut out = Replay { revisions: revisions.len(), ..Replay::default() };
    let mut before = snapshot(&mut a, &revisions);
    for revision in &revisions {
        if let Err(err) = migrator.upgrade_to(&mut a, revision.version()) {
            out.stopped = Some(format!("{}: {err}", revision.folder()));
            break;
        }
        out.applied += 1;
        let after = snapshot(&mut a, &revisions);
        let mut failed = Vec::new();
        let generated = generate(&before, &after, backend, &[]).expect("no rename is asked");
        for (sql, want, step) in [(&generated.up, &after, "up"), (&generated.down, &before, "down")] {
            // A revision that changes rows, not the schema, is written as nothing, rightly.
            if sql.trim().is_empty() {
                continue;
            }
            if let Err(message) = b.try_execute(sql) {
                out.details.push((revision.folder().to_owned(), format!("the {step} fails: {message}")));
                let words: Vec<&str> = message.split_whitespace().take(4).collect();
                failed.push(format!("{step} fails: {}…", words.join(" ")));
                break;
            }
            let wrong = proof_differences(want, &snapshot(&mut b, &revisions));
            let mut kinds: Vec<String> = wrong.iter().map(|d| format!("{step}: {}", kind(&d.object))).collect();
            kinds.dedup();
            if !kinds.is_empty() {
                let sides = Sides { extra: "is extra", missing: "is missing", expected: "wanted", actual: "got" };
                out.details.extend(wrong.iter().map(|d| (revision.folder().to_owned(), d.words(&sides))));
                failed.extend(kinds);
                break;
            }
        }
        // B is back at the schema before: the revision itself brings it to the one after. Where it does not apply
        // there, the written files changed what the snapshot does not see (an object of another schema).
        if failed.is_empty() {
            if let Err(err) = migrator.upgrade_to(&mut b, revision.version()) {
                let first = err.to_string().lines().next().unwrap_or_default().to_owned();
                out.details.push((revision.folder().to_owned(), format!("the revision does not apply after: {err}")));
                failed.push(format!("the revision does not apply after the down: {first}"));
            }
        }
        if failed.is_empty() {
            out.reproduced += 1;
        } else {
            if generated.review.is_empty() {
                out.unmarked.push(revision.folder().to_owned());
            }
            out.failures.extend(failed.into_iter().map(|what| (revision.folder().to_owned(), what)));
            // B is wherever the failed step left it: made anew at the revision.
            b = TestDatabase::empty(backend)?;
            migrator.upgrade_to(&mut b, revision.version()).expect("the folder applies up to the revision");
        }
        before = after;
    }
    Some(out)
}
