//! The canonical schema snapshot: what a database's catalog says its schema is, in a model every backend shares, a
//! deterministic text form and a diff that says in words what differs.
//!
//! A driver reads its own catalog into a [`Schema`] ([`Driver::snapshot`]); everything else lives here: the order
//! (sorted by kind and name, columns in their table's order, so the text does not depend on the order objects were
//! created in), the normalisation of definitions (whitespace collapsed, one line each), the treatment of names the
//! database generated (a constraint called `memberships_ibfk_2` or `accounts_email_key` is known by what it does,
//! not by its name, so re-creating it under the next suffix is no difference), and the [`diff`].
//!
//! The text form, which `migrate schema` prints and `migrate verify --schema` reads back:
//!
//! ```text
//! -- migrate schema snapshot: postgres
//! table accounts
//!   column id: character varying(36) not null
//!   column email: character varying(255) not null
//!   primary key (id)
//!   index accounts_email: btree (email)
//!   trigger accounts_updated_at: BEFORE UPDATE ON accounts FOR EACH ROW EXECUTE FUNCTION set_updated_at()
//! function set_updated_at(): returns trigger language plpgsql as BEGIN NEW.updated_at := now(); RETURN NEW; END;
//! ```
//!
//! Each line is a label (what the object is), then `: ` and its definition where it has one. Top-level lines are
//! tables, views, routines, sequences and types; indented lines are a table's members.
//!
//! [`Driver::snapshot`]: crate::Driver::snapshot

pub mod generate;
pub mod mermaid;
pub mod roundtrip;

use std::collections::BTreeMap;
use std::fmt;

use crate::revision::Backend;

/// A top-level object of a schema.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum ObjectKind {
    /// A type: an enum, a domain, a composite type.
    Type,
    /// A sequence not owned by an identity column.
    Sequence,
    /// A table.
    Table,
    /// A view.
    View,
    /// A materialized view.
    MaterializedView,
    /// A function.
    Function,
    /// A stored procedure.
    Procedure,
}

impl ObjectKind {
    /// The word the text form uses.
    pub fn word(self) -> &'static str {
        match self {
            ObjectKind::Type => "type",
            ObjectKind::Sequence => "sequence",
            ObjectKind::Table => "table",
            ObjectKind::View => "view",
            ObjectKind::MaterializedView => "materialized view",
            ObjectKind::Function => "function",
            ObjectKind::Procedure => "procedure",
        }
    }

    const ALL: [ObjectKind; 7] = [
        ObjectKind::Type,
        ObjectKind::Sequence,
        ObjectKind::Table,
        ObjectKind::View,
        ObjectKind::MaterializedView,
        ObjectKind::Function,
        ObjectKind::Procedure,
    ];
}

/// A member of a table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum MemberKind {
    /// A column; the number is its position in the table (1 first).
    Column(i64),
    /// The primary key.
    PrimaryKey,
    /// A unique constraint.
    Unique,
    /// A foreign key.
    ForeignKey,
    /// A check constraint.
    Check,
    /// An exclusion constraint (PostgreSQL).
    Exclusion,
    /// An index that backs no constraint.
    Index,
    /// A trigger.
    Trigger,
}

impl MemberKind {
    /// The word(s) the text form uses.
    pub fn word(self) -> &'static str {
        match self {
            MemberKind::Column(_) => "column",
            MemberKind::PrimaryKey => "primary key",
            MemberKind::Unique => "unique",
            MemberKind::ForeignKey => "foreign key",
            MemberKind::Check => "check",
            MemberKind::Exclusion => "exclude",
            MemberKind::Index => "index",
            MemberKind::Trigger => "trigger",
        }
    }

    fn rank(self) -> u8 {
        match self {
            MemberKind::Column(_) => 0,
            MemberKind::PrimaryKey => 1,
            MemberKind::Unique => 2,
            MemberKind::ForeignKey => 3,
            MemberKind::Check => 4,
            MemberKind::Exclusion => 5,
            MemberKind::Index => 6,
            MemberKind::Trigger => 7,
        }
    }

    const NAMED: [MemberKind; 7] = [
        MemberKind::PrimaryKey,
        MemberKind::Unique,
        MemberKind::ForeignKey,
        MemberKind::Check,
        MemberKind::Exclusion,
        MemberKind::Index,
        MemberKind::Trigger,
    ];
}

