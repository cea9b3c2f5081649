//! The writer for MySQL and MariaDB. A table's changes go into one `ALTER TABLE` of several clauses, as MySQL users
//! write them: the server copies or rebuilds the table once, not once per change, and an `AUTO_INCREMENT` column
//! and the key it needs arrive together. Foreign keys and triggers, which name other tables and columns, go out
//! first and come back last. Names are written in backticks; a member whose name the server made up
//! (`posts_ibfk_1`, an index named after its column) is dropped by the name the snapshot kept aside.

use std::collections::BTreeMap;

use super::{at_top, by_dependency, mark, parts, sentences, Column, Part};
use crate::schema::{MemberKind, Object, ObjectKind, Schema};

/// A name as MySQL takes it: in backticks (the snapshot writes one with other characters in double quotes).
pub(super) fn ticked(name: &str) -> String {
    let bare = match name.strip_prefix('"').and_then(|n| n.strip_suffix('"')) {
        Some(inner) => inner.replace("\"\"", "\""),
        None => name.to_owned(),
    };
    format!("`{}`", bare.replace('`', "``"))
}

/// A name in backticks as a sentence says it, without them.
fn plain(name: &str) -> String {
    name.strip_prefix('`').and_then(|n| n.strip_suffix('`')).map_or(name.to_owned(), |n| n.replace("``", "`"))
}

/// The items of a parenthesised list, `(a, b(10) desc)`, split at its top-level commas.
fn items(list: &str) -> Vec<&str> {
    let inner = list.trim().strip_prefix('(').and_then(|l| l.strip_suffix(')')).unwrap_or(list);
    let mut out = Vec::new();
    let mut start = 0;
    for at in at_top(inner, ",") {
        out.push(inner[start..at].trim());
        start = at + 1;
    }
    out.push(inner[start..].trim());
    out.retain(|i| !i.is_empty());
    out
}

/// A list of key columns as the catalog gives them (`(a, b(10) desc)`) with each name in backticks; `None` for a key
/// on an expression, which the snapshot does not keep.
fn key_columns(list: &str) -> Option<String> {
    let mut out = Vec::new();
    for item in items(list) {
        if item.starts_with('(') {
            return None;
        }
        let end = item.find(['(', ' ']).unwrap_or(item.len());
        out.push(format!("{}{}", ticked(&item[..end]), item[end..].to_uppercase()));
    }
    Some(format!("({})", out.join(", ")))
}

impl Column {
    /// As MySQL's `CREATE TABLE`, `ADD COLUMN` and `MODIFY COLUMN` take it, after the name.
    fn mysql(&self) -> String {
        let mut out = vec![self.ty.clone()];
        if let Some(collate) = &self.collate {
            out.push(format!("COLLATE {collate}"));
        }
        // `generated always as (n * 2) stored`
        if let Some((expression, kind)) =
            self.generated.as_deref().and_then(|g| g.strip_prefix("generated always as ")?.rsplit_once(' '))
        {
            out.push(format!("GENERATED ALWAYS AS {expression} {}", kind.to_uppercase()));
        }
        if self.not_null {
            out.push("NOT NULL".into());
        } else if self.ty.starts_with("timestamp") {
            // Where `explicit_defaults_for_timestamp` is off, a TIMESTAMP column not said NULL is NOT NULL.
            out.push("NULL".into());
        }
        if let Some(default) = &self.default {
            out.push(format!("DEFAULT {}", default_sql(default)));
        }
        out.extend(self.extra.iter().map(|e| match e.strip_prefix("on update ") {
            Some(value) => format!("ON UPDATE {value}"),
            None => e.to_uppercase(),
        }));
        out.join(" ")
    }
}

