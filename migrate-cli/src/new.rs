//! `migrate new <name>` (or `revision -m`): a revision folder with `up.sql` and `down.sql` templates that say what
//! goes where; `migrate init`: the folder, a commented `migrate.toml` and the lines to add to the application.

use std::path::Path;

use migrate_core::scan::{down_template, parse_folder_name, up_template, SEQUENCE_DIGITS};
use serde_json::json;

use crate::context::Context;
use crate::failure::{Exit, Failure};
use crate::output::Style;

/// The version a new revision gets: the UTC time as diesel writes it, or the next sequence number.
fn next_version(existing: &[String], sequential: bool) -> Result<String, Failure> {
    if !sequential {
        // `YYYY-MM-DDTHH:MM:SS.mmmZ` → `YYYY-MM-DD-HHMMSS`.
        let now = migrate_core::history::now_utc();
        return Ok(format!("{}-{}{}{}", &now[..10], &now[11..13], &now[14..16], &now[17..19]));
    }
    if let Some(long) = existing.iter().find(|v| v.len() >= SEQUENCE_DIGITS) {
        return Err(Failure::usage(
            format!(
                "the folder's versions are timestamps ({long}); a sequence number would sort before them and run \
                 out of order"
            ),
            Some("drop --sequential: a new revision gets the current UTC time as its version".into()),
        ));
    }
    let width = existing.iter().map(String::len).max().unwrap_or(4).max(4);
    let next = existing.iter().filter_map(|v| v.parse::<u64>().ok()).max().map_or(1, |n| n + 1);
    Ok(format!("{next:0width$}"))
}

/// Creates the revision folder and its two files (or, with `dry_run`, says what it would create).
///
/// # Errors
/// A name that cannot make a folder name, a version that would not be the newest, or a file system error.
/// How a new revision is named: as given, or from a message (Alembic's `-m`).
pub enum Named {
    /// The name as given.
    Name(String),
    /// A sentence: the name is made from it (`Add users table` → `add_users_table`), and it heads `up.sql`.
    Message(String),
}

/// `Add users table!` → `add_users_table`: lower case, every run of other characters one `_`.
fn name_from(message: &str) -> String {
    let mut name = String::new();
    for c in message.trim().chars() {
        if c.is_alphanumeric() {
            name.extend(c.to_lowercase());
        } else if !name.is_empty() && !name.ends_with('_') {
            name.push('_');
        }
    }
    name.trim_end_matches('_').to_owned()
}