/// One object: its definition and, for a table, its members by label.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Object {
    definition: String,
    members: BTreeMap<String, Member>,
}

#[derive(Clone, Debug)]
struct Member {
    /// Sort key: the kind's rank, then the column position (0 for the others), then the label.
    rank: u8,
    position: i64,
    definition: String,
    /// The name the database made up for a member known by its definition: not compared, not in the text form,
    /// kept for a writer that must drop the member by name.
    server_name: Option<String>,
}

/// Two members are the same when they sort and read the same, whatever names the database gave them.
impl PartialEq for Member {
    fn eq(&self, other: &Member) -> bool {
        (self.rank, self.position, &self.definition) == (other.rank, other.position, &other.definition)
    }
}

impl Eq for Member {}

/// A database's schema as its catalog describes it. Build one with [`Schema::object`] and [`Schema::member`], print
/// it with `Display` (the text form), read the text back with [`Schema::parse`], compare two with [`diff`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Schema {
    backend: Option<Backend>,
    objects: BTreeMap<(ObjectKind, String), Object>,
}

impl Schema {
    /// An empty schema of `backend`.
    pub fn new(backend: Backend) -> Schema {
        Schema { backend: Some(backend), objects: BTreeMap::new() }
    }

    /// The backend it was read from (from the header line, for a parsed text).
    pub fn backend(&self) -> Option<Backend> {
        self.backend
    }

    /// Whether it holds no object.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// Adds (or replaces the definition of) the top-level object `name`. A table's definition is usually empty, its
    /// members saying what it is. A routine's name carries its argument types, `f(integer, text)`, as overloads are
    /// different objects.
    pub fn object(&mut self, kind: ObjectKind, name: &str, definition: &str) {
        let name = match name.find('(') {
            Some(at) if matches!(kind, ObjectKind::Function | ObjectKind::Procedure) => {
                format!("{}{}", ident(&name[..at]), normalize(&name[at..]))
            }
            _ => ident(name),
        };
        self.objects.entry((kind, name)).or_default().definition = normalize(definition);
    }

    /// Adds a member to table `table` (creating the table entry if needed). `name` is the member's name, or `None`
    /// where the database generated it (an unnamed constraint): the member is then known by its definition alone.
    pub fn member(&mut self, table: &str, kind: MemberKind, name: Option<&str>, definition: &str) {
        let definition = normalize(definition);
        let (label, definition) = match name {
            Some(name) => (format!("{} {}", kind.word(), ident(name)), definition),
            None => (format!("{} {definition}", kind.word()), String::new()),
        };
        let position = if let MemberKind::Column(p) = kind { p } else { 0 };
        let member = Member { rank: kind.rank(), position, definition, server_name: None };
        self.objects.entry((ObjectKind::Table, ident(table))).or_default().members.insert(label, member);
    }

    /// Adds a member whose name the database made up (`accounts_email_key`, `memberships_ibfk_2`): it is known by
    /// its definition, as one added with no name is, and the name is kept aside (not compared, not in the text
    /// form) for a revision writer that must drop it by name.
    pub fn generated_member(&mut self, table: &str, kind: MemberKind, name: &str, definition: &str) {
        let label = format!("{} {}", kind.word(), normalize(definition));
        self.member(table, kind, None, definition);
        if let Some(member) =
            self.objects.get_mut(&(ObjectKind::Table, ident(table))).and_then(|t| t.members.get_mut(&label))
        {
            member.server_name = Some(name.to_owned());
        }
    }

