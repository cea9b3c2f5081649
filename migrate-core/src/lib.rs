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

pub mod build;
pub mod config;
pub mod doubt;
pub mod driver;
pub mod error;
pub mod history;
pub mod import;
pub mod lex;
pub mod lock;
pub mod migrator;
pub mod offline;
#[doc(hidden)]
pub mod packed;
pub mod plan;
mod repair;
pub mod revision;
pub mod roundtrip;
mod runner;
pub mod scan;
pub mod schema;
pub mod sql;
pub mod status;

pub use config::{Config, HistoryTable, DEFAULT_LOCK_WAIT};
pub use doubt::InDoubt;
pub use driver::{BriefRow, Continuity, Driver, ExecFailure, LockFailure, RowChange, ScriptFailure, StepFailure};
pub use error::{DbError, Error, ErrorKind, FailureOutcome, MigrationFailure, RedoRefusal};
pub use history::{AppliedRow, ChangedFile, RowState, RowWrite};
pub use import::{Foreign, Imported};
pub use migrator::{Migrator, Offline, Redo};
pub use plan::{Action, Command, OutOfOrder, Plan, Policy, Step, Target};
pub use repair::{Doubtful, Resolution, ResumePoint, Settled};
pub use revision::{Backend, Backends, Checksum, Direction, Revision, RevisionId, Script, ScriptKind};
pub use roundtrip::RoundTrip;
pub use runner::{Observer, Report, StepReport};
pub use scan::{scan, Problem, ProblemKind, Scan, ScanOptions, Severity};
pub use schema::{Difference, Schema};

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    /// Architecture Invariant: the modules of this crate import each other without a cycle, so each can be read,
    /// and tested, from the ones below it.
    #[test]
    fn modules_import_each_other_without_a_cycle() {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut imports: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for entry in std::fs::read_dir(&src).unwrap() {
            let path = entry.unwrap().path();
            let module = path.file_stem().unwrap().to_string_lossy().into_owned();
            if path.extension().is_none_or(|e| e != "rs") || module == "lib" {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            // What the module's own code uses; its tests may reach anywhere.
            let code = text.split("#[cfg(test)]").next().unwrap_or("");
            let used = code
                .match_indices("crate::")
                .map(|(at, _)| code[at + 7..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect())
                .filter(|name: &String| !name.is_empty() && *name != module && src.join(format!("{name}.rs")).exists())
                .collect();
            imports.insert(module, used);
        }
        assert!(imports.len() > 10, "{imports:?}");
        fn visit(
            m: &str,
            imports: &BTreeMap<String, BTreeSet<String>>,
            path: &mut Vec<String>,
            done: &mut BTreeSet<String>,
        ) {
            if let Some(at) = path.iter().position(|p| p == m) {
                panic!("import cycle: {} -> {m}", path[at..].join(" -> "));
            }
            if !done.insert(m.to_owned()) {
                return;
            }
            path.push(m.to_owned());
            for next in &imports[m] {
                visit(next, imports, path, done);
            }
            path.pop();
        }
        let mut done = BTreeSet::new();
        for m in imports.keys() {
            visit(m, &imports, &mut Vec::new(), &mut done);
        }
    }
}
