//! `migrate.toml`: every global option in a project file, found in the current directory or the nearest parent
//! (or named by `--config` / `MIGRATE_CONFIG`). A flag wins over an environment variable, which wins over the file,
//! which wins over the default; the sources are kept for `migrate config`.

use std::path::{Path, PathBuf};

use clap::parser::ValueSource;
use clap::ArgMatches;

use crate::cli::{Color, Format, Global, Pooler};
use crate::failure::Failure;

/// The file's name.
pub const FILE: &str = "migrate.toml";

/// The keys a file may hold: each global option, as its flag is spelled with `_` for `-`, and its variable.
pub const KEYS: [(&str, &str); 17] = [
    ("database_url", "DATABASE_URL"),
    ("dir", "MIGRATE_DIR"),
    ("history_table", "MIGRATE_HISTORY_TABLE"),
    ("history_schema", "MIGRATE_HISTORY_SCHEMA"),
    ("format", "MIGRATE_FORMAT"),
    ("color", "MIGRATE_COLOR"),
    ("connect_timeout", "MIGRATE_CONNECT_TIMEOUT"),
    ("lock_wait", "MIGRATE_LOCK_WAIT"),
    ("lock_timeout", "MIGRATE_LOCK_TIMEOUT"),
    ("lock_retry", "MIGRATE_LOCK_RETRY"),
    ("no_lock", "MIGRATE_NO_LOCK"),
    ("allow_empty_down", "MIGRATE_ALLOW_EMPTY_DOWN"),
    ("init_sql", "MIGRATE_INIT_SQL"),
    ("sslmode", "PGSSLMODE"),
    ("sslrootcert", "PGSSLROOTCERT"),
    ("write_schema", "MIGRATE_WRITE_SCHEMA"),
    ("pooler", "MIGRATE_POOLER"),
];

/// Where an option's value came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Its flag.
    Flag,
    /// Its environment variable.
    Environment(&'static str),
    /// The file.
    File(PathBuf),
    /// The default.
    Default,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Flag => f.write_str("flag"),
            Origin::Environment(var) => write!(f, "environment ({var})"),
            Origin::File(path) => write!(f, "file ({})", path.display()),
            Origin::Default => f.write_str("default"),
        }
    }
}

/// A configuration file, read.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    /// The file, if one was found.
    pub path: Option<PathBuf>,
    /// `database_url` from the file (below DATABASE_URL and .env).
    pub database_url: Option<String>,
    /// Where each option's value came from, by key.
    pub origins: Vec<(&'static str, Origin)>,
    /// The `[lint]` table: the safety lint's levels and `start_after`, for `migrate lint` and `migrate verify`.
    pub lint: Option<migrate_core::lint::LintOptions>,
}

/// The `[lint]` table of the file named `shown`: `start_after = "0042"`, and `deny`, `warn` and `allow` as lists of
/// rule names.
fn lint_table(value: &toml::Value, shown: &str) -> Result<migrate_core::lint::LintOptions, Failure> {
    use migrate_core::lint::{Entry, LintOptions};
    let wrong = |what: String| Failure::usage(format!("{shown}: [lint] {what}"), Some(fix_hint()));
    let table = value.as_table().ok_or_else(|| wrong("must be a table".to_owned()))?;
    let mut options = LintOptions::default();
    for (key, value) in table {
        let entry = match value {
            toml::Value::String(text) => Entry::Text(text),
            toml::Value::Array(items) => Entry::List(items.iter().map(toml::Value::as_str).collect()),
            _ => Entry::Other,
        };
        options.set_entry(key, entry).map_err(wrong)?;
    }
    Ok(options)
}

/// The file `--config` names, or `migrate.toml` in `start` or the nearest parent that has one.
fn locate(explicit: Option<&Path>, start: &Path) -> Result<Option<PathBuf>, Failure> {
    if let Some(path) = explicit {
        if !path.is_file() {
            return Err(Failure::usage(format!("the configuration file {} does not exist", path.display()), None));
        }
        return Ok(Some(path.to_owned()));
    }
    Ok(start.ancestors().map(|dir| dir.join(FILE)).find(|p| p.is_file()))
}