    /// The labels of the top-level objects, as the text form writes them, in its order.
    pub fn labels(&self) -> impl Iterator<Item = String> + '_ {
        self.objects.keys().map(|(kind, name)| format!("{} {name}", kind.word()))
    }

    /// Reads the text form back (what `Display` wrote, maybe edited by hand).
    ///
    /// # Errors
    /// The 1-based line number and what is wrong with it, for a line that is not part of the form.
    pub fn parse(text: &str) -> Result<Schema, (usize, String)> {
        let mut schema = Schema::default();
        let mut table: Option<String> = None;
        let mut position = 0;
        for (index, line) in text.lines().enumerate() {
            let number = index + 1;
            if let Some(rest) = line.strip_prefix("-- migrate schema snapshot: ") {
                schema.backend = Backend::from_name(rest.trim());
                continue;
            }
            if line.trim().is_empty() || line.trim_start().starts_with("--") {
                continue;
            }
            let (label, definition) = match line.trim().split_once(": ") {
                Some((label, definition)) => (label, definition),
                None => (line.trim(), ""),
            };
            if line.starts_with("  ") {
                let Some(table) = &table else {
                    return Err((number, "an indented line (a table's member) comes before any table".into()));
                };
                let Some(kind) = member_kind(label) else {
                    return Err((number, format!("`{label}` is not a column, constraint, index or trigger")));
                };
                let position = if kind == MemberKind::Column(0) {
                    position += 1;
                    position
                } else {
                    0
                };
                let member =
                    Member { rank: kind.rank(), position, definition: definition.to_owned(), server_name: None };
                let object = schema.objects.entry((ObjectKind::Table, table.clone())).or_default();
                object.members.insert(label.to_owned(), member);
                continue;
            }
            let Some((kind, name)) = ObjectKind::ALL
                .iter()
                .rev()
                .find_map(|k| label.strip_prefix(k.word()).and_then(|n| n.strip_prefix(' ')).map(|n| (*k, n)))
            else {
                return Err((number, format!("`{label}` does not start with an object kind (table, view, ...)")));
            };
            table = (kind == ObjectKind::Table).then(|| name.to_owned());
            position = 0;
            schema.objects.entry((kind, name.to_owned())).or_default().definition = definition.to_owned();
        }
        Ok(schema)
    }
}

fn member_kind(label: &str) -> Option<MemberKind> {
    if label.starts_with("column ") {
        return Some(MemberKind::Column(0));
    }
    MemberKind::NAMED.into_iter().find(|k| label.strip_prefix(k.word()).is_some_and(|rest| rest.starts_with(' ')))
}

impl fmt::Display for Schema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(backend) = self.backend {
            writeln!(f, "-- migrate schema snapshot: {backend}")?;
        }
        for ((kind, name), object) in &self.objects {
            line(f, "", &format!("{} {name}", kind.word()), &object.definition)?;
            let mut members: Vec<(&String, &Member)> = object.members.iter().collect();
            members.sort_by(|a, b| (a.1.rank, a.1.position, a.0).cmp(&(b.1.rank, b.1.position, b.0)));
            for (label, member) in members {
                line(f, "  ", label, &member.definition)?;
            }
        }
        Ok(())
    }
}

fn line(f: &mut fmt::Formatter<'_>, indent: &str, label: &str, definition: &str) -> fmt::Result {
    if definition.is_empty() {
        writeln!(f, "{indent}{label}")
    } else {
        writeln!(f, "{indent}{label}: {definition}")
    }
}

/// Collapses every run of whitespace to one space and trims the ends, so a definition is one line whatever the
/// layout it was written in.
pub fn normalize(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A name as the text form writes it: bare when it is letters, digits, `_` and `$`, otherwise in double quotes.
fn ident(name: &str) -> String {
    if !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '$') {
        name.to_owned()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

/// What differs about one object between an expected schema and an actual one.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Change {
    /// In the actual schema only; its definition.
    Extra(String),
    /// In the expected schema only; its definition.
    Missing(String),
    /// In both, defined differently.
    Changed {
        /// The expected definition.
        expected: String,
        /// The actual one.
        actual: String,
    },
}

/// One difference: the object, in words ("index accounts_email on accounts"), and what changed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Difference {
    /// The object: "table accounts", "column accounts.email", "index accounts_email on accounts".
    pub object: String,
    /// What changed.
    pub change: Change,
}