/// A default as the catalog gives it, as `DEFAULT` takes it: a literal or `current_timestamp(…)` as it is, another
/// expression in parentheses.
fn default_sql(value: &str) -> String {
    let lower = value.to_ascii_lowercase();
    let number = value.strip_prefix(['-', '+']).unwrap_or(value);
    let literal = (value.starts_with('\'') && value.ends_with('\'') && value.len() > 1)
        || (!number.is_empty() && number.chars().all(|c| c.is_ascii_digit() || c == '.' || c == 'e'))
        || lower == "null"
        || lower == "true"
        || lower == "false"
        || ["current_timestamp", "now(", "localtime", "current_date", "curdate("].iter().any(|f| lower.starts_with(f))
        || ((lower.starts_with("b'") || lower.starts_with("x'")) && value.ends_with('\''))
        || value.starts_with('(');
    if literal {
        value.to_owned()
    } else {
        format!("({value})")
    }
}

/// The clause that makes a key, constraint or index, as `CREATE TABLE` lists it and `ALTER TABLE … ADD` takes it;
/// `None` (and a mark) for what the snapshot does not say enough to write.
fn clause(table: &str, part: &Part<'_>, review: &mut Vec<String>) -> Result<String, String> {
    let named = part.made_name().map(|n| format!("CONSTRAINT {} ", ticked(&n))).unwrap_or_default();
    let mut expression = || {
        let sentence = format!(
            "{} on {} is on an expression the snapshot does not keep: write it by hand",
            part.label,
            plain(table)
        );
        review.push(sentence.clone());
        format!("-- migrate:review {sentence}")
    };
    Ok(match part.kind {
        MemberKind::PrimaryKey => format!("PRIMARY KEY {}", key_columns(part.definition).ok_or_else(&mut expression)?),
        MemberKind::Unique => format!("{named}UNIQUE {}", key_columns(part.definition).ok_or_else(&mut expression)?),
        MemberKind::Check => format!("{named}CHECK {}", part.definition),
        MemberKind::ForeignKey => {
            // `(a) references parent (id) on delete cascade`
            let (columns, target) = part.definition.split_once(" references ").ok_or_else(&mut expression)?;
            let open = target.find(" (").ok_or_else(&mut expression)?;
            let close = target.find(')').ok_or_else(&mut expression)?;
            let referenced = key_columns(&target[open + 1..=close]).ok_or_else(&mut expression)?;
            let actions = target[close + 1..].trim().to_uppercase();
            let columns = key_columns(columns).ok_or_else(&mut expression)?;
            let parent = parent(part).ok_or_else(&mut expression)?;
            format!("{named}FOREIGN KEY {columns} REFERENCES {parent} {referenced} {actions}").trim_end().to_owned()
        }
        MemberKind::Index => {
            // `[unique ]btree (a, b(10) desc)`, `fulltext (body)`
            let (unique, rest) = match part.definition.strip_prefix("unique ") {
                Some(rest) => ("UNIQUE ", rest),
                None => ("", part.definition),
            };
            let open = rest.find('(').ok_or_else(&mut expression)?;
            let method = rest[..open].trim();
            let columns = key_columns(&rest[open..]).ok_or_else(&mut expression)?;
            let kind = match method {
                "fulltext" | "spatial" => format!("{} ", method.to_uppercase()),
                _ => String::new(),
            };
            let name = part.made_name().map(|n| format!("{} ", ticked(&n))).unwrap_or_default();
            let using = if method == "hash" { " USING HASH" } else { "" };
            format!("{unique}{kind}INDEX {name}{columns}{using}")
        }
        _ => return Err(String::new()),
    })
}

/// The clause of `ALTER TABLE` that drops a member, by its name or the one the server gave it.
fn drop_clause(table: &str, part: &Part<'_>, review: &mut Vec<String>) -> Result<String, String> {
    if part.kind == MemberKind::PrimaryKey {
        return Ok("DROP PRIMARY KEY".into());
    }
    let Some(name) = part.made_name() else {
        let sentence = format!(
            "{} on {} has a name the server made up, which this snapshot does not hold: drop it by its name",
            part.label,
            plain(table)
        );
        review.push(sentence.clone());
        return Err(format!("-- migrate:review {sentence}"));
    };
    let name = ticked(&name);
    Ok(match part.kind {
        MemberKind::ForeignKey => format!("DROP FOREIGN KEY {name}"),
        MemberKind::Check => format!("DROP CONSTRAINT {name}"),
        _ => format!("DROP INDEX {name}"),
    })
}

