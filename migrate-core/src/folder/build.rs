//! For build scripts: make Cargo rebuild the crate when a revision folder is added or removed.
//!
//! `migrations!()` embeds each file with `include_str!`, so editing a file already rebuilds; a new folder is only
//! noticed when the build script asks Cargo to watch the directory:
//!
//! ```no_run
//! // build.rs: `fn main() { migrate_core::build::watch("migrations"); }`
//! migrate_core::build::watch("migrations");
//! ```

/// Tells Cargo to rerun the build script, and so rebuild the crate, when anything under `dir` (relative to the
/// crate's `Cargo.toml`) changes.
pub fn watch(dir: &str) {
    println!("cargo:rerun-if-changed={dir}");
}
