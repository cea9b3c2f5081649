//! The README's Quickstart, followed literally: its shell block makes a new crate, its `Cargo.toml` lines replace the
//! empty `[dependencies]` that `cargo new` wrote (with the path pointing at this checkout), its `build.rs` and
//! `src/main.rs` are written as they are, and `cargo run` must print what the README says, twice. Then the item form
//! (a second revision and another `main`) must print what the README says, and docs/testing.md's tests, added to the
//! same crate as that guide says, must pass on every backend this run has. A README or guide that drifts from the
//! code fails.
//!
//! It builds a crate from scratch (a few minutes), so it runs where `MIGRATE_README_TEST=1` is set (`.ci/run` sets
//! it) and otherwise prints a note.

use std::path::Path;
use std::process::Command;

/// The fenced blocks of `text` (its lines between ``` fences), in order.
fn blocks(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut open: Option<String> = None;
    for line in text.lines() {
        match (&mut open, line.starts_with("```")) {
            (None, true) => open = Some(String::new()),
            (Some(block), true) => {
                found.push(std::mem::take(block));
                open = None;
            }
            (Some(block), false) => {
                block.push_str(line);
                block.push('\n');
            }
            (None, false) => {}
        }
    }
    found
}

/// The block of the Quickstart whose first line starts with `first`.
fn block<'b>(quickstart: &'b [String], first: &str) -> &'b str {
    quickstart
        .iter()
        .find(|b| b.starts_with(first))
        .unwrap_or_else(|| panic!("the README's Quickstart has no block starting `{first}`"))
}

/// The block of guide `text` whose first line starts with `first`.
fn block_of(text: &str, first: &str) -> String {
    blocks(text).into_iter().find(|b| b.starts_with(first)).unwrap_or_else(|| panic!("no block starting `{first}`"))
}