/// `engine InnoDB collate utf8mb4_general_ci` as table options.
fn options(definition: &str) -> BTreeMap<&str, &str> {
    let words: Vec<&str> = definition.split(' ').collect();
    words.chunks(2).filter_map(|pair| Some((pair[0], *pair.get(1)?))).collect()
}

fn table_options(definition: &str) -> String {
    let options = options(definition);
    let engine = options.get("engine").map(|e| format!(" ENGINE={e}")).unwrap_or_default();
    let collate = options.get("collate").map(|c| format!(" DEFAULT COLLATE={c}")).unwrap_or_default();
    format!("{engine}{collate}")
}

/// The columns of a table in their order: `(name in backticks, definition)`.
fn columns(table: &Object) -> Vec<(String, String)> {
    let mut columns: Vec<(i64, String, String)> = parts(table)
        .into_iter()
        .filter(|p| matches!(p.kind, MemberKind::Column(_)))
        .map(|p| {
            (table.members[p.label].position, ticked(&p.name.clone().unwrap_or_default()), p.definition.to_owned())
        })
        .collect();
    columns.sort();
    columns.into_iter().map(|(_, name, definition)| (name, definition)).collect()
}

fn create_table(name: &str, table: &Object, review: &mut Vec<String>) -> Vec<String> {
    let mut lines: Vec<String> = columns(table)
        .into_iter()
        .map(|(column, definition)| format!("{column} {}", Column::parse(&definition).mysql()))
        .collect();
    let mut marks = Vec::new();
    let members = parts(table);
    for kind in [MemberKind::PrimaryKey, MemberKind::Unique, MemberKind::Index, MemberKind::Check] {
        for part in members.iter().filter(|p| p.kind == kind) {
            match clause(name, part, review) {
                Ok(clause) => lines.push(clause),
                Err(marked) => marks.push(marked),
            }
        }
    }
    let body = lines.iter().map(|l| format!("    {l}")).collect::<Vec<_>>().join(",\n");
    marks.push(format!("CREATE TABLE {name} (\n{body}\n){};", table_options(&table.definition)));
    marks
}

/// One `ALTER TABLE` of `clauses`, each on its own line, after the marks that concern them.
fn alter(table: &str, clauses: Vec<Result<String, String>>) -> Vec<String> {
    let (mut out, mut ok) = (Vec::new(), Vec::new());
    for clause in clauses {
        match clause {
            Ok(clause) if clause.starts_with("-- ") => out.push(clause),
            Ok(clause) => ok.push(clause),
            Err(marked) => out.extend((!marked.is_empty()).then_some(marked)),
        }
    }
    if !ok.is_empty() {
        out.push(format!("ALTER TABLE {table}\n    {};", ok.join(",\n    ")));
    }
    out
}

