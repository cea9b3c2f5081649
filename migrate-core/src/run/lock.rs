//! The migration lock: which lock a history table has on each backend ([`identity_sql`]), how a driver waits for it
//! ([`poll`]), and guards for the lock and for transactions that undo on drop, so an early `?` or a panic inside a
//! run can never leave a lock held or a transaction open.

use std::time::{Duration, Instant};

use crate::config::{Cancel, HistoryTable};
use crate::error::{DbError, Error};
use crate::history;
use crate::revision::Backend;
use crate::run::driver::{Driver, LockFailure};

/// The identity of the migration lock of `table` on `backend`, as an SQL expression the database evaluates:
/// PostgreSQL's advisory-lock key (a `bigint`: the first 8 bytes of SHA-256 of `migrate lock <schema>.<table>`) and
/// MySQL's `GET_LOCK` name (`migrate:` and 32 hex digits of SHA-256 of `<database>.<table>`); `None` for SQLite,
/// whose lock is its write transaction. An unqualified table is keyed by the schema or database the session resolves
/// it to, so every runner of one history table, live or an offline script, contends for one lock.
///
/// Architecture Invariant: the live lock of the PostgreSQL and MySQL drivers and the lock of offline scripts both
/// come from here.
pub fn identity_sql(backend: Backend, table: &HistoryTable) -> Option<String> {
    let name = history::sql_literal(backend, table.name());
    let schema = table.schema().map(|s| history::sql_literal(backend, s));
    match backend {
        Backend::Postgres => {
            let scope = schema.unwrap_or_else(|| "coalesce(current_schema(), '')".to_owned());
            Some(format!(
                "('x' || left(encode(sha256(convert_to('migrate lock ' || {scope} || '.' || {name}, 'UTF8')), \
                 'hex'), 16))::bit(64)::bigint"
            ))
        }
        Backend::Mysql => {
            let scope = schema.unwrap_or_else(|| "IFNULL(DATABASE(), '')".to_owned());
            Some(format!("CONCAT('migrate:', LEFT(SHA2(CONCAT({scope}, '.', {name}), 256), 32))"))
        }
        Backend::Sqlite => None,
    }
}

/// How often [`poll`] tries again.
const POLL_EVERY: Duration = Duration::from_millis(50);

/// Waits for a lock that can only be tried, never waited on without a bound: calls `attempt` on `session` until it
/// reports the lock taken or `wait` runs out, 50 ms apart, asking `holder` after each failed try who holds
/// it (logged once, and named in the timeout).
///
/// # Errors
/// [`LockFailure::Timeout`] when `wait` runs out; [`LockFailure::Database`] when an attempt fails.
pub fn poll<S: ?Sized>(
    wait: Duration,
    session: &mut S,
    mut attempt: impl FnMut(&mut S) -> Result<bool, DbError>,
    mut holder: impl FnMut(&mut S) -> Option<String>,
) -> Result<(), LockFailure> {
    // A wait too long to add to the clock is as good as forever.
    let deadline =
        Instant::now().checked_add(wait).unwrap_or_else(|| Instant::now() + Duration::from_secs(86_400 * 365));
    let mut logged = false;
    loop {
        if attempt(session)? {
            return Ok(());
        }
        let holder = holder(session);
        if Instant::now() >= deadline {
            return Err(LockFailure::Timeout { holder });
        }
        if !logged {
            log::info!(
                "waiting up to {:.1}s for the migration lock, held by {}",
                wait.as_secs_f64(),
                holder.as_deref().unwrap_or("another session")
            );
            logged = true;
        }
        std::thread::sleep(POLL_EVERY.min(deadline.saturating_duration_since(Instant::now())));
    }
}

/// Takes the lock of the bound history table through `driver`, waiting at most `wait`; on failure puts back what the
/// attempt changed.
fn take(driver: &mut dyn Driver, wait: Duration) -> Result<(), Error> {
    let started = Instant::now();
    match driver.lock(wait) {
        Ok(()) => Ok(()),
        Err(LockFailure::Timeout { holder }) => {
            // Whatever the attempt changed on the session (busy timeout, autocommit) is put back.
            let _ = driver.unlock();
            Err(Error::LockTimeout { waited: started.elapsed(), holder })
        }
        Err(LockFailure::Database(source)) => {
            // A failed attempt may still have left something open.
            let _ = driver.unlock();
            Err(Error::Database { context: "taking the migration lock".to_owned(), source })
        }
    }
}

/// Holds the migration lock (or, when locking is off, stands in for it) and releases it on drop.
pub struct LockGuard<'d> {
    driver: &'d mut dyn Driver,
    held: bool,
}

impl<'d> LockGuard<'d> {
    /// Binds `table` ([`Driver::bind_history`]) and takes its lock, waiting at most `wait`.
    ///
    /// # Errors
    /// [`Error::LockTimeout`] naming the holder where the database can tell; [`Error::Database`] if the database
    /// failed.
    pub fn acquire(driver: &'d mut dyn Driver, table: &HistoryTable, wait: Duration) -> Result<Self, Error> {
        driver.bind_history(table);
        take(driver, wait)?;
        Ok(LockGuard { driver, held: true })
    }

