//! A revision written from two schemas: the statements that take a database from `current` to `desired` (the up),
//! and back (the down), in the backend's dialect, from the snapshots' own definitions (which are the catalog's
//! deparsed SQL). What a machine must not guess is written for review, never silently: a column dropped and another
//! added on the same table (a rename, unless `renames` says so), a type change that can lose data, a dropped table.
//! The result is a proposal: [`crate::Migrator`]'s round trip, or applying both files to a scratch database and
//! comparing snapshots, proves it before it is saved.
//!
//! PostgreSQL here: tables, columns (added, dropped, type, nullability, default), primary keys, unique, check,
//! exclusion and foreign-key constraints, indexes, triggers, views and materialized views (and their indexes),
//! sequences, and enum and domain types. SQLite in `sqlite.rs` (its table rebuild for what `ALTER TABLE` cannot
//! do); MySQL and MariaDB in `mysql.rs` (one `ALTER TABLE` of several clauses per table). The three share the
//! column parser, the review sentences, the dependency order and the server-given names of members the snapshot
//! knows by definition (`Part::made_name`). Functions and procedures are left for review: the snapshot keeps
//! their bodies on one line and their arguments without names, which is not enough to write them back.

use std::collections::BTreeMap;

use super::{member_kind, MemberKind, Object, ObjectKind, Schema};

mod mysql;
mod sqlite;
use crate::revision::Backend;

/// What a writer marks for review, in the same words on every backend.
mod sentences {
    pub(super) fn maybe_renamed(table: &str, dropped: &str, added: &str) -> String {
        format!(
            "on {table}, column {dropped} is dropped and {added} added: if that is a rename, say so (--rename \
             {table}.{dropped}={added}) and the rows are kept"
        )
    }

    pub(super) fn dropped(table: &str, column: &str) -> String {
        format!("column {table}.{column} is dropped, with its values")
    }

    pub(super) fn not_null_added(table: &str, column: &str) -> String {
        format!(
            "column {table}.{column} is added NOT NULL without a default: this fails on a table that has rows; give \
             it a default, or add it nullable and backfill first"
        )
    }

    pub(super) fn retyped(table: &str, column: &str, from: &str, to: &str) -> String {
        format!("column {table}.{column} changes type from {from} to {to}: check that no value is lost or refused")
    }

    pub(super) fn becomes_not_null(table: &str, column: &str) -> String {
        format!("column {table}.{column} becomes NOT NULL: this fails where a row holds NULL; fill them first")
    }

    /// Said of a schema, not of a change, so it holds for a down as for an up.
    pub(super) fn dangling_key(table: &str, parent: &str) -> String {
        format!(
            "a foreign key of {table} names {parent}, which the schema has no table for: with foreign keys on, \
             SQLite refuses the copy of its rows below; fix the key, or run this revision with foreign keys off"
        )
    }

    /// Whether a down keeps the mark (see `generate`).
    pub(super) fn holds_both_ways(line: &str) -> bool {
        line.contains("which the schema has no table for")
    }

    pub(super) fn table_dropped(table: &str) -> String {
        format!("table {table} is dropped, with its rows")
    }
}

/// The files of a generated revision.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Generated {
    /// The up file's statements.
    pub up: String,
    /// The down file's statements.
    pub down: String,
    /// What a person must look at before the revision is kept, one sentence each (also written as
    /// `-- migrate:review` comments at the statements).
    pub review: Vec<String>,
}

impl Generated {
    /// Whether the two schemas were the same: nothing to write.
    pub fn is_empty(&self) -> bool {
        self.up.trim().is_empty() && self.down.trim().is_empty()
    }
}

/// What differs between the schema a revision should give (`expected`) and the one it gave, but for the order of
/// columns: PostgreSQL adds a column at the end of its table, so a column the desired schema has in the middle ends
/// up last, which no query that names its columns can tell.
pub fn proof_differences(expected: &Schema, actual: &Schema) -> Vec<super::Difference> {
    super::diff(expected, actual).into_iter().filter(|d| !d.object.starts_with("the columns of table ")).collect()
}

/// Where `needle` starts in `text` outside quotes and parentheses.
fn at_top(text: &str, needle: &str) -> Vec<usize> {
    let bytes = text.as_bytes();
    let (mut depth, mut quote, mut found) = (0i32, None::<u8>, Vec::new());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(_) if b == b'\\' => i += 1,
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None => match b {
                b'\'' | b'"' | b'`' => quote = Some(b),
                b'(' => depth += 1,
                b')' => depth -= 1,
                _ if depth == 0 && text.is_char_boundary(i) && text[i..].starts_with(needle) => found.push(i),
                _ => {}
            },
        }
        i += 1;
    }
    found
}

/// A column said to be renamed: on `table`, `from` in the current schema is `to` in the desired one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rename {
    /// The table.
    pub table: String,
    /// The current name.
    pub from: String,
    /// The desired name.
    pub to: String,
}

