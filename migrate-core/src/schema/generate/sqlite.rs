//! The writer for SQLite, whose `ALTER TABLE` adds, drops and renames columns and nothing else: any other change to
//! a table is SQLite's documented rebuild (a new table of the desired definition, the rows copied, the old one
//! dropped and the new one renamed, its indexes and triggers made again), and the views that name the table are
//! dropped before and made again after, as SQLite checks them on the rename.

use super::{by_dependency, mark, mentions, parts, quoted, Part};
use crate::schema::{MemberKind, Object, ObjectKind, Schema};

/// A column's definition as the snapshot writes it (`integer not null default 0 generated virtual as (n * 2)
/// collate nocase`) as `CREATE TABLE` takes it.
fn column_sql(definition: &str) -> String {
    let mut rest = definition.trim().to_owned();
    let mut tail = Vec::new();
    if let Some(at) = rest.find(" collate ") {
        tail.push(format!("COLLATE {}", rest[at + " collate ".len()..].trim()));
        rest.truncate(at);
    }
    let mut generated = None;
    if let Some(at) = rest.find(" generated ") {
        // `generated stored as (expr)` → `GENERATED ALWAYS AS (expr) STORED`
        let clause = rest[at + " generated ".len()..].trim().to_owned();
        if let Some((kind, expr)) = clause.split_once(" as ") {
            generated = Some(format!("GENERATED ALWAYS AS {expr} {}", kind.to_uppercase()));
        }
        rest.truncate(at);
    }
    let mut head = Vec::new();
    if let Some(at) = rest.find(" default ") {
        head.push(format!("DEFAULT {}", default_sql(rest[at + " default ".len()..].trim())));
        rest.truncate(at);
    }
    if let Some(stripped) = rest.strip_suffix(" not null") {
        head.insert(0, "NOT NULL".to_owned());
        rest = stripped.to_owned();
    }
    let ty = if rest.trim() == "(no type)" { String::new() } else { rest.trim().to_owned() };
    let mut out = vec![ty];
    out.extend(head);
    out.extend(generated);
    out.extend(tail);
    out.retain(|p| !p.is_empty());
    out.join(" ")
}

/// A default as `PRAGMA table_info` gives it, as `DEFAULT` takes it: a literal as it is, an expression (which the
/// pragma gives without the parentheses it was written in) in parentheses.
fn default_sql(value: &str) -> String {
    let upper = value.to_ascii_uppercase();
    let number = value.strip_prefix(['-', '+']).unwrap_or(value);
    let literal = (value.starts_with('\'') && value.ends_with('\'') && value.len() > 1)
        || (!number.is_empty() && number.chars().all(|c| c.is_ascii_digit() || c == '.'))
        || matches!(upper.as_str(), "NULL" | "TRUE" | "FALSE" | "CURRENT_TIME" | "CURRENT_DATE" | "CURRENT_TIMESTAMP")
        || (upper.starts_with("X'") && value.ends_with('\''))
        || value.starts_with('(');
    if literal {
        value.to_owned()
    } else {
        format!("({value})")
    }
}

