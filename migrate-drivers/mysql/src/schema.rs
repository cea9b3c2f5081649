//! The schema snapshot of the connection's current database, read from `information_schema` (the same queries serve
//! MySQL and MariaDB; where they differ the driver falls back). Names the server made up (`PRIMARY`,
//! `<table>_ibfk_<n>`, `<table>_chk_<n>`, MariaDB's `CONSTRAINT_<n>`, an index named after its first column) are
//! not kept: such a constraint or index is known by its definition.

use std::collections::BTreeMap;

use migrate_core::schema::{normalize, MemberKind, ObjectKind, Schema};
use migrate_core::{Backend, HistoryTable};
use mysql::prelude::Queryable;
use mysql::{Conn, Value};

const TABLES: &str = "SELECT TABLE_NAME, TABLE_TYPE, ENGINE, TABLE_COLLATION FROM information_schema.TABLES
WHERE TABLE_SCHEMA = DATABASE()";

const COLUMNS: &str = "SELECT c.TABLE_NAME, c.ORDINAL_POSITION, c.COLUMN_NAME, c.COLUMN_TYPE, c.IS_NULLABLE,
       c.COLUMN_DEFAULT, c.EXTRA, c.GENERATION_EXPRESSION,
       CASE WHEN c.COLLATION_NAME <> t.TABLE_COLLATION THEN c.COLLATION_NAME END
FROM information_schema.COLUMNS c
JOIN information_schema.TABLES t ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME
WHERE c.TABLE_SCHEMA = DATABASE() AND t.TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED')";

const CONSTRAINTS: &str = "SELECT TABLE_NAME, CONSTRAINT_NAME, CONSTRAINT_TYPE
FROM information_schema.TABLE_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = DATABASE()";

const KEY_COLUMNS: &str = "SELECT TABLE_NAME, CONSTRAINT_NAME, COLUMN_NAME, REFERENCED_TABLE_NAME,
       REFERENCED_COLUMN_NAME
FROM information_schema.KEY_COLUMN_USAGE WHERE CONSTRAINT_SCHEMA = DATABASE()
ORDER BY TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION";

const REFERENTIAL: &str = "SELECT TABLE_NAME, CONSTRAINT_NAME, UPDATE_RULE, DELETE_RULE
FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = DATABASE()";

/// MariaDB's `CHECK_CONSTRAINTS` names the table (check names are per table there).
const CHECKS_MARIADB: &str = "SELECT TABLE_NAME, CONSTRAINT_NAME, CHECK_CLAUSE
FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = DATABASE()";

/// MySQL's does not (check names are per database there).
const CHECKS_MYSQL: &str = "SELECT tc.TABLE_NAME, cc.CONSTRAINT_NAME, cc.CHECK_CLAUSE
FROM information_schema.CHECK_CONSTRAINTS cc
JOIN information_schema.TABLE_CONSTRAINTS tc ON tc.CONSTRAINT_SCHEMA = cc.CONSTRAINT_SCHEMA
     AND tc.CONSTRAINT_NAME = cc.CONSTRAINT_NAME AND tc.CONSTRAINT_TYPE = 'CHECK'
WHERE cc.CONSTRAINT_SCHEMA = DATABASE()";

const INDEXES: &str = "SELECT TABLE_NAME, INDEX_NAME, NON_UNIQUE, COLUMN_NAME, SUB_PART, INDEX_TYPE, COLLATION
FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE()
ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX";

const TRIGGERS: &str = "SELECT EVENT_OBJECT_TABLE, TRIGGER_NAME, ACTION_TIMING, EVENT_MANIPULATION, ACTION_STATEMENT
FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE()";

const VIEWS: &str = "SELECT TABLE_NAME, VIEW_DEFINITION, CHECK_OPTION
FROM information_schema.VIEWS WHERE TABLE_SCHEMA = DATABASE()";

