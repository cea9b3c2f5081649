//! How the lint reads a statement: its words, the clauses of an `ALTER TABLE`, the columns it defines, and the
//! rules it breaks; and the catalog of column types the folder's earlier statements built, in one backend's reading.

use std::collections::HashMap;
use std::ops::Range;

use crate::revision::Backend;
use crate::sql::lex;

/// A rule a statement breaks, the table (or index) it acts on, for the exemption of what the file created, and
/// what exactly is wrong where the rule's reason is too general.
pub(super) struct Hit {
    pub rule: &'static str,
    pub table: Option<String>,
    pub detail: Option<String>,
}

impl Hit {
    fn on(rule: &'static str, table: &Option<String>) -> Hit {
        Hit { rule, table: table.clone(), detail: None }
    }
}

/// What the statements of one file so far have done, in one backend's reading.
#[derive(Debug, Default)]
pub(super) struct File {
    /// Tables and indexes the file created (and tables a rebuild renamed away): statements on them are exempt.
    pub created: Vec<String>,
    /// The file runs in one transaction.
    pub transaction: bool,
    /// No lock timeout bounds the file's statements: `-- migrate:lock-timeout off`, or the run's own is off.
    pub timeout_off: bool,
    /// `lock-timeout-off` was reported for the file (once is enough).
    pub timeout_reported: bool,
    /// `SET foreign_key_checks = 0` ran earlier in the file.
    pub foreign_key_checks_off: bool,
    /// Tables the file added a `NOT VALID` constraint to.
    pub not_valid: Vec<String>,
    /// Tables the file emptied (`DELETE FROM t` without a condition, `TRUNCATE t`).
    pub emptied: Vec<String>,
}

/// A column's type as a statement wrote it: its words in upper case (`CHARACTER VARYING` read as `VARCHAR`) and the
/// arguments in its parentheses, as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Type {
    pub name: String,
    pub args: Vec<String>,
}

/// The column types the folder's statements so far define, by table and column (names in lower case).
#[derive(Clone, Debug, Default)]
pub(super) struct Catalog {
    tables: HashMap<String, HashMap<String, Type>>,
    /// `CHECK (c IS NOT NULL) NOT VALID` constraints not validated yet: by table and constraint, the column.
    unvalidated: HashMap<(String, String), String>,
    /// Columns (by table) a validated `CHECK (c IS NOT NULL)` covers: PostgreSQL 12 and later set them `NOT NULL`
    /// without a scan.
    checked_not_null: Vec<(String, String)>,
}

impl Catalog {
    fn column(&self, table: &str, column: &str) -> Option<&Type> {
        self.tables.get(table)?.get(column)
    }

    /// Whether a validated `CHECK (column IS NOT NULL)` of `table` makes `SET NOT NULL` instant.
    fn checked_not_null(&self, table: &str, column: &str) -> bool {
        self.checked_not_null.iter().any(|(t, c)| t == table && c == column)
    }

    /// Takes in what `words` (one statement) does to tables and columns.
    pub fn learn(&mut self, words: &Words<'_>) {
        if let Some(table) = words.created_table() {
            let columns = words.column_definitions().into_iter().filter_map(|(c, t)| Some((c, t?))).collect();
            self.tables.insert(table, columns);
            return;
        }
        if words.word(0) == "DROP" && words.word(1) == "TABLE" {
            let at = if words.word(2) == "IF" && words.word(3) == "EXISTS" { 4 } else { 2 };
            for name in words.names_from(at) {
                self.tables.remove(&name);
            }
            return;
        }
        if words.word(0) == "RENAME" && words.word(1) == "TABLE" {
            if let Some((from, to)) = words.renamed_table() {
                self.rename_table(&from, to);
            }
            return;
        }
        let Some((table, after)) = words.altered() else { return };
        for clause in words.clauses(after) {
            let w = |k: usize| words.word(clause.start + k);
            match (w(0), w(1)) {
                ("RENAME", "TO" | "AS") => {
                    if let Some((to, _)) = words.name(clause.start + 2) {
                        self.rename_table(&table, to);
                        return;
                    }
                }
                ("RENAME", "COLUMN") | ("RENAME", _) if words.find_in(clause.clone(), &["TO"]).is_some() => {
                    let at = clause.start + 1 + usize::from(w(1) == "COLUMN");
                    let to = words.find_in(clause.clone(), &["TO"]).and_then(|to| words.name(to + 1));
                    if let (Some((from, _)), Some((to, _))) = (words.name(at), to) {
                        let columns = self.tables.entry(table.clone()).or_default();
                        if let Some(t) = columns.remove(&from) {
                            columns.insert(to, t);
                        }
                    }
                }
                ("VALIDATE", "CONSTRAINT") => {
                    let name = words.name(clause.start + 2).map(|(n, _)| n).unwrap_or_default();
                    if let Some(column) = self.unvalidated.remove(&(table.clone(), name)) {
                        self.checked_not_null.push((table.clone(), column));
                    }
                }
                ("ADD", _) => {
                    // ADD [CONSTRAINT name] CHECK (column IS NOT NULL) [NOT VALID]
                    let named = w(1) == "CONSTRAINT";
                    let check = clause.start + if named { 3 } else { 1 };
                    if words.word(check) == "CHECK" && words.text(check + 1) == "(" {
                        let not_null = words.name(check + 2).filter(|(_, at)| {
                            words.word(*at) == "IS"
                                && words.word(at + 1) == "NOT"
                                && words.word(at + 2) == "NULL"
                                && words.text(at + 3) == ")"
                        });
                        if let Some((column, _)) = not_null {
                            if words.find_in(clause.clone(), &["NOT", "VALID"]).is_none() {
                                self.checked_not_null.push((table.clone(), column));
                            } else if named {
                                let name = words.name(clause.start + 2).map(|(n, _)| n).unwrap_or_default();
                                self.unvalidated.insert((table.clone(), name), column);
                            }
                        }
                    }
                    if let Some((column, at)) = words.added_column(clause.clone()) {
                        let t = words.column_type(at, clause.end);
                        self.set(&table, column, t);
                    }
                }
                ("DROP", _) => {
                    let at = clause.start + 1 + usize::from(w(1) == "COLUMN");
                    if !CLAUSE_OBJECTS.contains(&words.word(at)) || w(1) == "COLUMN" {
                        let at = if words.word(at) == "IF" && words.word(at + 1) == "EXISTS" { at + 2 } else { at };
                        if let Some((column, _)) = words.name(at) {
                            self.tables.entry(table.clone()).or_default().remove(&column);
                        }
                    }
                }
                ("ALTER", _) => {
                    if let Some((column, at)) = words.retyped(clause.clone()) {
                        let t = words.column_type(at, clause.end);
                        self.set(&table, column, t);
                    }
                }
                ("MODIFY" | "CHANGE", _) => {
                    if let Some((old, new, at)) = words.redefined(clause.clone()) {
                        let t = words.column_type(at, clause.end);
                        self.tables.entry(table.clone()).or_default().remove(&old);
                        self.set(&table, new, t);
                    }
                }
                _ => {}
            }
        }
    }