impl Rename {
    /// Reads `table.old=new`.
    pub fn parse(text: &str) -> Option<Rename> {
        let (column, to) = text.split_once('=')?;
        let (table, from) = column.rsplit_once('.')?;
        let ok = |s: &str| !s.trim().is_empty();
        (ok(table) && ok(from) && ok(to)).then(|| Rename {
            table: table.trim().to_owned(),
            from: from.trim().to_owned(),
            to: to.trim().to_owned(),
        })
    }
}

/// The revision that takes `current` to `desired` on `backend`, and back.
///
/// # Errors
/// A rename that names no such column.
pub fn generate(current: &Schema, desired: &Schema, backend: Backend, renames: &[Rename]) -> Result<Generated, String> {
    let mut renamed = current.clone();
    let mut up_renames = Vec::new();
    let mut down_renames = Vec::new();
    for rename in renames {
        let key = (ObjectKind::Table, super::ident(&rename.table));
        let object = renamed
            .objects
            .get_mut(&key)
            .ok_or_else(|| format!("--rename {}: no table {}", show(rename), rename.table))?;
        let member = object
            .members
            .remove(&format!("column {}", super::ident(&rename.from)))
            .ok_or_else(|| format!("--rename {}: no column {}.{}", show(rename), rename.table, rename.from))?;
        object.members.insert(format!("column {}", super::ident(&rename.to)), member);
        let name = |n: &str| if backend == Backend::Mysql { mysql::ticked(n) } else { quoted(n) };
        let (table, from, to) = (name(&key.1), name(&super::ident(&rename.from)), name(&super::ident(&rename.to)));
        up_renames.push(format!("ALTER TABLE {table} RENAME COLUMN {from} TO {to};"));
        down_renames.push(format!("ALTER TABLE {table} RENAME COLUMN {to} TO {from};"));
    }
    let mut review = Vec::new();
    let statements = match backend {
        Backend::Sqlite => sqlite::statements,
        Backend::Mysql => mysql::statements,
        _ => statements,
    };
    let up = statements(&renamed, desired, &mut review);
    // The down undoes what the up did: what it drops, the up made; its marks would only repeat the up's, but for
    // those said of the schema.
    let mut down_review = Vec::new();
    let down = statements(desired, &renamed, &mut down_review);
    let mut down: Vec<String> =
        down.into_iter().filter(|s| !s.starts_with("-- migrate:review") || sentences::holds_both_ways(s)).collect();
    for sentence in down_review.into_iter().filter(|s| sentences::holds_both_ways(s)) {
        if !review.contains(&sentence) {
            review.push(sentence);
        }
    }
    down_renames.reverse();
    let up = up_renames.into_iter().chain(up).collect::<Vec<_>>();
    down.extend(down_renames);
    Ok(Generated { up: lines(&up), down: lines(&down), review })
}

/// Writes `sentence` at the statement as a `-- migrate:review` line, and into the list of what to review.
fn mark(out: &mut Vec<String>, review: &mut Vec<String>, sentence: String) {
    out.push(format!("-- migrate:review {sentence}"));
    review.push(sentence);
}

/// `items` ordered by the names their definitions mention: with `dependents_first`, each before every item it
/// mentions (the order to drop them in); otherwise after them (the order to make them). A cycle is broken at the
/// first item left.
fn by_dependency<T>(
    mut items: Vec<T>,
    name: impl Fn(&T) -> &str,
    definition: impl Fn(&T) -> &str,
    dependents_first: bool,
) -> Vec<T> {
    let mut ordered = Vec::with_capacity(items.len());
    while !items.is_empty() {
        let next = items
            .iter()
            .position(|item| {
                !items.iter().any(|other| {
                    let (naming, named) = if dependents_first { (other, item) } else { (item, other) };
                    name(other) != name(item) && mentions(definition(naming), name(named))
                })
            })
            .unwrap_or(0);
        ordered.push(items.remove(next));
    }
    ordered
}

/// Whether SQL `text` names `name` as a whole word (a table or view it reads).
fn mentions(text: &str, name: &str) -> bool {
    let word = |c: char| c.is_alphanumeric() || c == '_' || c == '$';
    let name = name.trim_matches('"');
    text.match_indices(name).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + name.len()..].chars().next();
        !before.is_some_and(word) && !after.is_some_and(word)
    })
}

