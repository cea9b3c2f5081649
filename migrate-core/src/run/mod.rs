//! Running a plan against a database: the [`driver`] trait a database crate implements, the [`lock`] and the
//! guards that release it, the runner (the order of operations and the statement-by-statement protocol, once), the
//! tries again after a lock wait ran out, and [`offline`] scripts that write the same protocol as SQL text. It imports everything below it: the model, `sql`,
//! `folder`, `history`, `schema`, `plan` and the configuration.

pub mod driver;
pub mod lock;
pub mod offline;
pub(crate) mod retry;
pub(crate) mod runner;
