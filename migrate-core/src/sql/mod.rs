//! Reading SQL text without a database: splitting a script into statements (for line numbers, statement-by-
//! statement execution and progress records), finding directives, and spotting statements that cannot run
//! inside a transaction.
//!
//! The splitter understands what decides where a statement ends in each dialect: quoted strings and identifiers,
//! `--`, `#` and (nested) `/* */` comments, PostgreSQL dollar quoting (`$$`, `$tag$`) and `E''` strings, MySQL
//! backslash escapes and `DELIMITER` lines, and `BEGIN … END` bodies of triggers and routines.
//!
//! This folder owns SQL text: [`lex`] reads comments and quotes (the one reader), this module splits and classifies
//! statements and reads directives, [`doubt`] tells from a DDL statement what in the catalog says whether it ran.
//! It imports only the revision model.

pub mod doubt;
pub mod lex;

use crate::revision::Backend;
use lex::{Lexer, Token};

/// One statement of a script.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Statement<'a> {
    /// The statement's text, from its first token up to (not including) its terminator.
    pub text: &'a str,
    /// Byte offset of `text` within the script.
    pub offset: usize,
    /// Line of the script (1-based) on which the statement starts.
    pub line: usize,
}

impl Statement<'_> {
    /// The statement's first line, for messages.
    pub fn first_line(&self) -> &str {
        self.text.lines().next().unwrap_or("").trim_end()
    }
}

/// The line (1-based) of byte `offset` in `text`.
pub fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    1 + text.as_bytes()[..end].iter().filter(|&&b| b == b'\n').count()
}

/// Splits `script` into statements as `dialect` reads it. Empty statements and comments between statements are
/// dropped, so a file with nothing but comments yields no statement.
pub fn split(script: &str, dialect: Backend) -> Vec<Statement<'_>> {
    read(script, dialect).statements
}

/// A script as one dialect reads it: its statements, and the quote or comment left open at its end, if any.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Reading<'a> {
    /// The statements, as [`split`] gives them.
    pub statements: Vec<Statement<'a>>,
    /// A quote, comment or dollar-quoted body that the script opens and never closes.
    pub unclosed: Option<Unclosed>,
}

/// A quote, comment or dollar-quoted body still open at the end of a script.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Unclosed {
    /// The line (1-based) where it opens.
    pub line: usize,
    /// What is open: `` `/*` comment ``, `string`, `quoted identifier`, `dollar-quoted body`.
    pub what: &'static str,
    /// Whether the dialect's server refuses the script for it. SQLite and MySQL read a `/*` comment left open as
    /// running to the end of the input; PostgreSQL refuses it, and every dialect refuses an unclosed quote.
    pub refused: bool,
}

/// Reads `script` as `dialect` does: [`split`]'s statements, and what it leaves open.
pub fn read(script: &str, dialect: Backend) -> Reading<'_> {
    let mut splitter = Splitter::new(script, dialect);
    let statements = splitter.run();
    Reading { statements, unclosed: splitter.unclosed }
}

/// `true` if `script` holds no statement: only whitespace and comments.
pub fn is_blank(script: &str) -> bool {
    // Every dialect agrees on where comments are for this purpose; PostgreSQL's reading is the strictest.
    split(script, Backend::Postgres).is_empty()
}

struct Splitter<'a> {
    src: &'a str,
    lexer: Lexer<'a>,
    dialect: Backend,
    delimiter: String,
    out: Vec<Statement<'a>>,
    unclosed: Option<Unclosed>,
}

/// What the splitter knows about the statement it is inside.
#[derive(Default)]
struct Current {
    start: Option<(usize, usize)>,
    words: usize,
    /// After `CREATE` and only modifiers (`OR REPLACE`, `DEFINER = …`, `TEMPORARY`, …): the next word may name a
    /// routine or trigger.
    creating: bool,
    /// Words left that may be a `DEFINER`'s user and host.
    definer_words: usize,
    /// The statement creates a trigger, routine or event, whose body may hold `BEGIN … END` blocks.
    routine: bool,
    depth: usize,
    parens: usize,
    after_end: bool,
}

impl Current {
    /// Outside every block and parenthesis, where `;` ends the statement.
    fn closed(&self) -> bool {
        self.depth == 0 && self.parens == 0
    }
}

/// Words that may stand between `CREATE` and the kind of object it creates.
const CREATE_MODIFIERS: &[&str] =
    &["or", "replace", "alter", "definer", "temp", "temporary", "constraint", "aggregate", "algorithm", "undefined"];

impl<'a> Splitter<'a> {
    fn new(src: &'a str, dialect: Backend) -> Self {
        Splitter {
            src,
            lexer: Lexer::new(src, dialect),
            dialect,
            delimiter: ";".to_owned(),
            out: Vec::new(),
            unclosed: None,
        }
    }