/// A name as PostgreSQL must be given it: as the snapshot writes it (quoted already where it holds other
/// characters), and quoted too where it has capitals (which would be folded) or is a reserved word.
fn quoted(name: &str) -> String {
    const RESERVED: &[&str] = &[
        "all",
        "analyse",
        "analyze",
        "and",
        "any",
        "array",
        "as",
        "asc",
        "asymmetric",
        "authorization",
        "binary",
        "both",
        "case",
        "cast",
        "check",
        "collate",
        "collation",
        "column",
        "concurrently",
        "constraint",
        "create",
        "cross",
        "current_catalog",
        "current_date",
        "current_role",
        "current_schema",
        "current_time",
        "current_timestamp",
        "current_user",
        "default",
        "deferrable",
        "desc",
        "distinct",
        "do",
        "else",
        "end",
        "except",
        "false",
        "fetch",
        "for",
        "foreign",
        "freeze",
        "from",
        "full",
        "grant",
        "group",
        "having",
        "ilike",
        "in",
        "initially",
        "inner",
        "intersect",
        "into",
        "is",
        "isnull",
        "join",
        "lateral",
        "leading",
        "left",
        "like",
        "limit",
        "localtime",
        "localtimestamp",
        "natural",
        "not",
        "notnull",
        "null",
        "offset",
        "on",
        "only",
        "or",
        "order",
        "outer",
        "overlaps",
        "placing",
        "primary",
        "references",
        "returning",
        "right",
        "select",
        "session_user",
        "similar",
        "some",
        "symmetric",
        "system_user",
        "table",
        "tablesample",
        "then",
        "to",
        "trailing",
        "true",
        "union",
        "unique",
        "user",
        "using",
        "variadic",
        "verbose",
        "when",
        "where",
        "window",
        "with",
    ];
    let bare = name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '$');
    if name.starts_with('"') || (bare && !RESERVED.contains(&name)) {
        name.to_owned()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

fn show(rename: &Rename) -> String {
    format!("{}.{}={}", rename.table, rename.from, rename.to)
}

fn lines(statements: &[String]) -> String {
    statements.iter().map(|s| format!("{s}\n")).collect()
}

/// A column's definition in its parts, as a snapshot writes it: `character varying(36) not null default 'x'::text
/// collate "C"` (PostgreSQL), `int(11) not null default 0 auto_increment collate …` (MySQL), with `generated …` where
/// the column is computed or an identity.
#[derive(Debug, Default, PartialEq, Eq)]
struct Column {
    ty: String,
    not_null: bool,
    default: Option<String>,
    /// MySQL's `auto_increment`, `on update current_timestamp()`, `invisible`, in the order the server gave them.
    extra: Vec<String>,
    /// `generated always as (…) stored` or `generated … as identity`.
    generated: Option<String>,
    collate: Option<String>,
}

impl Column {
    fn parse(definition: &str) -> Column {
        let mut rest = definition.trim().to_owned();
        let mut column = Column::default();
        if let Some(&at) = at_top(&rest, " collate ").last() {
            column.collate = Some(rest[at + " collate ".len()..].trim().to_owned());
            rest.truncate(at);
        }
        if let Some(&at) = at_top(&rest, " generated ").first() {
            column.generated = Some(rest[at + 1..].trim().to_owned());
            rest.truncate(at);
        }
        loop {
            if let Some(stripped) = [" auto_increment", " invisible"].iter().find_map(|s| rest.strip_suffix(s)) {
                column.extra.insert(0, rest[stripped.len() + 1..].to_owned());
                rest.truncate(stripped.len());
            } else if let Some(&at) = at_top(&rest, " on update ").last() {
                column.extra.insert(0, rest[at + 1..].to_owned());
                rest.truncate(at);
            } else {
                break;
            }
        }
        if let Some(&at) = at_top(&rest, " default ").first() {
            column.default = Some(rest[at + " default ".len()..].trim().to_owned());
            rest.truncate(at);
        }
        if let Some(stripped) = rest.strip_suffix(" not null") {
            column.not_null = true;
            rest = stripped.to_owned();
        }
        column.ty = rest.trim().to_owned();
        column
    }

    /// As a column of `CREATE TABLE` or `ADD COLUMN` writes it, after the name.
    fn sql(&self) -> String {
        let mut out = self.ty.clone();
        if let Some(collate) = &self.collate {
            out.push_str(&format!(" COLLATE {collate}"));
        }
        if let Some(generated) = &self.generated {
            out.push_str(&format!(" {generated}"));
        }
        if let Some(default) = &self.default {
            out.push_str(&format!(" DEFAULT {default}"));
        }
        if self.not_null {
            out.push_str(" NOT NULL");
        }
        out
    }
}

/// A member of a table as the statements need it: its name (None where the database makes one up), kind and
/// definition.
struct Part<'a> {
    label: &'a str,
    /// As SQL writes it: quoted where PostgreSQL would fold or refuse it bare.
    name: Option<String>,
    kind: MemberKind,
    definition: &'a str,
    /// The name the database gave a member known by its definition, where the snapshot kept it.
    server_name: Option<&'a str>,
}

impl Part<'_> {
    /// The name to make the member under: its own, or the one the server gave it where the snapshot kept that (a
    /// name the server made up is no difference, and a down can then drop the member by it, whatever suffix the
    /// server would pick this time).
    fn made_name(&self) -> Option<String> {
        self.name.clone().or_else(|| self.server_name.map(quoted))
    }
}