pub fn new(
    ctx: &mut Context,
    named: &Named,
    sequential: bool,
    no_transaction: bool,
    dry_run: bool,
    from: Option<&crate::generate::From>,
) -> Result<Exit, Failure> {
    let (name, message) = match named {
        Named::Name(name) => (name.trim().to_owned(), None),
        Named::Message(message) => (name_from(message), Some(message.trim())),
    };
    let name = name.as_str();
    if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
        return Err(Failure::usage(
            format!("`{name}` cannot be a revision name: it becomes part of a folder name"),
            Some("use letters, digits, `_` and spaces, e.g. `migrate new add_email`".into()),
        ));
    }
    let dir = ctx.global.dir.clone();
    // Runs of `migrate new` on one folder take turns, so two at once never pick the same version.
    let _turn = if dry_run { None } else { Some(take_turn(&dir)?) };
    // Every revision folder counts, finished or not (a fresh template does not scan as a revision yet).
    let existing: Vec<String> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| parse_folder_name(&e.file_name().to_string_lossy()).ok().map(|(version, _)| version))
        .collect();
    let version = next_version(&existing, sequential)?;
    let folder = format!("{version}_{name}");
    let (digits, _) = parse_folder_name(&folder).map_err(|why| Failure::usage(format!("`{folder}`: {why}"), None))?;
    if let Some(newest) = existing.iter().max().filter(|newest| digits.as_str() <= newest.as_str()) {
        return Err(Failure::new(
            format!("the new version {digits} would not sort after the newest revision {newest}, so it would run out of order"),
            Some("wait a second and try again, or number the folder by hand".into()),
        ));
    }
    let path = dir.join(&folder);
    if path.exists() {
        return Err(Failure::new(format!("{} already exists", path.display()), None));
    }
    let (mut files, review) = match from {
        None => {
            let files = vec![
                ("up.sql".to_owned(), up_template(no_transaction)),
                ("down.sql".to_owned(), down_template(no_transaction)),
            ];
            (files, Vec::new())
        }
        Some(from) => match crate::generate::files(ctx, from, no_transaction)? {
            None => {
                ctx.out.line(&format!("nothing to write: the folder already gives the schema of {}", from.desired));
                return Ok(Exit::Done);
            }
            Some(generated) => (generated.files, generated.review),
        },
    };
    if let Some(message) = message {
        for (_, up) in files.iter_mut().filter(|(name, _)| name.starts_with("up.")) {
            // After the directive, which stays the first line.
            let at = if no_transaction { up.find('\n').map_or(0, |n| n + 1) } else { 0 };
            up.insert_str(at, &format!("-- {}\n", message.replace('\n', " ")));
        }
    }
    if !dry_run {
        write(&path, &files).map_err(|err| Failure::new(format!("cannot create {}: {err}", path.display()), None))?;
    }
    if ctx.out.is_json() {
        ctx.out.json(&json!({
            "command": "new",
            "dry_run": dry_run,
            "folder": path,
            "version": digits,
            "name": name,
            "files": files.iter().map(|(f, _)| path.join(f)).collect::<Vec<_>>(),
            "review": review,
        }));
        return Ok(Exit::Done);
    }
    let verb = if dry_run { "would create" } else { "created" };
    for (file, text) in &files {
        ctx.out.line(&format!("{} {}", ctx.out.paint(verb, Style::Good), path.join(file).display()));
        if dry_run && from.is_some() {
            ctx.out.sql(text.trim_end());
        }
    }
    for item in &review {
        ctx.out.line(&format!("{} {item}", ctx.out.paint("review:", Style::Warn)));
    }
    if dry_run {
        ctx.out.line("dry run: nothing was created");
    } else if from.is_some() {
        let next = if review.is_empty() {
            "next: read both files; `migrate upgrade` applies them"
        } else {
            "next: decide each `-- migrate:review` line and delete it (the revision is refused until then), then \
             `migrate upgrade`"
        };
        ctx.out.line(&format!("proven: its up gives the desired schema and its down the current one\n{next}"));
    } else {
        ctx.out.line("next: write both files; `migrate verify` checks them, `migrate upgrade` applies them");
    }
    Ok(Exit::Done)
}

/// The `migrate.toml` that `migrate init` writes: every option, commented out, with its default.
const CONFIG_TEMPLATE: &str =
    "# migrate.toml: the command line's options for this project. A flag wins over an environment
# variable, which wins over this file; `migrate config` shows every value and where it came from.

# database_url = \"sqlite:app.db\"       # or postgres://user@host/db, mysql://user@host/db (prefer DATABASE_URL)
# dir = \"migrations\"                   # the revision folder, relative to this file
# history_table = \"_migrate_history\"
# history_schema = \"app\"               # PostgreSQL schema or MySQL database of the history table
# lock_wait = 60                        # seconds to wait for the migration lock
# lock_timeout = 2                      # seconds a revision's statement may wait for a table lock (0: no bound)
# lock_retry = 30                       # seconds to keep trying a revision whose lock wait ran out (0: never)
# allow_empty_down = false              # run placeholder down files as no-ops, as migrations!(…, allow_empty_down)
# init_sql = [\"SET lock_timeout = '5s'\"]
";