const ROUTINES: &str = "SELECT ROUTINE_NAME, ROUTINE_TYPE, DTD_IDENTIFIER, ROUTINE_DEFINITION, IS_DETERMINISTIC,
       SQL_DATA_ACCESS
FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE()";

const PARAMETERS: &str = "SELECT SPECIFIC_NAME, ROUTINE_TYPE, PARAMETER_MODE, PARAMETER_NAME, DTD_IDENTIFIER
FROM information_schema.PARAMETERS WHERE SPECIFIC_SCHEMA = DATABASE() AND ORDINAL_POSITION > 0
ORDER BY SPECIFIC_NAME, ORDINAL_POSITION";

type Row = Vec<Option<String>>;

/// A table's object by name: `(table, name)`.
type Named<T> = BTreeMap<(String, String), T>;

fn text(value: Value) -> Option<String> {
    match value {
        Value::NULL => None,
        Value::Bytes(bytes) => Some(String::from_utf8_lossy(&bytes).into_owned()),
        Value::Int(n) => Some(n.to_string()),
        Value::UInt(n) => Some(n.to_string()),
        other => Some(other.as_sql(true)),
    }
}

fn rows(conn: &mut Conn, sql: &str) -> Result<Vec<Row>, mysql::Error> {
    let rows: Vec<mysql::Row> = conn.query(sql)?;
    Ok(rows.into_iter().map(|row| row.unwrap().into_iter().map(text).collect()).collect())
}

fn get(row: &Row, at: usize) -> String {
    row.get(at).cloned().flatten().unwrap_or_default()
}