/// The table a foreign key names, as its definition writes it: `(a) references parent (id) …`.
fn referenced<'a>(part: &Part<'a>) -> Option<&'a str> {
    let target = part.definition.split_once(" references ")?.1;
    let end = target.find([' ', '(']).unwrap_or(target.len());
    (part.kind == MemberKind::ForeignKey).then_some(&target[..end])
}

fn parts(object: &Object) -> Vec<Part<'_>> {
    object
        .members
        .iter()
        .filter_map(|(label, member)| {
            let kind = member_kind(label)?;
            let rest = &label[kind.word().len() + 1..];
            // A named member's label is `kind name`, its definition apart; an unnamed one's label holds its
            // definition.
            let (name, definition) = if member.definition.is_empty() && kind != MemberKind::Column(0) {
                (None, rest)
            } else {
                (Some(rest), member.definition.as_str())
            };
            Some(Part { label, name: name.map(quoted), kind, definition, server_name: member.server_name.as_deref() })
        })
        .collect()
}

/// The clause that makes a constraint or index member, as `ADD …` (or `CREATE INDEX`) writes it.
fn constraint_sql(part: &Part<'_>) -> String {
    let head = match &part.made_name() {
        Some(name) => format!("CONSTRAINT {name} "),
        None => String::new(),
    };
    let body = match part.kind {
        MemberKind::PrimaryKey => format!("PRIMARY KEY {}", part.definition),
        MemberKind::Unique => format!("UNIQUE {}", part.definition),
        MemberKind::ForeignKey => format!("FOREIGN KEY {}", part.definition),
        MemberKind::Check => format!("CHECK {}", part.definition),
        MemberKind::Exclusion => format!("EXCLUDE {}", part.definition),
        _ => part.definition.to_owned(),
    };
    format!("{head}{body}")
}

fn index_sql(table: &str, part: &Part<'_>) -> String {
    let (unique, method) = match part.definition.strip_prefix("unique ") {
        Some(rest) => ("UNIQUE ", rest),
        None => ("", part.definition),
    };
    let name = part.made_name().map(|n| format!("{n} ")).unwrap_or_default();
    format!("CREATE {unique}INDEX {name}ON {table} USING {method};")
}

fn trigger_sql(part: &Part<'_>) -> String {
    format!("CREATE TRIGGER {} {};", part.name.clone().unwrap_or_default(), part.definition)
}

/// The statement that drops a member of `table`, by its name, or for one the database named, by the name the
/// snapshot kept aside, or else the name PostgreSQL gives such a member (`<table>_<columns>_pkey`, `_key`, `_fkey`,
/// `_idx`); a check constraint's made-up name cannot be told from its definition, so without the kept one it is left
/// for review.
fn drop_member(table: &str, part: &Part<'_>, review: &mut Vec<String>) -> Option<String> {
    let conventional = || -> Option<String> {
        let open = part.definition.find('(')?;
        let close = part.definition[open..].find(')')? + open;
        let columns: Vec<&str> = part.definition[open + 1..close].split(',').map(str::trim).collect();
        if columns.iter().any(|c| c.is_empty() || !c.chars().all(|ch| ch.is_alphanumeric() || ch == '_')) {
            return None;
        }
        let bare = table.trim_matches('"');
        let suffix = match part.kind {
            MemberKind::PrimaryKey => return Some(quoted(&format!("{bare}_pkey"))),
            MemberKind::Unique => "key",
            MemberKind::ForeignKey => "fkey",
            MemberKind::Index => "idx",
            _ => return None,
        };
        Some(quoted(&format!("{bare}_{}_{suffix}", columns.join("_"))))
    };
    let name = match (part.kind, part.name.clone()) {
        (MemberKind::Column(_), _) => return None,
        (_, Some(name)) => name,
        (_, None) => match part.server_name.map(quoted).or_else(conventional) {
            Some(name) => name,
            None => {
                let sentence = format!(
                    "{} on {table} has a name the database made up, which the snapshot does not keep: drop it by its \
                     name",
                    part.label
                );
                review.push(sentence.clone());
                return Some(format!("-- migrate:review {sentence}"));
            }
        },
    };
    Some(match part.kind {
        MemberKind::Index => format!("DROP INDEX {name};"),
        MemberKind::Trigger => format!("DROP TRIGGER {name} ON {table};"),
        _ => format!("ALTER TABLE {table} DROP CONSTRAINT {name};"),
    })
}

