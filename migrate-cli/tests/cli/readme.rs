//! The README's command-line session, typed as written: each `$` line runs in an empty directory with this build's
//! `migrate` first on the `PATH` (`/path/to/migrate` is this checkout), and what it prints (stdout and stderr, as a
//! terminal shows them, and `[exit N]`) must be what the README shows, timings and timestamps aside. Then the offline
//! script that docs/command-line.md shows for the session's folder must be what `migrate sql` writes. A README or
//! guide that drifts from the command line fails.

use std::path::Path;
use std::process::Command;

use crate::harness::{Db, Kind, Project};

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

/// Types each command of `block` in `dir` with this build's `migrate` first on the `PATH`, and checks that it prints
/// what the block shows; `replace` pairs (a placeholder in the text, its value in this run) apply to both.
fn session(block: &str, dir: &Path, replace: &[(&str, &str)]) {
    let bin = Path::new(env!("CARGO_BIN_EXE_migrate")).parent().unwrap();
    let path = std::env::join_paths(
        std::iter::once(bin.to_path_buf()).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())),
    )
    .unwrap();
    let fill = |text: &str| replace.iter().fold(text.to_owned(), |text, (from, to)| text.replace(from, to));
    let mut env: Vec<(String, String)> = Vec::new();
    for (command, shown) in steps(block) {
        let command = fill(&command);
        let typed = command.split(" #").next().unwrap().trim();
        if let Some(assignment) = typed.strip_prefix("export ") {
            let (key, value) = assignment.split_once('=').expect("export KEY=VALUE");
            env.push((key.to_owned(), value.to_owned()));
            continue;
        }
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!("exec 2>&1; {typed}"))
            .current_dir(dir)
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
        assert_eq!(normalise(&printed), normalise(&fill(&shown)), "`$ {command}` prints otherwise");
    }
}

#[test]
fn the_readme_session_runs_as_shown() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    session(
        console_block(&readme, "## The command line"),
        dir.path(),
        &[("/path/to/migrate", &root.display().to_string())],
    );

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

/// docs/command-line.md's revision that fails part way, on MySQL: the folder is the one its `cat` shows, with a
/// first revision that makes `accounts` and a third that indexes it.
#[test]
fn the_guide_s_failing_revision_runs_as_shown() {
    let Some(db) = Db::new(Kind::Mysql, "readme_failure") else { return };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let guide = std::fs::read_to_string(root.join("docs/command-line.md")).unwrap();
    let block = console_block(&guide, "## A revision that fails part way");
    let (_, backfill) = steps(block).into_iter().find(|(c, _)| c.starts_with("cat ")).expect("the file shown");
    let p = Project::new();
    p.write("0001_accounts/up.sql", "CREATE TABLE accounts (id INT PRIMARY KEY, email VARCHAR(100));\nINSERT INTO accounts VALUES (1, 'Ada@Example.com');\n")
        .write("0001_accounts/down.sql", "DROP TABLE accounts;\n")
        .write("0002_backfill/up.sql", backfill.trim_end_matches('\n'))
        .write("0002_backfill/down.sql", "ALTER TABLE accounts DROP COLUMN domain;\n")
        .write("0003_index/up.sql", "CREATE INDEX accounts_domain ON accounts (domain);\n")
        .write("0003_index/down.sql", "DROP INDEX accounts_domain ON accounts;\n");
    std::fs::write(p.migrations().join("0002_backfill/up.sql"), format!("{}\n", backfill.trim_end())).unwrap();
    session(block, p.path(), &[("mysql://root@127.0.0.1:3306/demo", &db.url), ("'demo.", &format!("'{}.", db.ident))]);
    assert_eq!(db.query("SELECT domain FROM accounts"), [[Some("example.com".to_owned())]]);
}

/// docs/command-line.md's `migrate.toml` is read without complaint, each key from the file.
#[test]
fn the_guide_s_configuration_file_is_read() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let guide = std::fs::read_to_string(root.join("docs/command-line.md")).unwrap();
    let start = guide.find("# migrate.toml\n").expect("the guide's migrate.toml");
    let file: String = guide[start..guide[start..].find("```").unwrap() + start]
        .lines()
        .map(|l| format!("{}\n", l.trim_start()))
        .collect();
    let p = Project::new();
    std::fs::write(p.path().join("migrate.toml"), &file).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_migrate"))
        .arg("config")
        .current_dir(p.path())
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{printed}{}", String::from_utf8_lossy(&out.stderr));
    for key in file.lines().filter_map(|l| l.split_once(" = ")).map(|(k, _)| k) {
        let line = printed.lines().find(|l| l.contains(key)).unwrap_or_else(|| panic!("`migrate config` omits {key}"));
        assert!(line.contains("migrate.toml"), "{key} is not read from the file: {line}");
    }
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