    fn set(&mut self, table: &str, column: String, t: Option<Type>) {
        let columns = self.tables.entry(table.to_owned()).or_default();
        match t {
            Some(t) => columns.insert(column, t),
            None => columns.remove(&column),
        };
    }

    fn rename_table(&mut self, from: &str, to: String) {
        if let Some(columns) = self.tables.remove(from) {
            self.tables.insert(to, columns);
        }
    }
}

/// What may follow `ADD` or `DROP` in an `ALTER TABLE` clause other than a column.
const CLAUSE_OBJECTS: &[&str] = &[
    "CONSTRAINT",
    "PRIMARY",
    "UNIQUE",
    "FOREIGN",
    "CHECK",
    "INDEX",
    "KEY",
    "FULLTEXT",
    "SPATIAL",
    "EXCLUDE",
    "PARTITION",
    "DEFAULT",
    "NOT",
    "EXPRESSION",
    "IDENTITY",
    "SYSTEM",
    "PERIOD",
];

/// Words that end a column's type in its definition.
const AFTER_TYPE: &[&str] = &[
    "NOT",
    "NULL",
    "DEFAULT",
    "PRIMARY",
    "UNIQUE",
    "CHECK",
    "REFERENCES",
    "CONSTRAINT",
    "COLLATE",
    "GENERATED",
    "AUTO_INCREMENT",
    "AUTOINCREMENT",
    "COMMENT",
    "ON",
    "CHARSET",
    "USING",
    "AS",
    "FIRST",
    "AFTER",
    "INVISIBLE",
    "VISIBLE",
    "STORED",
    "VIRTUAL",
    "KEY",
    "COLUMN_FORMAT",
    "STORAGE",
];

/// Functions whose value differs on each call: a column added with one as its default is filled row by row.
const VOLATILE: &[&str] = &[
    "RANDOM",
    "GEN_RANDOM_UUID",
    "GEN_RANDOM_BYTES",
    "UUID_GENERATE_V1",
    "UUID_GENERATE_V1MC",
    "UUID_GENERATE_V4",
    "UUIDV4",
    "UUIDV7",
    "CLOCK_TIMESTAMP",
    "TIMEOFDAY",
    "NEXTVAL",
    "TXID_CURRENT",
];

const SERIAL: &[&str] = &["SERIAL", "BIGSERIAL", "SMALLSERIAL", "SERIAL2", "SERIAL4", "SERIAL8"];

/// A statement's code as words (upper case; quoted names as written) and the names after them.
pub(super) struct Words<'a> {
    tokens: Vec<lex::Token<'a>>,
    /// The words in upper case, one after another (made once, in one allocation, read by every rule), and where
    /// each token's is in it (empty for a token that is not a word).
    upper: String,
    spans: Vec<Range<usize>>,
}

/// Statements no rule judges and that change no table's columns, by their first word: not read further, since
/// a folder's data (`INSERT` of thousands of rows) is most of its text.
const UNJUDGED: &[&str] =
    &["INSERT", "UPDATE", "SELECT", "WITH", "VALUES", "COMMENT", "GRANT", "REVOKE", "COPY", "CALL"];

