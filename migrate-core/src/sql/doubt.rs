//! Settling a statement left *in doubt*: one that ran alone (it could not share a transaction with its progress
//! write) while the run stopped, so whether it took effect is not recorded. [`check`] reads from the statement what
//! would tell: nothing (running it again ends the same either way), or an object of the catalog whose presence or
//! absence says whether it ran. A driver answers the catalog question ([`Driver::presence`]); the repair code
//! decides.
//!
//! [`Driver::presence`]: crate::Driver::presence

use crate::revision::Backend;
use crate::sql;
use crate::sql::lex;

/// What the operator says about a statement in doubt, when the catalog cannot tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InDoubt {
    /// It took effect: resume after it.
    Ran,
    /// It did not take effect: resume from it.
    NotRun,
}

/// The kinds of catalog object a statement in doubt can be judged by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ObjectKind {
    /// A table.
    Table,
    /// A view or materialized view.
    View,
    /// An index (of `table` on MySQL, where index names are per table).
    Index,
    /// A column of `table`.
    Column,
    /// A stored procedure.
    Procedure,
    /// A function.
    Function,
    /// A trigger (of `table` where the statement names it).
    Trigger,
    /// A database (MySQL's schemas too).
    Database,
}

/// An object of the catalog, named as the database stores it (PostgreSQL's unquoted names folded to lower case).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CatalogObject {
    /// What it is.
    pub kind: ObjectKind,
    /// Its schema (database on MySQL), if the statement names one; otherwise the session's.
    pub schema: Option<String>,
    /// Its name.
    pub name: String,
    /// The table it belongs to (columns, MySQL indexes, triggers), with its schema.
    pub table: Option<(Option<String>, String)>,
}

impl std::fmt::Display for CatalogObject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.kind {
            ObjectKind::Table => "table",
            ObjectKind::View => "view",
            ObjectKind::Index => "index",
            ObjectKind::Column => "column",
            ObjectKind::Procedure => "procedure",
            ObjectKind::Function => "function",
            ObjectKind::Trigger => "trigger",
            ObjectKind::Database => "database",
        };
        write!(f, "{kind} ")?;
        if let Some(schema) = &self.schema {
            write!(f, "{schema}.")?;
        }
        write!(f, "{}", self.name)?;
        if let Some((_, table)) = &self.table {
            write!(f, " on {table}")?;
        }
        Ok(())
    }
}

/// What the catalog says about an object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Presence {
    /// It is there.
    Present,
    /// It is not.
    Absent,
    /// It is there but unusable: a PostgreSQL index left INVALID by a `CONCURRENTLY` build that did not finish.
    Invalid,
}

/// How a statement in doubt can be settled.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Check {
    /// Running it again ends the same whether or not it took effect (`IF NOT EXISTS`, `OR REPLACE`, `VACUUM`,
    /// `TRUNCATE`, a session setting, …): resume runs it again.
    Rerun,
    /// It took effect if `object` is present (`creates`) or absent (not `creates`) now.
    Object {
        /// The object it creates or drops.
        object: CatalogObject,
        /// `true` if it creates the object, `false` if it drops it.
        creates: bool,
    },
    /// It renames a table: it took effect if `from` is gone and `to` is there.
    Rename {
        /// The table's old name.
        from: CatalogObject,
        /// Its new name.
        to: CatalogObject,
    },
    /// Nothing in the catalog tells: the operator must say.
    Unknown,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    /// A bare word, in upper case, with its text as written.
    Word(String, String),
    /// A quoted identifier, unquoted.
    Quoted(String),
    /// Anything else: one character (strings and numbers are read as such, which is enough here).
    Punct(char),
}

/// The first `limit` tokens of `statement` that are code, read by the one lexer ([`lex`]): words, quoted names
/// unquoted, and anything else as one character (a string or a dollar-quoted body by its opening one).
fn tokens(statement: &str, backend: Backend, limit: usize) -> Vec<Token> {
    lex::code(statement, backend)
        .into_iter()
        .take(limit)
        .map(|t| match t.kind {
            lex::Kind::Word => Token::Word(t.text.to_uppercase(), t.text.to_owned()),
            lex::Kind::Quoted => {
                let close = if t.text.starts_with('[') { "]" } else { &t.text[..1] };
                let inner = &t.text[1..t.text.len() - usize::from(t.closed && t.text.len() > 1)];
                let doubled = format!("{close}{close}");
                Token::Quoted(if close == "]" { inner.to_owned() } else { inner.replace(&doubled, close) })
            }
            _ => Token::Punct(t.text.chars().next().unwrap_or(' ')),
        })
        .collect()
}

