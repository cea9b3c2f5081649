//! Integration tests of the `migrate` facade: one binary, so the crate and its dependencies link once.

mod common;
mod embedded;
mod sqlite;
mod ui;
