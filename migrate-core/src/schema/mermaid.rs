//! A [`Schema`] as a Mermaid entity-relationship diagram, which GitHub, GitLab and most documentation sites draw from
//! a ```` ```mermaid ```` block: each table with its columns (type, name, `PK`/`FK`/`UK`, and what else the column's
//! definition says), and a line for each foreign key from the referenced table to the one that refers to it.
//!
//! Mermaid takes names and types of letters, digits, `_` and `-` only: others become `_` (a table `"a b"` is drawn
//! as `a_b`), and a type keeps its length or precision as `varchar_36`.

use super::{member_kind, MemberKind, ObjectKind, Schema};

/// The diagram, starting `erDiagram`, without the ```` ```mermaid ```` fence.
pub fn diagram(schema: &Schema) -> String {
    let mut out = String::from("erDiagram\n");
    let mut relations = Vec::new();
    for ((kind, table), object) in &schema.objects {
        if *kind != ObjectKind::Table {
            continue;
        }
        let entity = word(table);
        // What the constraints say of each column: keys, and the foreign keys' targets.
        let mut keys: Vec<(String, &str)> = Vec::new();
        for (label, member) in &object.members {
            let text = format!("{label} {}", member.definition);
            // The columns in the first parentheses: `primary key (a, b)`, `(a) REFERENCES t(id)`.
            let columns = || -> Vec<String> {
                let Some(open) = text.find('(') else { return Vec::new() };
                let close = text[open..].find(')').map_or(text.len(), |c| open + c);
                text[open + 1..close].split(',').map(|c| unquote(c.trim())).collect()
            };
            match member_kind(label) {
                Some(MemberKind::PrimaryKey) => keys.extend(columns().into_iter().map(|c| (c, "PK"))),
                Some(MemberKind::Unique) => keys.extend(columns().into_iter().map(|c| (c, "UK"))),
                Some(MemberKind::ForeignKey) => {
                    let from = columns();
                    keys.extend(from.iter().map(|c| (c.clone(), "FK")));
                    if let Some(at) = text.to_ascii_uppercase().find("REFERENCES ") {
                        let rest = text[at + "REFERENCES ".len()..].trim_start();
                        let end = rest.find(['(', ' ']).unwrap_or(rest.len());
                        let target = unquote(rest[..end].rsplit('.').next().unwrap_or_default());
                        relations.push((word(&target), entity.clone(), from.join(", ")));
                    }
                }
                _ => {}
            }
        }
        let mut columns: Vec<(i64, &String, &str)> = object
            .members
            .iter()
            .filter(|(label, _)| label.starts_with("column "))
            .map(|(label, m)| (m.position, label, m.definition.as_str()))
            .collect();
        columns.sort();
        out.push_str(&format!("    {entity} {{\n"));
        for (_, label, definition) in columns {
            let name = unquote(&label["column ".len()..]);
            let (ty, rest) = split_type(definition);
            let mut marks: Vec<&str> = keys.iter().filter(|(c, _)| *c == name).map(|(_, k)| *k).collect();
            marks.dedup();
            let marks = if marks.is_empty() { String::new() } else { format!(" {}", marks.join(", ")) };
            let comment = if rest.is_empty() { String::new() } else { format!(" \"{}\"", rest.replace('"', "'")) };
            out.push_str(&format!("        {} {}{marks}{comment}\n", word(&ty), word(&name)));
        }
        out.push_str("    }\n");
    }
    relations.sort();
    relations.dedup();
    for (parent, child, columns) in relations {
        out.push_str(&format!("    {parent} ||--o{{ {child} : \"{}\"\n", columns.replace('"', "'")));
    }
    out
}

/// A column's definition split into its type and the rest (`not null default 0`).
fn split_type(definition: &str) -> (String, String) {
    let lower = definition.to_ascii_lowercase();
    let end = [" not null", " null", " default ", " generated ", " collate ", " primary key", " auto_increment"]
        .iter()
        .filter_map(|w| lower.find(w))
        .min()
        .unwrap_or(definition.len());
    (definition[..end].trim().to_owned(), definition[end..].trim().to_owned())
}

/// A name without its double quotes.
fn unquote(name: &str) -> String {
    name.strip_prefix('"')
        .and_then(|n| n.strip_suffix('"'))
        .map_or_else(|| name.to_owned(), |n| n.replace("\"\"", "\""))
}

/// `text` as one Mermaid word: letters, digits, `_` and `-`, others as `_`, runs of `_` collapsed.
fn word(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        let c = if c.is_alphanumeric() || c == '-' { c } else { '_' };
        if !(c == '_' && out.ends_with('_')) {
            out.push(c);
        }
    }
    let out = out.trim_matches('_').to_owned();
    if out.is_empty() {
        "_".to_owned()
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::revision::Backend;

    #[test]
    fn tables_columns_keys_and_relations() {
        let mut s = Schema::new(Backend::Postgres);
        s.member("accounts", MemberKind::Column(1), Some("id"), "integer not null generated always as identity");
        s.member("accounts", MemberKind::Column(2), Some("email"), "character varying(255) not null");
        s.member("accounts", MemberKind::PrimaryKey, None, "(id)");
        s.member("accounts", MemberKind::Unique, Some("accounts_email_key"), "(email)");
        s.member("posts", MemberKind::Column(1), Some("id"), "bigint not null");
        s.member("posts", MemberKind::Column(2), Some("author id"), "integer default 0");
        s.member("posts", MemberKind::PrimaryKey, None, "(id)");
        s.member(
            "posts",
            MemberKind::ForeignKey,
            None,
            "(\"author id\") REFERENCES public.accounts(id) ON DELETE CASCADE",
        );
        s.object(ObjectKind::View, "active", "SELECT 1");
        assert_eq!(
            diagram(&s),
            "erDiagram\n    \
             accounts {\n        integer id PK \"not null generated always as identity\"\n        \
             character_varying_255 email UK \"not null\"\n    }\n    \
             posts {\n        bigint id PK \"not null\"\n        integer author_id FK \"default 0\"\n    }\n    \
             accounts ||--o{ posts : \"author id\"\n"
        );
    }

    #[test]
    fn names_mermaid_cannot_take_become_words() {
        assert_eq!(word("\"a b\""), "a_b");
        assert_eq!(word("numeric(10,2)"), "numeric_10_2");
        assert_eq!(word("integer[]"), "integer");
        assert_eq!(split_type("text"), ("text".to_owned(), String::new()));
    }
}
