//! The schema snapshot of the connection's current schema, read from `pg_catalog` with the server's own
//! deparsers (`format_type`, `pg_get_constraintdef`, `pg_get_indexdef`, `pg_get_viewdef`, `pg_get_triggerdef`), so
//! the text is the server's canonical form, not the one the revision happened to use. Objects that belong to an
//! extension are left out, as are the history table and what hangs off it.

use migrate_core::schema::{MemberKind, ObjectKind, Schema};
use migrate_core::{Backend, HistoryTable};
use postgres::Client;

/// The tables' columns: table, position, name, type, not null, default or generation expression, generated,
/// identity, collation where it is not the type's.
const COLUMNS: &str = "
SELECT c.relname::text, a.attnum::text, a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull::text,
       pg_get_expr(d.adbin, d.adrelid), a.attgenerated::text, a.attidentity::text,
       CASE WHEN a.attcollation <> t.typcollation THEN co.collname::text END
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
LEFT JOIN pg_collation co ON co.oid = a.attcollation
WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'f') AND a.attnum > 0 AND NOT a.attisdropped
  AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = 'pg_class'::regclass AND e.objid = c.oid
                  AND e.deptype = 'e')";

/// The tables, so that one without columns is still seen, and the views: name, kind, view query.
const RELATIONS: &str = "
SELECT c.relname::text, c.relkind::text,
       CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid, true) END,
       CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END,
       CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) || ' of ' ||
            (SELECT p.relname FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent WHERE i.inhrelid = c.oid) END
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'f', 'v', 'm')
  AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = 'pg_class'::regclass AND e.objid = c.oid
                  AND e.deptype = 'e')";

/// Primary, unique, foreign-key, check and exclusion constraints: table, name, kind, definition.
const CONSTRAINTS: &str = "
SELECT c.relname::text, con.conname::text, con.contype::text, pg_get_constraintdef(con.oid, true)
FROM pg_constraint con
JOIN pg_class c ON c.oid = con.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND con.contype IN ('p', 'u', 'f', 'c', 'x')";

/// Indexes that back no constraint: table, name, definition, unique, valid.
const INDEXES: &str = "
SELECT t.relname::text, i.relname::text, pg_get_indexdef(i.oid), x.indisunique::text, x.indisvalid::text
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_class t ON t.oid = x.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
WHERE n.nspname = current_schema()
  AND NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = x.indexrelid AND con.conrelid = x.indrelid
                  AND con.contype IN ('p', 'u', 'x'))";

/// Triggers the user made: table, name, definition.
const TRIGGERS: &str = "
SELECT c.relname::text, tg.tgname::text, pg_get_triggerdef(tg.oid, true)
FROM pg_trigger tg
JOIN pg_class c ON c.oid = tg.tgrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND NOT tg.tgisinternal";

/// Functions and procedures: name with argument types, kind, result, language, volatility, body.
const ROUTINES: &str = "
SELECT p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')', p.prokind::text,
       pg_get_function_result(p.oid), l.lanname::text, p.provolatile::text,
       CASE WHEN p.prokind IN ('f', 'p') AND p.prosrc = '' THEN pg_get_functiondef(p.oid) ELSE p.prosrc END
FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
JOIN pg_language l ON l.oid = p.prolang
WHERE n.nspname = current_schema()
  AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = 'pg_proc'::regclass AND e.objid = p.oid
                  AND e.deptype = 'e')";

/// Sequences not owned by an identity column: name, definition, the column a `serial` one belongs to.
const SEQUENCES: &str = "
SELECT c.relname::text,
       format_type(s.seqtypid, NULL) || ' start ' || s.seqstart || ' increment ' || s.seqincrement ||
       ' min ' || s.seqmin || ' max ' || s.seqmax || ' cache ' || s.seqcache ||
       CASE WHEN s.seqcycle THEN ' cycle' ELSE '' END,
       (SELECT t.relname || '.' || a.attname FROM pg_depend d
        JOIN pg_class t ON t.oid = d.refobjid
        JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
        WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'a')
FROM pg_sequence s
JOIN pg_class c ON c.oid = s.seqrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema()
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                  AND d.deptype IN ('i', 'e'))";