impl<'a> Words<'a> {
    pub fn of(statement: &'a str, backend: Backend) -> Words<'a> {
        let first = statement.find(|c: char| !c.is_ascii_alphabetic()).map_or(statement, |end| &statement[..end]);
        if UNJUDGED.iter().any(|w| w.eq_ignore_ascii_case(first)) {
            return Words { tokens: Vec::new(), upper: String::new(), spans: Vec::new() };
        }
        let tokens = lex::code(statement, backend);
        let mut upper = String::new();
        let spans = tokens
            .iter()
            .map(|t| {
                let start = upper.len();
                if t.kind == lex::Kind::Word {
                    upper.extend(t.text.chars().map(|c| c.to_ascii_uppercase()));
                }
                start..upper.len()
            })
            .collect();
        Words { tokens, upper, spans }
    }

    /// The word at `i` in upper case (empty past the end, or for a token that is not a word).
    pub fn word(&self, i: usize) -> &str {
        self.spans.get(i).map_or("", |span| &self.upper[span.clone()])
    }

    fn text(&self, i: usize) -> &str {
        self.tokens.get(i).map_or("", |t| t.text)
    }

    /// The position of `words` in sequence, from `from` on.
    fn find(&self, from: usize, words: &[&str]) -> Option<usize> {
        self.find_in(from..self.tokens.len(), words)
    }

    /// The position of `words` in sequence within `range`.
    fn find_in(&self, range: Range<usize>, words: &[&str]) -> Option<usize> {
        let end = range.end;
        range
            .into_iter()
            .find(|&i| i + words.len() <= end && words.iter().enumerate().all(|(k, w)| self.word(i + k) == *w))
    }

    /// The name at `i` (a word or quoted name, maybe qualified), normalised: unquoted, lower case, without its
    /// schema; with the position after it.
    pub fn name(&self, mut i: usize) -> Option<(String, usize)> {
        let part = |t: &lex::Token<'_>| match t.kind {
            lex::Kind::Word => Some(t.text.to_ascii_lowercase()),
            // An unclosed quote (the file's last token) names nothing.
            lex::Kind::Quoted if t.closed && t.text.len() >= 2 => {
                t.text.get(1..t.text.len() - 1).map(str::to_lowercase)
            }
            _ => None,
        };
        let mut name = part(self.tokens.get(i)?)?;
        while self.tokens.get(i + 1).is_some_and(|t| t.text == ".") {
            name = part(self.tokens.get(i + 2)?)?;
            i += 2;
        }
        Some((name, i + 1))
    }

    /// The comma-separated names from `i` on (`DROP TABLE a, b`).
    fn names_from(&self, mut i: usize) -> Vec<String> {
        let mut names = Vec::new();
        while let Some((name, after)) = self.name(i) {
            names.push(name);
            if self.text(after) != "," {
                break;
            }
            i = after + 1;
        }
        names
    }

    /// The position of the `)` that closes the `(` at `open`, or the end.
    fn close(&self, open: usize) -> usize {
        let mut depth = 0usize;
        for i in open..self.tokens.len() {
            match self.text(i) {
                "(" => depth += 1,
                ")" => {
                    depth -= 1;
                    if depth == 0 {
                        return i;
                    }
                }
                _ => {}
            }
        }
        self.tokens.len()
    }

    /// The parts of `range` between its top-level commas.
    fn split_commas(&self, range: Range<usize>) -> Vec<Range<usize>> {
        let mut parts = Vec::new();
        let (mut start, mut depth) = (range.start, 0usize);
        for i in range.clone() {
            match self.text(i) {
                "(" => depth += 1,
                ")" => depth = depth.saturating_sub(1),
                "," if depth == 0 => {
                    parts.push(start..i);
                    start = i + 1;
                }
                _ => {}
            }
        }
        parts.push(start..range.end);
        parts.retain(|r| !r.is_empty());
        parts
    }

    /// The clauses of an `ALTER TABLE` after its table (at `after`).
    fn clauses(&self, after: usize) -> Vec<Range<usize>> {
        self.split_commas(after..self.tokens.len())
    }

    /// The table after `ALTER TABLE [IF EXISTS] [ONLY]`, with the position after it.
    pub fn altered(&self) -> Option<(String, usize)> {
        if self.word(0) != "ALTER" || self.word(1) != "TABLE" {
            return None;
        }
        let mut i = 2;
        if self.word(i) == "IF" && self.word(i + 1) == "EXISTS" {
            i += 2;
        }
        if self.word(i) == "ONLY" {
            i += 1;
        }
        self.name(i)
    }

    /// The table `CREATE [TEMP] TABLE [IF NOT EXISTS] name` makes.
    pub fn created_table(&self) -> Option<String> {
        self.created_table_at().map(|(name, _)| name)
    }

    fn created_table_at(&self) -> Option<(String, usize)> {
        if self.word(0) != "CREATE" {
            return None;
        }
        let at = self.find(1, &["TABLE"]).filter(|&i| i <= 3)?;
        let mut i = at + 1;
        if self.word(i) == "IF" && self.word(i + 1) == "NOT" && self.word(i + 2) == "EXISTS" {
            i += 3;
        }
        self.name(i)
    }

    /// The index `CREATE [UNIQUE] INDEX [CONCURRENTLY] [IF NOT EXISTS] name` makes.
    pub fn created_index(&self) -> Option<String> {
        if self.word(0) != "CREATE" {
            return None;
        }
        let mut i = self.find(1, &["INDEX"]).filter(|&i| i <= 2)? + 1;
        if self.word(i) == "CONCURRENTLY" {
            i += 1;
        }
        if self.word(i) == "IF" && self.word(i + 1) == "NOT" && self.word(i + 2) == "EXISTS" {
            i += 3;
        }
        if self.word(i) == "ON" {
            return None;
        }
        self.name(i).map(|(name, _)| name)
    }

