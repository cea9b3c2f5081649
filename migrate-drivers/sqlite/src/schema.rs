//! The schema snapshot of SQLite's `main` database: tables and columns from `PRAGMA table_xinfo`, keys and indexes
//! from `index_list`/`index_info`/`foreign_key_list`, and what no pragma tells (collations, generated columns'
//! expressions, checks) from the `CREATE TABLE` text SQLite keeps; views and triggers from their text.

use migrate_core::schema::{normalize, MemberKind, ObjectKind, Schema};
use migrate_core::{Backend, HistoryTable};
use rusqlite::Connection;

pub(crate) fn snapshot(conn: &Connection, history: &HistoryTable) -> rusqlite::Result<Schema> {
    let skip = match history.schema() {
        None | Some("main") => Some(history.name()),
        Some(_) => None,
    };
    let mut schema = Schema::new(Backend::Sqlite);
    let objects: Vec<(String, String, String, Option<String>)> = conn
        .prepare(
            "SELECT type, name, tbl_name, sql FROM main.sqlite_master WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (kind, name, table, sql) in objects {
        if skip == Some(table.as_str()) {
            continue;
        }
        let sql = sql.unwrap_or_default();
        match kind.as_str() {
            "table" => read_table(conn, &mut schema, &name, &sql)?,
            "view" => schema.object(ObjectKind::View, &name, &after_as(&sql)),
            "trigger" => schema.member(&table, MemberKind::Trigger, Some(&name), &sql),
            // Indexes are read with their table, from index_list, which also tells which back a constraint.
            _ => {}
        }
    }
    Ok(schema)
}

