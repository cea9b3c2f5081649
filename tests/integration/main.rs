//! Integration tests of the `migrate` facade: one binary, so the crate and its dependencies link once.

mod backend;
mod common;
mod corpus;
mod doubt;
mod embedded;
mod fleet;
mod generate;
mod import;
mod lock_guard;
mod locking;
mod mysql;
mod postgres;
mod privileges;
mod readme;
mod scenarios;
mod schema;
mod splitting;
mod sqlite;
mod testing;
mod ui;
