//! What a database says back when a statement fails: [`DbError`], as its driver saw it. Every stage that talks to a
//! database through a driver (reading the history, running revisions, the lock) reports it.

use std::fmt;

/// An error reported by a database, as its driver saw it.
#[derive(Debug)]
#[non_exhaustive]
pub struct DbError {
    /// The database's own error code: SQLSTATE on PostgreSQL, the error number on MySQL, the extended result
    /// code name on SQLite.
    pub code: Option<String>,
    /// The database's message.
    pub message: String,
    /// 0-based character offset of the error within the statement sent, where the database reports one.
    pub position: Option<usize>,
    /// The client library's error, for downcasting (its message is [`DbError::message`]).
    pub source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

/// What kind of refusal a database error is, where its code says: each asks the operator for something else.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The session, role or server accepts no writes: a read-only transaction or session, a standby, `read_only`.
    ReadOnly,
    /// The role lacks a privilege the statement needs.
    Privilege,
    /// The statement waited for a lock longer than the server lets it, or was picked to break a deadlock.
    Lock,
}

impl DbError {
    /// What kind of refusal this is, from its code: PostgreSQL's SQLSTATE, MySQL's error number, SQLite's result
    /// code. `None` for every other error.
    pub fn refusal(&self) -> Option<Refusal> {
        let code = self.code.as_deref()?;
        let sqlite = |name: &str| code.strip_prefix(name).is_some_and(|rest| rest.starts_with('/'));
        Some(match code {
            // read_only_sql_transaction; ER_OPTION_PREVENTS_STATEMENT (read_only), ER_READ_ONLY_MODE,
            // ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION.
            "25006" | "1290" | "1836" | "1792" => Refusal::ReadOnly,
            _ if sqlite("SQLITE_READONLY") => Refusal::ReadOnly,
            // insufficient_privilege; ER_DBACCESS_DENIED_ERROR, ER_TABLEACCESS_DENIED_ERROR,
            // ER_COLUMNACCESS_DENIED_ERROR, ER_SPECIFIC_ACCESS_DENIED_ERROR.
            "42501" | "1044" | "1142" | "1143" | "1227" => Refusal::Privilege,
            _ if sqlite("SQLITE_PERM") || sqlite("SQLITE_AUTH") => Refusal::Privilege,
            // lock_not_available, deadlock_detected; ER_LOCK_WAIT_TIMEOUT, ER_LOCK_DEADLOCK.
            "55P03" | "40P01" | "1205" | "1213" => Refusal::Lock,
            _ if sqlite("SQLITE_BUSY") || sqlite("SQLITE_LOCKED") => Refusal::Lock,
            _ => return None,
        })
    }

    /// Whether the statement gave up waiting for a lock after the bound the run set ([`crate::Config::lock_timeout`]):
    /// PostgreSQL's `lock_not_available`, MySQL's `ER_LOCK_WAIT_TIMEOUT`. Such a statement did not take effect.
    pub fn lock_wait_ran_out(&self) -> bool {
        matches!(self.code.as_deref(), Some("55P03" | "1205"))
    }

    /// An error with a message only.
    pub fn new(message: impl Into<String>) -> DbError {
        DbError { code: None, message: message.into(), position: None, source: None }
    }

    /// The same error with the database's own error code.
    #[must_use]
    pub fn with_code(mut self, code: impl Into<String>) -> DbError {
        self.code = Some(code.into());
        self
    }

    /// The same error at `position` (0-based characters into the statement sent), or at none.
    #[must_use]
    pub fn with_position(mut self, position: Option<usize>) -> DbError {
        self.position = position;
        self
    }

    /// The same error keeping the client library's error, for downcasting.
    #[must_use]
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> DbError {
        self.source = Some(Box::new(source));
        self
    }
}

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.code {
            Some(code) => write!(f, "{} ({code})", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// The client library's error is kept in [`DbError::source`] for downcasting, but not returned as the `source()`:
/// the message already says what it says.
impl std::error::Error for DbError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_told_by_their_codes() {
        let of = |code: &str| DbError::new("x").with_code(code).refusal();
        assert_eq!(of("25006"), Some(Refusal::ReadOnly));
        assert_eq!(of("SQLITE_READONLY/8"), Some(Refusal::ReadOnly));
        assert_eq!(of("1142"), Some(Refusal::Privilege));
        assert_eq!(of("SQLITE_BUSY/5"), Some(Refusal::Lock));
        assert_eq!(of("1213"), Some(Refusal::Lock));
        assert_eq!(of("SQLITE_BUSYX/5"), None);
        assert_eq!(of("23505"), None);
        assert_eq!(DbError::new("no code").refusal(), None);
    }
}