/// How a caller names the two sides of a comparison, for [`Difference::words`].
#[derive(Clone, Copy, Debug)]
pub struct Sides<'a> {
    /// Said of an object only the actual side has: "is in the database, not in the snapshot", "is left behind".
    pub extra: &'a str,
    /// Said of one only the expected side has: "is in the snapshot, not in the database", "is not restored".
    pub missing: &'a str,
    /// The expected side, for a changed definition: "in the snapshot", "before the up".
    pub expected: &'a str,
    /// The actual side: "in the database", "after the down".
    pub actual: &'a str,
}

impl Difference {
    /// The difference as a sentence, the sides named as `sides` says.
    pub fn words(&self, sides: &Sides<'_>) -> String {
        match &self.change {
            Change::Extra(_) => format!("{} {}", self.object, sides.extra),
            Change::Missing(_) => format!("{} {}", self.object, sides.missing),
            Change::Changed { expected, actual } => format!(
                "{} is `{}` {}, `{}` {}",
                self.object,
                or_nothing(expected),
                sides.expected,
                or_nothing(actual),
                sides.actual
            ),
        }
    }
}

fn or_nothing(definition: &str) -> &str {
    if definition.is_empty() {
        "(no definition)"
    } else {
        definition
    }
}

/// What differs between `expected` and `actual`, in the text form's order: objects on one side only (once each, not
/// member by member), members of a table on one side only, definitions that differ, and columns in another order.
pub fn diff(expected: &Schema, actual: &Schema) -> Vec<Difference> {
    let mut out = Vec::new();
    let keys: std::collections::BTreeSet<&(ObjectKind, String)> =
        expected.objects.keys().chain(actual.objects.keys()).collect();
    for key in keys {
        let (kind, name) = key;
        let object = format!("{} {name}", kind.word());
        match (expected.objects.get(key), actual.objects.get(key)) {
            (Some(e), None) => out.push(Difference { object, change: Change::Missing(e.definition.clone()) }),
            (None, Some(a)) => out.push(Difference { object, change: Change::Extra(a.definition.clone()) }),
            (Some(e), Some(a)) => {
                if e.definition != a.definition {
                    let change = Change::Changed { expected: e.definition.clone(), actual: a.definition.clone() };
                    out.push(Difference { object: object.clone(), change });
                }
                members(name, e, a, &mut out);
            }
            (None, None) => {}
        }
    }
    out
}

fn members(table: &str, expected: &Object, actual: &Object, out: &mut Vec<Difference>) {
    let labels: std::collections::BTreeSet<&String> = expected.members.keys().chain(actual.members.keys()).collect();
    for label in labels {
        let object = member_words(table, label);
        match (expected.members.get(label), actual.members.get(label)) {
            (Some(e), None) => out.push(Difference { object, change: Change::Missing(e.definition.clone()) }),
            (None, Some(a)) => out.push(Difference { object, change: Change::Extra(a.definition.clone()) }),
            (Some(e), Some(a)) if e.definition != a.definition => out.push(Difference {
                object,
                change: Change::Changed { expected: e.definition.clone(), actual: a.definition.clone() },
            }),
            _ => {}
        }
    }
    // The columns both sides have, in each side's order.
    let order = |object: &Object, other: &Object| -> Vec<String> {
        let mut columns: Vec<(&i64, &String)> = object
            .members
            .iter()
            .filter(|(label, m)| m.rank == 0 && other.members.contains_key(*label))
            .map(|(label, m)| (&m.position, label))
            .collect();
        columns.sort();
        columns.into_iter().map(|(_, label)| label.trim_start_matches("column ").to_owned()).collect()
    };
    let (e, a) = (order(expected, actual), order(actual, expected));
    if e != a {
        out.push(Difference {
            object: format!("the columns of table {table}"),
            change: Change::Changed { expected: e.join(", "), actual: a.join(", ") },
        });
    }
}