    /// `ALTER TABLE a RENAME TO b` or `RENAME TABLE a TO b`: `(a, b)`.
    fn renamed_table(&self) -> Option<(String, String)> {
        if self.word(0) == "RENAME" && self.word(1) == "TABLE" {
            let (from, after) = self.name(2)?;
            return Some((from, self.name(after + 1)?.0));
        }
        let (from, after) = self.altered()?;
        if self.word(after) == "RENAME" && matches!(self.word(after + 1), "TO" | "AS") {
            return Some((from, self.name(after + 2)?.0));
        }
        None
    }

    /// The table `DROP TABLE [IF EXISTS] name` drops.
    fn dropped_table(&self) -> Option<String> {
        if self.word(0) != "DROP" || self.word(1) != "TABLE" {
            return None;
        }
        let at = if self.word(2) == "IF" && self.word(3) == "EXISTS" { 4 } else { 2 };
        self.name(at).map(|(name, _)| name)
    }

    /// The table `DELETE FROM t` (without `WHERE`) or `TRUNCATE [TABLE] t` empties.
    fn emptied_table(&self) -> Option<String> {
        let at = match (self.word(0), self.word(1)) {
            ("DELETE", "FROM") => 2,
            ("TRUNCATE", "TABLE") => 2,
            ("TRUNCATE", _) => 1,
            _ => return None,
        };
        let (table, after) = self.name(at)?;
        (self.word(0) == "TRUNCATE" || after >= self.tokens.len()).then_some(table)
    }

    /// The columns of `CREATE TABLE name (…)`, each with its type where one is written.
    fn column_definitions(&self) -> Vec<(String, Option<Type>)> {
        let Some((_, after)) = self.created_table_at() else { return Vec::new() };
        if self.text(after) != "(" {
            return Vec::new();
        }
        let close = self.close(after);
        let mut columns = Vec::new();
        for part in self.split_commas(after + 1..close) {
            if CLAUSE_OBJECTS.contains(&self.word(part.start)) || self.word(part.start) == "LIKE" {
                continue;
            }
            if let Some((column, at)) = self.name(part.start) {
                columns.push((column, self.column_type(at, part.end)));
            }
        }
        columns
    }

    /// The type written from `at` on, up to the first word of a constraint or option, or `end`.
    fn column_type(&self, at: usize, end: usize) -> Option<Type> {
        let mut words = Vec::new();
        let mut args = Vec::new();
        let mut i = at;
        while i < end {
            let word = self.word(i);
            if self.text(i) == "(" {
                let close = self.close(i).min(end);
                args = self
                    .split_commas(i + 1..close)
                    .into_iter()
                    .map(|r| r.map(|k| self.text(k)).collect::<Vec<_>>().join(""))
                    .collect();
                i = close + 1;
                continue;
            }
            // A type's words, array brackets and a schema's dot continue it; other marks end it.
            let mark = matches!(self.text(i), "[" | "]" | ".");
            let ends_type = AFTER_TYPE.contains(&word)
                || (word == "CHARACTER" && self.word(i + 1) == "SET")
                || (word.is_empty() && !mark);
            if ends_type {
                break;
            }
            words.push(if mark { self.text(i) } else { word }.to_owned());
            i += 1;
        }
        if words.is_empty() {
            return None;
        }
        let name = words.join(" ").replace("CHARACTER VARYING", "VARCHAR");
        Some(Type { name, args })
    }

    /// The column of an `ADD [COLUMN] [IF NOT EXISTS] name …` clause, with the position after its name; `None` for
    /// a constraint or an index.
    fn added_column(&self, clause: Range<usize>) -> Option<(String, usize)> {
        let mut i = clause.start + 1;
        if self.word(i) == "COLUMN" {
            i += 1;
        } else if CLAUSE_OBJECTS.contains(&self.word(i)) || self.text(i) == "(" {
            return None;
        }
        if self.word(i) == "IF" && self.word(i + 1) == "NOT" && self.word(i + 2) == "EXISTS" {
            i += 3;
        }
        self.name(i).filter(|(_, after)| *after <= clause.end)
    }

    /// `ALTER [COLUMN] c [SET DATA] TYPE t`: the column and the position of its new type.
    fn retyped(&self, clause: Range<usize>) -> Option<(String, usize)> {
        if self.word(clause.start) != "ALTER" {
            return None;
        }
        let at = clause.start + 1 + usize::from(self.word(clause.start + 1) == "COLUMN");
        // The column's name (which may be `type`), SET DATA maybe, TYPE.
        let (column, mut j) = self.name(at)?;
        if self.word(j) == "SET" && self.word(j + 1) == "DATA" {
            j += 2;
        }
        (self.word(j) == "TYPE").then_some((column, j + 1))
    }

    /// MySQL's `MODIFY [COLUMN] c def` or `CHANGE [COLUMN] old new def`: the old name, the new one, and where the
    /// type starts.
    fn redefined(&self, clause: Range<usize>) -> Option<(String, String, usize)> {
        let first = self.word(clause.start);
        let at = clause.start + 1 + usize::from(self.word(clause.start + 1) == "COLUMN");
        let (old, after) = self.name(at)?;
        match first {
            "MODIFY" => Some((old.clone(), old, after)),
            "CHANGE" => {
                let (new, after) = self.name(after)?;
                Some((old, new, after))
            }
            _ => None,
        }
    }

    /// Whether the statement sets `option[=]value` (`ALGORITHM=INPLACE`) with one of `values`.
    fn option_is(&self, option: &str, values: &[&str]) -> bool {
        (0..self.tokens.len()).any(|i| {
            let value = if self.text(i + 1) == "=" { i + 2 } else { i + 1 };
            self.word(i) == option && values.contains(&self.word(value))
        })
    }

