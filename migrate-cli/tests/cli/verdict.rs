//! One verdict: `migrate verify` and `migrations!()` decide every folder problem through the same code, so a folder
//! `verify` passes compiles, and the other way round. Every `migrations!()` call in the repository is a case: the
//! crates that build (the integration tests, the examples, the facade, the trybuild `pass` cases) and the
//! trybuild compile-fail cases whose error is about their folder; `verify` is run on the same folder, judged for
//! the same backends and with the same `allow_empty_down`, and must agree. (Real projects' folders are compiled by
//! `tests/integration/ui.rs` where their scan finds no error for their backend, and their errors are findings of
//! `tests/integration/corpus.rs`.)

use std::path::{Path, PathBuf};

use crate::harness::run;

/// A `migrations!()` call: the folder, the backends it names, whether it allows empty downs, and whether its crate
/// builds.
struct Case {
    source: PathBuf,
    folder: PathBuf,
    backends: Vec<String>,
    allow_empty_down: bool,
    builds: bool,
}

fn calls(source: &Path, builds: bool, root: &Path) -> Vec<Case> {
    let text = std::fs::read_to_string(source).unwrap();
    let mut cases = Vec::new();
    for (at, _) in text.match_indices("migrations!(") {
        let args = &text[at + "migrations!(".len()..];
        let args = &args[..args.find(");").unwrap_or(args.len())];
        let Some(open) = args.find('"') else { continue };
        let Some(len) = args[open + 1..].find('"') else { continue };
        let folder = root.join(&args[open + 1..open + 1 + len]);
        let backends = args
            .find("backends(")
            .map(|b| {
                let list = &args[b + "backends(".len()..];
                list[..list.find(')').unwrap()].split(',').map(|s| s.trim().to_owned()).collect()
            })
            .unwrap_or_default();
        let allow_empty_down = args.contains("allow_empty_down");
        cases.push(Case { source: source.to_owned(), folder, backends, allow_empty_down, builds });
    }
    cases
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect();
    files.sort();
    files
}

#[test]
fn verify_agrees_with_the_macro_on_every_folder() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut cases = Vec::new();
    for dir in ["tests/integration", "examples", "src", "tests/ui/pass"] {
        for file in rust_files(&root.join(dir)) {
            cases.extend(calls(&file, true, &root));
        }
    }
    for file in rust_files(&root.join("tests/ui")) {
        let text = std::fs::read_to_string(&file).unwrap();
        let stderr = std::fs::read_to_string(file.with_extension("stderr")).unwrap_or_default();
        for case in calls(&file, false, &root) {
            let shown = case.folder.strip_prefix(&root).unwrap().display().to_string();
            // Cases refused for something else than their folder (an option, the attribute macro), the one that
            // turns a warning into an error, and the lint's levels given to the macro, say nothing of the folder's
            // verdict.
            if stderr.contains(&format!("{shown}/")) && !text.contains("deny(deprecated)") && !text.contains("lint(") {
                cases.push(case);
            }
        }
    }
    assert!(cases.len() >= 20, "found only {} migrations!() calls", cases.len());
    let mut checked = 0;
    for case in cases.iter().filter(|c| c.folder.is_dir()) {
        let dialects: Vec<Option<&str>> = if case.backends.is_empty() {
            vec![None]
        } else {
            case.backends.iter().map(|b| Some(b.as_str())).collect()
        };
        // The macro refuses if any backend it targets refuses: verify, once per backend, likewise.
        let mut refused = false;
        for dialect in dialects {
            let dir = case.folder.display().to_string();
            let mut args = vec!["--dir", dir.as_str(), "verify"];
            if let Some(dialect) = dialect {
                args.extend(["--dialect", dialect]);
            }
            if case.allow_empty_down {
                args.push("--allow-empty-down");
            }
            let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_migrate"));
            cmd.args(&args).env_remove("DATABASE_URL").env("NO_COLOR", "1").current_dir(&root);
            let result = run(cmd, &args);
            assert!(matches!(result.code, 0 | 4), "{}: {}", case.source.display(), result.stdout);
            refused |= result.code == 4;
        }
        assert_eq!(
            refused,
            !case.builds,
            "{}: migrations!(\"{}\") {} but `migrate verify` {}",
            case.source.display(),
            case.folder.display(),
            if case.builds { "compiles" } else { "is refused" },
            if refused { "refuses it" } else { "passes it" }
        );
        checked += 1;
    }
    assert!(checked >= 15, "checked only {checked} folders");
}
