//! Guards for the migration lock and for transactions: they undo on drop, so an early `?` or a panic inside a run
//! can never leave a lock held or a transaction open.

use std::time::{Duration, Instant};

use crate::driver::{Driver, LockFailure};
use crate::error::{DbError, Error};
use crate::history::HistoryTable;

/// Holds the migration lock (or, when locking is off, stands in for it) and releases it on drop.
pub struct LockGuard<'d> {
    driver: &'d mut dyn Driver,
    table: &'d HistoryTable,
    held: bool,
}

impl<'d> LockGuard<'d> {
    /// Takes the lock, waiting at most `wait`.
    ///
    /// # Errors
    /// [`Error::LockTimeout`] naming the holder where the database can tell; [`Error::Database`] if the database
    /// failed.
    pub fn acquire(driver: &'d mut dyn Driver, table: &'d HistoryTable, wait: Duration) -> Result<Self, Error> {
        let started = Instant::now();
        match driver.lock(table, wait) {
            Ok(()) => Ok(LockGuard { driver, table, held: true }),
            Err(LockFailure::Timeout { holder }) => {
                // Whatever the attempt changed on the session (busy timeout, autocommit) is put back.
                let _ = driver.unlock(table);
                Err(Error::LockTimeout { waited: started.elapsed(), holder })
            }
            Err(LockFailure::Database(source)) => {
                // A failed attempt may still have left something open.
                let _ = driver.unlock(table);
                Err(Error::Database { context: "taking the migration lock".to_owned(), source })
            }
        }
    }

    /// A guard that holds no lock, for runs with locking turned off.
    pub fn unlocked(driver: &'d mut dyn Driver, table: &'d HistoryTable) -> Self {
        LockGuard { driver, table, held: false }
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
            .unlock(self.table)
            .map_err(|source| Error::Database { context: "releasing the migration lock".to_owned(), source })
    }
}

impl Drop for LockGuard<'_> {
    fn drop(&mut self) {
        if self.held {
            if let Err(err) = self.driver.unlock(self.table) {
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