    /// `SET … foreign_key_checks = 0` (or `OFF`), in any of MySQL's forms.
    fn turns_foreign_key_checks_off(&self) -> bool {
        self.word(0) == "SET"
            && (0..self.tokens.len()).any(|i| {
                self.word(i) == "FOREIGN_KEY_CHECKS"
                    && matches!(self.text(i + 1), "=" | ":")
                    && matches!(self.word(i + 2 + usize::from(self.text(i + 2) == "=")), "0" | "OFF")
            })
    }

    /// A statement that sets the session's own lock timeout (`SET lock_timeout`, `SET lock_wait_timeout`).
    fn sets_lock_timeout(&self) -> bool {
        self.word(0) == "SET"
            && (0..self.tokens.len())
                .any(|i| matches!(self.word(i), "LOCK_TIMEOUT" | "LOCK_WAIT_TIMEOUT" | "INNODB_LOCK_WAIT_TIMEOUT"))
    }

    /// The existing table a statement waits for a lock on, where it takes one that blocks other queries of it.
    fn locked_table(&self, backend: Backend) -> Option<String> {
        if let Some((table, _)) = self.altered() {
            return Some(table);
        }
        let (w0, w1) = (self.word(0), self.word(1));
        if let Some(table) = self.dropped_table() {
            return Some(table);
        }
        match (w0, w1) {
            ("RENAME" | "TRUNCATE", _) | ("LOCK", _) => {
                let at = 1 + usize::from(matches!(w1, "TABLE" | "TABLES"));
                self.name(at).map(|(n, _)| n)
            }
            ("CREATE", "INDEX" | "UNIQUE") => {
                let concurrently = self.find(1, &["CONCURRENTLY"]).is_some_and(|i| i <= 3);
                let on = self.find(2, &["ON"])?;
                let at = if self.word(on + 1) == "ONLY" { on + 2 } else { on + 1 };
                (backend == Backend::Mysql || !concurrently).then(|| self.name(at).map(|(n, _)| n)).flatten()
            }
            ("DROP", "INDEX") if self.word(2) != "CONCURRENTLY" => {
                // MySQL's DROP INDEX i ON t names the table; PostgreSQL's names the index.
                match self.find(2, &["ON"]) {
                    Some(on) => self.name(on + 1).map(|(n, _)| n),
                    None => self.name(if self.word(2) == "IF" { 4 } else { 2 }).map(|(n, _)| n),
                }
            }
            _ => None,
        }
    }

    /// The rules this statement breaks, in one backend's reading, given what the file did before it (which it
    /// updates) and the column types the folder defined; `rebuild` is the table the statement starts a rebuild of.
    pub fn hits(&self, backend: Backend, file: &mut File, catalog: &Catalog, rebuild: Option<&str>) -> Vec<Hit> {
        let mut found = Vec::new();
        if self.turns_foreign_key_checks_off() {
            file.foreign_key_checks_off = true;
        }
        if self.sets_lock_timeout() {
            file.timeout_off = false;
        }
        if file.timeout_off && !file.timeout_reported && backend != Backend::Sqlite {
            if let Some(table) = self.locked_table(backend).filter(|t| !file.created.contains(t)) {
                file.timeout_reported = true;
                found.push(Hit::on("lock-timeout-off", &Some(table)));
            }
        }
        if let Some(table) = self.created_table() {
            file.created.push(table);
            return found;
        }
        if let Some(table) = self.emptied_table() {
            file.emptied.push(table);
        }
        if let Some(index) = self.created_index() {
            file.created.push(index);
        }
        if self.word(0) == "CREATE" && matches!(self.word(1), "SCHEMA" | "DATABASE") {
            let at = if self.word(2) == "IF" && self.word(3) == "NOT" { 5 } else { 2 };
            file.created.extend(self.name(at).map(|(n, _)| n));
        }
        if let Some(table) = rebuild.filter(|t| !file.created.iter().any(|c| c == t)) {
            found.push(Hit::on("table-rebuild", &Some(table.to_owned())));
            // The old table under its temporary name is the rebuild's own, as a table the file created.
            if let Some((_, to)) = self.renamed_table() {
                file.created.push(to);
            }
            return found;
        }
        let (w0, w1) = (self.word(0), self.word(1));
        // CREATE [UNIQUE] INDEX [CONCURRENTLY] … ON [ONLY] table
        if w0 == "CREATE" && (w1 == "INDEX" || (w1 == "UNIQUE" && self.word(2) == "INDEX")) {
            let concurrently = self.find(1, &["CONCURRENTLY"]).is_some_and(|i| i <= 3);
            if !concurrently {
                if let Some(on) = self.find(2, &["ON"]) {
                    let at = if self.word(on + 1) == "ONLY" { on + 2 } else { on + 1 };
                    found.push(Hit::on("add-index-non-concurrently", &self.name(at).map(|(n, _)| n)));
                }
            }
        }
        // DROP INDEX [CONCURRENTLY] [IF EXISTS] name: the index, in place of a table, for the exemption.
        if backend == Backend::Postgres && w0 == "DROP" && w1 == "INDEX" && self.word(2) != "CONCURRENTLY" {
            let at = if self.word(2) == "IF" && self.word(3) == "EXISTS" { 4 } else { 2 };
            found.push(Hit::on("drop-index-non-concurrently", &self.name(at).map(|(n, _)| n)));
        }
        if let Some(table) = self.dropped_table() {
            found.push(Hit::on("drop-table", &Some(table)));
        }
        if w0 == "DROP" && matches!(w1, "SCHEMA" | "DATABASE") {
            let at = if self.word(2) == "IF" && self.word(3) == "EXISTS" { 4 } else { 2 };
            found.push(Hit::on("drop-schema", &self.name(at).map(|(n, _)| n)));
        }
        // MySQL's RENAME TABLE a TO b.
        if w0 == "RENAME" && w1 == "TABLE" {
            found.push(Hit::on("rename-table", &self.name(2).map(|(n, _)| n)));
        }
        if let Some((table, after)) = self.altered() {
            self.altered_hits(backend, file, catalog, table, after, &mut found);
        }
        // One finding per rule and statement, however many clauses of an ALTER TABLE break it.
        let mut seen = Vec::new();
        found.retain(|hit| {
            let first = !seen.contains(&hit.rule);
            seen.push(hit.rule);
            first
        });
        found
    }