    fn run(&mut self) -> Vec<Statement<'a>> {
        let mut cur = Current::default();
        loop {
            let before = self.lexer.offset();
            // A `DELIMITER` line of the mysql client, between statements: it is no statement, and changes what ends
            // the next ones.
            if self.dialect == Backend::Mysql && cur.start.is_none() && self.at_delimiter_command() {
                self.read_delimiter_command();
                continue;
            }
            let delimiter = (self.delimiter != ";").then_some(self.delimiter.as_str());
            let Some(token) = self.lexer.next_token(delimiter) else { break };
            // Every token holds a byte, so the splitter always ends (a debug assertion and the tests hold it).
            debug_assert!(self.lexer.offset() > before, "the splitter made no progress at byte {before}");
            self.step(&mut cur, token);
        }
        let end = self.src.len();
        self.finish(&mut cur, end);
        std::mem::take(&mut self.out)
    }

    /// Takes one token of the script.
    fn step(&mut self, cur: &mut Current, token: Token<'a>) {
        if !token.closed {
            let what = match token.kind {
                lex::Kind::String => "string",
                lex::Kind::Quoted => "quoted identifier",
                lex::Kind::Dollar => "dollar-quoted body",
                _ => "`/*` comment",
            };
            // SQLite and MySQL read a `/*` left open as running to the end; PostgreSQL refuses it.
            let refused = !(what == "`/*` comment" && self.dialect != Backend::Postgres);
            self.unclosed = Some(Unclosed { line: token.line, what, refused });
        }
        match token.kind {
            lex::Kind::Space | lex::Kind::LineComment | lex::Kind::BlockComment => {}
            // MySQL runs `/*! … */` (mysqldump's executable comments): they are statement text.
            lex::Kind::Executable => {
                if cur.start.is_none() {
                    cur.start = Some((token.offset, token.line));
                }
            }
            // A delimiter set with DELIMITER ends the statement wherever it appears, as in the mysql client.
            lex::Kind::Delimiter => self.finish(cur, token.offset),
            // `;` ends a statement outside a routine body and (on PostgreSQL) outside parentheses.
            lex::Kind::Punct if token.text == ";" && self.delimiter == ";" && cur.closed() => {
                self.finish(cur, token.offset)
            }
            kind => {
                if cur.start.is_none() {
                    cur.start = Some((token.offset, token.line));
                }
                match kind {
                    lex::Kind::Word => self.word(cur, token),
                    lex::Kind::Punct => {
                        // Only a word right after `END` can be `END IF` and the like.
                        cur.after_end = false;
                        if self.dialect == Backend::Postgres {
                            // psql does not end a statement at a `;` inside parentheses (`CREATE RULE … DO (…; …)`).
                            match token.text {
                                "(" => cur.parens += 1,
                                ")" => cur.parens = cur.parens.saturating_sub(1),
                                _ => {}
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    fn finish(&mut self, cur: &mut Current, end: usize) {
        if let Some((start, line)) = cur.start.take() {
            let text = self.src[start..end].trim_end();
            if !text.is_empty() {
                self.out.push(Statement { text, offset: start, line });
            }
        }
        *cur = Current::default();
    }

    fn word(&mut self, cur: &mut Current, token: Token<'a>) {
        let word = token.text;
        if token.offset > 0 && self.src.as_bytes()[token.offset - 1] == b'.' {
            // A qualified name (`NEW.end`, `t.begin`) is not a keyword.
            cur.after_end = false;
            cur.words += 1;
            return;
        }
        cur.words += 1;
        let is = |k: &str| word.eq_ignore_ascii_case(k);
        if cur.words == 1 {
            cur.creating = is("create");
            return;
        }
        if cur.creating {
            // `CREATE [OR REPLACE] [DEFINER = user] [TEMPORARY] TRIGGER …` opens a body; `CREATE TABLE t (trigger
            // text, begin date)` does not: only the word after the modifiers names what is created.
            if is("trigger") || is("function") || is("procedure") || is("event") {
                cur.routine = true;
                cur.creating = false;
            } else if is("definer") {
                cur.definer_words = 2;
            } else if cur.definer_words > 0 || CREATE_MODIFIERS.iter().any(|m| is(m)) {
                cur.definer_words = cur.definer_words.saturating_sub(1);
            } else {
                cur.creating = false;
            }
            return;
        }
        if !cur.routine || self.delimiter != ";" {
            // With a DELIMITER of its own, only the delimiter ends a statement: blocks need no counting.
            return;
        }
        let after_end = std::mem::take(&mut cur.after_end);
        if after_end && (is("if") || is("loop") || is("while") || is("repeat")) {
            // `END IF` and friends close blocks whose openers are not counted: undo the decrement.
            cur.depth += 1;
            return;
        }
        if is("begin") || is("case") {
            // `CASE` right after `END` is `END CASE`, which closes the block the `END` already closed.
            if !(after_end && is("case")) {
                cur.depth += 1;
            }
        } else if is("end") {
            cur.depth = cur.depth.saturating_sub(1);
            cur.after_end = true;
        }
    }

    /// At a `DELIMITER` line: only whitespace before it on its line, and whitespace after the word.
    fn at_delimiter_command(&self) -> bool {
        let pos = self.lexer.offset();
        let line_start = self.src[..pos].rfind('\n').map_or(0, |i| i + 1);
        if !self.src[line_start..pos].trim().is_empty() {
            return false;
        }
        let rest = self.lexer.rest().as_bytes();
        rest.len() > 10 && rest[..9].eq_ignore_ascii_case(b"delimiter") && rest[9].is_ascii_whitespace()
    }

    fn read_delimiter_command(&mut self) {
        let pos = self.lexer.offset();
        let line_end = self.src[pos..].find('\n').map_or(self.src.len(), |i| pos + i);
        let delimiter = self.src[pos + 9..line_end].trim();
        self.delimiter = if delimiter.is_empty() { ";".to_owned() } else { delimiter.to_owned() };
        self.lexer.skip_to(line_end);
    }
}

/// A directive found in a script's leading comment, such as `-- migrate:no-transaction`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Directive {
    /// `-- migrate:no-transaction`: run the file statement by statement, outside a transaction.
    NoTransaction,
    /// `-- migrate:irreversible` (in a `down` file): the revision cannot be reverted.
    Irreversible,
    /// `-- migrate:lock-timeout 30s` (or `500ms`, `30`, `off`): this file's statements wait for a lock this long,
    /// whatever the run's lock timeout; `off` (`None`) leaves the session's own setting.
    LockTimeout(Option<std::time::Duration>),
}

/// The value of `-- migrate:lock-timeout <value>`: `30s`, `500ms`, `30` (seconds), `off` or `0` (no bound).
fn lock_timeout_value(value: &str) -> Result<Option<std::time::Duration>, String> {
    let value = value.trim();
    let (number, unit) = match value.strip_suffix("ms") {
        Some(n) => (n, 1e-3),
        None => (value.strip_suffix('s').unwrap_or(value), 1.0),
    };
    match (value, number.trim().parse::<f64>()) {
        ("off", _) => Ok(None),
        (_, Ok(0.0)) => Ok(None),
        (_, Ok(n)) if n > 0.0 && n * unit < 1e7 => Ok(Some(std::time::Duration::from_secs_f64(n * unit))),
        _ => Err(format!(
            "`-- migrate:lock-timeout {value}` is not a time: write seconds (`30s` or `30`), milliseconds (`500ms`) or \
             `off`"
        )),
    }
}

/// The lock timeout `script`'s leading comment sets (`-- migrate:lock-timeout …`), if any: read where the runner
/// needs it, without the rest of [`directives`]' checks, which the scan has made.
pub fn lock_timeout_directive(script: &str) -> Option<Option<std::time::Duration>> {
    let script = script.strip_prefix('\u{feff}').unwrap_or(script);
    for line in script.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() {
            continue;
        }
        let comment = trimmed.strip_prefix("--")?.trim();
        if let Some(value) = comment.strip_prefix("migrate:lock-timeout") {
            return lock_timeout_value(value).ok();
        }
    }
    None
}

/// A problem with a `-- migrate:` line.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DirectiveProblem {
    /// 1-based line of the offending comment.
    pub line: usize,
    /// What is wrong, lowercase, no trailing period.
    pub message: String,
}

/// The directives of `script`: `-- migrate:<word>` lines in the comment block before the first statement.
/// A `-- migrate:` line with an unknown word, or one placed after the first statement (where it would be
/// silently ignored), is reported as a problem.
pub fn directives(script: &str) -> (Vec<Directive>, Vec<DirectiveProblem>) {
    let script = script.strip_prefix('\u{feff}').unwrap_or(script);
    let mut found = Vec::new();
    let mut problems = Vec::new();
    let mut leading = true;
    for (index, line) in script.lines().enumerate() {
        let trimmed = line.trim();
        let comment = trimmed.strip_prefix("--").map(str::trim);
        if leading && !trimmed.is_empty() && comment.is_none() {
            leading = false;
        }
        if leading && comment == Some("no-transaction") {
            // sqlx's directive, which its folders carry as their first line.
            found.push(Directive::NoTransaction);
            continue;
        }
        let Some(word) = comment.and_then(|c| c.strip_prefix("migrate:")) else { continue };
        let word = word.trim();
        // The lint's `-- migrate:allow(rule) reason`, which goes before any statement: the lint reads it.
        if word.starts_with("allow(") {
            continue;
        }
        let line = index + 1;
        // `migrate new --from` marks what a person must decide; the revision waits until the marks are gone.
        if let Some(what) = word.strip_prefix("review") {
            problems.push(DirectiveProblem {
                line,
                message: format!(
                    "this generated revision waits for review here:{what}; read it, change the file if needed, then \
                     delete the `-- migrate:review` line"
                ),
            });
            continue;
        }
        if !leading {
            problems.push(DirectiveProblem {
                line,
                message: format!(
                    "directive `-- migrate:{word}` comes after the first statement; move it to the top of the file"
                ),
            });
            continue;
        }
        match word {
            "no-transaction" => found.push(Directive::NoTransaction),
            "irreversible" => found.push(Directive::Irreversible),
            _ if word.starts_with("lock-timeout") => match lock_timeout_value(&word["lock-timeout".len()..]) {
                Ok(timeout) => found.push(Directive::LockTimeout(timeout)),
                Err(message) => problems.push(DirectiveProblem { line, message }),
            },
            other => problems.push(DirectiveProblem {
                line,
                message: format!(
                    "unknown directive `-- migrate:{other}`; the directives are `-- migrate:no-transaction`, `-- migrate:irreversible` and `-- migrate:lock-timeout <time>`"
                ),
            }),
        }
    }
    (found, problems)
}

/// The first statement of `script` that `backend` refuses to run inside a transaction block, with the
/// words that identify it (`CREATE INDEX CONCURRENTLY`, `VACUUM`, ...).
pub fn first_non_transactional<'a>(script: &'a str, backend: Backend) -> Option<(Statement<'a>, &'static str)> {
    non_transactional_in(&split(script, backend), backend)
}

/// [`first_non_transactional`] among statements already split for `backend`.
pub fn non_transactional_in<'a>(
    statements: &[Statement<'a>],
    backend: Backend,
) -> Option<(Statement<'a>, &'static str)> {
    statements.iter().find_map(|stmt| {
        non_transactional(stmt.text, backend).filter(|&what| what != IGNORED).map(|what| (*stmt, what))
    })
}

/// SQLite accepts `PRAGMA foreign_keys` inside a transaction and does nothing ("this pragma is a no-op within a
/// transaction"): run statement by statement it runs alone, so it takes effect; in a transaction it is no error.
const IGNORED: &str = "PRAGMA foreign_keys";

/// The first statement among `statements` that `backend` accepts inside a transaction block and then ignores
/// (SQLite's `PRAGMA foreign_keys`), with the words that identify it: a file that runs in a transaction does not do
/// what it says there, which is worth a warning and no refusal (the database is in the state the file left).
pub fn ignored_in_transaction_in<'a>(
    statements: &[Statement<'a>],
    backend: Backend,
) -> Option<(Statement<'a>, &'static str)> {
    statements.iter().find_map(|stmt| {
        non_transactional(stmt.text, backend).filter(|&what| what == IGNORED).map(|what| (*stmt, what))
    })
}

/// The first statement of `script` that, on `backend`, begins, ends or abandons a transaction (`BEGIN`, `COMMIT`,
/// `END`, `ROLLBACK`, `ABORT`, `START TRANSACTION`, …), with the words that identify it. Savepoints
/// (`SAVEPOINT`, `RELEASE`, `ROLLBACK TO`) stay within the transaction and are not reported. MySQL runs every
/// revision statement by statement, so nothing is reported there.
pub fn first_transaction_control<'a>(script: &'a str, backend: Backend) -> Option<(Statement<'a>, &'static str)> {
    if backend == Backend::Mysql {
        return None;
    }
    transaction_control_in(&split(script, backend), backend)
}

/// [`first_transaction_control`] among statements already split for `backend`.
pub fn transaction_control_in<'a>(
    statements: &[Statement<'a>],
    backend: Backend,
) -> Option<(Statement<'a>, &'static str)> {
    if backend == Backend::Mysql {
        return None;
    }
    statements.iter().find_map(|stmt| transaction_control(stmt.text, backend).map(|what| (*stmt, what)))
}

fn transaction_control(statement: &str, backend: Backend) -> Option<&'static str> {
    let words = leading_words(statement, backend, 3);
    let word = |i: usize| words.get(i).map_or("", String::as_str);
    match (word(0), word(1)) {
        // `BEGIN ATOMIC` opens a SQL-standard function body only inside CREATE FUNCTION, never as a statement.
        ("BEGIN", _) => Some("BEGIN"),
        ("START", "TRANSACTION") => Some("START TRANSACTION"),
        ("COMMIT", "PREPARED") | ("ROLLBACK", "PREPARED") => None,
        ("COMMIT", _) => Some("COMMIT"),
        ("END", _) => Some("END"),
        ("ROLLBACK", "TO") => None,
        ("ROLLBACK", "TRANSACTION" | "WORK") if word(2) == "TO" => None,
        ("ROLLBACK", _) => Some("ROLLBACK"),
        ("ABORT", _) => Some("ABORT"),
        ("PREPARE", "TRANSACTION") => Some("PREPARE TRANSACTION"),
        _ => None,
    }
}