/// `CREATE TABLE name (…)` for a table as the snapshot describes it.
fn create_table(name: &str, table: &Object) -> String {
    let members = parts(table);
    let mut columns: Vec<(i64, String, String)> = members
        .iter()
        .filter(|p| matches!(p.kind, MemberKind::Column(_)))
        .map(|p| (table.members[p.label].position, p.name.clone().unwrap_or_default(), p.definition.to_owned()))
        .collect();
    columns.sort();
    let key = members.iter().find(|p| p.kind == MemberKind::PrimaryKey);
    // `(id) autoincrement` is only said on the column: `id INTEGER PRIMARY KEY AUTOINCREMENT`.
    let autoincrement =
        key.and_then(|k| k.definition.strip_suffix(" autoincrement")).map(|cols| cols.trim_matches(['(', ')']));
    let mut items: Vec<String> = columns
        .iter()
        .map(|(_, column, definition)| {
            let mut line = format!("{column} {}", column_sql(definition));
            if autoincrement.is_some_and(|c| quoted(c) == *column) {
                line.push_str(" PRIMARY KEY AUTOINCREMENT");
            }
            format!("    {}", line.trim_end())
        })
        .collect();
    for part in &members {
        let named = part.name.as_ref().map(|n| format!("CONSTRAINT {n} ")).unwrap_or_default();
        let clause = match part.kind {
            MemberKind::PrimaryKey if autoincrement.is_none() => format!("PRIMARY KEY {}", part.definition),
            MemberKind::Unique => format!("UNIQUE {}", part.definition),
            MemberKind::Check => format!("CHECK {}", part.definition),
            MemberKind::ForeignKey => format!("FOREIGN KEY {}", part.definition),
            _ => continue,
        };
        items.push(format!("    {named}{clause}"));
    }
    let options = match table.definition.as_str() {
        "" => String::new(),
        options => format!(" {}", options.to_uppercase()),
    };
    format!("CREATE TABLE {name} (\n{}\n){options};", items.join(",\n"))
}

fn index_sql(table: &str, part: &Part<'_>) -> String {
    let (unique, on) = match part.definition.strip_prefix("unique ") {
        Some(rest) => ("UNIQUE ", rest),
        None => ("", part.definition),
    };
    format!("CREATE {unique}INDEX {} ON {table} {on};", part.name.clone().unwrap_or_default())
}

/// The indexes of `table`, made.
fn indexes(table: &str, object: &Object) -> Vec<String> {
    parts(object).iter().filter(|p| p.kind == MemberKind::Index).map(|p| index_sql(table, p)).collect()
}

/// A trigger, made: its definition is its whole `CREATE TRIGGER` text.
fn trigger_sql(part: &Part<'_>) -> String {
    format!("{};", part.definition.trim_end_matches(';'))
}

/// Whether `new` is `old` with columns added at the end that `ALTER TABLE ADD COLUMN` can make (not `NOT NULL`
/// without a default, no `CURRENT_…` or expression default, not stored), and nothing else changed: the added
/// columns' definitions.
fn only_added(old: &Object, new: &Object) -> Option<Vec<(String, String)>> {
    if old.definition != new.definition {
        return None;
    }
    let mut added = Vec::new();
    for (label, member) in &new.members {
        match old.members.get(label) {
            Some(was) if was.definition == member.definition => {}
            Some(_) => return None,
            None => {
                let column = label.strip_prefix("column ")?;
                let d = &member.definition;
                let default = d.find(" default ").map(|at| {
                    let rest = &d[at + " default ".len()..];
                    rest.find(" collate ").or_else(|| rest.find(" generated ")).map_or(rest, |end| &rest[..end]).trim()
                });
                // SQLite refuses these only on a table with rows: the proof on an empty one would not see it.
                let refused = (d.contains(" not null") && default.is_none_or(|v| v.eq_ignore_ascii_case("null")))
                    || default.is_some_and(|v| {
                        default_sql(v).starts_with('(') || v.to_ascii_lowercase().starts_with("current_")
                    })
                    || d.contains(" generated stored");
                if refused {
                    return None;
                }
                added.push((quoted(column), d.clone()));
            }
        }
    }
    (old.members.keys().all(|l| new.members.contains_key(l))).then_some(added)
}