/// The statements that take `from` to `to`, in an order that respects what depends on what.
fn statements(from: &Schema, to: &Schema, review: &mut Vec<String>) -> Vec<String> {
    let of = |schema: &Schema, kind: ObjectKind| -> BTreeMap<String, Object> {
        let routine = matches!(kind, ObjectKind::Function | ObjectKind::Procedure);
        let name = |n: &String| if routine { n.clone() } else { quoted(n) };
        schema.objects.iter().filter(|((k, _), _)| *k == kind).map(|((_, n), o)| (name(n), o.clone())).collect()
    };
    // An index on a materialized view is read into a table entry of the view's name: that entry holds the view's
    // indexes, and is no table.
    let split = |schema: &Schema| -> (BTreeMap<String, Object>, BTreeMap<String, Object>) {
        let views = of(schema, ObjectKind::MaterializedView);
        of(schema, ObjectKind::Table).into_iter().partition(|(name, _)| !views.contains_key(name))
    };
    let ((from_tables, from_held), (to_tables, to_held)) = (split(from), split(to));
    let mut out = Vec::new();

    // Views first out, last in: they depend on the tables, and on each other. A view that names something that
    // changes (a view, a table altered or dropped, a type) is dropped and made again too, as PostgreSQL requires.
    let views = |schema: &Schema| -> Vec<(String, ObjectKind, Object)> {
        [ObjectKind::View, ObjectKind::MaterializedView]
            .into_iter()
            .flat_map(|kind| of(schema, kind).into_iter().map(move |(n, o)| (n, kind, o)))
            .collect()
    };
    let (old_views, new_views) = (views(from), views(to));
    let mut touched: Vec<String> = from_tables
        .iter()
        .filter(|(name, object)| to_tables.get(*name) != Some(*object))
        .map(|(name, _)| name.clone())
        .chain(
            of(from, ObjectKind::Type)
                .into_iter()
                .filter(|(n, o)| of(to, ObjectKind::Type).get(n) != Some(o))
                .map(|(n, _)| n),
        )
        .collect();
    // The views to drop, dependents first: those that change, then those that name one of them, and so on.
    let mut remade: Vec<(String, ObjectKind)> = Vec::new();
    loop {
        let more: Vec<(String, ObjectKind)> = old_views
            .iter()
            .filter(|(name, kind, _)| !remade.iter().any(|(n, k)| n == name && k == kind))
            .filter(|(name, kind, old)| {
                let changed = !new_views.iter().any(|(n, k, o)| n == name && k == kind && o == old);
                changed || touched.iter().any(|t| mentions(&old.definition, t))
            })
            .map(|(name, kind, _)| (name.clone(), *kind))
            .collect();
        if more.is_empty() {
            break;
        }
        touched.extend(more.iter().map(|(n, _)| n.clone()));
        remade.extend(more);
    }
    // Dropped so that no view still standing names one already gone.
    let standing: Vec<&(String, ObjectKind, Object)> =
        old_views.iter().filter(|(n, k, _)| remade.iter().any(|(m, j)| m == n && j == k)).collect();
    for (name, kind, _) in by_dependency(standing, |v| &v.0, |v| &v.2.definition, true) {
        let word = if *kind == ObjectKind::View { "VIEW" } else { "MATERIALIZED VIEW" };
        out.push(format!("DROP {word} {name};"));
    }
    // Indexes of a materialized view that stays as it is, dropped where they go or change (one that is dropped or
    // made again takes its indexes with it).
    for (view, old) in &from_held {
        let new = to_held.get(view);
        let mview = |n: &String, k: &ObjectKind| n == view && *k == ObjectKind::MaterializedView;
        if remade.iter().any(|(n, k)| mview(n, k)) || !new_views.iter().any(|(n, k, _)| mview(n, k)) {
            continue;
        }
        for part in parts(old).into_iter().filter(|p| p.kind == MemberKind::Index) {
            if new.is_none_or(|n| n.members.get(part.label) != old.members.get(part.label)) {
                out.extend(drop_member(view, &part, review));
            }
        }
    }
    // Members that go or change: foreign keys before the keys they name, triggers, indexes, constraints.
    for rank in [
        MemberKind::ForeignKey,
        MemberKind::Trigger,
        MemberKind::Index,
        MemberKind::Check,
        MemberKind::Exclusion,
        MemberKind::Unique,
        MemberKind::PrimaryKey,
    ] {
        for (table, old) in &from_tables {
            let new = to_tables.get(table);
            for part in parts(old).into_iter().filter(|p| p.kind == rank) {
                let stays = new.is_some_and(|n| n.members.get(part.label) == old.members.get(part.label));
                // A table that goes takes its members with it.
                if !stays && new.is_some() {
                    out.extend(drop_member(table, &part, review));
                }
            }
        }
    }
    // Tables that go, in one statement, so the keys between them need no order.
    let gone: Vec<&String> = from_tables.keys().filter(|t| !to_tables.contains_key(*t)).collect();
    for table in &gone {
        mark(&mut out, review, sentences::table_dropped(table));
    }
    if !gone.is_empty() {
        out.push(format!("DROP TABLE {};", gone.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(", ")));
    }
    // Types and sequences that are new, or enums that gain values.
    for (name, object) in of(to, ObjectKind::Type) {
        match of(from, ObjectKind::Type).get(&name) {
            None => out.push(type_sql(&name, &object.definition)),
            Some(old) if *old == object => {}
            Some(old) => {
                let users = type_users(from, &name);
                out.extend(alter_type(&name, &old.definition, &object.definition, &users, review));
            }
        }
    }
    let mut owned = Vec::new();
    for (name, object) in of(to, ObjectKind::Sequence) {
        if !of(from, ObjectKind::Sequence).contains_key(&name) {
            let (create, owner) = sequence_sql(&name, &object.definition);
            out.push(create);
            owned.extend(owner);
        }
    }
    // Tables that are new, and the columns of the others.
    for (table, new) in &to_tables {
        let Some(old) = from_tables.get(table) else {
            let mut columns: Vec<(i64, String)> = parts(new)
                .iter()
                .filter(|p| matches!(p.kind, MemberKind::Column(_)))
                .map(|p| {
                    (
                        new.members[p.label].position,
                        format!("    {} {}", p.name.clone().unwrap_or_default(), Column::parse(p.definition).sql()),
                    )
                })
                .collect();
            // Columns in their order: the member map is by label.
            columns.sort();
            let mut items: Vec<String> = columns.into_iter().map(|(_, line)| line).collect();
            for part in parts(new).iter().filter(|p| {
                matches!(
                    p.kind,
                    MemberKind::PrimaryKey | MemberKind::Unique | MemberKind::Check | MemberKind::Exclusion
                )
            }) {
                items.push(format!("    {}", constraint_sql(part)));
            }
            out.push(format!("CREATE TABLE {table} (\n{}\n);", items.join(",\n")));
            continue;
        };
        out.extend(columns(table, old, new, review));
    }
    // A sequence owned by a column, once its table is there.
    out.extend(owned);
    // Members that are new or changed, foreign keys last (their tables all exist by then).
    for rank in [
        MemberKind::PrimaryKey,
        MemberKind::Unique,
        MemberKind::Check,
        MemberKind::Exclusion,
        MemberKind::Index,
        MemberKind::Trigger,
        MemberKind::ForeignKey,
    ] {
        for (table, new) in &to_tables {
            let old = from_tables.get(table);
            for part in parts(new).into_iter().filter(|p| p.kind == rank) {
                let created_with_table =
                    old.is_none() && !matches!(rank, MemberKind::Index | MemberKind::Trigger | MemberKind::ForeignKey);
                let had = old.is_some_and(|o| o.members.get(part.label) == new.members.get(part.label));
                if had || created_with_table {
                    continue;
                }
                out.push(match rank {
                    MemberKind::Index => index_sql(table, &part),
                    MemberKind::Trigger => trigger_sql(&part),
                    _ => format!("ALTER TABLE {table} ADD {};", constraint_sql(&part)),
                });
            }
        }
    }
    // The views to make: new, changed or dropped above; each after the views it names.
    let pending: Vec<&(String, ObjectKind, Object)> = new_views
        .iter()
        .filter(|(name, kind, new)| {
            let same = old_views.iter().any(|(n, k, o)| n == name && k == kind && o == new);
            !same || remade.iter().any(|(n, k)| n == name && k == kind)
        })
        .collect();
    let made: Vec<String> =
        pending.iter().filter(|v| v.1 == ObjectKind::MaterializedView).map(|v| v.0.clone()).collect();
    for (name, kind, view) in by_dependency(pending, |v| &v.0, |v| &v.2.definition, false) {
        let word = if *kind == ObjectKind::View { "VIEW" } else { "MATERIALIZED VIEW" };
        out.push(format!("CREATE {word} {name} AS {};", view.definition.trim_end_matches(';')));
    }
    // Indexes of materialized views: all of one made here, the new or changed ones of one that stayed.
    for (view, new) in &to_held {
        let old = from_held.get(view).filter(|_| !made.contains(view));
        for part in parts(new).into_iter().filter(|p| p.kind == MemberKind::Index) {
            if old.is_none_or(|o| o.members.get(part.label) != new.members.get(part.label)) {
                out.push(index_sql(view, &part));
            }
        }
    }
    for kind in [ObjectKind::Function, ObjectKind::Procedure] {
        for (name, new) in of(to, kind) {
            if of(from, kind).get(&name) != Some(&new) {
                review.push(format!("{} {name} is new or changed: write its CREATE OR REPLACE by hand", kind.word()));
                out.push(format!(
                    "-- migrate:review {} {name} is new or changed: write its CREATE OR REPLACE here",
                    kind.word()
                ));
            }
        }
        for (name, _) in of(from, kind) {
            if !of(to, kind).contains_key(&name) {
                // `name(argument types)`: the name quoted as any other, the types as the catalog wrote them.
                let (bare, arguments) = name.split_at(name.find('(').unwrap_or(name.len()));
                out.push(format!("DROP {} {}{arguments};", kind.word().to_uppercase(), quoted(bare)));
            }
        }
    }
    // Sequences and types that go, after what used them.
    for (name, _) in of(from, ObjectKind::Sequence) {
        if !of(to, ObjectKind::Sequence).contains_key(&name) {
            // One owned by a column of a dropped table went with it.
            out.push(format!("DROP SEQUENCE IF EXISTS {name};"));
        }
    }
    for (name, _) in of(from, ObjectKind::Type) {
        if !of(to, ObjectKind::Type).contains_key(&name) {
            out.push(format!("DROP TYPE {name};"));
        }
    }
    out
}

