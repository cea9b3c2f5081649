//! The README's command-line session, typed as written: each `$` line runs in an empty directory with this build's
//! `migrate` first on the `PATH` (`/path/to/migrate` is this checkout), and what it prints (stdout and stderr, as a
//! terminal shows them, and `[exit N]`) must be what the README shows, timings and timestamps aside. Then the offline
//! script that docs/command-line.md shows for the session's folder must be what `migrate sql` writes. A README or
//! guide that drifts from the command line fails.

use std::path::Path;
use std::process::Command;

/// The first ```console block after `heading` in `text`.
fn console_block<'t>(text: &'t str, heading: &str) -> &'t str {
    let section = &text[text.find(heading).unwrap_or_else(|| panic!("no `{heading}` section"))..];
    let start = section.find("```console\n").expect("a console block") + "```console\n".len();
    let end = section[start..].find("```").expect("the block's end");
    &section[start..start + end]
}

/// The session's commands, each with the output the README shows for it.
fn steps(block: &str) -> Vec<(String, String)> {
    let mut steps: Vec<(String, String)> = Vec::new();
    for line in block.lines() {
        match line.strip_prefix("$ ") {
            Some(command) => steps.push((command.to_owned(), String::new())),
            None => {
                let (_, output) = steps.last_mut().expect("the block starts with a command");
                output.push_str(line);
                output.push('\n');
            }
        }
    }
    steps
}

/// `text` with what changes from run to run written as placeholders: a duration (`1.3 ms`, `0 ms`) as `N ms`, a
/// timestamp (`2026-11-22T23:26:33.854Z`) as `TIME`; trailing blank lines dropped.
fn normalise(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    let timestamp = |at: usize| {
        let shape = "dddd-dd-ddTdd:dd:dd.dddZ";
        chars.len() >= at + shape.len()
            && shape.chars().zip(&chars[at..]).all(|(s, &c)| if s == 'd' { c.is_ascii_digit() } else { s == c })
    };
    while i < chars.len() {
        let boundary = i == 0 || !chars[i - 1].is_ascii_alphanumeric();
        if boundary && timestamp(i) {
            out.push_str("TIME");
            i += "dddd-dd-ddTdd:dd:dd.dddZ".len();
            continue;
        }
        if boundary && chars[i].is_ascii_digit() {
            let mut j = i;
            while j < chars.len() && (chars[j].is_ascii_digit() || chars[j] == '.') {
                j += 1;
            }
            if chars[j..].starts_with(&[' ', 'm', 's']) && !chars.get(j + 3).is_some_and(|c| c.is_alphanumeric()) {
                out.push_str("N ms");
                i = j + 3;
                continue;
            }
        }
        out.push(chars[i]);
        i += 1;
    }
    out.trim_end().to_owned()
}

#[test]
fn the_readme_session_runs_as_shown() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let bin = Path::new(env!("CARGO_BIN_EXE_migrate")).parent().unwrap();
    let path = std::env::join_paths(
        std::iter::once(bin.to_path_buf()).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut env: Vec<(String, String)> = Vec::new();
    for (command, shown) in steps(console_block(&readme, "## The command line")) {
        let command = command.replace("/path/to/migrate", &root.display().to_string());
        let typed = command.split(" #").next().unwrap().trim();
        if let Some(assignment) = typed.strip_prefix("export ") {
            let (key, value) = assignment.split_once('=').expect("export KEY=VALUE");
            env.push((key.to_owned(), value.to_owned()));
            continue;
        }
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!("exec 2>&1; {typed}"))
            .current_dir(dir.path())
            .env("PATH", &path)
            .env_remove("DATABASE_URL")
            .env_remove("NO_COLOR")
            .env("MIGRATE_COLOR", "never")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .output()
            .unwrap();
        let mut printed = String::from_utf8_lossy(&out.stdout).into_owned();
        if let Some(code) = out.status.code().filter(|&c| c != 0) {
            printed.push_str(&format!("[exit {code}]\n"));
        }
        assert_eq!(normalise(&printed), normalise(&shown), "the README's `$ {command}` prints otherwise");
    }

    let guide = std::fs::read_to_string(root.join("docs/command-line.md")).unwrap();
    let at = guide.find("The script of `migrate sql downgrade 0002 --dialect postgres`").expect("the offline sample");
    let start = at + guide[at..].find("```sql\n").expect("its block") + "```sql\n".len();
    let shown = &guide[start..start + guide[start..].find("```").unwrap()];
    let out = Command::new(env!("CARGO_BIN_EXE_migrate"))
        .args(["sql", "downgrade", "0002", "--dialect", "postgres"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        shown,
        "docs/command-line.md's offline script is not what `migrate sql` writes"
    );
}

#[test]
fn placeholders() {
    assert_eq!(
        normalise("applied    0001 (x)  1.3 ms\n1 step(s) in 12 ms; at 0001\n"),
        "applied    0001 (x)  N ms\n1 step(s) in N ms; at 0001"
    );
    assert_eq!(normalise("0001 applied 2026-11-22T23:26:33.854Z  0 ms\n\n"), "0001 applied TIME  N ms");
    assert_eq!(normalise("v0002 msg 3 msgs"), "v0002 msg 3 msgs");
}