    /// The rules the clauses of `ALTER TABLE table …` break.
    fn altered_hits(
        &self,
        backend: Backend,
        file: &mut File,
        catalog: &Catalog,
        name: String,
        after: usize,
        found: &mut Vec<Hit>,
    ) {
        let table = Some(name.clone());
        let clauses = self.clauses(after);
        let in_place = self.option_is("ALGORITHM", &["INPLACE", "INSTANT"]);
        if self.option_is("LOCK", &["SHARED", "EXCLUSIVE"]) {
            found.push(Hit::on("mysql-lock-shared-exclusive", &table));
        }
        if self.option_is("ALGORITHM", &["COPY"]) {
            found.push(Hit::on("mysql-algorithm-copy", &table));
        }
        let sqlite =
            |detail: &str| Hit { rule: "sqlite-unsupported-alter", table: None, detail: Some(detail.to_owned()) };
        if backend == Backend::Sqlite && clauses.len() > 1 {
            found.push(sqlite("SQLite's ALTER TABLE makes one change per statement"));
        }
        for clause in clauses {
            let w = |k: usize| self.word(clause.start + k);
            let not_valid = self.find_in(clause.clone(), &["NOT", "VALID"]).is_some();
            let using_index = self.find_in(clause.clone(), &["USING", "INDEX"]).is_some();
            match w(0) {
                "ADD" => {
                    let object = if w(1) == "CONSTRAINT" { w(3) } else { w(1) };
                    match object {
                        "PRIMARY" if !using_index => found.push(Hit::on("add-primary-key-without-index", &table)),
                        "UNIQUE" if !using_index => found.push(Hit::on("add-unique-constraint-without-index", &table)),
                        "FOREIGN" => {
                            if !not_valid {
                                found.push(Hit::on("add-foreign-key-not-valid", &table));
                            }
                            if !file.foreign_key_checks_off && !in_place {
                                found.push(Hit::on("mysql-add-foreign-key", &table));
                            }
                        }
                        "CHECK" => {
                            if !not_valid {
                                found.push(Hit::on("add-check-constraint-not-valid", &table));
                            }
                            if !in_place {
                                found.push(Hit::on("mysql-add-check-constraint", &table));
                            }
                        }
                        _ => {}
                    }
                    if not_valid {
                        file.not_valid.push(name.clone());
                    }
                    match self.added_column(clause.clone()) {
                        Some((_, at)) => self.added_column_hits(backend, &table, at..clause.end, found),
                        None if backend == Backend::Sqlite => {
                            found.push(sqlite("SQLite's ALTER TABLE adds columns only, not constraints or keys"))
                        }
                        None => {}
                    }
                }
                "ALTER" => {
                    let column = self.name(clause.start + 1 + usize::from(w(1) == "COLUMN")).map(|(c, _)| c);
                    let checked = column.is_some_and(|c| catalog.checked_not_null(&name, &c));
                    if self.find_in(clause.clone(), &["SET", "NOT", "NULL"]).is_some() && !checked {
                        found.push(Hit::on("set-not-null", &table));
                    }
                    if let Some((column, at)) = self.retyped(clause.clone()) {
                        let old = catalog.column(&name, &column);
                        let new = self.column_type(at, clause.end);
                        let same_storage = old.zip(new.as_ref()).is_some_and(|(old, new)| coercible(old, new))
                            && self.find_in(clause.clone(), &["USING"]).is_none();
                        if backend == Backend::Postgres && !same_storage {
                            found.push(Hit::on("change-column-type", &table));
                        }
                    }
                    if backend == Backend::Sqlite {
                        found.push(sqlite("SQLite's ALTER TABLE cannot change a column"));
                    }
                }
                "MODIFY" | "CHANGE" => {
                    if let Some((old, new, at)) = self.redefined(clause.clone()) {
                        if old != new {
                            found.push(Hit::on("rename-column", &table));
                        }
                        let before = catalog.column(&name, &old);
                        let after = self.column_type(at, clause.end);
                        let hit = match (before, after.as_ref()) {
                            _ if in_place => None,
                            (Some(before), Some(after)) => mysql_redefinition(before, after),
                            _ => Some(Hit::on("mysql-modify-column", &table)),
                        };
                        found.extend(hit.map(|hit| Hit { table: table.clone(), ..hit }));
                    }
                    if backend == Backend::Sqlite {
                        found.push(sqlite("SQLite's ALTER TABLE cannot change a column"));
                    }
                }
                "DROP" => {
                    let next = w(1);
                    // DROP [COLUMN] c; not DROP INDEX, CONSTRAINT, PRIMARY KEY, FOREIGN KEY, …
                    let column =
                        next == "COLUMN" || (!CLAUSE_OBJECTS.contains(&next) && self.name(clause.start + 1).is_some());
                    if column {
                        found.push(Hit::on("drop-column", &table));
                    } else if backend == Backend::Sqlite {
                        found.push(sqlite("SQLite's ALTER TABLE drops columns only, not constraints or keys"));
                    }
                }
                "RENAME" => match w(1) {
                    "TO" | "AS" => found.push(Hit::on("rename-table", &table)),
                    "COLUMN" => found.push(Hit::on("rename-column", &table)),
                    "INDEX" | "KEY" | "CONSTRAINT" => {}
                    // PostgreSQL's and SQLite's RENAME a TO b.
                    _ if self.find_in(clause.clone(), &["TO"]).is_some() => {
                        found.push(Hit::on("rename-column", &table))
                    }
                    _ => {}
                },
                "VALIDATE" if file.transaction && file.not_valid.contains(&name) => {
                    found.push(Hit::on("validate-in-same-transaction", &table));
                }
                "ALGORITHM" | "LOCK" => {}
                _ if backend == Backend::Sqlite => {
                    found.push(sqlite("SQLite's ALTER TABLE can only rename, add a column or drop one"))
                }
                _ => {}
            }
        }
    }