/// The clauses that take the columns and options of a table from `old` to `new`.
fn table_changes(table: &str, old: &Object, new: &Object, review: &mut Vec<String>) -> Vec<Result<String, String>> {
    let (before, after) = (columns(old), columns(new));
    let mut out: Vec<Result<String, String>> = Vec::new();
    let mut marks = Vec::new();
    let dropped: Vec<&String> =
        before.iter().filter(|(n, _)| !after.iter().any(|(m, _)| m == n)).map(|(n, _)| n).collect();
    let added: Vec<usize> = (0..after.len()).filter(|&i| !before.iter().any(|(m, _)| *m == after[i].0)).collect();
    let (t, p) = (plain(table), |n: &str| plain(n));
    if let (Some(gone), Some(&new_one)) = (dropped.first(), added.first()) {
        mark(&mut marks, review, sentences::maybe_renamed(&t, &p(gone), &p(&after[new_one].0)));
    }
    for name in &dropped {
        mark(&mut marks, review, sentences::dropped(&t, &p(name)));
        out.push(Ok(format!("DROP COLUMN {name}")));
    }
    for &i in &added {
        let (name, definition) = &after[i];
        let column = Column::parse(definition);
        if column.not_null && column.default.is_none() && column.generated.is_none() && column.extra.is_empty() {
            mark(&mut marks, review, sentences::not_null_added(&t, &p(name)));
        }
        let place = match i.checked_sub(1) {
            Some(previous) => format!(" AFTER {}", after[previous].0),
            None => " FIRST".into(),
        };
        out.push(Ok(format!("ADD COLUMN {name} {}{place}", column.mysql())));
    }
    // A new collation for the table: its text columns that follow the table's are given it one by one (`CONVERT
    // TO` would also turn a `text` into a `mediumtext` where the new character set needs more bytes).
    let (a, b) = (options(&old.definition), options(&new.definition));
    let collate = b.get("collate").filter(|c| a.get("collate") != Some(*c)).copied();
    if let Some(collate) = collate {
        let sentence = format!(
            "table {t} changes its collation to {collate}: its text columns are converted, which rewrites every row"
        );
        mark(&mut marks, review, sentence);
        out.push(Ok(format!("DEFAULT COLLATE={collate}")));
    }
    if let Some(engine) = b.get("engine").filter(|e| a.get("engine") != Some(*e)) {
        out.push(Ok(format!("ENGINE={engine}")));
    }
    let textual = |ty: &str| {
        ["char", "varchar", "tinytext", "text", "mediumtext", "longtext", "enum", "set"]
            .iter()
            .any(|t| ty == *t || ty.starts_with(&format!("{t}(")) || ty.starts_with(&format!("{t} ")))
    };
    for (name, definition) in &after {
        let Some((_, was)) = before.iter().find(|(n, _)| n == name) else { continue };
        let (a, mut b) = (Column::parse(was), Column::parse(definition));
        let recollated = collate.is_some() && b.collate.is_none() && textual(&b.ty);
        if was == definition && !recollated {
            continue;
        }
        if recollated {
            b.collate = collate.map(str::to_owned);
        }
        if a.ty != b.ty && !widens(&a.ty, &b.ty) {
            mark(&mut marks, review, sentences::retyped(&t, &p(name), &a.ty, &b.ty));
        }
        if b.not_null && !a.not_null {
            mark(&mut marks, review, sentences::becomes_not_null(&t, &p(name)));
        }
        out.push(Ok(format!("MODIFY COLUMN {name} {}", b.mysql())));
    }
    marks.into_iter().map(Ok).chain(out).collect()
}

/// Whether every value of type `from` is a value of `to`, unchanged: a longer string of the same kind, more
/// digits of the same integer, values appended to an `enum` or `set`.
fn widens(from: &str, to: &str) -> bool {
    // `int(11) unsigned` → ("int", "11", " unsigned"); `text` → ("text", "", "")
    let split = |ty: &str| -> (String, String, String) {
        match (ty.find('('), ty.rfind(')')) {
            (Some(open), Some(close)) if open < close => {
                (ty[..open].to_owned(), ty[open + 1..close].to_owned(), ty[close + 1..].to_owned())
            }
            _ => {
                let (base, rest) = ty.split_at(ty.find(' ').unwrap_or(ty.len()));
                (base.to_owned(), String::new(), rest.to_owned())
            }
        }
    };
    let ((a, a_args, a_rest), (b, b_args, b_rest)) = (split(from), split(to));
    const INTEGERS: [&str; 5] = ["tinyint", "smallint", "mediumint", "int", "bigint"];
    let rank = |t: &str| INTEGERS.iter().position(|i| *i == t);
    if a_rest != b_rest {
        return false;
    }
    if let (Some(x), Some(y)) = (rank(&a), rank(&b)) {
        return x <= y;
    }
    a == b
        && match a.as_str() {
            "enum" | "set" => b_args.starts_with(&a_args) && b_args[a_args.len()..].starts_with(','),
            "varchar" | "char" | "varbinary" | "binary" => a_args.parse::<u32>().ok() <= b_args.parse::<u32>().ok(),
            _ => false,
        }
}

/// The table a foreign key names, in backticks.
fn parent(part: &Part<'_>) -> Option<String> {
    super::referenced(part).map(ticked)
}

