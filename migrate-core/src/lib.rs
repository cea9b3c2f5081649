//! The engine of the `migrate` toolkit: the revision model, the folder scanner shared by the `migrations!()` macro
//! and the command line, the planner, the runner and the [`Driver`] trait that database drivers implement.
//!
//! This crate opens no database connection and depends on no SQL client. Applications use the `migrate` facade
//! crate, which re-exports what is public here:
//!
//! ```
//! use migrate_core::{plan, Backend, Command, Policy, Target};
//! # let revisions: Vec<migrate_core::Revision> = Vec::new();
//! // A pure plan: what `upgrade head` would do to a database with an empty history.
//! let plan = plan::plan(&revisions, &[], &Command::Upgrade(Target::Head), &Policy::new(Backend::Sqlite))?;
//! assert!(plan.is_empty());
//! # Ok::<(), migrate_core::Error>(())
//! ```

pub mod config;
pub mod db;
pub mod error;
pub mod fleet;
pub mod folder;
pub mod history;
pub mod lint;
pub mod migrator;
pub mod plan;
mod repair;
pub mod revision;
pub mod run;
pub mod schema;
pub mod sql;

// The modules by their earlier paths, which the drivers, the macro and the command line name.
pub use folder::{build, packed, scan};
pub use plan::status;
pub use repair::import;
pub use run::{driver, lock, offline};
pub use schema::roundtrip;
pub use sql::{doubt, lex};

pub use config::{Cancel, Config, HistoryTable, DEFAULT_LOCK_RETRY, DEFAULT_LOCK_TIMEOUT, DEFAULT_LOCK_WAIT};
pub use doubt::InDoubt;
pub use driver::{Continuity, Driver, ExecFailure, LockFailure, RowChange, ScriptFailure, StepFailure};
pub use error::{DbError, Error, ErrorKind, FailureOutcome, MigrationFailure, RedoRefusal, Refusal, StopPoint};
pub use history::{AppliedRow, BriefRow, Cells, ChangedFile, Reader, RowState, RowWrite};
pub use import::{Foreign, Imported};
pub use migrator::{Migrator, Offline, Redo};
pub use plan::{Action, Command, OutOfOrder, Plan, Policy, Step, Target};
pub use repair::{Doubtful, Resolution, ResumePoint, Settled};
pub use revision::{Backend, Backends, Checksum, Direction, Revision, RevisionId, Script, ScriptKind};
pub use roundtrip::RoundTrip;
pub use run::runner::{Observer, Report, StepReport};
pub use scan::{scan, Problem, ProblemKind, Scan, ScanOptions, Severity};
pub use schema::{Difference, Schema};

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// The stages of the crate, lowest first: a top-level file or a folder each.
    const LAYERS: &[&str] = &[
        "revision", "sql", "lint", "folder", "db", "history", "schema", "error", "plan", "config", "run", "repair",
        "migrator", "fleet",
    ];

    /// Architecture Invariant: the crate is layered by stage. A file imports only its own folder and the stages
    /// below it ([`LAYERS`]), so each can be read, and tested, from the ones below it, and no import cycle exists.
    #[test]
    fn each_stage_imports_only_the_stages_below_it() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        let mut stack = vec![src.clone()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    files.push(path);
                }
            }
        }
        // A module re-exported at its earlier path counts as the stage it lives in.
        let aliases = [
            ("scan", "folder"),
            ("packed", "folder"),
            ("build", "folder"),
            ("status", "plan"),
            ("import", "repair"),
            ("driver", "run"),
            ("lock", "run"),
            ("offline", "run"),
            ("roundtrip", "schema"),
            ("doubt", "sql"),
            ("lex", "sql"),
        ];
        let rank = |name: &str| {
            let name = aliases.iter().find(|(alias, _)| *alias == name).map_or(name, |(_, stage)| stage);
            LAYERS.iter().position(|l| *l == name)
        };
        let mut checked = 0;
        for path in &files {
            let relative = path.strip_prefix(&src).unwrap();
            let first = relative.components().next().unwrap().as_os_str().to_string_lossy();
            let stage = first.trim_end_matches(".rs").to_owned();
            if stage == "lib" {
                continue;
            }
            let own = rank(&stage).unwrap_or_else(|| panic!("{}: a stage not in LAYERS", relative.display()));
            let text = std::fs::read_to_string(path).unwrap();
            // What the file's own code uses; its tests may reach anywhere.
            let code = text.split("#[cfg(test)]").next().unwrap_or("");
            for (at, _) in code.match_indices("crate::") {
                let used: String =
                    code[at + 7..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                let Some(theirs) = rank(&used) else { continue };
                assert!(
                    theirs <= own,
                    "{} ({stage}) imports {used}, a stage above it: move what it needs down, or it up",
                    relative.display()
                );
            }
            checked += 1;
        }
        assert!(checked > 20, "only {checked} files read");
    }
}