struct Reader<'t> {
    tokens: &'t [Token],
    at: usize,
    backend: Backend,
}

impl Reader<'_> {
    fn word(&self) -> Option<&str> {
        match self.tokens.get(self.at) {
            Some(Token::Word(upper, _)) => Some(upper),
            _ => None,
        }
    }

    /// Takes the next token if it is the word `word`.
    fn eat(&mut self, word: &str) -> bool {
        let found = self.word() == Some(word);
        self.at += usize::from(found);
        found
    }

    /// Takes `words` if they come next, in order; takes nothing otherwise.
    fn eat_all(&mut self, words: &[&str]) -> bool {
        let start = self.at;
        if words.iter().all(|w| self.eat(w)) {
            return true;
        }
        self.at = start;
        false
    }

    fn ident_part(&mut self) -> Option<String> {
        let part = match self.tokens.get(self.at)? {
            Token::Word(_, text) if self.backend == Backend::Postgres => text.to_lowercase(),
            Token::Word(_, text) => text.clone(),
            Token::Quoted(text) => text.clone(),
            Token::Punct(_) => return None,
        };
        self.at += 1;
        Some(part)
    }

    /// A name, maybe qualified: `(schema, name)`.
    fn name(&mut self) -> Option<(Option<String>, String)> {
        let first = self.ident_part()?;
        if self.tokens.get(self.at) == Some(&Token::Punct('.')) {
            self.at += 1;
            let second = self.ident_part()?;
            return Some((Some(first), second));
        }
        Some((None, first))
    }

    /// `true` if a comma stands outside parentheses in what is left: the statement does more than one thing.
    fn more_than_one_action(&self) -> bool {
        let mut depth = 0usize;
        for token in &self.tokens[self.at..] {
            match token {
                Token::Punct('(') => depth += 1,
                Token::Punct(')') => depth = depth.saturating_sub(1),
                Token::Punct(',') if depth == 0 => return true,
                _ => {}
            }
        }
        false
    }
}

fn object(kind: ObjectKind, (schema, name): (Option<String>, String)) -> CatalogObject {
    CatalogObject { kind, schema, name, table: None }
}

/// How `statement`, run on `backend` and left in doubt, can be settled.
pub fn check(statement: &str, backend: Backend) -> Check {
    let toks = tokens(statement, backend, 4096);
    let mut r = Reader { tokens: &toks, at: 0, backend };
    let first = r.word().unwrap_or("").to_owned();
    r.at += 1;
    match first.as_str() {
        "CREATE" => create(&mut r),
        "DROP" => drop(&mut r),
        "ALTER" => alter(&mut r),
        "RENAME" => rename(&mut r),
        "TRUNCATE" | "VACUUM" | "ANALYZE" | "OPTIMIZE" | "REPAIR" | "CHECK" | "PRAGMA" | "ATTACH" | "DETACH"
        | "FLUSH" | "LOCK" | "UNLOCK" | "GRANT" | "CACHE" | "LOAD" | "SET" | "CLUSTER" | "REFRESH" => Check::Rerun,
        "REINDEX" if !sql::leading_words(statement, backend, 4).iter().any(|w| w == "CONCURRENTLY") => Check::Rerun,
        _ => Check::Unknown,
    }
}