/// Reads the configuration file (if any) into the options not given by a flag or a variable, and records where
/// each option's value came from.
///
/// # Errors
/// A file that cannot be read or parsed, an unknown key, or a value of the wrong type, each named with the file.
pub fn apply(global: &mut Global, matches: &ArgMatches) -> Result<Settings, Failure> {
    let cwd = std::env::current_dir().unwrap_or_default();
    let path = locate(global.config.as_deref(), &cwd)?;
    let mut table = toml::Table::new();
    if let Some(path) = &path {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Failure::usage(format!("cannot read {}: {e}", path.display()), None))?;
        table = text.parse::<toml::Table>().map_err(|e| {
            Failure::usage(format!("{} is not valid TOML: {}", path.display(), e.message()), Some(fix_hint()))
        })?;
    }
    let shown = path.as_deref().unwrap_or(Path::new(FILE)).display().to_string();
    for key in table.keys() {
        if key != "lint" && !KEYS.iter().any(|(k, _)| k == key) {
            let known: Vec<&str> = KEYS.iter().map(|(k, _)| *k).collect();
            return Err(Failure::usage(
                format!("{shown}: unknown key `{key}`; the keys are {}", known.join(", ")),
                Some(fix_hint()),
            ));
        }
    }
    let wrong = |key: &str, what: &str| Failure::usage(format!("{shown}: `{key}` must be {what}"), Some(fix_hint()));
    let text = |key: &str| -> Result<Option<String>, Failure> {
        table.get(key).map(|v| v.as_str().map(str::to_owned).ok_or_else(|| wrong(key, "a string"))).transpose()
    };
    let seconds = |key: &str| -> Result<Option<f64>, Failure> {
        table
            .get(key)
            .map(|v| {
                v.as_float()
                    .or_else(|| v.as_integer().map(|i| i as f64))
                    .ok_or_else(|| wrong(key, "a number of seconds"))
            })
            .transpose()
    };
    let mut settings = Settings { path: path.clone(), ..Settings::default() };
    settings.lint = table.get("lint").map(|value| lint_table(value, &shown)).transpose()?;
    let base = path.as_deref().and_then(Path::parent).map(Path::to_owned).unwrap_or_default();
    for (key, var) in KEYS {
        let id = key;
        let source = matches.value_source(id);
        let origin = match source {
            Some(ValueSource::CommandLine) => Origin::Flag,
            Some(ValueSource::EnvVariable) => Origin::Environment(var),
            _ if key == "database_url" => {
                // DATABASE_URL and .env are read later, and win over the file. A relative SQLite path is the
                // file's, like `dir`.
                settings.database_url = text(key)?.map(|url| match url.strip_prefix("sqlite:") {
                    Some(rest) if !rest.starts_with('/') && !rest.starts_with(':') && !rest.starts_with("file:") => {
                        format!("sqlite:{}", base.join(rest).display())
                    }
                    _ => url,
                });
                Origin::Default
            }
            _ if table.contains_key(key) => {
                match key {
                    "dir" => global.dir = base.join(text(key)?.unwrap_or_default()),
                    "history_table" => global.history_table = text(key)?.unwrap_or_default(),
                    "history_schema" => global.history_schema = text(key)?,
                    "format" => {
                        global.format = match text(key)?.as_deref() {
                            Some("text") => Format::Text,
                            Some("json") => Format::Json,
                            _ => return Err(wrong(key, "\"text\" or \"json\"")),
                        }
                    }
                    "color" => {
                        global.color = match text(key)?.as_deref() {
                            Some("auto") => Color::Auto,
                            Some("always") => Color::Always,
                            Some("never") => Color::Never,
                            _ => return Err(wrong(key, "\"auto\", \"always\" or \"never\"")),
                        }
                    }
                    "connect_timeout" => global.connect_timeout = seconds(key)?.unwrap_or_default(),
                    "lock_wait" => global.lock_wait = seconds(key)?.unwrap_or_default(),
                    "lock_timeout" => global.lock_timeout = seconds(key)?.unwrap_or_default(),
                    "lock_retry" => global.lock_retry = seconds(key)?.unwrap_or_default(),
                    "no_lock" => {
                        global.no_lock = table[key].as_bool().ok_or_else(|| wrong(key, "true or false"))?;
                    }
                    "allow_empty_down" => {
                        global.allow_empty_down = table[key].as_bool().ok_or_else(|| wrong(key, "true or false"))?;
                    }
                    "init_sql" => {
                        let list = table[key].as_array().ok_or_else(|| wrong(key, "a list of statements"))?;
                        global.init_sql = list
                            .iter()
                            .map(|v| v.as_str().map(str::to_owned).ok_or_else(|| wrong(key, "a list of strings")))
                            .collect::<Result<_, _>>()?;
                    }
                    "sslmode" => {
                        let mode = text(key)?.unwrap_or_default();
                        global.sslmode = Some(
                            crate::tls::SslMode::from_libpq(&mode)
                                .ok_or_else(|| wrong(key, "disable, prefer, require, verify-ca or verify-full"))?,
                        );
                    }
                    "sslrootcert" => {
                        let root = text(key)?.unwrap_or_default();
                        global.sslrootcert = Some(if root == "system" { root.into() } else { base.join(root) });
                    }
                    "write_schema" => global.write_schema = Some(base.join(text(key)?.unwrap_or_default())),
                    "pooler" => {
                        global.pooler = match text(key)?.as_deref() {
                            Some("none") => Pooler::None,
                            Some("transaction") => Pooler::Transaction,
                            _ => return Err(wrong(key, "\"none\" or \"transaction\"")),
                        }
                    }
                    _ => unreachable!("every key is handled"),
                }
                Origin::File(path.clone().unwrap_or_default())
            }
            _ => Origin::Default,
        };
        settings.origins.push((key, origin));
    }
    Ok(settings)
}

fn fix_hint() -> String {
    format!("fix {FILE}, or name another file with --config")
}