/// The column statements of a table in both schemas.
fn columns(table: &str, old: &Object, new: &Object, review: &mut Vec<String>) -> Vec<String> {
    // The columns in their table's order.
    let cols = |o: &Object| -> Vec<(String, String)> {
        let mut columns: Vec<(i64, String, String)> = parts(o)
            .into_iter()
            .filter(|p| matches!(p.kind, MemberKind::Column(_)))
            .map(|p| (o.members[p.label].position, p.name.clone().unwrap_or_default(), p.definition.to_owned()))
            .collect();
        columns.sort();
        columns.into_iter().map(|(_, name, definition)| (name, definition)).collect()
    };
    let (before, after) = (cols(old), cols(new));
    let mut out = Vec::new();
    let dropped: Vec<&String> =
        before.iter().filter(|(n, _)| !after.iter().any(|(m, _)| m == n)).map(|(n, _)| n).collect();
    let added: Vec<&(String, String)> = after.iter().filter(|(n, _)| !before.iter().any(|(m, _)| m == n)).collect();
    if !dropped.is_empty() && !added.is_empty() {
        mark(&mut out, review, sentences::maybe_renamed(table, dropped[0], &added[0].0));
    }
    for name in &dropped {
        mark(&mut out, review, sentences::dropped(table, name));
        out.push(format!("ALTER TABLE {table} DROP COLUMN {name};"));
    }
    for (name, definition) in &added {
        let column = Column::parse(definition);
        if column.not_null && column.default.is_none() && column.generated.is_none() {
            mark(&mut out, review, sentences::not_null_added(table, name));
        }
        out.push(format!("ALTER TABLE {table} ADD COLUMN {name} {};", column.sql()));
    }
    for (name, definition) in &after {
        let Some((_, was)) = before.iter().find(|(n, _)| n == name) else { continue };
        if was == definition {
            continue;
        }
        let (a, b) = (Column::parse(was), Column::parse(definition));
        if a.generated != b.generated {
            let sentence = format!("column {table}.{name} changes how it is generated: written as a drop and an add, which loses its values");
            mark(&mut out, review, sentence);
            out.push(format!("ALTER TABLE {table} DROP COLUMN {name};"));
            out.push(format!("ALTER TABLE {table} ADD COLUMN {name} {};", b.sql()));
            continue;
        }
        if a.ty != b.ty || a.collate != b.collate {
            mark(&mut out, review, sentences::retyped(table, name, &a.ty, &b.ty));
            let collate = b.collate.as_ref().map(|c| format!(" COLLATE {c}")).unwrap_or_default();
            // A default of the old type may not cast: it goes first and comes back after.
            if a.default.is_some() {
                out.push(format!("ALTER TABLE {table} ALTER COLUMN {name} DROP DEFAULT;"));
            }
            out.push(format!("ALTER TABLE {table} ALTER COLUMN {name} TYPE {}{collate} USING {name}::{};", b.ty, b.ty));
            if let Some(default) = &b.default {
                out.push(format!("ALTER TABLE {table} ALTER COLUMN {name} SET DEFAULT {default};"));
            }
        } else if a.default != b.default {
            out.push(match &b.default {
                Some(default) => format!("ALTER TABLE {table} ALTER COLUMN {name} SET DEFAULT {default};"),
                None => format!("ALTER TABLE {table} ALTER COLUMN {name} DROP DEFAULT;"),
            });
        }
        if a.not_null != b.not_null {
            if b.not_null {
                mark(&mut out, review, sentences::becomes_not_null(table, name));
            }
            let how = if b.not_null { "SET" } else { "DROP" };
            out.push(format!("ALTER TABLE {table} ALTER COLUMN {name} {how} NOT NULL;"));
        }
    }
    out
}