fn read_table(conn: &Connection, schema: &mut Schema, table: &str, sql: &str) -> rusqlite::Result<()> {
    let upper = sql.to_ascii_uppercase();
    if upper.starts_with("CREATE VIRTUAL TABLE") {
        schema.object(ObjectKind::Table, table, &format!("virtual {}", after_as_using(sql)));
        return Ok(());
    }
    let parts = Parts::of(sql);
    let mut table_definition = Vec::new();
    if words(&upper).any(|w| w == "ROWID") && upper.contains("WITHOUT") {
        table_definition.push("without rowid");
    }
    if words(&upper).any(|w| w == "STRICT") {
        table_definition.push("strict");
    }
    schema.object(ObjectKind::Table, table, &table_definition.join(", "));

    let quoted = quote(table);
    let mut key: Vec<(i64, String)> = Vec::new();
    let mut columns = conn.prepare(&format!("PRAGMA main.table_xinfo({quoted})"))?;
    let mut rows = columns.query([])?;
    while let Some(r) = rows.next()? {
        let (position, name, ty, not_null, default, pk, hidden): (i64, String, String, bool, Option<String>, i64, i64) =
            (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?);
        if hidden == 1 {
            continue; // a virtual table's hidden column
        }
        let mut def = if ty.is_empty() { "(no type)".to_owned() } else { ty.to_ascii_lowercase() };
        if not_null {
            def.push_str(" not null");
        }
        if let Some(default) = default {
            def.push_str(&format!(" default {default}"));
        }
        let clauses = parts.column(&name);
        if let Some(expr) = clauses.and_then(|c| c.generated.as_deref()) {
            def.push_str(&format!(" generated {} as {expr}", if hidden == 3 { "stored" } else { "virtual" }));
        }
        if let Some(collation) = clauses.and_then(|c| c.collate.as_deref()) {
            def.push_str(&format!(" collate {collation}"));
        }
        if pk > 0 {
            key.push((pk, name.clone()));
        }
        schema.member(table, MemberKind::Column(position + 1), Some(&name), &def);
        for check in clauses.map(|c| c.checks.as_slice()).unwrap_or_default() {
            schema.member(table, MemberKind::Check, None, check);
        }
    }
    if !key.is_empty() {
        key.sort();
        let columns: Vec<&str> = key.iter().map(|(_, c)| c.as_str()).collect();
        let autoincrement = if words(&upper).any(|w| w == "AUTOINCREMENT") { " autoincrement" } else { "" };
        schema.member(table, MemberKind::PrimaryKey, None, &format!("({}){autoincrement}", columns.join(", ")));
    }
    for (name, check) in &parts.checks {
        schema.member(table, MemberKind::Check, name.as_deref(), check);
    }

    let indexes: Vec<(String, bool, String)> = conn
        .prepare(&format!("PRAGMA main.index_list({quoted})"))?
        .query_map([], |r| Ok((r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (name, unique, origin) in indexes {
        match origin.as_str() {
            "u" => {
                let columns: Vec<Option<String>> = conn
                    .prepare(&format!("PRAGMA main.index_info({})", quote(&name)))?
                    .query_map([], |r| r.get(2))?
                    .collect::<rusqlite::Result<_>>()?;
                let columns: Vec<String> = columns.into_iter().map(Option::unwrap_or_default).collect();
                schema.member(table, MemberKind::Unique, None, &format!("({})", columns.join(", ")));
            }
            "c" => {
                let sql: Option<String> = conn.query_row(
                    "SELECT sql FROM main.sqlite_master WHERE type = 'index' AND name = ?1",
                    [&name],
                    |r| r.get(0),
                )?;
                let sql = sql.unwrap_or_default();
                let on = sql.find('(').map_or(sql.as_str(), |at| &sql[at..]);
                let def = if unique { format!("unique {on}") } else { on.to_owned() };
                schema.member(table, MemberKind::Index, Some(&name), &def);
            }
            _ => {} // the primary key's own index: the key is read from the columns
        }
    }

    let mut keys: Vec<(i64, String, String, Option<String>, String, String)> = conn
        .prepare(&format!("PRAGMA main.foreign_key_list({quoted})"))?
        .query_map([], |r| Ok((r.get(0)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?)))?
        .collect::<rusqlite::Result<_>>()?;
    keys.sort_by_key(|k| k.0);
    let mut at = 0;
    while at < keys.len() {
        let id = keys[at].0;
        let group: Vec<_> = keys[at..].iter().take_while(|k| k.0 == id).collect();
        at += group.len();
        let from: Vec<&str> = group.iter().map(|k| k.2.as_str()).collect();
        let to: Vec<&str> = group.iter().filter_map(|k| k.3.as_deref()).collect();
        let (parent, on_update, on_delete) = (&group[0].1, &group[0].4, &group[0].5);
        let mut def = format!("({}) references {parent}", from.join(", "));
        if !to.is_empty() {
            def.push_str(&format!(" ({})", to.join(", ")));
        }
        for (what, action) in [("update", on_update), ("delete", on_delete)] {
            if action != "NO ACTION" {
                def.push_str(&format!(" on {what} {}", action.to_ascii_lowercase()));
            }
        }
        schema.member(table, MemberKind::ForeignKey, None, &def);
    }
    Ok(())
}

fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

fn words(upper: &str) -> impl Iterator<Item = &str> {
    upper.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
}

/// A view's query: the text after its first ` AS `.
fn after_as(sql: &str) -> String {
    after_word(sql, "AS")
}

/// A virtual table's module and arguments: the text after `USING`.
fn after_as_using(sql: &str) -> String {
    after_word(sql, "USING")
}

fn after_word(sql: &str, word: &str) -> String {
    let text = normalize(&strip_comments(sql));
    let upper = text.to_ascii_uppercase();
    match upper.find(&format!(" {word} ")) {
        Some(at) => text[at + word.len() + 2..].to_owned(),
        None => text,
    }
}

/// What the `CREATE TABLE` text says that the pragmas do not.
#[derive(Default)]
struct Parts {
    columns: Vec<(String, Clauses)>,
    /// Table-level checks, with their constraint name if one was given.
    checks: Vec<(Option<String>, String)>,
}

#[derive(Default)]
struct Clauses {
    collate: Option<String>,
    generated: Option<String>,
    checks: Vec<String>,
}

impl Parts {
    fn of(sql: &str) -> Parts {
        let mut parts = Parts::default();
        let all = tokens(sql);
        let Some(body) = all.iter().find(|t| t.starts_with('(')) else {
            return parts; // CREATE TABLE ... AS SELECT: the pragmas tell all
        };
        let body = &body[1..body.len() - 1];
        for definition in split_commas(body) {
            let t = tokens(definition);
            let Some(first) = t.first() else { continue };
            let upper = first.to_ascii_uppercase();
            if ["CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"].contains(&upper.as_str()) {
                let name = (upper == "CONSTRAINT").then(|| t.get(1).map(|n| unquote(n))).flatten();
                if let Some(at) = t.iter().position(|w| w.eq_ignore_ascii_case("CHECK")) {
                    if let Some(expr) = t.get(at + 1) {
                        parts.checks.push((name, expr.clone()));
                    }
                }
                continue;
            }
            let mut clauses = Clauses::default();
            for (at, word) in t.iter().enumerate() {
                let next = t.get(at + 1);
                if word.eq_ignore_ascii_case("COLLATE") {
                    clauses.collate = next.map(|n| unquote(n).to_ascii_lowercase());
                } else if word.eq_ignore_ascii_case("CHECK") {
                    clauses.checks.extend(next.cloned());
                } else if word.eq_ignore_ascii_case("AS") && next.is_some_and(|n| n.starts_with('(')) {
                    clauses.generated = next.cloned();
                }
            }
            parts.columns.push((unquote(first), clauses));
        }
        parts
    }

    fn column(&self, name: &str) -> Option<&Clauses> {
        self.columns.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, c)| c)
    }
}

fn unquote(token: &str) -> String {
    let t = token.as_bytes();
    if t.len() >= 2 && matches!((t[0], t[t.len() - 1]), (b'"', b'"') | (b'`', b'`') | (b'[', b']') | (b'\'', b'\'')) {
        token[1..token.len() - 1].to_owned()
    } else {
        token.to_owned()
    }
}

/// The text split at its commas outside quotes and parentheses.
fn split_commas(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start, mut quote) = (0i32, 0, None);
    for (at, c) in text.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"' | '`') => quote = Some(c),
            (None, '[') => quote = Some(']'),
            (None, '(') => depth += 1,
            (None, ')') => depth -= 1,
            (None, ',') if depth == 0 => {
                out.push(&text[start..at]);
                start = at + 1;
            }
            _ => {}
        }
    }
    out.push(&text[start..]);
    out
}