/// `init`: the revision folder, a commented `migrate.toml`, and what to add to the application; nothing that is there
/// already is changed.
///
/// # Errors
/// A file system error.
pub fn init(ctx: &mut Context) -> Result<Exit, Failure> {
    let dir = ctx.global.dir.clone();
    let config = std::path::PathBuf::from(crate::config::FILE);
    let made_dir = !dir.exists();
    if made_dir {
        std::fs::create_dir_all(&dir)
            .map_err(|e| Failure::new(format!("cannot create {}: {e}", dir.display()), None))?;
    }
    let made_config = !config.exists();
    if made_config {
        std::fs::write(&config, CONFIG_TEMPLATE)
            .map_err(|e| Failure::new(format!("cannot write {}: {e}", config.display()), None))?;
    }
    let folder = dir.display().to_string();
    if ctx.out.is_json() {
        ctx.out.json(&json!({
            "command": "init",
            "folder": folder,
            "folder_created": made_dir,
            "config": config,
            "config_created": made_config,
        }));
        return Ok(Exit::Done);
    }
    let said = |made: bool| if made { "created" } else { "kept (already there)" };
    ctx.out.line(&format!("{} {folder}/", said(made_dir)));
    ctx.out.line(&format!("{} {}", said(made_config), config.display()));
    ctx.out.line(&format!(
        "\nnext, in the application:\n\
         \x20 Cargo.toml   [dependencies] migrate = {{ path = \"…/migrate\" }}\n\
         \x20              [build-dependencies] migrate-core = {{ path = \"…/migrate/migrate-core\" }}\n\
         \x20 build.rs     fn main() {{ migrate_core::build::watch(\"{folder}\"); }}\n\
         \x20 at start-up  static MIGRATIONS: migrate::Migrations = migrate::migrations!(\"{folder}\");\n\
         \x20              MIGRATIONS.upgrade(&mut conn)?;\n\
         then: migrate revision -m \"Create users table\""
    ));
    Ok(Exit::Done)
}

/// Waits for, and holds while the returned file is open, an exclusive lock on a file named after `dir` in the
/// temporary directory: nothing is added to the project.
fn take_turn(dir: &Path) -> Result<std::fs::File, Failure> {
    use std::hash::{Hash, Hasher};
    let absolute = std::fs::canonicalize(dir).unwrap_or_else(|_| std::path::absolute(dir).unwrap_or(dir.into()));
    // DefaultHasher::new() has fixed keys, so every process names the same file for one folder.
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    absolute.hash(&mut hasher);
    let lock = std::env::temp_dir().join(format!("migrate-new-{:016x}.lock", hasher.finish()));
    let fail = |err: std::io::Error| Failure::new(format!("cannot take turns on {}: {err}", lock.display()), None);
    let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&lock).map_err(fail)?;
    file.lock().map_err(fail)?;
    Ok(file)
}

fn write(path: &Path, files: &[(String, String)]) -> std::io::Result<()> {
    std::fs::create_dir_all(path)?;
    for (file, text) in files {
        std::fs::write(path.join(file), text)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        let stamp = next_version(&[], false).unwrap();
        assert_eq!(stamp.len(), "2026-11-22-101500".len());
        assert_eq!(parse_folder_name(&format!("{stamp}_x")).unwrap().0.len(), 14);
        assert_eq!(next_version(&[], true).unwrap(), "0001");
        assert_eq!(next_version(&["0001".into(), "0009".into()], true).unwrap(), "0010");
        assert_eq!(next_version(&["000001".into()], true).unwrap(), "000002");
        assert!(next_version(&["20240114171611".into()], true).is_err());
    }

    #[test]
    fn the_config_template_names_real_keys() {
        let keys: Vec<&str> = CONFIG_TEMPLATE
            .lines()
            .filter_map(|l| l.strip_prefix("# ")?.split_once(" = ").map(|(key, _)| key))
            .collect();
        assert!(keys.len() >= 7, "{keys:?}");
        for key in keys {
            assert!(crate::config::KEYS.iter().any(|(k, _)| *k == key), "`{key}` is not a migrate.toml key");
        }
    }

    #[test]
    fn a_message_names_the_revision() {
        assert_eq!(name_from("Add users table"), "add_users_table");
        assert_eq!(name_from("  Add e-mail (unique)!  "), "add_e_mail_unique");
        assert_eq!(name_from("Ändra tabell"), "ändra_tabell");
        assert_eq!(name_from("!!!"), "");
    }

    #[test]
    fn templates_carry_no_directive_unless_asked() {
        let (found, problems) = migrate_core::sql::directives(&down_template(false));
        assert!(found.is_empty() && problems.is_empty());
        assert!(migrate_core::sql::is_blank(&up_template(false)));
        let (found, _) = migrate_core::sql::directives(&up_template(true));
        assert_eq!(found, [migrate_core::sql::Directive::NoTransaction]);
    }
}