    /// The rules `ADD [COLUMN] name <def>` breaks, `def` being the tokens after the name.
    fn added_column_hits(&self, backend: Backend, table: &Option<String>, def: Range<usize>, found: &mut Vec<Hit>) {
        let has = |words: &[&str]| self.find_in(def.clone(), words).is_some();
        let default = self.find_in(def.clone(), &["DEFAULT"]);
        let default_null = default.is_some_and(|d| self.word(d + 1) == "NULL");
        let generated = has(&["GENERATED"]) || has(&["AS"]);
        let stored =
            generated && (has(&["STORED"]) || (has(&["GENERATED"]) && !has(&["VIRTUAL"]) && !has(&["IDENTITY"])));
        let serial = SERIAL.contains(&self.word(def.start));
        let not_null = has(&["NOT", "NULL"]) || has(&["PRIMARY", "KEY"]);
        match backend {
            Backend::Postgres => {
                let volatile = default.and_then(|d| {
                    (d + 1..def.end).map(|i| self.word(i)).find(|w| VOLATILE.contains(w) && !w.is_empty())
                });
                let detail = if serial {
                    Some(format!("a {} column is filled from its sequence, row by row", self.word(def.start)))
                } else if has(&["IDENTITY"]) {
                    Some("an identity column is filled from its sequence, row by row".to_owned())
                } else if stored {
                    Some("a stored generated column is computed for every row".to_owned())
                } else {
                    volatile.map(|f| format!("its default calls {}(), which differs on each call", f.to_lowercase()))
                };
                if let Some(detail) = detail {
                    found.push(Hit {
                        rule: "add-column-volatile-default",
                        table: table.clone(),
                        detail: Some(format!("{detail}, so the table is rewritten while reads and writes of it wait")),
                    });
                }
                if not_null && (default.is_none() || default_null) && !generated && !serial && !has(&["IDENTITY"]) {
                    found.push(Hit::on("add-not-null-column-without-default", table));
                }
                // A key or check written with the column builds or validates as one added alone does.
                if has(&["PRIMARY", "KEY"]) {
                    found.push(Hit::on("add-primary-key-without-index", table));
                } else if has(&["UNIQUE"]) {
                    found.push(Hit::on("add-unique-constraint-without-index", table));
                }
                if has(&["REFERENCES"]) {
                    found.push(Hit::on("add-foreign-key-not-valid", table));
                }
                if has(&["CHECK"]) {
                    found.push(Hit::on("add-check-constraint-not-valid", table));
                }
            }
            Backend::Sqlite => {
                let detail = if has(&["PRIMARY", "KEY"]) {
                    Some("a column ALTER TABLE adds cannot be a PRIMARY KEY")
                } else if has(&["UNIQUE"]) {
                    Some("a column ALTER TABLE adds cannot be UNIQUE")
                } else if not_null && (default.is_none() || default_null) && !generated {
                    Some("a NOT NULL column ALTER TABLE adds needs a default other than NULL")
                } else if stored {
                    Some("a generated column ALTER TABLE adds must be VIRTUAL, not STORED")
                } else if default.is_some_and(|d| {
                    let value = self.word(d + 1);
                    matches!(value, "CURRENT_TIME" | "CURRENT_DATE" | "CURRENT_TIMESTAMP")
                        || (self.text(d + 1) == "("
                            && (d + 2..self.close(d + 1)).any(|i| {
                                let w = self.word(i);
                                !w.is_empty() && !w.bytes().all(|b| b.is_ascii_digit())
                            }))
                }) {
                    Some("a column ALTER TABLE adds needs a constant default, not CURRENT_TIMESTAMP or an expression")
                } else {
                    None
                };
                if let Some(detail) = detail {
                    found.push(Hit { rule: "sqlite-unsupported-alter", table: None, detail: Some(detail.to_owned()) });
                }
            }
            Backend::Mysql => {
                // An expression default that calls a function (`DEFAULT (UUID())`; `DEFAULT (1 + 1)` is instant).
                let calls = default.is_some_and(|d| {
                    self.text(d + 1) == "("
                        && (d + 2..self.close(d + 1)).any(|i| self.text(i + 1) == "(" && !self.word(i).is_empty())
                });
                let detail = if has(&["AUTO_INCREMENT"]) {
                    Some("an AUTO_INCREMENT column is numbered row by row")
                } else if stored {
                    Some("a stored generated column is computed for every row")
                } else if calls {
                    Some("an expression default that calls a function is computed for every row")
                } else {
                    None
                };
                if let Some(detail) = detail {
                    found.push(Hit {
                        rule: "add-column-volatile-default",
                        table: table.clone(),
                        detail: Some(format!("{detail}, so the table is copied while writes to it wait")),
                    });
                }
            }
        }
    }
}