/// The statements that take `from` to `to` on SQLite.
pub(super) fn statements(from: &Schema, to: &Schema, review: &mut Vec<String>) -> Vec<String> {
    let of = |schema: &Schema, kind: ObjectKind| -> Vec<(String, Object)> {
        schema.objects.iter().filter(|((k, _), _)| *k == kind).map(|((_, n), o)| (quoted(n), o.clone())).collect()
    };
    let get = |list: &[(String, Object)], name: &str| list.iter().find(|(n, _)| n == name).map(|(_, o)| o.clone());
    let (old_tables, new_tables) = (of(from, ObjectKind::Table), of(to, ObjectKind::Table));
    let (old_views, new_views) = (of(from, ObjectKind::View), of(to, ObjectKind::View));
    let mut out = Vec::new();

    // Tables that change: rebuilt, unless SQLite can add the columns in place.
    let mut rebuilt = Vec::new();
    let mut added_in_place = Vec::new();
    for (name, old) in &old_tables {
        match get(&new_tables, name) {
            Some(new) if new == *old => {}
            Some(new) => {
                let columns_same = old
                    .members
                    .iter()
                    .filter(|(l, _)| !matches!(super::member_kind(l), Some(MemberKind::Index | MemberKind::Trigger)))
                    .eq(new.members.iter().filter(|(l, _)| {
                        !matches!(super::member_kind(l), Some(MemberKind::Index | MemberKind::Trigger))
                    }));
                match only_added(old, &new) {
                    Some(added) if !added.is_empty() => added_in_place.push((name.clone(), added)),
                    _ if columns_same && old.definition == new.definition => {}
                    _ => rebuilt.push(name.clone()),
                }
            }
            None => {}
        }
    }
    let gone: Vec<&String> = old_tables.iter().map(|(n, _)| n).filter(|n| get(&new_tables, n).is_none()).collect();

    // Views that change, or that name a table rebuilt or dropped (or another such view), go first.
    let mut touched: Vec<String> = rebuilt.iter().cloned().chain(gone.iter().map(|n| (*n).clone())).collect();
    let mut remade: Vec<String> = Vec::new();
    loop {
        let more: Vec<String> = old_views
            .iter()
            .filter(|(n, _)| !remade.contains(n))
            .filter(|(n, old)| {
                get(&new_views, n).as_ref() != Some(old) || touched.iter().any(|t| mentions(&old.definition, t))
            })
            .map(|(n, _)| n.clone())
            .collect();
        if more.is_empty() {
            break;
        }
        touched.extend(more.iter().cloned());
        remade.extend(more);
    }
    let standing: Vec<&(String, Object)> = old_views.iter().filter(|(n, _)| remade.contains(n)).collect();
    for (name, _) in by_dependency(standing, |v| &v.0, |v| &v.1.definition, true) {
        out.push(format!("DROP VIEW {name};"));
    }
    // With foreign keys on (the bundled SQLite's default), DROP TABLE deletes the rows first, and the keys that
    // name the table act on theirs: ON DELETE CASCADE deletes them. The proof, on empty tables, cannot see it.
    for name in rebuilt.iter().chain(gone.iter().copied()) {
        let bare = name.trim_matches('"');
        let referring: Vec<&String> = old_tables
            .iter()
            .filter(|(other, table)| {
                other != name
                    && parts(table)
                        .iter()
                        .any(|p| super::referenced(p).is_some_and(|r| r.trim_matches('"').eq_ignore_ascii_case(bare)))
            })
            .map(|(other, _)| other)
            .collect();
        if !referring.is_empty() {
            let sentence = format!(
                "table {name} is dropped here, and foreign keys of {} name it: on a connection with foreign keys on, \
                 their ON DELETE actions run on its rows (CASCADE deletes theirs); run this revision with foreign keys \
                 off (`-- migrate:no-transaction`, then `PRAGMA foreign_keys = OFF;` first and `PRAGMA \
                 foreign_key_check;` last), as SQLite's procedure says",
                referring.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ")
            );
            mark(&mut out, review, sentence);
        }
    }
    // Children first: a table's DROP deletes its rows, and a key of a table already gone could not be checked.
    let gone: Vec<(&String, String)> = gone
        .into_iter()
        .map(|name| {
            let table = get(&old_tables, name).unwrap_or_default();
            (name, parts(&table).iter().filter_map(|p| super::referenced(p).map(quoted)).collect::<Vec<_>>().join(" "))
        })
        .collect();
    for (name, _) in by_dependency(gone, |t| t.0, |t| &t.1, true) {
        mark(&mut out, review, super::sentences::table_dropped(name));
        out.push(format!("DROP TABLE {name};"));
    }
    // Triggers are made once every table is there: one may name a table made after its own, and SQLite checks
    // every trigger when a rebuilt table is renamed.
    let mut triggers = Vec::new();
    for (name, new) in &new_tables {
        let Some(old) = get(&old_tables, name) else {
            out.push(create_table(name, new));
            out.extend(indexes(name, new));
            triggers.extend(parts(new).iter().filter(|p| p.kind == MemberKind::Trigger).map(trigger_sql));
            continue;
        };
        if let Some((_, added)) = added_in_place.iter().find(|(n, _)| n == name) {
            for (column, definition) in added {
                out.push(format!("ALTER TABLE {name} ADD COLUMN {column} {};", column_sql(definition)));
            }
        }
        if rebuilt.contains(name) {
            // A key whose table is not in the schema (left behind by a rename, SQLite rewriting the reference) makes
            // SQLite refuse every write to the table while foreign keys are on, the copy below included.
            for parent in parts(new).iter().filter_map(super::referenced) {
                if get(&new_tables, &quoted(parent.trim_matches('"'))).is_none() {
                    mark(&mut out, review, super::sentences::dangling_key(name, parent));
                }
            }
            // SQLite's procedure (https://www.sqlite.org/lang_altertable.html#otheralter): the rows of the columns
            // both definitions have are copied; generated columns are computed, not copied.
            let columns = |o: &Object| -> Vec<String> {
                parts(o)
                    .iter()
                    .filter(|p| matches!(p.kind, MemberKind::Column(_)) && !p.definition.contains(" generated "))
                    .filter_map(|p| p.name.clone())
                    .collect()
            };
            let (before, after) = (columns(&old), columns(new));
            let common: Vec<&String> = after.iter().filter(|c| before.contains(c)).collect();
            let dropped: Vec<&String> = before.iter().filter(|c| !after.contains(c)).collect();
            if !dropped.is_empty() {
                let sentence = format!(
                    "table {name} is rebuilt without {}: if a column was renamed, say so (--rename) and its rows are kept",
                    dropped.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ")
                );
                mark(&mut out, review, sentence);
            }
            let temporary = quoted(&format!("_new_{}", name.trim_matches('"')));
            out.push(create_table(&temporary, new));
            let list = common.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ");
            if !list.is_empty() {
                out.push(format!("INSERT INTO {temporary} ({list}) SELECT {list} FROM {name};"));
            }
            out.push(format!("DROP TABLE {name};"));
            out.push(format!("ALTER TABLE {temporary} RENAME TO {name};"));
            out.extend(indexes(name, new));
            triggers.extend(parts(new).iter().filter(|p| p.kind == MemberKind::Trigger).map(trigger_sql));
            continue;
        }
        // Indexes and triggers that go, change or come.
        for part in parts(&old) {
            let stays = new.members.get(part.label) == old.members.get(part.label);
            match part.kind {
                MemberKind::Index if !stays => {
                    out.push(format!("DROP INDEX {};", part.name.clone().unwrap_or_default()))
                }
                MemberKind::Trigger if !stays => {
                    out.push(format!("DROP TRIGGER {};", part.name.clone().unwrap_or_default()))
                }
                _ => {}
            }
        }
        for part in parts(new) {
            if new.members.get(part.label) == old.members.get(part.label) {
                continue;
            }
            match part.kind {
                MemberKind::Index => out.push(index_sql(name, &part)),
                MemberKind::Trigger => triggers.push(trigger_sql(&part)),
                _ => {}
            }
        }
    }
    // Views that are new, changed or dropped above; each after the views it names.
    let pending: Vec<&(String, Object)> =
        new_views.iter().filter(|(n, new)| get(&old_views, n).as_ref() != Some(new) || remade.contains(n)).collect();
    for (name, view) in by_dependency(pending, |v| &v.0, |v| &v.1.definition, false) {
        out.push(format!("CREATE VIEW {name} AS {};", view.definition.trim_end_matches(';')));
    }
    // After the views too: a trigger may name one.
    out.extend(triggers);
    out
}