/// Enum, domain, composite and range types: name, definition.
const TYPES: &str = "
SELECT t.typname::text,
       CASE t.typtype
         WHEN 'e' THEN 'enum (' || (SELECT string_agg(quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder)
                                    FROM pg_enum e WHERE e.enumtypid = t.oid) || ')'
         WHEN 'd' THEN 'domain ' || format_type(t.typbasetype, t.typtypmod) ||
                       CASE WHEN t.typnotnull THEN ' not null' ELSE '' END ||
                       coalesce(' default ' || t.typdefault, '') ||
                       coalesce((SELECT ' ' || string_agg(pg_get_constraintdef(k.oid, true), ' '
                                                         ORDER BY pg_get_constraintdef(k.oid, true))
                                 FROM pg_constraint k WHERE k.contypid = t.oid), '')
         WHEN 'c' THEN 'composite (' || (SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod),
                                                           ', ' ORDER BY a.attnum)
                                         FROM pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0
                                         AND NOT a.attisdropped) || ')'
         ELSE 'range of ' || (SELECT format_type(r.rngsubtype, NULL) FROM pg_range r WHERE r.rngtypid = t.oid)
       END
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE n.nspname = current_schema() AND t.typtype IN ('e', 'd', 'c', 'r')
  AND (t.typtype <> 'c' OR (SELECT c.relkind FROM pg_class c WHERE c.oid = t.typrelid) = 'c')
  AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = 'pg_type'::regclass AND e.objid = t.oid
                  AND e.deptype = 'e')";

type Rows = Vec<Vec<Option<String>>>;

fn rows(client: &mut Client, sql: &str) -> Result<Rows, postgres::Error> {
    Ok(client
        .query(sql, &[])?
        .iter()
        .map(|row| (0..row.len()).map(|i| row.get::<_, Option<String>>(i)).collect())
        .collect())
}

pub(crate) fn snapshot(client: &mut Client, history: &HistoryTable) -> Result<Schema, postgres::Error> {
    let current: String = client.query_one("SELECT current_schema()::text", &[])?.get(0);
    // The history table is left out where it lives in the schema read.
    let skip = match history.schema() {
        Some(schema) if schema != current => None,
        _ => Some(history.name().to_owned()),
    };
    let skipped = |table: &Option<String>| table.is_some() && table.as_deref() == skip.as_deref();
    let tidy = |text: &str| strip_schema(text, &current);
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let mut schema = Schema::new(Backend::Postgres);

    for r in rows(client, RELATIONS)? {
        if skipped(&r[0]) {
            continue;
        }
        let name = text(&r[0]);
        match r[1].as_deref() {
            Some("v") => schema.object(ObjectKind::View, &name, &tidy(&text(&r[2]))),
            Some("m") => schema.object(ObjectKind::MaterializedView, &name, &tidy(&text(&r[2]))),
            kind => {
                let mut definition = Vec::new();
                if kind == Some("f") {
                    definition.push("foreign".to_owned());
                }
                if let Some(key) = &r[3] {
                    definition.push(format!("partition by {key}"));
                }
                if let Some(bound) = &r[4] {
                    definition.push(format!("partition {}", tidy(bound)));
                }
                schema.object(ObjectKind::Table, &name, &definition.join(", "));
            }
        }
    }
    for r in rows(client, COLUMNS)? {
        if skipped(&r[0]) {
            continue;
        }
        let mut def = text(&r[3]);
        if r[4].as_deref() == Some("true") {
            def.push_str(" not null");
        }
        match (r[6].as_deref(), &r[5]) {
            (Some("s"), Some(expr)) => def.push_str(&format!(" generated always as ({}) stored", tidy(expr))),
            (_, Some(default)) => def.push_str(&format!(" default {}", tidy(default))),
            _ => {}
        }
        match r[7].as_deref() {
            Some("a") => def.push_str(" generated always as identity"),
            Some("d") => def.push_str(" generated by default as identity"),
            _ => {}
        }
        if let Some(collation) = &r[8] {
            def.push_str(&format!(" collate \"{collation}\""));
        }
        let position = text(&r[1]).parse().unwrap_or(0);
        schema.member(&text(&r[0]), MemberKind::Column(position), r[2].as_deref(), &def);
    }
    for r in rows(client, CONSTRAINTS)? {
        if skipped(&r[0]) {
            continue;
        }
        let (table, name, def) = (text(&r[0]), text(&r[1]), tidy(&text(&r[3])));
        let (kind, prefix, suffix) = match r[2].as_deref() {
            Some("p") => (MemberKind::PrimaryKey, "PRIMARY KEY ", "pkey"),
            Some("u") => (MemberKind::Unique, "UNIQUE ", "key"),
            Some("f") => (MemberKind::ForeignKey, "FOREIGN KEY ", "fkey"),
            Some("c") => (MemberKind::Check, "CHECK ", "check"),
            _ => (MemberKind::Exclusion, "EXCLUDE ", "excl"),
        };
        let def = def.strip_prefix(prefix).unwrap_or(&def);
        if generated(&table, &name, &[suffix]) {
            schema.generated_member(&table, kind, &name, def);
        } else {
            schema.member(&table, kind, Some(&name), def);
        }
    }
    for r in rows(client, INDEXES)? {
        if skipped(&r[0]) {
            continue;
        }
        let (table, name, def) = (text(&r[0]), text(&r[1]), tidy(&text(&r[2])));
        // `CREATE [UNIQUE] INDEX name ON table USING method (...)`: the method on.
        let mut def = def.split_once(" USING ").map_or(def.clone(), |(_, rest)| rest.to_owned());
        if r[3].as_deref() == Some("true") {
            def = format!("unique {def}");
        }
        if r[4].as_deref() == Some("false") {
            def.push_str(" (invalid: a concurrent build failed)");
        }
        if generated(&table, &name, &["idx"]) {
            schema.generated_member(&table, MemberKind::Index, &name, &def);
        } else {
            schema.member(&table, MemberKind::Index, Some(&name), &def);
        }
    }
    for r in rows(client, TRIGGERS)? {
        if skipped(&r[0]) {
            continue;
        }
        let (table, name, def) = (text(&r[0]), text(&r[1]), tidy(&text(&r[2])));
        let head = format!("TRIGGER {} ", r[1].as_deref().map(quote_if_needed).unwrap_or_default());
        let def = def.split_once(&head).map_or(def.clone(), |(_, rest)| rest.to_owned());
        schema.member(&table, MemberKind::Trigger, Some(&name), &def);
    }
    for r in rows(client, ROUTINES)? {
        let kind = if r[1].as_deref() == Some("p") { ObjectKind::Procedure } else { ObjectKind::Function };
        let volatility = match r[4].as_deref() {
            Some("i") => " immutable",
            Some("s") => " stable",
            _ => "",
        };
        let def = match r[1].as_deref() {
            Some("a") => "aggregate".to_owned(),
            Some("p") => format!("language {}{volatility} as {}", text(&r[3]), tidy(&text(&r[5]))),
            _ => {
                format!("returns {} language {}{volatility} as {}", tidy(&text(&r[2])), text(&r[3]), tidy(&text(&r[5])))
            }
        };
        schema.object(kind, &text(&r[0]), &def);
    }
    for r in rows(client, SEQUENCES)? {
        let owner = r[2].as_ref();
        if owner.is_some_and(|o| skip.as_deref().is_some_and(|s| o.starts_with(&format!("{s}.")))) {
            continue;
        }
        let mut def = text(&r[1]);
        if let Some(owner) = owner {
            def.push_str(&format!(" owned by {owner}"));
        }
        schema.object(ObjectKind::Sequence, &text(&r[0]), &def);
    }
    for r in rows(client, TYPES)? {
        schema.object(ObjectKind::Type, &text(&r[0]), &tidy(&text(&r[1])));
    }
    Ok(schema)
}