fn create(r: &mut Reader<'_>) -> Check {
    let mut temporary = false;
    let mut replace = false;
    // Modifiers before the kind of object: OR REPLACE, UNIQUE, TEMPORARY, ALGORITHM = …, DEFINER = …, SQL SECURITY ….
    let kind = loop {
        let Some(token) = r.tokens.get(r.at) else { return Check::Unknown };
        r.at += 1;
        let Token::Word(word, _) = token else { continue };
        match word.as_str() {
            "TABLE" => break ObjectKind::Table,
            "VIEW" => break ObjectKind::View,
            "INDEX" => break ObjectKind::Index,
            "PROCEDURE" => break ObjectKind::Procedure,
            "FUNCTION" => break ObjectKind::Function,
            "TRIGGER" => break ObjectKind::Trigger,
            "DATABASE" | "SCHEMA" => break ObjectKind::Database,
            "TEMP" | "TEMPORARY" => temporary = true,
            "REPLACE" => replace = true,
            _ if r.at > 24 => return Check::Unknown,
            _ => {}
        }
    };
    if temporary || replace || r.eat_all(&["IF", "NOT", "EXISTS"]) {
        // A temporary object died with the session; the others end the same when run again.
        return Check::Rerun;
    }
    if kind == ObjectKind::Index {
        r.eat("CONCURRENTLY");
        if r.eat_all(&["IF", "NOT", "EXISTS"]) {
            return Check::Rerun;
        }
        if r.word() == Some("ON") {
            // An index without a name: nothing to look for.
            return Check::Unknown;
        }
    }
    let Some(name) = r.name() else { return Check::Unknown };
    let mut found = object(kind, name);
    if matches!(kind, ObjectKind::Index | ObjectKind::Trigger) {
        // CREATE INDEX i [USING m] ON t …; CREATE TRIGGER tr BEFORE INSERT [OR …] ON t …
        while r.at < r.tokens.len() && !r.eat("ON") {
            r.at += 1;
        }
        r.eat("ONLY");
        found.table = r.name();
        if found.table.is_none() {
            return Check::Unknown;
        }
    }
    Check::Object { object: found, creates: true }
}

fn drop(r: &mut Reader<'_>) -> Check {
    r.eat("MATERIALIZED");
    let kind = match r.word() {
        Some("TABLE") => ObjectKind::Table,
        Some("VIEW") => ObjectKind::View,
        Some("INDEX") => ObjectKind::Index,
        Some("PROCEDURE") => ObjectKind::Procedure,
        Some("FUNCTION") => ObjectKind::Function,
        Some("TRIGGER") => ObjectKind::Trigger,
        Some("DATABASE" | "SCHEMA") => ObjectKind::Database,
        Some("TEMPORARY") => return Check::Rerun,
        _ => return Check::Unknown,
    };
    r.at += 1;
    r.eat("CONCURRENTLY");
    if r.eat_all(&["IF", "EXISTS"]) {
        return Check::Rerun;
    }
    let Some(name) = r.name() else { return Check::Unknown };
    if r.tokens.get(r.at) == Some(&Token::Punct(',')) {
        // Several objects: some may be gone and others not.
        return Check::Unknown;
    }
    let mut found = object(kind, name);
    if r.eat("ON") {
        found.table = r.name();
    }
    Check::Object { object: found, creates: false }
}

fn alter(r: &mut Reader<'_>) -> Check {
    if r.eat("SYSTEM") {
        return Check::Rerun;
    }
    if !r.eat("TABLE") {
        return Check::Unknown;
    }
    r.eat_all(&["IF", "EXISTS"]);
    r.eat("ONLY");
    let Some(table) = r.name() else { return Check::Unknown };
    if r.more_than_one_action() {
        return Check::Unknown;
    }
    let on_table = |kind: ObjectKind, name: (Option<String>, String)| CatalogObject {
        kind,
        schema: None,
        name: name.1,
        table: Some(table.clone()),
    };
    if r.eat("RENAME") {
        if !(r.eat("TO") || r.eat("AS")) {
            return Check::Unknown;
        }
        let Some(to) = r.name() else { return Check::Unknown };
        let to = (to.0.or_else(|| table.0.clone()), to.1);
        return Check::Rename { from: object(ObjectKind::Table, table.clone()), to: object(ObjectKind::Table, to) };
    }
    let creates = if r.eat("ADD") {
        true
    } else if r.eat("DROP") {
        false
    } else {
        return Check::Unknown;
    };
    let kind = if r.eat("INDEX") || r.eat("KEY") || r.eat_all(&["UNIQUE", "INDEX"]) || r.eat_all(&["UNIQUE", "KEY"]) {
        ObjectKind::Index
    } else {
        r.eat("COLUMN");
        ObjectKind::Column
    };
    if r.eat_all(&["IF", "NOT", "EXISTS"]) || r.eat_all(&["IF", "EXISTS"]) {
        return Check::Rerun;
    }
    if kind == ObjectKind::Column
        && matches!(r.word(), Some("CONSTRAINT" | "PRIMARY" | "FOREIGN" | "UNIQUE" | "CHECK" | "PARTITION"))
    {
        return Check::Unknown;
    }
    match r.name() {
        Some(name) => Check::Object { object: on_table(kind, name), creates },
        None => Check::Unknown,
    }
}