/// How a statement of a statement-by-statement run can be kept in step with its history row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recording {
    /// It can run in one transaction with its progress write, so both take effect or neither.
    WithProgress,
    /// It cannot: the database refuses it inside a transaction (`CREATE INDEX CONCURRENTLY`, `VACUUM`) or commits
    /// by itself around it (MySQL's DDL). Its intent is recorded before it runs, so a run that stops while it runs
    /// leaves it *in doubt*, never wrongly counted.
    Alone,
    /// It opens a transaction the script manages itself (`BEGIN`, `START TRANSACTION`).
    Opens,
    /// It commits the script's own transaction (`COMMIT`, `END`).
    Commits,
    /// It abandons the script's own transaction (`ROLLBACK`, `ABORT`).
    RollsBack,
}

/// How `statement` is recorded when it runs statement by statement on `backend`.
pub fn recording(statement: &str, backend: Backend) -> Recording {
    if non_transactional(statement, backend).is_some() || backend == Backend::Mysql && commits_implicitly(statement) {
        return Recording::Alone;
    }
    let words = leading_words(statement, backend, 2);
    // MariaDB's `BEGIN NOT ATOMIC … END` is a compound statement, not a transaction.
    if backend == Backend::Mysql
        && words.first().is_some_and(|w| w == "BEGIN")
        && words.get(1).is_some_and(|w| w == "NOT")
    {
        return Recording::WithProgress;
    }
    match transaction_control(statement, backend) {
        Some("BEGIN" | "START TRANSACTION") => Recording::Opens,
        Some("COMMIT" | "END") => Recording::Commits,
        Some("ROLLBACK" | "ABORT") => Recording::RollsBack,
        Some(_) => Recording::Alone,
        None => Recording::WithProgress,
    }
}