fn type_sql(name: &str, definition: &str) -> String {
    if let Some(values) = definition.strip_prefix("enum ") {
        return format!("CREATE TYPE {name} AS ENUM {values};");
    }
    if let Some(rest) = definition.strip_prefix("domain ") {
        return format!("CREATE DOMAIN {name} AS {rest};");
    }
    if let Some(fields) = definition.strip_prefix("composite ") {
        return format!("CREATE TYPE {name} AS {fields};");
    }
    if let Some(subtype) = definition.strip_prefix("range of ") {
        return format!("CREATE TYPE {name} AS RANGE (subtype = {subtype});");
    }
    format!("-- migrate:review type {name} ({definition}) is not written here: write it by hand")
}

/// The columns of `schema` whose type is `name` (or an array of it), with their defaults: `(table, column, type,
/// default)`.
fn type_users(schema: &Schema, name: &str) -> Vec<(String, String, String, Option<String>)> {
    let mut users = Vec::new();
    for ((kind, table), object) in &schema.objects {
        if *kind != ObjectKind::Table {
            continue;
        }
        for part in parts(object).into_iter().filter(|p| matches!(p.kind, MemberKind::Column(_))) {
            let column = Column::parse(part.definition);
            if column.ty == name || column.ty == format!("{name}[]") {
                users.push((quoted(table), part.name.clone().unwrap_or_default(), column.ty, column.default));
            }
        }
    }
    users
}