fn rename(r: &mut Reader<'_>) -> Check {
    if !r.eat("TABLE") {
        return Check::Unknown;
    }
    let Some(from) = r.name() else { return Check::Unknown };
    if !r.eat("TO") {
        return Check::Unknown;
    }
    let Some(to) = r.name() else { return Check::Unknown };
    if r.at < r.tokens.len() {
        // Several renames in one statement.
        return Check::Unknown;
    }
    Check::Rename { from: object(ObjectKind::Table, from), to: object(ObjectKind::Table, to) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(kind: ObjectKind, name: &str, table: Option<&str>) -> CatalogObject {
        CatalogObject { kind, schema: None, name: name.to_owned(), table: table.map(|t| (None, t.to_owned())) }
    }

    #[test]
    fn statements_name_what_tells_whether_they_ran() {
        use Backend::{Mysql, Postgres};
        let creates = |object| Check::Object { object, creates: true };
        let drops = |object| Check::Object { object, creates: false };
        assert_eq!(
            check("CREATE UNIQUE INDEX CONCURRENTLY Idx_A ON public.accounts (email)", Postgres),
            creates(obj(ObjectKind::Index, "idx_a", Some("accounts"))).clone().with_table_schema(Some("public"))
        );
        assert_eq!(check("DROP INDEX CONCURRENTLY idx_a", Postgres), drops(obj(ObjectKind::Index, "idx_a", None)));
        assert_eq!(check("DROP INDEX `Idx` ON `t`", Mysql), drops(obj(ObjectKind::Index, "Idx", Some("t"))));
        assert_eq!(check("CREATE TABLE `Users` (id INT)", Mysql), creates(obj(ObjectKind::Table, "Users", None)));
        assert_eq!(
            check("create definer=`root`@`%` procedure p() begin select 1; end", Mysql),
            creates(obj(ObjectKind::Procedure, "p", None))
        );
        assert_eq!(
            check("ALTER TABLE t ADD COLUMN c INT NOT NULL DEFAULT 0", Mysql),
            creates(obj(ObjectKind::Column, "c", Some("t")))
        );
        assert_eq!(check("ALTER TABLE t DROP c", Mysql), drops(obj(ObjectKind::Column, "c", Some("t"))));
        assert_eq!(check("ALTER TABLE t ADD INDEX i (a, b)", Mysql), creates(obj(ObjectKind::Index, "i", Some("t"))));
        assert_eq!(
            check("RENAME TABLE a TO b", Mysql),
            Check::Rename { from: obj(ObjectKind::Table, "a", None), to: obj(ObjectKind::Table, "b", None) }
        );
        for rerun in [
            "CREATE TABLE IF NOT EXISTS t (id INT)",
            "DROP TABLE IF EXISTS t",
            "CREATE OR REPLACE VIEW v AS SELECT 1",
            "TRUNCATE t",
            "VACUUM",
            "CREATE TEMPORARY TABLE x (id INT)",
            "ALTER TABLE t ADD COLUMN IF NOT EXISTS c INT",
        ] {
            assert_eq!(check(rerun, Mysql), Check::Rerun, "{rerun}");
        }
        for unknown in [
            "ALTER TABLE t ADD COLUMN a INT, ADD COLUMN b INT",
            "ALTER TABLE t MODIFY a BIGINT",
            "DROP TABLE a, b",
            "INSERT INTO t VALUES (1)",
            "ALTER TABLE t ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES u (id)",
            "REINDEX INDEX CONCURRENTLY i",
        ] {
            assert_eq!(check(unknown, Mysql), Check::Unknown, "{unknown}");
        }
    }

    impl Check {
        fn with_table_schema(self, schema: Option<&str>) -> Check {
            match self {
                Check::Object { mut object, creates } => {
                    if let Some((s, _)) = &mut object.table {
                        *s = schema.map(str::to_owned);
                    }
                    Check::Object { object, creates }
                }
                other => other,
            }
        }
    }
}