/// The text with each comment replaced by a space (quotes respected).
fn strip_comments(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let (mut out, mut at, mut quote) = (String::with_capacity(text.len()), 0, None);
    while at < chars.len() {
        let c = chars[at];
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '-' && chars.get(at + 1) == Some(&'-') => {
                while at < chars.len() && chars[at] != '\n' {
                    at += 1;
                }
                out.push(' ');
                continue;
            }
            None if c == '/' && chars.get(at + 1) == Some(&'*') => {
                at += 2;
                while at < chars.len() && !(chars[at] == '*' && chars.get(at + 1) == Some(&'/')) {
                    at += 1;
                }
                at += 2;
                out.push(' ');
                continue;
            }
            None if matches!(c, '\'' | '"' | '`') => quote = Some(c),
            None if c == '[' => quote = Some(']'),
            None => {}
        }
        out.push(c);
        at += 1;
    }
    out
}

/// Words, quoted names and strings, and whole parenthesised groups (whitespace-normalised), with comments dropped.
fn tokens(text: &str) -> Vec<String> {
    let chars: Vec<char> = strip_comments(text).chars().collect();
    let mut out = Vec::new();
    let mut at = 0;
    while at < chars.len() {
        let c = chars[at];
        if c.is_whitespace() {
            at += 1;
        } else if c == '(' {
            let start = at;
            let (mut depth, mut quote) = (0, None);
            while at < chars.len() {
                let c = chars[at];
                match (quote, c) {
                    (Some(q), c) if c == q => quote = None,
                    (Some(_), _) => {}
                    (None, '\'' | '"' | '`') => quote = Some(c),
                    (None, '(') => depth += 1,
                    (None, ')') => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
                at += 1;
            }
            at = (at + 1).min(chars.len());
            out.push(normalize(&chars[start..at].iter().collect::<String>()));
        } else if matches!(c, '\'' | '"' | '`' | '[') {
            let close = if c == '[' { ']' } else { c };
            let start = at;
            at += 1;
            while at < chars.len() && chars[at] != close {
                at += 1;
            }
            at = (at + 1).min(chars.len());
            out.push(chars[start..at].iter().collect());
        } else if c.is_alphanumeric() || c == '_' {
            let start = at;
            while at < chars.len() && (chars[at].is_alphanumeric() || chars[at] == '_' || chars[at] == '.') {
                at += 1;
            }
            out.push(chars[start..at].iter().collect());
        } else {
            out.push(c.to_string());
            at += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_table_text_gives_what_the_pragmas_do_not() {
        let parts = Parts::of(
            "CREATE TABLE t (\n  a TEXT COLLATE NOCASE CHECK (a <> ''), -- a comment, with a comma\n  \
             \"b c\" INT AS (length(a)) STORED,\n  CONSTRAINT pos CHECK (\"b c\" > 0),\n  CHECK(a IN ('x,y', 'z'))\n)",
        );
        let a = parts.column("a").unwrap();
        assert_eq!(a.collate.as_deref(), Some("nocase"));
        assert_eq!(a.checks, ["(a <> '')"]);
        assert_eq!(parts.column("b c").unwrap().generated.as_deref(), Some("(length(a))"));
        assert_eq!(parts.checks, [(Some("pos".into()), "(\"b c\" > 0)".into()), (None, "(a IN ('x,y', 'z'))".into())]);
        assert_eq!(after_as("CREATE VIEW v AS\n SELECT 1"), "SELECT 1");
    }
}
