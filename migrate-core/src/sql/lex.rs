//! The one reader of SQL's comments, quotes and dollar-quoted bodies, per dialect. Every classifier reads its
//! tokens: the splitter (`sql::split`), the leading words that say what a statement is (`sql::leading_words`), and
//! the object a DDL statement touches (`doubt::check`). So they agree on what is code and what is not: `#` is a
//! comment on MySQL only, `/* */` nests on PostgreSQL only, `$tag$ … $tag$` quotes on PostgreSQL only, MySQL's
//! `/*! … */` is code, `"…"` is a string on MySQL and an identifier elsewhere, `[…]` an identifier on SQLite.

use crate::revision::Backend;

/// What a token is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Whitespace.
    Space,
    /// `-- …` to the end of the line (on MySQL only with a space or control character after the dashes), and `# …`
    /// on MySQL.
    LineComment,
    /// `/* … */`, nested on PostgreSQL.
    BlockComment,
    /// MySQL's executable comment `/*! … */` (or MariaDB's `/*M! … */`): code the server runs.
    Executable,
    /// A string literal: `'…'` (with backslash escapes on MySQL and in PostgreSQL's `E'…'`), and `"…"` on MySQL.
    String,
    /// A quoted identifier: `"…"` (PostgreSQL, SQLite), `` `…` `` (MySQL, SQLite), `[…]` (SQLite).
    Quoted,
    /// A PostgreSQL dollar-quoted body, `$$ … $$` or `$tag$ … $tag$`.
    Dollar,
    /// A word: letters, digits, `_` and `$` (not first), and any character outside ASCII (MySQL and SQLite take
    /// `2fa` and `café` as names). Numbers are words too.
    Word,
    /// The statement delimiter the reader was given (MySQL's `DELIMITER //`), where it stands.
    Delimiter,
    /// Any other character (operators, `;`, `(`, `.`).
    Punct,
}

/// One token of a script.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token<'a> {
    /// What it is.
    pub kind: Kind,
    /// Its text, quotes and comment markers included.
    pub text: &'a str,
    /// Byte offset of `text` within the script.
    pub offset: usize,
    /// The line (1-based) it starts on.
    pub line: usize,
    /// `false` for a comment, quote or dollar-quoted body that the script ends inside.
    pub closed: bool,
}

/// Reads a script's tokens in one dialect. The reader is told the delimiter to look for at each step, since a
/// MySQL script changes it as it goes (`DELIMITER //`).
#[derive(Clone, Debug)]
pub struct Lexer<'a> {
    src: &'a str,
    bytes: &'a [u8],
    dialect: Backend,
    pos: usize,
    line: usize,
}

impl<'a> Lexer<'a> {
    /// A reader at the start of `src` (after a byte-order mark).
    pub fn new(src: &'a str, dialect: Backend) -> Lexer<'a> {
        let pos = if src.starts_with('\u{feff}') { 3 } else { 0 };
        Lexer { src, bytes: src.as_bytes(), dialect, pos, line: 1 }
    }

    /// The byte offset of the next token.
    pub fn offset(&self) -> usize {
        self.pos
    }

    /// The line of the next token.
    pub fn line(&self) -> usize {
        self.line
    }

    /// The rest of the script, from the next token.
    pub fn rest(&self) -> &'a str {
        &self.src[self.pos..]
    }

    /// Moves to byte `offset` (forward, within the script), counting lines.
    pub fn skip_to(&mut self, offset: usize) {
        let offset = offset.min(self.bytes.len());
        self.line += self.bytes[self.pos..offset].iter().filter(|&&b| b == b'\n').count();
        self.pos = offset;
    }

    fn peek(&self, ahead: usize) -> u8 {
        self.bytes.get(self.pos + ahead).copied().unwrap_or(0)
    }