/// Whether MySQL commits on its own around `statement` (DDL and the other statements its manual lists as causing
/// an implicit commit), so that nothing else keeps what it did from being permanent. `CREATE`/`DROP TEMPORARY TABLE`
/// do not.
pub fn commits_implicitly(statement: &str) -> bool {
    let words = leading_words(statement, Backend::Mysql, 4);
    let word = |i: usize| words.get(i).map_or("", String::as_str);
    let second = word(1);
    match word(0) {
        // `CREATE TEMPORARY TABLE`, MariaDB's `CREATE OR REPLACE TEMPORARY TABLE`, `DROP TEMPORARY TABLE`.
        "CREATE" | "DROP" => second != "TEMPORARY" && (second, word(2), word(3)) != ("OR", "REPLACE", "TEMPORARY"),
        "ALTER" | "RENAME" | "TRUNCATE" | "GRANT" | "REVOKE" | "INSTALL" | "UNINSTALL" | "FLUSH" | "RESET"
        | "ANALYZE" | "CHECK" | "OPTIMIZE" | "REPAIR" | "CACHE" | "LOCK" | "UNLOCK" => true,
        "LOAD" => second == "INDEX",
        "SET" => second == "PASSWORD",
        _ => false,
    }
}

/// The first `count` words of `statement` as `dialect` reads it, in upper case: enough to tell what kind of
/// statement it is. Comments, strings and quoted names between them are skipped ([`lex`] reads them); the text of a
/// MySQL executable comment (`/*!50001 DROP VIEW v */`) is read as code, as the server reads it.
pub fn leading_words(statement: &str, dialect: Backend, count: usize) -> Vec<String> {
    fn collect(src: &str, dialect: Backend, count: usize, words: &mut Vec<String>) {
        let mut lexer = Lexer::new(src, dialect);
        while words.len() < count {
            let Some(token) = lexer.next_token(None) else { return };
            match token.kind {
                lex::Kind::Word => words.push(token.text.to_ascii_uppercase()),
                lex::Kind::Executable => collect(lex::executable_code(token.text), dialect, count, words),
                _ => {}
            }
        }
    }
    let mut words = Vec::with_capacity(count);
    collect(statement, dialect, count, &mut words);
    words
}

/// `statement` as it may be shown to someone who may not see the data (who holds a lock, in an error): string
/// literals, dollar-quoted bodies and numbers as `?`, comments left out, each run of whitespace as one space, at most
/// `max` characters (then `…`).
pub fn masked(statement: &str, dialect: Backend, max: usize) -> String {
    let mut out = String::new();
    let mut lexer = Lexer::new(statement, dialect);
    while let Some(token) = lexer.next_token(None) {
        let text = match token.kind {
            lex::Kind::Space | lex::Kind::LineComment | lex::Kind::BlockComment => " ",
            lex::Kind::String | lex::Kind::Dollar => "?",
            lex::Kind::Word if token.text.starts_with(|c: char| c.is_ascii_digit()) => "?",
            _ => token.text,
        };
        if text == " " && (out.is_empty() || out.ends_with(' ')) {
            continue;
        }
        out.push_str(text);
    }
    let out = out.trim_end();
    match out.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &out[..end]),
        None => out.to_owned(),
    }
}

/// The names `statement` mentions that may be tables, as the dialect writes them (`accounts`, `app.accounts`,
/// `"Accounts"`): each word that is not a number and each quoted name, joined to the next by a `.` between them.
/// Keywords come too; the database tells which name is a table.
pub fn names_in(statement: &str, dialect: Backend) -> Vec<String> {
    let tokens = lex::code(statement, dialect);
    let name = |t: &lex::Token<'_>| match t.kind {
        lex::Kind::Word => !t.text.starts_with(|c: char| c.is_ascii_digit()),
        lex::Kind::Quoted => t.closed,
        _ => false,
    };
    let mut names: Vec<String> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if !name(&tokens[i]) {
            i += 1;
            continue;
        }
        let mut text = tokens[i].text.to_owned();
        while i + 2 < tokens.len() && tokens[i + 1].text == "." && name(&tokens[i + 2]) {
            text.push('.');
            text.push_str(tokens[i + 2].text);
            i += 2;
        }
        if !names.contains(&text) {
            names.push(text);
        }
        i += 1;
    }
    names
}

