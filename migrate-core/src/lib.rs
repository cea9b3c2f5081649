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
pub mod driver;
pub mod error;
pub mod history;
pub mod lock;
pub mod migrator;
pub mod offline;
pub mod plan;
mod repair;
pub mod revision;
mod runner;
pub mod scan;
pub mod sql;
pub mod status;

pub use driver::{Continuity, Driver, ExecFailure, LockFailure, RowChange, ScriptFailure, StepFailure};
pub use error::{ChangedFile, DbError, Error, FailureOutcome, RedoRefusal, RevisionName};
pub use history::{AppliedRow, HistoryTable, RowState};
pub use migrator::{Config, Migrator, Offline, Redo, DEFAULT_LOCK_WAIT};
pub use plan::{Action, Command, OutOfOrder, Plan, Policy, Step, Target};
pub use repair::{Resolution, ResumePoint};
pub use revision::{Backend, Checksum, Direction, Revision, Script, ScriptKind};
pub use runner::{Observer, Report, StepReport};
pub use scan::{scan, Problem, ProblemKind, Scan, ScanOptions};
