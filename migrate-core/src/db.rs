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

impl DbError {
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