    /// The next token, with `delimiter` (a delimiter other than `;`) read as [`Kind::Delimiter`] outside comments
    /// and quotes; `None` at the end. Every token holds at least one byte.
    pub fn next_token(&mut self, delimiter: Option<&str>) -> Option<Token<'a>> {
        if self.pos >= self.bytes.len() {
            return None;
        }
        let (start, line) = (self.pos, self.line);
        let c = self.peek(0);
        let (kind, closed) = if c.is_ascii_whitespace() {
            while self.pos < self.bytes.len() && self.peek(0).is_ascii_whitespace() {
                self.pos += 1;
            }
            (Kind::Space, true)
        } else if self.at_line_comment() {
            while self.pos < self.bytes.len() && self.peek(0) != b'\n' {
                self.pos += 1;
            }
            (Kind::LineComment, true)
        } else if c == b'/' && self.peek(1) == b'*' {
            let executable =
                self.dialect == Backend::Mysql && (self.peek(2) == b'!' || self.rest().starts_with("/*M!"));
            let closed = self.block_comment();
            (if executable { Kind::Executable } else { Kind::BlockComment }, closed)
        } else if delimiter.is_some_and(|d| !d.is_empty() && self.rest().starts_with(d)) {
            self.pos += delimiter.map_or(1, str::len);
            (Kind::Delimiter, true)
        } else {
            match c {
                b'\'' => {
                    let backslash = self.dialect == Backend::Mysql || self.is_escape_string_prefix();
                    (Kind::String, self.quoted(b'\'', backslash))
                }
                b'"' if self.dialect == Backend::Mysql => (Kind::String, self.quoted(b'"', true)),
                b'"' => (Kind::Quoted, self.quoted(b'"', false)),
                b'`' if self.dialect != Backend::Postgres => (Kind::Quoted, self.quoted(b'`', false)),
                b'[' if self.dialect == Backend::Sqlite => (Kind::Quoted, self.until(b']')),
                b'$' if self.dialect == Backend::Postgres && self.at_dollar_quote() => (Kind::Dollar, self.dollar()),
                c if c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80 => {
                    while self.pos < self.bytes.len()
                        && is_ident_byte(self.peek(0))
                        && !delimiter.is_some_and(|d| !d.is_empty() && self.bytes[self.pos..].starts_with(d.as_bytes()))
                    {
                        self.pos += 1;
                    }
                    (Kind::Word, true)
                }
                _ => {
                    self.pos += 1;
                    (Kind::Punct, true)
                }
            }
        };
        let text = &self.src[start..self.pos];
        self.line += text.bytes().filter(|&b| b == b'\n').count();
        Some(Token { kind, text, offset: start, line, closed })
    }

    /// At a `--` comment: on MySQL only when a space, a control character or the end follows (`5--2` is five minus
    /// minus two there), and at `#` on MySQL.
    fn at_line_comment(&self) -> bool {
        let c = self.peek(0);
        match self.dialect {
            Backend::Mysql => c == b'#' || c == b'-' && self.peek(1) == b'-' && self.peek(2) <= b' ',
            _ => c == b'-' && self.peek(1) == b'-',
        }
    }

    /// Past a `/* … */` comment (nested on PostgreSQL); `false` if the script ends inside it.
    fn block_comment(&mut self) -> bool {
        let nests = self.dialect == Backend::Postgres;
        let mut depth = 0usize;
        while self.pos < self.bytes.len() {
            if self.peek(0) == b'/' && self.peek(1) == b'*' {
                self.pos += 2;
                depth = if nests { depth + 1 } else { 1 };
            } else if self.peek(0) == b'*' && self.peek(1) == b'/' {
                self.pos += 2;
                depth -= 1;
                if depth == 0 {
                    return true;
                }
            } else {
                self.pos += 1;
            }
        }
        false
    }

    /// PostgreSQL `E'…'`: the E must stand alone, not end an identifier.
    fn is_escape_string_prefix(&self) -> bool {
        self.dialect == Backend::Postgres
            && self.pos >= 1
            && matches!(self.bytes[self.pos - 1], b'e' | b'E')
            && (self.pos < 2 || !is_ident_byte(self.bytes[self.pos - 2]))
    }

    /// Past a quoted run (doubled quotes stay inside; with `backslash`, so does an escaped character); `false` if
    /// the script ends inside it.
    fn quoted(&mut self, quote: u8, backslash: bool) -> bool {
        self.pos += 1;
        while self.pos < self.bytes.len() {
            let c = self.peek(0);
            if backslash && c == b'\\' {
                self.pos = (self.pos + 2).min(self.bytes.len());
                continue;
            }
            self.pos += 1;
            if c == quote {
                if self.peek(0) == quote {
                    self.pos += 1;
                    continue;
                }
                return true;
            }
        }
        false
    }

    /// Past the next `close`; `false` if there is none.
    fn until(&mut self, close: u8) -> bool {
        while self.pos < self.bytes.len() {
            let c = self.peek(0);
            self.pos += 1;
            if c == close {
                return true;
            }
        }
        false
    }

    /// At a `$tag$` opener (not after an identifier, not `$1`).
    fn at_dollar_quote(&self) -> bool {
        if self.pos > 0 && is_ident_byte(self.bytes[self.pos - 1]) {
            return false;
        }
        let rest = &self.bytes[self.pos + 1..];
        let tag_len = rest.iter().take_while(|&&b| is_ident_byte(b) && b != b'$').count();
        rest.get(tag_len) == Some(&b'$') && !rest.first().is_some_and(u8::is_ascii_digit)
    }

    /// Past a dollar-quoted body; `false` if the script ends inside it.
    fn dollar(&mut self) -> bool {
        let tag_len = self.bytes[self.pos + 1..].iter().position(|&b| b == b'$').unwrap_or(0) + 2;
        let tag = &self.src[self.pos..self.pos + tag_len];
        self.pos += tag_len;
        match self.src[self.pos..].find(tag) {
            Some(at) => {
                self.pos += at + tag_len;
                true
            }
            None => {
                self.pos = self.bytes.len();
                false
            }
        }
    }
}

