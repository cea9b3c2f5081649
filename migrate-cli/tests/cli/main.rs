//! The `migrate` command line driven as a real process: one test binary, so it links once.

mod chaos;
mod dialects;
mod durations;
mod fleet;
mod galera;
mod generate;
mod harness;
mod layouts;
mod lint;
mod local;
mod offline;
mod pooler;
mod postgres;
mod problems;
mod readme;
mod schema;
mod secrets;
mod sessions;
mod stops;
mod trip;
mod verdict;