/// An enum that gains values: `ALTER TYPE … ADD VALUE` for each, in place. One that loses or reorders values is
/// made anew under its name and its columns cast to it (a row holding a value that goes makes the cast fail, so
/// that is for review); another kind of type changed is for review.
fn alter_type(
    name: &str,
    old: &str,
    new: &str,
    users: &[(String, String, String, Option<String>)],
    review: &mut Vec<String>,
) -> Vec<String> {
    let values = |d: &str| -> Option<Vec<String>> {
        let inner = d.strip_prefix("enum (")?.strip_suffix(')')?;
        Some(inner.split(", ").map(str::to_owned).collect())
    };
    let (Some(a), Some(b)) = (values(old), values(new)) else {
        let sentence = format!("type {name} changes from {old} to {new}: write the change by hand");
        review.push(sentence.clone());
        return vec![format!("-- migrate:review {sentence}")];
    };
    if a.iter().all(|v| b.contains(v)) && b.iter().filter(|v| a.contains(v)).eq(a.iter()) {
        let mut out = Vec::new();
        for (i, value) in b.iter().enumerate() {
            if a.contains(value) {
                continue;
            }
            out.push(match i.checked_sub(1).map(|p| &b[p]) {
                Some(before) => format!("ALTER TYPE {name} ADD VALUE {value} AFTER {before};"),
                // Before the first value the type already has (the ones ahead of it come after this one).
                None => {
                    format!("ALTER TYPE {name} ADD VALUE {value} BEFORE {};", a.first().cloned().unwrap_or_default())
                }
            });
        }
        return out;
    }
    let gone: Vec<&String> = a.iter().filter(|v| !b.contains(v)).collect();
    let mut out = Vec::new();
    if !gone.is_empty() {
        let sentence = format!(
            "type {name} loses {}: a row that holds one makes the cast below fail; change those rows first",
            gone.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
        );
        mark(&mut out, review, sentence);
    }
    let old_name = format!("{name}_old");
    out.push(format!("ALTER TYPE {name} RENAME TO {old_name};"));
    out.push(format!("CREATE TYPE {name} AS ENUM ({});", b.join(", ")));
    for (table, column, ty, default) in users {
        if default.is_some() {
            out.push(format!("ALTER TABLE {table} ALTER COLUMN {column} DROP DEFAULT;"));
        }
        let text = if ty.ends_with("[]") { "text[]" } else { "text" };
        out.push(format!("ALTER TABLE {table} ALTER COLUMN {column} TYPE {ty} USING {column}::{text}::{ty};"));
        if let Some(default) = default {
            out.push(format!("ALTER TABLE {table} ALTER COLUMN {column} SET DEFAULT {default};"));
        }
    }
    out.push(format!("DROP TYPE {old_name};"));
    out
}

/// `CREATE SEQUENCE` from the snapshot's `bigint start 1 increment 1 min 1 max … cache 1 [cycle] [owned by t.c]`,
/// and the `OWNED BY` to run once the table is there.
fn sequence_sql(name: &str, definition: &str) -> (String, Option<String>) {
    let mut words = definition.split(' ');
    let ty = words.next().unwrap_or("bigint");
    let mut sql = format!("CREATE SEQUENCE {name} AS {ty}");
    let mut owned = None;
    while let Some(word) = words.next() {
        let mut value = |clause: &str| sql.push_str(&format!(" {clause} {}", words.next().unwrap_or_default()));
        match word {
            "start" => value("START"),
            "increment" => value("INCREMENT"),
            "min" => value("MINVALUE"),
            "max" => value("MAXVALUE"),
            "cache" => value("CACHE"),
            "cycle" => sql.push_str(" CYCLE"),
            "owned" => {
                words.next();
                // `table.column`, as the catalog names them: each quoted where it must be.
                owned = words.next().map(|column| {
                    let column = column.split('.').map(quoted).collect::<Vec<_>>().join(".");
                    format!("ALTER SEQUENCE {name} OWNED BY {column};")
                });
            }
            _ => {}
        }
    }
    (format!("{sql};"), owned)
}
