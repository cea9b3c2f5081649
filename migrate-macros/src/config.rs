//! The `[lint]` table of the `migrate.toml` nearest the crate (in its directory or a parent), the file the command
//! line reads: the levels a team sets there hold at compile time too, and the macro's own `lint(...)` wins over it.

use std::path::{Path, PathBuf};

use migrate_core::lint::{Entry, LintOptions};

/// The configuration file's name.
const FILE: &str = "migrate.toml";

/// The nearest `migrate.toml` from `manifest_dir` up (its path, kept so the crate is rebuilt when it changes), with
/// the options of its `[lint]` table if it has one.
///
/// # Errors
/// A file that cannot be read or is not valid TOML, or a `[lint]` table the command line would refuse, said with
/// the file's path.
pub fn lint_table(manifest_dir: &Path) -> Result<Option<(PathBuf, Option<LintOptions>)>, String> {
    let Some(path) = manifest_dir.ancestors().map(|dir| dir.join(FILE)).find(|p| p.is_file()) else {
        return Ok(None);
    };
    let shown = path.display();
    let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    let table: toml::Table =
        text.parse().map_err(|e: toml::de::Error| format!("{shown} is not valid TOML: {}", e.message()))?;
    let Some(lint) = table.get("lint") else { return Ok(Some((path, None))) };
    let lint = lint.as_table().ok_or_else(|| format!("{shown}: [lint] must be a table"))?;
    let mut options = LintOptions::default();
    for (key, value) in lint {
        let entry = match value {
            toml::Value::String(text) => Entry::Text(text),
            toml::Value::Array(items) => Entry::List(items.iter().map(toml::Value::as_str).collect()),
            _ => Entry::Other,
        };
        options.set_entry(key, entry).map_err(|what| format!("{shown}: [lint] {what}"))?;
    }
    Ok(Some((path, Some(options))))
}

#[cfg(test)]
mod tests {
    use crate::expand::expand_in;
    use crate::input::Input;

    /// A crate directory with `migrate.toml` holding `config`, and a folder whose second revision drops a table.
    fn krate(name: &str, config: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("migrate-macros-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for (folder, up, down) in
            [("0001_a", "CREATE TABLE t (id INT);", "DROP TABLE t;"), ("0002_b", "DROP TABLE t;", "SELECT 1;")]
        {
            let folder = dir.join("migrations").join(folder);
            std::fs::create_dir_all(&folder).unwrap();
            std::fs::write(folder.join("up.sql"), up).unwrap();
            std::fs::write(folder.join("down.sql"), down).unwrap();
        }
        std::fs::write(dir.join("migrate.toml"), config).unwrap();
        dir
    }

    fn expanded(dir: &std::path::Path, input: &str) -> String {
        let input: Input = syn::parse_str(input).unwrap();
        expand_in(&input, dir).to_string()
    }

    #[test]
    fn migrate_toml_sets_the_levels_and_the_macro_wins_over_it() {
        let dir = krate("levels", "dir = \"migrations\"\n\n[lint]\ndeny = [\"drop-table\"]\n");
        // The table alone turns the lint on, as it does for `migrate verify`.
        let denied = expanded(&dir, r#""migrations""#);
        assert!(denied.contains("compile_error") && denied.contains("deny[drop-table]"), "{denied}");
        // The macro's own levels win; the file is embedded so that editing it rebuilds the crate.
        let allowed = expanded(&dir, r#""migrations", lint(allow(drop_table))"#);
        assert!(!allowed.contains("compile_error"), "{allowed}");
        let config = dir.join("migrate.toml").to_string_lossy().into_owned();
        assert!(allowed.contains("include_bytes") && allowed.contains(&format!("{config:?}")), "{allowed}");
        // The revisions a project shipped are exempt by the file's start_after.
        std::fs::write(dir.join("migrate.toml"), "[lint]\ndeny = [\"drop-table\"]\nstart_after = \"0002\"\n").unwrap();
        assert!(!expanded(&dir, r#""migrations""#).contains("compile_error"));
        // Without a [lint] table the lint stays off unless the macro asks for it.
        std::fs::write(dir.join("migrate.toml"), "dir = \"migrations\"\n").unwrap();
        assert!(!expanded(&dir, r#""migrations""#).contains("drop-table"));
        assert!(expanded(&dir, r#""migrations", lint"#).contains("warn[drop-table]"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_wrong_lint_table_is_a_compile_error_naming_the_file() {
        let dir = krate("wrong", "[lint]\ndeny = [\"drop-everything\"]\n");
        let out = expanded(&dir, r#""migrations""#);
        assert!(
            out.contains("compile_error")
                && out.contains("migrate.toml: [lint] `deny` names no rule `drop-everything`"),
            "{out}"
        );
        std::fs::write(dir.join("migrate.toml"), "[lint\n").unwrap();
        assert!(expanded(&dir, r#""migrations""#).contains("is not valid TOML"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