fn non_transactional(statement: &str, backend: Backend) -> Option<&'static str> {
    // MySQL commits DDL implicitly; every revision there already runs statement by statement.
    if backend == Backend::Mysql {
        return None;
    }
    let words = leading_words(statement, backend, 6);
    let w = |i: usize| words.get(i).map_or("", String::as_str);
    let detaches_concurrently = || {
        let upper = statement.to_ascii_uppercase();
        upper.contains("DETACH PARTITION") && upper.contains("CONCURRENTLY")
    };
    match backend {
        Backend::Postgres => match (w(0), w(1)) {
            ("VACUUM", _) => Some("VACUUM"),
            ("CREATE", "DATABASE") => Some("CREATE DATABASE"),
            ("DROP", "DATABASE") => Some("DROP DATABASE"),
            ("CREATE", "TABLESPACE") => Some("CREATE TABLESPACE"),
            ("DROP", "TABLESPACE") => Some("DROP TABLESPACE"),
            ("ALTER", "SYSTEM") => Some("ALTER SYSTEM"),
            ("REINDEX", _) if words.iter().any(|x| x == "CONCURRENTLY") => Some("REINDEX CONCURRENTLY"),
            ("REINDEX", "SYSTEM" | "DATABASE") => Some("REINDEX DATABASE/SYSTEM"),
            ("CREATE", "INDEX") | ("CREATE", "UNIQUE") if words.iter().any(|x| x == "CONCURRENTLY") => {
                Some("CREATE INDEX CONCURRENTLY")
            }
            ("DROP", "INDEX") if w(2) == "CONCURRENTLY" => Some("DROP INDEX CONCURRENTLY"),
            ("ALTER", "TABLE") if detaches_concurrently() => Some("ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY"),
            _ => None,
        },
        Backend::Sqlite => match (w(0), w(1)) {
            ("VACUUM", _) => Some("VACUUM"),
            ("PRAGMA", "JOURNAL_MODE") => Some("PRAGMA journal_mode"),
            ("PRAGMA", "FOREIGN_KEYS") => Some(IGNORED),
            ("PRAGMA", _) if w(2) == "JOURNAL_MODE" => Some("PRAGMA journal_mode"),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_lock_timeout_directive() {
        use super::{directives, lock_timeout_directive, Directive};
        use std::time::Duration;
        let (found, problems) =
            directives("-- migrate:lock-timeout 30s\n-- migrate:no-transaction\nALTER TABLE t ADD c int;");
        assert_eq!(found, [Directive::LockTimeout(Some(Duration::from_secs(30))), Directive::NoTransaction]);
        assert!(problems.is_empty());
        for (text, expected) in [
            ("500ms", Some(Some(Duration::from_millis(500)))),
            ("2", Some(Some(Duration::from_secs(2)))),
            ("1.5s", Some(Some(Duration::from_millis(1500)))),
            ("off", Some(None)),
            ("0", Some(None)),
        ] {
            let script = format!("-- a comment\n-- migrate:lock-timeout {text}\nALTER TABLE t ADD c int;");
            assert_eq!(lock_timeout_directive(&script), expected, "{text}");
            assert!(directives(&script).1.is_empty(), "{text}");
        }
        assert_eq!(lock_timeout_directive("ALTER TABLE t ADD c int;\n-- migrate:lock-timeout 5s"), None);
        // A generated revision's marks, at the top or at a statement, hold it back until a person deletes them.
        let (_, problems) =
            directives("-- migrate:review table t is dropped\nDROP TABLE t;\n-- migrate:review x\nSELECT 1;");
        assert_eq!(problems.iter().map(|p| p.line).collect::<Vec<_>>(), [1, 3]);
        assert!(problems[0].message.contains("waits for review here: table t is dropped"), "{}", problems[0].message);
        let (_, problems) = directives("-- migrate:lock-timeout soon\nSELECT 1;");
        assert!(problems[0].message.contains("is not a time: write seconds"), "{problems:?}");
        let (_, problems) = directives("-- migrate:lock-timeouts 5s\nSELECT 1;");
        assert_eq!(problems.len(), 1, "{problems:?}");
    }

    #[test]
    fn a_statement_is_shown_without_its_values() {
        use super::{masked, Backend};
        let sql = "UPDATE accounts SET password = 'hunter2', n = 42 -- why\n  WHERE id = $1 AND note = $$x$$";
        assert_eq!(
            masked(sql, Backend::Postgres, 200),
            "UPDATE accounts SET password = ?, n = ? WHERE id = $? AND note = ?"
        );
        assert_eq!(masked("SELECT 'a''b', \"t1\".x", Backend::Postgres, 200), "SELECT ?, \"t1\".x");
        assert_eq!(masked("INSERT INTO t VALUES (\"s\\\"x\")", Backend::Mysql, 200), "INSERT INTO t VALUES (?)");
        assert_eq!(masked("SELECT * FROM a_long_table_name", Backend::Sqlite, 10), "SELECT * F…");
    }

    #[test]
    fn the_names_a_statement_mentions() {
        use super::{names_in, Backend};
        assert_eq!(
            names_in("ALTER TABLE app.accounts ADD COLUMN \"Email\" text DEFAULT 'x' -- y", Backend::Postgres),
            ["ALTER", "TABLE", "app.accounts", "ADD", "COLUMN", "\"Email\"", "text", "DEFAULT"]
        );
        assert_eq!(
            names_in("CREATE INDEX i ON `db`.`t` (a, 2)", Backend::Mysql),
            ["CREATE", "INDEX", "i", "ON", "`db`.`t`", "a"]
        );
    }

    use super::*;

    #[test]
    fn leading_words_skip_comments_and_read_executable_ones() {
        assert_eq!(
            leading_words("CREATE /* a comment */ TEMPORARY TABLE t (a INT)", Backend::Mysql, 3),
            ["CREATE", "TEMPORARY", "TABLE"]
        );
        assert_eq!(leading_words("CREATE -- why\n TABLE t", Backend::Mysql, 2), ["CREATE", "TABLE"]);
        assert_eq!(leading_words("/*!50001 DROP VIEW IF EXISTS v */", Backend::Mysql, 2), ["DROP", "VIEW"]);
        assert_eq!(leading_words("/*M!100100 CREATE SEQUENCE s */", Backend::Mysql, 2), ["CREATE", "SEQUENCE"]);
        assert_eq!(
            leading_words(
                "/*!50001 CREATE ALGORITHM=UNDEFINED */ /*!50013 DEFINER=x */ /*!50001 VIEW v",
                Backend::Mysql,
                2
            ),
            ["CREATE", "ALGORITHM"]
        );
        assert_eq!(leading_words("INSERT INTO café_t VALUES (1)", Backend::Sqlite, 3), ["INSERT", "INTO", "CAFé_T"]);
        assert!(leading_words("/* unterminated", Backend::Postgres, 2).is_empty());
        // Each dialect's comments and strings: `#` is a comment on MySQL only; a string holds no word.
        assert_eq!(leading_words("# note\nCOMMIT", Backend::Mysql, 1), ["COMMIT"]);
        assert_eq!(leading_words("SELECT 'BEGIN' FROM t", Backend::Postgres, 2), ["SELECT", "FROM"]);
        assert_eq!(leading_words("/* a /* b */ c */ END", Backend::Postgres, 1), ["END"]);
    }

    #[test]
    fn ddl_commits_implicitly_and_data_statements_do_not() {
        for ddl in [
            "CREATE TABLE t (id INT)",
            "alter table t add c int",
            "DROP INDEX i ON t",
            "RENAME TABLE a TO b",
            "TRUNCATE t",
            "GRANT SELECT ON t TO u",
            "CREATE PROCEDURE p() BEGIN SELECT 1; END",
            "LOCK TABLES t WRITE",
            "/*!50001 DROP VIEW IF EXISTS v */",
            "CREATE TABLE temporary (id INT)",
            "CREATE OR REPLACE TABLE t (id INT)",
        ] {
            assert!(commits_implicitly(ddl), "{ddl}");
        }
        for dml in [
            "INSERT INTO t VALUES (1)",
            "UPDATE t SET a = 1",
            "DELETE FROM t",
            "SELECT 1",
            "CREATE TEMPORARY TABLE x (id INT)",
            "DROP TEMPORARY TABLE x",
            "CREATE /* scratch */ TEMPORARY TABLE x (id INT)",
            "CREATE OR REPLACE TEMPORARY TABLE x (id INT)",
            "SET @a = 1",
            "LOAD DATA INFILE 'f' INTO TABLE t",
        ] {
            assert!(!commits_implicitly(dml), "{dml}");
        }
    }

    fn texts(sql: &str, dialect: Backend) -> Vec<&str> {
        split(sql, dialect).into_iter().map(|s| s.text).collect()
    }

    #[test]
    fn splits_on_semicolons_outside_quotes_and_comments() {
        let sql =
            "-- lead\ncreate table t (a text default ';');\n/* x; */ insert into t values ('it''s; ok');\n\nselect 1";
        let got = split(sql, Backend::Sqlite);
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].text, "create table t (a text default ';')");
        assert_eq!(got[0].line, 2);
        assert_eq!(got[1].text, "insert into t values ('it''s; ok')");
        assert_eq!(got[1].line, 3);
        assert_eq!(got[2].text, "select 1");
        assert_eq!(got[2].line, 5);
    }

    #[test]
    fn postgres_dollar_quotes_escape_strings_and_nested_comments() {
        let sql = "create function f() returns trigger as $body$ begin; return new; end; $body$ language plpgsql;\n\
                   select $$a;b$$, E'it\\'s;', 'x\\';\n/* outer /* inner; */ still; */ select 2;";
        assert_eq!(
            texts(sql, Backend::Postgres),
            [
                "create function f() returns trigger as $body$ begin; return new; end; $body$ language plpgsql",
                "select $$a;b$$, E'it\\'s;', 'x\\'",
                "select 2"
            ]
        );
        // `$1` is a parameter, not a quote.
        assert_eq!(texts("select $1; select 2;", Backend::Postgres), ["select $1", "select 2"]);
    }

    #[test]
    fn sqlite_trigger_bodies_stay_whole() {
        let sql = "CREATE TRIGGER t AFTER INSERT ON a BEGIN\n  UPDATE b SET n = CASE WHEN n > 0 THEN n + 1 ELSE 1 END;\n  INSERT INTO c VALUES (1);\nEND;\nSELECT [weird;name] FROM `x;y`;";
        let got = texts(sql, Backend::Sqlite);
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(got[0].ends_with("END"));
        assert_eq!(got[1], "SELECT [weird;name] FROM `x;y`");
    }

    #[test]
    fn mysql_delimiter_backslashes_and_compound_bodies() {
        let sql = "DELIMITER //\nCREATE PROCEDURE p() BEGIN SELECT 1; SELECT 2; END //\nDELIMITER ;\nINSERT INTO t VALUES ('a\\';b'); # c;\nCREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW BEGIN IF NEW.a IS NULL THEN SET NEW.a = 1; END IF; END;\nSELECT 3;";
        let got = split(sql, Backend::Mysql);
        let texts: Vec<_> = got.iter().map(|s| s.text).collect();
        assert_eq!(
            texts,
            [
                "CREATE PROCEDURE p() BEGIN SELECT 1; SELECT 2; END",
                "INSERT INTO t VALUES ('a\\';b')",
                "CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW BEGIN IF NEW.a IS NULL THEN SET NEW.a = 1; END IF; END",
                "SELECT 3"
            ]
        );
        assert_eq!(got[0].line, 2);
        assert_eq!(got[3].line, 6);
    }

    #[test]
    fn block_endings_and_delimiters_that_look_like_words() {
        // `END;` then `IF` starts a new statement inside the body: the IF is not `END IF`.
        let sql = "CREATE TRIGGER t BEFORE INSERT ON a FOR EACH ROW BEGIN SET NEW.x = CASE WHEN 1 THEN 2 END; IF NEW.y THEN SET NEW.z = 1; END IF; END;\nSELECT 1;";
        assert_eq!(split(sql, Backend::Mysql).len(), 2);
        // Workbench style: the delimiter glued to END.
        let sql = "DELIMITER $$\nCREATE PROCEDURE p() BEGIN SELECT 1; END$$\nDELIMITER ;\nSELECT 2;";
        assert_eq!(texts(sql, Backend::Mysql), ["CREATE PROCEDURE p() BEGIN SELECT 1; END", "SELECT 2"]);
        // Qualified names are not keywords.
        let sql = "CREATE TRIGGER t AFTER UPDATE ON a BEGIN UPDATE b SET v = NEW.end; END;\nSELECT 3;";
        assert_eq!(split(sql, Backend::Sqlite).len(), 2);
    }

    #[test]
    fn only_the_grammar_opens_a_block() {
        // Columns named like the words that open routine bodies.
        let sql =
            "CREATE TABLE shifts (id int, trigger text, begin date);\nCREATE TABLE e (event int, end int);\nSELECT 1;";
        for dialect in [Backend::Postgres, Backend::Mysql, Backend::Sqlite] {
            assert_eq!(split(sql, dialect).len(), 3, "{dialect:?}");
        }
        // Modifiers between CREATE and the routine's kind.
        let sql = "CREATE DEFINER=`root`@`%` TRIGGER t BEFORE INSERT ON a FOR EACH ROW BEGIN SET NEW.x = 1; END;\n\
                   CREATE OR REPLACE DEFINER = CURRENT_USER PROCEDURE p() BEGIN SELECT 1; END;\n\
                   CREATE TEMP TRIGGER t2 AFTER INSERT ON a BEGIN SELECT 1; END;\nSELECT 2;";
        assert_eq!(split(sql, Backend::Mysql).len(), 4);
        assert_eq!(split(sql, Backend::Sqlite).len(), 4);
    }

    #[test]
    fn postgres_keeps_parentheses_whole() {
        let sql =
            "CREATE RULE r AS ON INSERT TO a DO ALSO (INSERT INTO b VALUES (1); INSERT INTO c VALUES (2));\nSELECT 1;";
        assert_eq!(
            texts(sql, Backend::Postgres),
            [
                "CREATE RULE r AS ON INSERT TO a DO ALSO (INSERT INTO b VALUES (1); INSERT INTO c VALUES (2))",
                "SELECT 1"
            ]
        );
    }

    #[test]
    fn mysql_double_dash_needs_a_space() {
        assert_eq!(texts("SELECT 5--2;\nSELECT 3;", Backend::Mysql), ["SELECT 5--2", "SELECT 3"]);
        assert_eq!(texts("SELECT 5 -- two;\nSELECT 3;", Backend::Mysql), ["SELECT 5 -- two;\nSELECT 3"]);
        assert_eq!(texts("SELECT 1;--\nSELECT 3;", Backend::Mysql), ["SELECT 1", "SELECT 3"]);
        // PostgreSQL and SQLite read `--` as a comment anywhere.
        assert_eq!(texts("SELECT 5--2;\nSELECT 3;", Backend::Postgres), ["SELECT 5--2;\nSELECT 3"]);
    }

    #[test]
    fn a_delimiter_of_its_own_ends_a_statement_wherever_it_is() {
        // Once hung the splitter (and the build): the delimiter glued to a block-opening word.
        let sql = "DELIMITER x\nCREATE PROCEDURE BEGINx";
        assert_eq!(texts(sql, Backend::Mysql), ["CREATE PROCEDURE BEGIN"]);
        let sql = "DELIMITER ;;\nCREATE PROCEDURE p() BEGIN IF 1 THEN SELECT 1; END IF;;\nDELIMITER ;\nSELECT 2;";
        assert_eq!(texts(sql, Backend::Mysql), ["CREATE PROCEDURE p() BEGIN IF 1 THEN SELECT 1; END IF", "SELECT 2"]);
    }

    /// A bounded property test: on generated scripts made of the constructs above (with the inputs that once went
    /// wrong as seeds), every dialect terminates, makes progress at every step (checked by a debug assertion), and
    /// returns statements in order, within the script, not overlapping.
    #[test]
    fn generated_scripts_split_in_order_and_always_end() {
        const PIECES: &[&str] = &[
            "DELIMITER x\n",
            "DELIMITER //\n",
            "DELIMITER ;\n",
            "DELIMITER $$\n",
            "CREATE ",
            "PROCEDURE ",
            "TRIGGER ",
            "TABLE ",
            "BEGIN",
            "BEGINx",
            "END",
            " END IF",
            "CASE ",
            "x",
            "//",
            "$$",
            "$a$",
            ";",
            ";;",
            "(",
            ")",
            "'",
            "\"",
            "`",
            "[",
            "]",
            "--",
            "-- ",
            "#",
            "/*",
            "*/",
            "/*!",
            "\\",
            "\n",
            " ",
            "E'",
            "SELECT 5--2",
            "NEW.end",
            "\u{feff}",
            "é",
            "DEFINER=",
            "@",
        ];
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut scripts: Vec<String> = vec![
            "DELIMITER x\nCREATE PROCEDURE BEGINx".to_owned(),
            "CREATE TABLE shifts (id int, trigger text, begin date);".to_owned(),
            "SELECT 5--2;".to_owned(),
        ];
        for _ in 0..3000 {
            let len = 1 + next() % 24;
            scripts.push((0..len).map(|_| PIECES[(next() % PIECES.len() as u64) as usize]).collect());
        }
        for script in &scripts {
            for dialect in [Backend::Postgres, Backend::Mysql, Backend::Sqlite] {
                let mut end = 0;
                for statement in split(script, dialect) {
                    assert!(statement.offset >= end, "{dialect:?} {script:?}: statements overlap");
                    assert_eq!(&script[statement.offset..statement.offset + statement.text.len()], statement.text);
                    assert!(!statement.text.is_empty());
                    assert_eq!(statement.line, line_of(script, statement.offset));
                    end = statement.offset + statement.text.len();
                }
            }
        }
    }

    #[test]
    fn mysql_executable_comments_are_statements_and_a_bom_is_not() {
        let sql = "/*!40101 SET NAMES utf8mb4 */;\n/* plain */ SELECT 1;";
        assert_eq!(texts(sql, Backend::Mysql), ["/*!40101 SET NAMES utf8mb4 */", "SELECT 1"]);
        assert_eq!(texts("\u{feff}SELECT 1;", Backend::Postgres), ["SELECT 1"]);
    }

    #[test]
    fn what_a_script_leaves_open_is_found_with_its_line() {
        let open = |sql: &str, dialect: Backend| read(sql, dialect).unclosed.map(|u| (u.line, u.what, u.refused));
        let comment = "CREATE TABLE a (x int);\n/* never closed\nCREATE TABLE b (x int);\n";
        assert_eq!(open(comment, Backend::Postgres), Some((2, "`/*` comment", true)));
        // SQLite and MariaDB read the comment as running to the end, and run the file.
        assert_eq!(open(comment, Backend::Sqlite), Some((2, "`/*` comment", false)));
        assert_eq!(open(comment, Backend::Mysql), Some((2, "`/*` comment", false)));
        assert_eq!(open("SELECT 1;\nSELECT 'a;\n", Backend::Sqlite), Some((2, "string", true)));
        assert_eq!(open("SELECT \"a;", Backend::Mysql), Some((1, "string", true)));
        assert_eq!(open("SELECT \"a;", Backend::Postgres), Some((1, "quoted identifier", true)));
        assert_eq!(open("\nSELECT $x$ body;", Backend::Postgres), Some((2, "dollar-quoted body", true)));
        assert_eq!(open("SELECT [a;", Backend::Sqlite), Some((1, "quoted identifier", true)));
        for closed in ["SELECT 'a' /* b */;", "SELECT $$ x $$;", "/* a /* b */ c */ SELECT 1;"] {
            assert_eq!(open(closed, Backend::Postgres), None, "{closed}");
        }
    }

    #[test]
    fn pragma_foreign_keys_is_ignored_in_a_transaction_not_refused() {
        let sql = "PRAGMA foreign_keys = ON;\nCREATE TABLE t (a int);";
        let statements = split(sql, Backend::Sqlite);
        assert!(non_transactional_in(&statements, Backend::Sqlite).is_none());
        assert_eq!(
            ignored_in_transaction_in(&statements, Backend::Sqlite).map(|(s, w)| (s.line, w)),
            Some((1, IGNORED))
        );
        // Run statement by statement it still runs alone, outside the progress write's transaction, so it works.
        assert_eq!(recording("PRAGMA foreign_keys = ON", Backend::Sqlite), Recording::Alone);
    }

    #[test]
    fn blank_means_only_comments() {
        assert!(is_blank(""));
        assert!(is_blank("  -- This file should undo anything in `up.sql`\n/* nothing */\n"));
        assert!(is_blank(";\n;"));
        assert!(!is_blank("-- x\nselect 1"));
    }

    #[test]
    fn directives_live_in_the_leading_comment() {
        let (found, problems) =
            directives("-- migrate:no-transaction\n-- other words\n\nCREATE INDEX CONCURRENTLY i ON t (a);\n");
        assert_eq!(found, [Directive::NoTransaction]);
        assert!(problems.is_empty());
        let (found, problems) = directives("-- migrate:irreversibel\nselect 1;\n-- migrate:no-transaction\n");
        assert!(found.is_empty());
        assert_eq!(problems.len(), 2);
        assert_eq!(problems[0].line, 1);
        assert!(problems[0].message.contains("unknown directive"));
        assert_eq!(problems[1].line, 3);
        assert!(problems[1].message.contains("after the first statement"));
    }

    #[test]
    fn sqlx_no_transaction_directive() {
        let (found, problems) = directives("-- no-transaction\nCREATE INDEX CONCURRENTLY i ON t (a);\n");
        assert_eq!(found, [Directive::NoTransaction]);
        assert!(problems.is_empty());
        assert!(directives("SELECT 1;\n-- no-transaction\n").0.is_empty());
    }

    #[test]
    fn finds_statements_that_end_the_transaction() {
        let sql = "create table t (a int);\ninsert into t values (1);\ncommit;\ninsert into t values (2);";
        let (stmt, what) = first_transaction_control(sql, Backend::Postgres).unwrap();
        assert_eq!((stmt.line, what), (3, "COMMIT"));
        for (sql, what) in [
            ("BEGIN;", "BEGIN"),
            ("begin transaction;", "BEGIN"),
            ("END;", "END"),
            ("Rollback;", "ROLLBACK"),
            ("ROLLBACK WORK;", "ROLLBACK"),
            ("START TRANSACTION;", "START TRANSACTION"),
            ("ABORT;", "ABORT"),
        ] {
            assert_eq!(first_transaction_control(sql, Backend::Sqlite).map(|(_, w)| w), Some(what), "{sql}");
        }
        for sql in [
            "SAVEPOINT a; ROLLBACK TO a; ROLLBACK TRANSACTION TO SAVEPOINT a; RELEASE a;",
            "CREATE TRIGGER t AFTER INSERT ON a BEGIN SELECT 1; END;",
            "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END;",
            "-- commit;\nselect 'rollback';",
            "UPDATE t SET committed = true;",
        ] {
            assert!(first_transaction_control(sql, Backend::Postgres).is_none(), "{sql}");
            assert!(first_transaction_control(sql, Backend::Sqlite).is_none(), "{sql}");
        }
        assert!(first_transaction_control("COMMIT;", Backend::Mysql).is_none());
    }

    #[test]
    fn finds_statements_that_refuse_transactions() {
        let sql = "create table t (a int);\ncreate unique index concurrently i on t (a);";
        let (stmt, what) = first_non_transactional(sql, Backend::Postgres).unwrap();
        assert_eq!((stmt.line, what), (2, "CREATE INDEX CONCURRENTLY"));
        assert!(first_non_transactional("create index i on t (a);", Backend::Postgres).is_none());
        assert_eq!(first_non_transactional("vacuum;", Backend::Sqlite).unwrap().1, "VACUUM");
        assert!(first_non_transactional("-- VACUUM\nselect 'vacuum';", Backend::Sqlite).is_none());
    }
}
