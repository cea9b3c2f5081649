//! Everything the command line prints goes through here: text or JSON, colour only where asked for, and every
//! line scrubbed of the database password before it is written.

use std::io::{IsTerminal, Write};

use serde_json::{json, Value};

use migrate_core::{Action, RevisionId};

use crate::cli::{Color, Format};
use crate::failure::Failure;

/// A colour role.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// Applied, in order.
    Good,
    /// Pending, a warning.
    Warn,
    /// Needs attention, failed.
    Bad,
    /// Secondary text.
    Dim,
    /// Headings.
    Bold,
}

impl Style {
    fn code(self) -> &'static str {
        match self {
            Style::Good => "32",
            Style::Warn => "33",
            Style::Bad => "31;1",
            Style::Dim => "2",
            Style::Bold => "1",
        }
    }
}

/// A table cell: text and an optional colour.
pub type Cell = (String, Option<Style>);

/// The printer.
#[derive(Clone, Debug)]
pub struct Output {
    json: bool,
    color_out: bool,
    color_err: bool,
    stderr_terminal: bool,
    secrets: Vec<String>,
}

impl Output {
    /// A printer for `format`, colouring as `color` says.
    pub fn new(format: Format, color: Color) -> Output {
        let allowed = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            && std::env::var("TERM").map_or(true, |t| t != "dumb");
        let decide = |terminal: bool| match color {
            Color::Always => true,
            Color::Never => false,
            Color::Auto => terminal && allowed,
        };
        let stderr_terminal = std::io::stderr().is_terminal();
        Output {
            json: format == Format::Json,
            color_out: decide(std::io::stdout().is_terminal()),
            color_err: decide(stderr_terminal),
            stderr_terminal,
            secrets: Vec::new(),
        }
    }

    /// Scrub these strings (the database password in its forms) from everything printed from now on.
    pub fn hide(&mut self, secrets: &[String]) {
        self.secrets.extend(secrets.iter().filter(|s| !s.is_empty()).cloned());
        self.secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    }

    /// `true` for `--format json`.
    pub fn is_json(&self) -> bool {
        self.json
    }

    /// `true` when stderr is a terminal (progress is drawn in place there).
    pub fn stderr_is_terminal(&self) -> bool {
        self.stderr_terminal
    }

    /// `text` with every secret replaced by `***`.
    pub fn scrub(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for secret in &self.secrets {
            if text.contains(secret.as_str()) {
                text = text.replace(secret.as_str(), "***");
            }
        }
        text
    }

    /// `text` in `style` on stdout, if stdout is coloured.
    pub fn paint(&self, text: &str, style: Style) -> String {
        paint(self.color_out, text, style)
    }

    /// `text` in `style` on stderr, if stderr is coloured.
    pub fn paint_err(&self, text: &str, style: Style) -> String {
        paint(self.color_err, text, style)
    }

    /// A line on stdout (text mode output).
    pub fn line(&self, text: &str) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", self.scrub(text));
        let _ = out.flush();
    }

    /// SQL from the revision files, unscrubbed: it never holds the URL, and scrubbing a password that happens to be
    /// a word (`postgres`) would corrupt it.
    pub fn sql(&self, text: &str) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{text}");
        let _ = out.flush();
    }

    /// A JSON document whose strings hold only SQL and names from the folder (see [`Output::sql`]).
    pub fn sql_json(&self, value: &Value) {
        self.sql(&serde_json::to_string_pretty(value).unwrap_or_else(|_| "null".to_owned()));
    }

    /// A line on stderr: notes, warnings, progress.
    pub fn note(&self, text: &str) {
        let _ = writeln!(std::io::stderr().lock(), "{}", self.scrub(text));
    }

    /// Raw text on stderr with no newline (progress drawn in place).
    pub fn raw_err(&self, text: &str) {
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "{}", self.scrub(text));
        let _ = err.flush();
    }

    /// A JSON document on stdout.
    pub fn json(&self, value: &Value) {
        let text = serde_json::to_string_pretty(value).unwrap_or_else(|_| "null".to_owned());
        self.line(&text);
    }

    /// A table with a header row; the last column is not padded.
    pub fn table(&self, header: &[&str], rows: &[Vec<Cell>]) {
        let columns = header.len();
        let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
        for row in rows {
            for (i, (text, _)) in row.iter().enumerate().take(columns) {
                widths[i] = widths[i].max(text.chars().count());
            }
        }
        let render = |cells: Vec<(String, Option<Style>)>| {
            let mut line = String::new();
            for (i, (text, style)) in cells.into_iter().enumerate() {
                let pad = if i + 1 < columns { widths[i].saturating_sub(text.chars().count()) + 2 } else { 0 };
                line.push_str(&match style {
                    Some(style) => self.paint(&text, style),
                    None => text,
                });
                line.push_str(&" ".repeat(pad));
            }
            line.trim_end().to_owned()
        };
        self.line(&render(header.iter().map(|h| (h.to_string(), Some(Style::Bold))).collect()));
        for row in rows {
            self.line(&render(row.clone()));
        }
    }

    /// Reports a failure: on stderr in text mode; as `{"error": …}` on stdout in JSON mode.
    pub fn failure(&self, failure: &Failure) {
        if self.json {
            self.json(&json!({ "error": {
                "kind": failure.kind,
                "message": failure.message,
                "hint": failure.hint,
                "details": failure.details,
                "exit_code": failure.exit as i32,
            }}));
            return;
        }
        self.note(&format!("{} {}", self.paint_err("error:", Style::Bad), failure.message));
        if let Some(hint) = &failure.hint {
            self.note(&format!("{} {hint}", self.paint_err("next:", Style::Bold)));
        }
    }
}

fn paint(on: bool, text: &str, style: Style) -> String {
    if on && !text.is_empty() {
        format!("\x1b[{}m{text}\x1b[0m", style.code())
    } else {
        text.to_owned()
    }
}

/// Milliseconds for people: `0.8 ms`, `12.3 ms`, `4.21 s`.
pub fn duration(ms: f64) -> String {
    if ms < 1000.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{:.2} s", ms / 1000.0)
    }
}

/// A duration recorded in the history table (whole milliseconds).
pub fn recorded(ms: i64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else {
        duration(ms as f64)
    }
}

/// The word scripts see for an action.
pub fn action_name(action: Action) -> &'static str {
    match action {
        Action::Apply => "apply",
        Action::Revert => "revert",
        Action::StampApplied => "stamp_applied",
        Action::StampReverted => "stamp_reverted",
    }
}

/// `None` as JSON `null`, else `{version, name}`.
pub fn revision_json(name: Option<&RevisionId>) -> Value {
    name.map_or(Value::Null, |r| json!({ "version": r.version, "name": r.name }))
}

/// `0003 (posts)`, or `base (nothing applied)`.
pub fn at(name: Option<&RevisionId>) -> String {
    name.map_or_else(|| "base (nothing applied)".to_owned(), ToString::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_scrubbed_longest_first() {
        let mut out = Output::new(Format::Text, Color::Never);
        out.hide(&["p%40ss".to_owned(), "p@ss".to_owned()]);
        assert_eq!(out.scrub("url postgres://u:p%40ss@h, decoded p@ss"), "url postgres://u:***@h, decoded ***");
    }

    #[test]
    fn durations() {
        assert_eq!(duration(0.84), "0.8 ms");
        assert_eq!(duration(4210.0), "4.21 s");
    }
}