/// Whether PostgreSQL made `name` up for a constraint or index of `table`: `<table>_<columns>_<suffix>`, maybe
/// with a number after it when the first choice was taken, maybe cut to 63 bytes.
fn generated(table: &str, name: &str, suffixes: &[&str]) -> bool {
    let stem = name.trim_end_matches(|c: char| c.is_ascii_digit());
    let table_part = &table[..table.len().min(name.len().saturating_sub(1))];
    name.starts_with(table_part) && suffixes.iter().any(|s| stem.ends_with(&format!("_{s}")))
}

fn quote_if_needed(name: &str) -> String {
    if name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
        name.to_owned()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

/// The text with the qualifier of `schema` taken off names (`public.accounts` → `accounts`), so a snapshot does not
/// depend on the schema's name or on whether it is on the search path.
fn strip_schema(text: &str, schema: &str) -> String {
    let mut out = text.replace(&format!("\"{schema}\"."), "");
    let plain = format!("{}.", quote_if_needed(schema));
    let mut at = 0;
    while let Some(found) = out[at..].find(&plain) {
        let start = at + found;
        let before = out[..start].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '"') {
            at = start + plain.len();
        } else {
            out.replace_range(start..start + plain.len(), "");
            at = start;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_names_and_qualifiers() {
        assert!(generated("memberships", "memberships_organisation_id_fkey", &["fkey"]));
        assert!(generated("accounts", "accounts_pkey", &["pkey"]));
        assert!(generated("organisations", "organisations_slug_key1", &["key"]));
        assert!(!generated("accounts", "accounts_email_unique", &["key"]));
        assert!(!generated("accounts", "fk_accounts_org", &["fkey"]));
        assert_eq!(
            strip_schema("ON public.accounts, mypublic.x, \"public\".y", "public"),
            "ON accounts, mypublic.x, y"
        );
    }
}