pub(crate) fn snapshot(conn: &mut Conn, history: &HistoryTable) -> Result<Schema, mysql::Error> {
    let database: Option<String> = conn.query_first("SELECT DATABASE()")?.flatten();
    let database = database.unwrap_or_default();
    let skip = match history.schema() {
        Some(schema) if schema != database => None,
        _ => Some(history.name().to_owned()),
    };
    let skipped = |row: &Row| row[0].is_some() && row[0].as_deref() == skip.as_deref();
    // Views and routines name the tables of their own database with it: `app`.`accounts`.
    let tidy = |text: &str| normalize(&text.replace(&format!("`{database}`."), ""));
    let mut schema = Schema::new(Backend::Mysql);

    let mut columns_of: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in rows(conn, TABLES)? {
        if skipped(&r) {
            continue;
        }
        match r[1].as_deref() {
            Some("VIEW") => {}
            Some("SEQUENCE") => schema.object(ObjectKind::Sequence, &get(&r, 0), ""),
            _ => {
                schema.object(ObjectKind::Table, &get(&r, 0), &format!("engine {} collate {}", get(&r, 2), get(&r, 3)))
            }
        }
    }
    for r in rows(conn, COLUMNS)? {
        if skipped(&r) {
            continue;
        }
        let (table, name) = (get(&r, 0), get(&r, 2));
        let mut def = get(&r, 3);
        let nullable = r[4].as_deref() == Some("YES");
        if !nullable {
            def.push_str(" not null");
        }
        let extra = get(&r, 6).replace("DEFAULT_GENERATED", "").to_ascii_lowercase();
        let generation = get(&r, 7);
        if !generation.is_empty() && extra.contains("generated") {
            let how = if extra.contains("stored") || extra.contains("persistent") { "stored" } else { "virtual" };
            def.push_str(&format!(" generated always as ({}) {how}", normalize(&generation)));
        } else {
            match r[5].as_deref() {
                // MariaDB writes a nullable column's missing default as the word NULL.
                None | Some("NULL") if nullable => {}
                None => {}
                Some(default) => def.push_str(&format!(" default {default}")),
            }
            if !extra.trim().is_empty() {
                def.push_str(&format!(" {}", normalize(&extra)));
            }
        }
        if let Some(collation) = &r[8] {
            def.push_str(&format!(" collate {collation}"));
        }
        let position = get(&r, 1).parse().unwrap_or(0);
        schema.member(&table, MemberKind::Column(position), Some(&name), &def);
        columns_of.entry(table).or_default().push(name);
    }

    // Constraints: their kind, then their columns and what they reference.
    let mut kinds: BTreeMap<(String, String), String> = BTreeMap::new();
    for r in rows(conn, CONSTRAINTS)? {
        if !skipped(&r) {
            kinds.insert((get(&r, 0), get(&r, 1)), get(&r, 2));
        }
    }
    let mut keys: Named<(Vec<String>, String, Vec<String>)> = BTreeMap::new();
    for r in rows(conn, KEY_COLUMNS)? {
        if skipped(&r) {
            continue;
        }
        let entry = keys.entry((get(&r, 0), get(&r, 1))).or_default();
        entry.0.push(get(&r, 2));
        if let Some(parent) = &r[3] {
            entry.1 = parent.clone();
            entry.2.push(get(&r, 4));
        }
    }
    let mut rules: BTreeMap<(String, String), (String, String)> = BTreeMap::new();
    for r in rows(conn, REFERENTIAL)? {
        rules.insert((get(&r, 0), get(&r, 1)), (get(&r, 2), get(&r, 3)));
    }
    for ((table, name), (columns, parent, referenced)) in &keys {
        let first = columns.first().map(String::as_str).unwrap_or_default();
        match kinds.get(&(table.clone(), name.clone())).map(String::as_str) {
            Some("PRIMARY KEY") => {
                schema.member(table, MemberKind::PrimaryKey, None, &format!("({})", columns.join(", ")));
            }
            Some("UNIQUE") => {
                add(
                    &mut schema,
                    table,
                    MemberKind::Unique,
                    name,
                    named_after(name, first),
                    &format!("({})", columns.join(", ")),
                );
            }
            Some("FOREIGN KEY") => {
                let mut def = format!("({}) references {parent} ({})", columns.join(", "), referenced.join(", "));
                if let Some((on_update, on_delete)) = rules.get(&(table.clone(), name.clone())) {
                    for (what, rule) in [("update", on_update), ("delete", on_delete)] {
                        if rule != "RESTRICT" && rule != "NO ACTION" {
                            def.push_str(&format!(" on {what} {}", rule.to_ascii_lowercase()));
                        }
                    }
                }
                let generated = generated_suffix(name, &format!("{table}_ibfk_"));
                add(&mut schema, table, MemberKind::ForeignKey, name, generated, &def);
            }
            _ => {}
        }
    }
    let checks = match rows(conn, CHECKS_MARIADB) {
        Ok(rows) => rows,
        Err(_) => rows(conn, CHECKS_MYSQL)?,
    };
    for r in checks {
        if skipped(&r) {
            continue;
        }
        let (table, name) = (get(&r, 0), get(&r, 1));
        let columns = columns_of.get(&table).map(Vec::as_slice).unwrap_or_default();
        let generated = generated_suffix(&name, &format!("{table}_chk_"))
            || generated_suffix(&name, "CONSTRAINT_")
            || columns.contains(&name);
        let def = format!("({})", normalize(&get(&r, 2)));
        add(&mut schema, &table, MemberKind::Check, &name, generated, &def);
    }

    // Indexes, but not those that are a primary key or unique constraint.
    let mut indexes: Named<(bool, String, Vec<String>)> = BTreeMap::new();
    for r in rows(conn, INDEXES)? {
        if skipped(&r) {
            continue;
        }
        let key = (get(&r, 0), get(&r, 1));
        if matches!(kinds.get(&key).map(String::as_str), Some("PRIMARY KEY" | "UNIQUE")) || key.1 == "PRIMARY" {
            continue;
        }
        let entry = indexes.entry(key).or_default();
        entry.0 = r[2].as_deref() == Some("0");
        entry.1 = get(&r, 5).to_ascii_lowercase();
        let mut column = r[3].clone().unwrap_or_else(|| "(an expression)".to_owned());
        if let Some(part) = &r[4] {
            column.push_str(&format!("({part})"));
        }
        if r[6].as_deref() == Some("D") {
            column.push_str(" desc");
        }
        entry.2.push(column);
    }
    for ((table, name), (unique, method, columns)) in &indexes {
        let first = columns.first().map(String::as_str).unwrap_or_default();
        // InnoDB names the index it makes for a foreign key after the key, or after its first column.
        let generated = named_after(name, first)
            || (generated_suffix(name, &format!("{table}_ibfk_"))
                && kinds.get(&(table.clone(), name.clone())).is_some_and(|k| k == "FOREIGN KEY"));
        let def = format!("{}{method} ({})", if *unique { "unique " } else { "" }, columns.join(", "));
        add(&mut schema, table, MemberKind::Index, name, generated, &def);
    }

    for r in rows(conn, TRIGGERS)? {
        if skipped(&r) {
            continue;
        }
        let def = format!(
            "{} {} for each row {}",
            get(&r, 2).to_ascii_lowercase(),
            get(&r, 3).to_ascii_lowercase(),
            tidy(&get(&r, 4))
        );
        schema.member(&get(&r, 0), MemberKind::Trigger, Some(&get(&r, 1)), &def);
    }
    for r in rows(conn, VIEWS)? {
        let mut def = tidy(&get(&r, 1));
        if r[2].as_deref().is_some_and(|o| o != "NONE") {
            def.push_str(&format!(" with {} check option", get(&r, 2).to_ascii_lowercase()));
        }
        schema.object(ObjectKind::View, &get(&r, 0), &def);
    }
    let mut parameters: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for r in rows(conn, PARAMETERS)? {
        let mode = r[2].as_deref().map(|m| format!("{} ", m.to_ascii_lowercase())).unwrap_or_default();
        parameters.entry((get(&r, 0), get(&r, 1))).or_default().push(format!("{mode}{} {}", get(&r, 3), get(&r, 4)));
    }
    for r in rows(conn, ROUTINES)? {
        let (name, kind) = (get(&r, 0), get(&r, 1));
        let arguments = parameters.get(&(name.clone(), kind.clone())).map(|p| p.join(", ")).unwrap_or_default();
        let mut def = String::new();
        if kind == "FUNCTION" {
            def.push_str(&format!("returns {} ", get(&r, 2)));
        }
        if r[4].as_deref() == Some("YES") {
            def.push_str("deterministic ");
        }
        def.push_str(&format!("{} as {}", get(&r, 5).to_ascii_lowercase(), tidy(&get(&r, 3))));
        let object = if kind == "FUNCTION" { ObjectKind::Function } else { ObjectKind::Procedure };
        schema.object(object, &format!("{name}({arguments})"), &def);
    }
    Ok(schema)
}

/// Adds a member under its name, or, for a name the server made up, by its definition.
fn add(schema: &mut Schema, table: &str, kind: MemberKind, name: &str, generated: bool, definition: &str) {
    if generated {
        schema.generated_member(table, kind, name, definition);
    } else {
        schema.member(table, kind, Some(name), definition);
    }
}

/// `name` is `prefix` followed by a number.
fn generated_suffix(name: &str, prefix: &str) -> bool {
    name.strip_prefix(prefix).is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// `name` is `column`, or `column_<n>`: what the server calls an unnamed key on that column.
fn named_after(name: &str, column: &str) -> bool {
    name == column || generated_suffix(name, &format!("{column}_"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_names() {
        assert!(generated_suffix("memberships_ibfk_2", "memberships_ibfk_"));
        assert!(!generated_suffix("memberships_ibfk_x", "memberships_ibfk_"));
        assert!(named_after("slug", "slug") && named_after("slug_2", "slug"));
        assert!(!named_after("organisations_slug", "slug"));
    }
}