/// "column accounts.email", "index accounts_email on accounts", "foreign key (a) references b (id) on t".
fn member_words(table: &str, label: &str) -> String {
    match label.strip_prefix("column ") {
        Some(column) => format!("column {table}.{column}"),
        None => format!("{label} on {table}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(reverse: bool) -> Schema {
        let mut s = Schema::new(Backend::Postgres);
        type Step = Box<dyn Fn(&mut Schema)>;
        let mut steps: Vec<Step> = vec![
            Box::new(|s| s.member("accounts", MemberKind::Column(1), Some("id"), "integer not null")),
            Box::new(|s| s.member("accounts", MemberKind::Column(2), Some("email"), "text   not\n null")),
            Box::new(|s| s.member("accounts", MemberKind::PrimaryKey, None, "(id)")),
            Box::new(|s| s.member("accounts", MemberKind::Index, Some("accounts_email"), "btree (email)")),
            Box::new(|s| s.object(ObjectKind::View, "active", "SELECT id\n  FROM accounts")),
            Box::new(|s| s.object(ObjectKind::Function, "f()", "returns trigger")),
            Box::new(|s| s.member("a b", MemberKind::Column(1), Some("x"), "int")),
        ];
        if reverse {
            steps.reverse();
        }
        for step in steps {
            step(&mut s);
        }
        s
    }

    #[test]
    fn text_is_sorted_normalised_and_independent_of_insertion_order() {
        let (a, b) = (sample(false), sample(true));
        assert_eq!(a.to_string(), b.to_string());
        assert_eq!(
            a.to_string(),
            "-- migrate schema snapshot: postgres\n\
             table \"a b\"\n  column x: int\n\
             table accounts\n  column id: integer not null\n  column email: text not null\n  primary key (id)\n  \
             index accounts_email: btree (email)\n\
             view active: SELECT id FROM accounts\n\
             function f(): returns trigger\n"
        );
    }

    #[test]
    fn the_text_reads_back_to_the_same_schema() {
        let a = sample(false);
        let parsed = Schema::parse(&a.to_string()).unwrap();
        assert_eq!(parsed.to_string(), a.to_string());
        assert!(diff(&a, &parsed).is_empty(), "{:?}", diff(&a, &parsed));
        assert_eq!(Schema::parse("  column x: int").unwrap_err().0, 1);
        assert!(Schema::parse("table t\n  widget w").unwrap_err().1.contains("widget"));
    }

    #[test]
    fn diff_names_each_difference_in_words() {
        let before = sample(false);
        let mut after = sample(false);
        after.member("accounts", MemberKind::Index, Some("idx_extra"), "btree (id)");
        after.member("accounts", MemberKind::Column(2), Some("email"), "text");
        after.objects.remove(&(ObjectKind::View, "active".into()));
        let sides = Sides { extra: "is left behind", missing: "is not restored", expected: "before", actual: "after" };
        let words: Vec<String> = diff(&before, &after).iter().map(|d| d.words(&sides)).collect();
        assert_eq!(
            words,
            [
                "column accounts.email is `text not null` before, `text` after",
                "index idx_extra on accounts is left behind",
                "view active is not restored",
            ]
        );
    }

    #[test]
    fn generated_names_do_not_count_and_column_order_does() {
        let mut a = Schema::new(Backend::Mysql);
        a.member("t", MemberKind::ForeignKey, None, "(a) references u (id)");
        a.member("t", MemberKind::Column(1), Some("a"), "int");
        a.member("t", MemberKind::Column(2), Some("b"), "int");
        let mut b = Schema::new(Backend::Mysql);
        b.member("t", MemberKind::ForeignKey, None, "(a)  references u (id)");
        b.member("t", MemberKind::Column(2), Some("a"), "int");
        b.member("t", MemberKind::Column(1), Some("b"), "int");
        let d = diff(&a, &b);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].object, "the columns of table t");
    }
}