fn run(command: &mut Command, what: &str) -> String {
    let out = command.output().unwrap_or_else(|err| panic!("{what}: {err}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{what} failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

#[test]
fn the_quickstart_builds_and_runs_as_written() {
    if std::env::var_os("MIGRATE_README_TEST").is_none() {
        eprintln!("note: the README's Quickstart was not followed (set MIGRATE_README_TEST=1 to build it)");
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let start = readme.find("## Quickstart").expect("a Quickstart section");
    let end = start + 3 + readme[start + 3..].find("\n## ").unwrap_or(readme.len() - start - 3);
    let quickstart = blocks(&readme[start..end]);

    let dir = tempfile::tempdir().unwrap();
    run(
        Command::new("sh").arg("-c").arg(block(&quickstart, "cargo new app")).current_dir(dir.path()),
        "the shell block",
    );
    let app = dir.path().join("app");
    let manifest = std::fs::read_to_string(app.join("Cargo.toml")).unwrap();
    let manifest = manifest.trim_end().strip_suffix("[dependencies]").expect("cargo new ends with [dependencies]");
    let dependencies = block(&quickstart, "# Cargo.toml").replace("/path/to/migrate", &root.display().to_string());
    std::fs::write(app.join("Cargo.toml"), format!("{manifest}{dependencies}")).unwrap();
    std::fs::write(app.join("build.rs"), block(&quickstart, "// build.rs")).unwrap();
    std::fs::write(app.join("src/main.rs"), block(&quickstart, "// src/main.rs")).unwrap();

    // Built apart from the workspace (its own lock file, as a user's), in a target directory kept between runs.
    let cargo = || {
        let mut cargo = Command::new(env!("CARGO"));
        cargo
            .args(["run", "--quiet"])
            .current_dir(&app)
            .env("CARGO_TARGET_DIR", root.join("target/readme"))
            .env_remove("RUSTFLAGS");
        cargo
    };
    let first = run(&mut cargo(), "cargo run");
    assert!(readme.contains(&format!("prints `{}`", first.trim())), "the README does not say `{}`", first.trim());
    assert_eq!(first.trim(), "1 revision(s) applied");
    let second = run(&mut cargo(), "cargo run, again");
    assert_eq!(second.trim(), "0 revision(s) applied");
    assert!(!app.join("app.db-migrate-lock").exists(), "nothing left beside the database");

    // On PostgreSQL: the feature line in place of the first, the other main, a database of its own.
    if let Some(db) = migrate::testing::TestDatabase::empty(migrate::Backend::Postgres) {
        let line = block_of(&readme, "migrate = { path = \"/path/to/migrate\", features")
            .replace("/path/to/migrate", &root.display().to_string());
        let manifest = std::fs::read_to_string(app.join("Cargo.toml")).unwrap();
        let first = manifest.lines().find(|l| l.starts_with("migrate = ")).expect("the dependency line").to_owned();
        std::fs::write(app.join("Cargo.toml"), manifest.replace(&first, line.trim_end())).unwrap();
        std::fs::write(app.join("src/main.rs"), block_of(&readme, "// src/main.rs, on PostgreSQL")).unwrap();
        let printed = run(cargo().env("DATABASE_URL", db.url()), "cargo run on PostgreSQL");
        assert_eq!(printed.trim(), "1 revision(s) applied");
    }
    // On MySQL: the same main with the connection its comment gives.
    if let Some(db) = migrate::testing::TestDatabase::empty(migrate::Backend::Mysql) {
        let main = block_of(&readme, "// src/main.rs, on PostgreSQL");
        let (line, mysql) = main.lines().find_map(|l| Some((l, l.split_once("// MySQL: ")?.1))).expect("a MySQL line");
        let main = main
            .replace(line, &format!("    let mut conn = {mysql};"))
            .replace("use migrate::client::postgres;", "use migrate::client::mysql;");
        std::fs::write(app.join("src/main.rs"), main).unwrap();
        let manifest = std::fs::read_to_string(app.join("Cargo.toml")).unwrap();
        std::fs::write(app.join("Cargo.toml"), manifest.replace("features = [\"postgres\"]", "features = [\"mysql\"]"))
            .unwrap();
        let printed = run(cargo().env("DATABASE_URL", db.url()), "cargo run on MySQL");
        assert_eq!(printed.trim(), "1 revision(s) applied");
    }

    // The item form, on the same crate and SQLite database.
    run(
        Command::new("sh").arg("-c").arg(block_of(&readme, "mkdir migrations/0002_add_name")).current_dir(&app),
        "the item form's shell block",
    );
    std::fs::write(app.join("src/main.rs"), block_of(&readme, "// src/main.rs, the item form")).unwrap();
    let printed = run(&mut cargo(), "cargo run, the item form");
    assert!(readme.contains(&format!("prints `{}`", printed.trim())), "the README does not say `{}`", printed.trim());

    // docs/testing.md's tests, added to the same crate.
    let guide = std::fs::read_to_string(root.join("docs/testing.md")).unwrap();
    let dev = block_of(&guide, "[dev-dependencies]").replace("/path/to/migrate", &root.display().to_string());
    let manifest = std::fs::read_to_string(app.join("Cargo.toml")).unwrap();
    std::fs::write(app.join("Cargo.toml"), format!("{manifest}\n{dev}")).unwrap();
    std::fs::create_dir_all(app.join("tests")).unwrap();
    std::fs::write(app.join("tests/revisions.rs"), block_of(&guide, "// tests/revisions.rs")).unwrap();
    let tested = run(
        Command::new(env!("CARGO"))
            .args(["test", "--quiet", "--test", "revisions"])
            .current_dir(&app)
            .env("CARGO_TARGET_DIR", root.join("target/readme"))
            .env_remove("RUSTFLAGS"),
        "cargo test, docs/testing.md's tests",
    );
    assert!(tested.contains("test result: ok. 6 passed"), "docs/testing.md says six tests run:\n{tested}");
}