/// Whether PostgreSQL changes a column of type `old` to `new` without rewriting the table: the same type, a
/// longer (or unbounded) `varchar`, `varchar` to `text`, a `numeric` of more precision and the same scale, `cidr`
/// to `inet`.
fn coercible(old: &Type, new: &Type) -> bool {
    let number = |s: &String| s.parse::<u64>().ok();
    let longer = |old: &[String], new: &[String]| match (old, new) {
        (_, []) => true,
        ([o], [n]) => number(o).zip(number(n)).is_some_and(|(o, n)| n >= o),
        _ => false,
    };
    match (old.name.as_str(), new.name.as_str()) {
        _ if old == new => true,
        ("VARCHAR", "VARCHAR") => longer(&old.args, &new.args),
        ("VARCHAR" | "TEXT", "TEXT") => true,
        ("TEXT", "VARCHAR") => new.args.is_empty(),
        ("NUMERIC" | "DECIMAL", "NUMERIC" | "DECIMAL") => match (old.args.as_slice(), new.args.as_slice()) {
            (_, []) => true,
            ([op, os], [np, ns]) => os == ns && number(np) >= number(op),
            ([op], [np]) => number(np) >= number(op),
            _ => false,
        },
        ("CIDR", "INET") => true,
        _ => false,
    }
}

/// What MySQL does to change a column of type `old` to `new`: nothing the lint reports for a change it makes in
/// place (the same type, a longer `VARCHAR` whose length prefix stays one byte or two, values added at the end of an
/// `ENUM` or `SET` within its storage size), `mysql-enum-reorder` for other changes of an `ENUM` or `SET`'s values,
/// `mysql-modify-column` otherwise.
fn mysql_redefinition(old: &Type, new: &Type) -> Option<Hit> {
    let number = |s: &String| s.parse::<u64>().ok();
    match (old.name.as_str(), new.name.as_str()) {
        _ if old == new => None,
        ("VARCHAR", "VARCHAR") => {
            let (o, n) = (old.args.first().and_then(number)?, new.args.first().and_then(number)?);
            // The prefix is one byte up to 255 bytes: 255 characters in latin1, 63 in utf8mb4.
            let same_prefix = (o <= 63 && n <= 63) || o >= 256;
            (n < o || !same_prefix).then(|| Hit::on("mysql-modify-column", &None))
        }
        (kind @ ("ENUM" | "SET"), new_kind) if new_kind == kind => {
            let appended = new.args.len() >= old.args.len() && new.args[..old.args.len()] == old.args[..];
            // Bytes per value: an ENUM takes 1 up to 255 values, then 2; a SET 1, 2, 3, 4 or 8 by its members.
            let size = |n: usize| match (kind, n) {
                ("ENUM", n) => 1 + usize::from(n > 255),
                (_, 0..=8) => 1,
                (_, 9..=16) => 2,
                (_, 17..=24) => 3,
                (_, 25..=32) => 4,
                _ => 8,
            };
            let moved = !appended || size(old.args.len()) != size(new.args.len());
            moved.then(|| Hit {
                rule: "mysql-enum-reorder",
                table: None,
                detail: Some(format!(
                    "{kind}({}) becomes {kind}({}): other than values added at the end within the same storage size, \
                     MySQL copies the table, blocking writes to it",
                    old.args.join(","),
                    new.args.join(",")
                )),
            })
        }
        _ => Some(Hit::on("mysql-modify-column", &None)),
    }
}

/// For each statement of a file, the table it starts a rebuild of: `DROP TABLE t` before `ALTER TABLE new RENAME TO
/// t` (or `RENAME TABLE new TO t`) of a table the file created, or `ALTER TABLE t RENAME TO old` before the file
/// creates `t` again.
pub(super) fn rebuilds(statements: &[Words<'_>]) -> Vec<Option<String>> {
    let created: Vec<(usize, String)> =
        statements.iter().enumerate().filter_map(|(i, w)| Some((i, w.created_table()?))).collect();
    let renamed: Vec<(usize, (String, String))> =
        statements.iter().enumerate().filter_map(|(i, w)| Some((i, w.renamed_table()?))).collect();
    let created_between =
        |name: &str, from: usize, to: usize| created.iter().any(|(k, c)| c == name && (from..to).contains(k));
    statements
        .iter()
        .enumerate()
        .map(|(i, words)| {
            if let Some(dropped) = words.dropped_table() {
                let replaced =
                    renamed.iter().any(|(j, (from, to))| *j > i && *to == dropped && created_between(from, 0, *j));
                return replaced.then_some(dropped);
            }
            let (from, _) = words.renamed_table()?;
            let made_again = created.iter().any(|(k, c)| *k > i && *c == from);
            made_again.then_some(from)
        })
        .collect()
}