fn trigger_sql(table: &str, part: &Part<'_>) -> String {
    // `before insert for each row <body>`
    let mut words = part.definition.splitn(3, ' ');
    let (timing, event) = (words.next().unwrap_or_default(), words.next().unwrap_or_default());
    let body = words.next().unwrap_or_default().strip_prefix("for each row ").unwrap_or_default();
    let name = ticked(&part.name.clone().unwrap_or_default());
    format!("CREATE TRIGGER {name} {} {} ON {table} FOR EACH ROW {body};", timing.to_uppercase(), event.to_uppercase())
}

/// The statements that take `from` to `to` on MySQL or MariaDB.
pub(super) fn statements(from: &Schema, to: &Schema, review: &mut Vec<String>) -> Vec<String> {
    let of = |schema: &Schema, kind: ObjectKind| -> BTreeMap<String, Object> {
        schema.objects.iter().filter(|((k, _), _)| *k == kind).map(|((_, n), o)| (ticked(n), o.clone())).collect()
    };
    let (old_tables, new_tables) = (of(from, ObjectKind::Table), of(to, ObjectKind::Table));
    let (old_views, new_views) = (of(from, ObjectKind::View), of(to, ObjectKind::View));
    let mut out = Vec::new();
    let changed = |part: &Part<'_>, old: &Object, new: Option<&Object>| {
        new.is_none_or(|n| n.members.get(part.label) != old.members.get(part.label))
    };

    // Views that go, dependents first; one that changes is replaced in place below.
    let gone: Vec<(&String, &Object)> = old_views.iter().filter(|(n, _)| !new_views.contains_key(*n)).collect();
    for (name, _) in by_dependency(gone, |v| v.0, |v| &v.1.definition, true) {
        out.push(format!("DROP VIEW {name};"));
    }
    // Triggers and foreign keys that go or change, on the tables that stay.
    for (table, old) in &old_tables {
        let Some(new) = new_tables.get(table) else { continue };
        let mut clauses = Vec::new();
        for part in parts(old).into_iter().filter(|p| changed(p, old, Some(new))) {
            match part.kind {
                MemberKind::Trigger => out.push(format!("DROP TRIGGER {};", ticked(&part.name.unwrap_or_default()))),
                MemberKind::ForeignKey => clauses.push(drop_clause(table, &part, review)),
                _ => {}
            }
        }
        out.extend(alter(table, clauses));
    }
    // Tables that go, each after the tables whose keys name it.
    let gone: Vec<(&String, String)> = old_tables
        .iter()
        .filter(|(n, _)| !new_tables.contains_key(*n))
        .map(|(n, o)| {
            let parents = parts(o).iter().filter_map(|p| parent(p)).collect::<Vec<_>>();
            (n, parents.join(" "))
        })
        .collect();
    for (table, _) in by_dependency(gone, |t| t.0, |t| &t.1, true) {
        mark(&mut out, review, sentences::table_dropped(&plain(table)));
        out.push(format!("DROP TABLE {table};"));
    }
    for (name, _) in of(to, ObjectKind::Sequence) {
        if !of(from, ObjectKind::Sequence).contains_key(&name) {
            out.push(format!("CREATE SEQUENCE {name};"));
        }
    }
    // Tables that are new, and one ALTER TABLE for each that changes: keys, checks and indexes that go, columns,
    // options, then the keys, checks and indexes that come.
    for (table, new) in &new_tables {
        let Some(old) = old_tables.get(table) else {
            out.extend(create_table(table, new, review));
            continue;
        };
        let mut clauses = Vec::new();
        let kept = |k: MemberKind| {
            matches!(k, MemberKind::PrimaryKey | MemberKind::Unique | MemberKind::Check | MemberKind::Index)
        };
        for part in parts(old).into_iter().filter(|p| kept(p.kind) && changed(p, old, Some(new))) {
            clauses.push(drop_clause(table, &part, review));
        }
        clauses.extend(table_changes(table, old, new, review));
        for part in parts(new).into_iter().filter(|p| kept(p.kind) && changed(p, new, Some(old))) {
            clauses.push(clause(table, &part, review).map(|c| format!("ADD {c}")));
        }
        out.extend(alter(table, clauses));
    }
    // Foreign keys and triggers that come, once every table and key is there.
    for (table, new) in &new_tables {
        let old = old_tables.get(table);
        let added: Vec<Part<'_>> =
            parts(new).into_iter().filter(|p| old.is_none_or(|o| changed(p, new, Some(o)))).collect();
        let keys = added.iter().filter(|p| p.kind == MemberKind::ForeignKey);
        out.extend(alter(table, keys.map(|p| clause(table, p, review).map(|c| format!("ADD {c}"))).collect()));
        out.extend(added.iter().filter(|p| p.kind == MemberKind::Trigger).map(|p| trigger_sql(table, p)));
    }
    // Views that are new or changed, each after the views it names.
    let pending: Vec<(&String, &Object)> = new_views.iter().filter(|(n, v)| old_views.get(*n) != Some(*v)).collect();
    for (name, view) in by_dependency(pending, |v| v.0, |v| &v.1.definition, false) {
        let verb = if old_views.contains_key(name) { "CREATE OR REPLACE" } else { "CREATE" };
        out.push(format!("{verb} VIEW {name} AS {};", view.definition.trim_end_matches(';')));
    }
    for kind in [ObjectKind::Function, ObjectKind::Procedure] {
        let (old, new) = (of(from, kind), of(to, kind));
        for (name, routine) in &new {
            if old.get(name) != Some(routine) {
                let sentence = format!("{} {} is new or changed: write its CREATE here", kind.word(), plain(name));
                mark(&mut out, review, sentence);
            }
        }
        for name in old.keys().filter(|n| !new.contains_key(*n)) {
            // `name(in a int)`: MySQL drops a routine by its name alone.
            let bare = plain(name);
            let bare = bare.split('(').next().unwrap_or_default();
            out.push(format!("DROP {} {};", kind.word().to_uppercase(), ticked(bare)));
        }
    }
    for (name, _) in of(from, ObjectKind::Sequence) {
        if !of(to, ObjectKind::Sequence).contains_key(&name) {
            out.push(format!("DROP SEQUENCE {name};"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_read_back_as_sql() {
        let cases = [
            ("int(11) not null auto_increment", "int(11) NOT NULL AUTO_INCREMENT"),
            (
                "varchar(20) not null default 'a b' collate utf8mb4_bin",
                "varchar(20) COLLATE utf8mb4_bin NOT NULL DEFAULT 'a b'",
            ),
            (
                "timestamp not null default current_timestamp() on update current_timestamp()",
                "timestamp NOT NULL DEFAULT current_timestamp() ON UPDATE current_timestamp()",
            ),
            ("timestamp", "timestamp NULL"),
            ("enum('a default b','c') default 'c'", "enum('a default b','c') DEFAULT 'c'"),
            ("char(36) default uuid()", "char(36) DEFAULT (uuid())"),
            ("int(11) generated always as (`n` * 2) stored", "int(11) GENERATED ALWAYS AS (`n` * 2) STORED"),
            ("bigint(20) unsigned not null default -1", "bigint(20) unsigned NOT NULL DEFAULT -1"),
        ];
        for (snapshot, sql) in cases {
            assert_eq!(Column::parse(snapshot).mysql(), sql, "{snapshot}");
        }
    }

    #[test]
    fn widening_types_are_not_marked() {
        assert!(widens("varchar(100)", "varchar(200)") && widens("enum('a','b')", "enum('a','b','c')"));
        assert!(!widens("varchar(200)", "varchar(100)") && !widens("enum('a','b')", "enum('b','a')"));
        assert!(widens("int(11)", "bigint(20)") && widens("smallint", "int"));
        assert!(!widens("int(11)", "int(11) unsigned") && !widens("enum('a')", "enum('ab')"));
        assert!(!widens("bigint", "int") && !widens("varchar(10)", "char(10)"));
    }

    #[test]
    fn key_columns_are_quoted_and_expressions_refused() {
        assert_eq!(key_columns("(a, order(10) desc)").as_deref(), Some("(`a`, `order`(10) DESC)"));
        assert_eq!(key_columns("((an expression))"), None);
        assert_eq!(ticked("\"a b\""), "`a b`");
        assert_eq!(ticked("we`ird"), "`we``ird`");
    }
}