/// Whether `b` can be part of an identifier (for `E'…'` and `$tag$`, which an identifier byte before them disables).
pub fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

/// The code inside a MySQL executable comment (`/*!50001 DROP VIEW v */` gives ` DROP VIEW v `): the marker, the
/// version after it and the closing `*/` left out.
pub fn executable_code(text: &str) -> &str {
    let body = text.strip_prefix("/*M!").or_else(|| text.strip_prefix("/*!")).unwrap_or(text);
    let body = body.trim_start_matches(|c: char| c.is_ascii_digit());
    body.strip_suffix("*/").unwrap_or(body)
}

/// The tokens of `src` in `dialect` that are code: no whitespace, no comments (an executable comment's code is read
/// as code, as MySQL reads it).
pub fn code(src: &str, dialect: Backend) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    let mut lexer = Lexer::new(src, dialect);
    while let Some(token) = lexer.next_token(None) {
        match token.kind {
            Kind::Space | Kind::LineComment | Kind::BlockComment => {}
            Kind::Executable => {
                let inner = executable_code(token.text);
                let at = token.offset + (token.text.len() - inner.len() - if token.closed { 2 } else { 0 });
                out.extend(code(inner, dialect).into_iter().map(|t| Token { offset: at + t.offset, ..t }));
            }
            _ => out.push(token),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str, dialect: Backend) -> Vec<(Kind, &str)> {
        let mut lexer = Lexer::new(src, dialect);
        std::iter::from_fn(|| lexer.next_token(None)).map(|t| (t.kind, t.text)).collect()
    }

    #[test]
    fn each_dialect_reads_its_own_quotes_and_comments() {
        use Kind::*;
        assert_eq!(kinds("# c\nx", Backend::Mysql), [(LineComment, "# c"), (Space, "\n"), (Word, "x")]);
        assert_eq!(kinds("#x", Backend::Postgres), [(Punct, "#"), (Word, "x")]);
        assert_eq!(kinds("\"a\"", Backend::Mysql), [(String, "\"a\"")]);
        assert_eq!(kinds("\"a\"", Backend::Sqlite), [(Quoted, "\"a\"")]);
        assert_eq!(kinds("$f$ ; $f$", Backend::Postgres), [(Dollar, "$f$ ; $f$")]);
        assert_eq!(kinds("$1", Backend::Postgres), [(Punct, "$"), (Word, "1")]);
        assert_eq!(kinds("/* a /* b */ c */x", Backend::Postgres), [(BlockComment, "/* a /* b */ c */"), (Word, "x")]);
        assert_eq!(kinds("/* a /* b */x", Backend::Sqlite), [(BlockComment, "/* a /* b */"), (Word, "x")]);
        assert_eq!(kinds("/*!50001 DROP */", Backend::Mysql), [(Executable, "/*!50001 DROP */")]);
        assert_eq!(kinds("E'\\''", Backend::Postgres), [(Word, "E"), (String, "'\\''")]);
        assert_eq!(kinds("[a b]", Backend::Sqlite), [(Quoted, "[a b]")]);
        assert_eq!(kinds("café_t 2fa", Backend::Mysql), [(Word, "café_t"), (Space, " "), (Word, "2fa")]);
        let mut lexer = Lexer::new("END$$\nx", Backend::Mysql);
        let words: Vec<(Kind, &str)> =
            std::iter::from_fn(|| lexer.next_token(Some("$$"))).map(|t| (t.kind, t.text)).collect();
        assert_eq!(words, [(Word, "END"), (Delimiter, "$$"), (Space, "\n"), (Word, "x")]);
    }

    #[test]
    fn code_reads_executable_comments_as_code() {
        let words: Vec<&str> = code("/*!50001 DROP VIEW v */ -- x\n", Backend::Mysql).iter().map(|t| t.text).collect();
        assert_eq!(words, ["DROP", "VIEW", "v"]);
        let src = "/*!50001 DROP VIEW v */";
        let v = code(src, Backend::Mysql).into_iter().last().unwrap();
        assert_eq!(&src[v.offset..v.offset + 1], "v");
        let open = code("SELECT 'a", Backend::Sqlite);
        assert!(!open[1].closed);
    }
}