    /// Lets the lock go for `pause`, then takes it again, waiting at most `wait`: for a runner that waits for another
    /// one working without the lock. A guard without a lock only pauses.
    ///
    /// # Errors
    /// As [`LockGuard::acquire`]; the lock is not held afterwards.
    pub fn retake(&mut self, pause: Duration, wait: Duration) -> Result<(), Error> {
        self.retake_unless_stopped(&Cancel::new(), pause, wait).map(drop)
    }

    /// As [`LockGuard::retake`], with the pause cut short when a stop is asked for through `cancel`: the lock is
    /// then not taken again, and the answer is `false`.
    ///
    /// # Errors
    /// As [`LockGuard::acquire`]; the lock is not held afterwards.
    pub fn retake_unless_stopped(&mut self, cancel: &Cancel, pause: Duration, wait: Duration) -> Result<bool, Error> {
        let held = std::mem::take(&mut self.held);
        if held {
            self.driver
                .unlock()
                .map_err(|source| Error::Database { context: "releasing the migration lock".to_owned(), source })?;
        }
        if !crate::run::retry::sleep(cancel, pause) {
            return Ok(false);
        }
        if held {
            take(self.driver, wait)?;
            self.held = true;
        }
        Ok(true)
    }

    /// A guard that holds no lock, for runs with locking turned off; `table` is bound all the same.
    pub fn unlocked(driver: &'d mut dyn Driver, table: &HistoryTable) -> Self {
        driver.bind_history(table);
        LockGuard { driver, held: false }
    }

    /// The driver, for work under the lock.
    pub fn driver(&mut self) -> &mut dyn Driver {
        self.driver
    }

    /// Releases the lock now, reporting a failure to do so.
    ///
    /// # Errors
    /// [`Error::Database`] if the database failed to release it (the connection's end releases it in any case).
    pub fn release(mut self) -> Result<(), Error> {
        self.held = false;
        self.driver
            .unlock()
            .map_err(|source| Error::Database { context: "releasing the migration lock".to_owned(), source })
    }
}

impl Drop for LockGuard<'_> {
    fn drop(&mut self) {
        if self.held {
            if let Err(err) = self.driver.unlock() {
                log::warn!("releasing the migration lock failed: {err}; it is released when the connection closes");
            }
        }
    }
}

/// An open transaction, rolled back on drop unless committed.
pub struct Transaction<'a> {
    driver: &'a mut dyn Driver,
    open: bool,
}

impl<'a> Transaction<'a> {
    /// Opens a transaction.
    ///
    /// # Errors
    /// The database's error.
    pub fn begin(driver: &'a mut dyn Driver) -> Result<Self, DbError> {
        driver.begin()?;
        Ok(Transaction { driver, open: true })
    }

    /// The driver, for statements inside the transaction.
    pub fn driver(&mut self) -> &mut dyn Driver {
        self.driver
    }

    /// Commits.
    ///
    /// # Errors
    /// The database's error; the transaction is then rolled back.
    pub fn commit(mut self) -> Result<(), DbError> {
        self.open = false;
        match self.driver.commit() {
            Ok(()) => Ok(()),
            Err(err) => {
                let _ = self.driver.rollback();
                Err(err)
            }
        }
    }

    /// Rolls back now.
    ///
    /// # Errors
    /// The database's error.
    pub fn rollback(mut self) -> Result<(), DbError> {
        self.open = false;
        self.driver.rollback()
    }
}

impl Drop for Transaction<'_> {
    fn drop(&mut self) {
        if self.open {
            if let Err(err) = self.driver.rollback() {
                log::warn!("rolling back after an interrupted revision failed: {err}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poll_gives_up_after_the_wait_and_names_the_holder() {
        let mut tries = 0;
        let started = Instant::now();
        let result = poll(
            Duration::from_millis(120),
            &mut tries,
            |tries| {
                *tries += 1;
                Ok(false)
            },
            |_| Some("someone".to_owned()),
        );
        assert!(matches!(result, Err(LockFailure::Timeout { holder: Some(h) }) if h == "someone"));
        assert!(started.elapsed() >= Duration::from_millis(120) && tries >= 2, "{tries} tries");
        let mut calls = 0;
        let taken = poll(
            Duration::ZERO,
            &mut calls,
            |calls| {
                *calls += 1;
                Ok(true)
            },
            |_| None,
        );
        assert!(taken.is_ok() && calls == 1);
        let failed = poll(Duration::MAX, &mut (), |_| Err(DbError::new("gone")), |_| None);
        assert!(matches!(failed, Err(LockFailure::Database(_))));
    }

    #[test]
    fn identities() {
        let table = HistoryTable::default();
        assert!(identity_sql(Backend::Sqlite, &table).is_none());
        let pg = identity_sql(Backend::Postgres, &table).unwrap();
        assert!(pg.contains("current_schema()") && pg.contains("$m$_migrate_history$m$"), "{pg}");
        let my = identity_sql(Backend::Mysql, &table.in_schema("app").unwrap()).unwrap();
        assert_eq!(my, "CONCAT('migrate:', LEFT(SHA2(CONCAT('app', '.', '_migrate_history'), 256), 32))");
    }
}
