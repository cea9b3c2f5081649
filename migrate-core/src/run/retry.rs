//! Trying a revision again after its lock wait ran out ([`Config::lock_timeout`], [`Config::lock_retry`]): with a
//! growing, randomised pause between tries, within a budget, and only where the record proves that the failed try
//! left nothing behind (a revision in one transaction, rolled back; a statement run alone whose row reads back as
//! before it).

use std::time::{Duration, Instant};

use crate::config::{Cancel, Config};
use crate::db::DbError;
use crate::revision::RevisionId;

/// The first pause, doubled after each failed try up to [`LONGEST_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(250);
/// The longest pause between two tries.
const LONGEST_PAUSE: Duration = Duration::from_secs(5);

/// The tries of the revision whose lock wait last ran out, in one run.
#[derive(Debug, Default)]
pub(crate) struct Retries {
    /// The revision, when its first try began, and how many times it was tried again.
    current: Option<(RevisionId, Instant, u32)>,
}

impl Retries {
    /// After `error` ended a try of `revision`, whose statements wait for a lock at most `timeout`: the pause before
    /// the next try, or `None` when there is none (the error is not a lock wait that ran out, the budget would be
    /// spent, or a stop was asked for).
    pub(crate) fn after(
        &mut self,
        config: &Config,
        timeout: Option<Duration>,
        revision: &RevisionId,
        error: &DbError,
    ) -> Option<Duration> {
        if !error.lock_wait_ran_out() {
            return None;
        }
        let (_, since, again) = match &mut self.current {
            Some(current) if current.0 == *revision => current,
            // The first try's own wait counts as spent.
            current => {
                let now = Instant::now();
                let began = now.checked_sub(timeout.unwrap_or_default()).unwrap_or(now);
                current.insert((revision.clone(), began, 0))
            }
        };
        let pause = pause(*again + 1);
        let fits = since.elapsed() + pause + timeout.unwrap_or_default() <= config.lock_retry;
        let go = fits && !config.cancel.is_cancelled();
        *again += u32::from(go);
        go.then_some(pause)
    }

    /// How many times `revision` was tried: 1 when its lock wait never ran out.
    pub(crate) fn tries(&self, revision: &RevisionId) -> u32 {
        match &self.current {
            Some((current, _, again)) if current == revision => again + 1,
            _ => 1,
        }
    }

    /// How long `revision` has been tried for, since its first try began; zero when its lock wait never ran out.
    pub(crate) fn spent(&self, revision: &RevisionId) -> Duration {
        match &self.current {
            Some((current, since, _)) if current == revision => since.elapsed(),
            _ => Duration::ZERO,
        }
    }
}

/// The pause after the `failed`th failed try: [`FIRST_PAUSE`] doubled each time up to [`LONGEST_PAUSE`], of which a
/// random half to all, so that runners blocked together do not all come back together.
fn pause(failed: u32) -> Duration {
    let full = FIRST_PAUSE.saturating_mul(1 << failed.clamp(1, 8).saturating_sub(1)).min(LONGEST_PAUSE);
    full.mul_f64(0.5 + 0.5 * random_fraction())
}

/// A number in [0, 1), from the standard library's randomly seeded hasher.
fn random_fraction() -> f64 {
    use std::hash::{BuildHasher as _, Hasher as _};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher
        .write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos());
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// Sleeps `pause`, or less if a stop is asked for meanwhile. Whether the whole pause passed.
pub(crate) fn sleep(cancel: &Cancel, pause: Duration) -> bool {
    let until = Instant::now() + pause;
    while !cancel.is_cancelled() {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return true;
        }
        std::thread::sleep(left.min(Duration::from_millis(50)));
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_grow_to_a_bound_with_a_random_part() {
        for failed in 1..20 {
            let full = FIRST_PAUSE.saturating_mul(1 << (failed.min(8) - 1)).min(LONGEST_PAUSE);
            let p = pause(failed);
            assert!(p >= full / 2 && p <= full, "try {failed}: {p:?} of {full:?}");
        }
        assert_eq!(FIRST_PAUSE.saturating_mul(1 << 5).min(LONGEST_PAUSE), LONGEST_PAUSE);
    }

    #[test]
    fn only_a_lock_wait_that_ran_out_within_the_budget_is_tried_again() {
        let revision = RevisionId { version: "0002".into(), name: "b".into() };
        let timed_out = DbError::new("canceling statement due to lock timeout").with_code("55P03");
        let config = Config {
            lock_timeout: Some(Duration::from_millis(10)),
            lock_retry: Duration::from_secs(2),
            ..Config::default()
        };
        let mut retries = Retries::default();
        assert_eq!(retries.tries(&revision), 1);
        assert!(retries
            .after(&config, config.lock_timeout, &revision, &DbError::new("syntax error").with_code("42601"))
            .is_none());
        assert!(retries.after(&config, config.lock_timeout, &revision, &timed_out).is_some());
        assert_eq!(retries.tries(&revision), 2);
        // MySQL's lock wait timeout too; a deadlock is not a wait that ran out.
        assert!(retries
            .after(
                &config,
                config.lock_timeout,
                &revision,
                &DbError::new("Lock wait timeout exceeded").with_code("1205")
            )
            .is_some());
        assert!(retries
            .after(&config, config.lock_timeout, &revision, &DbError::new("Deadlock found").with_code("1213"))
            .is_none());
        // No budget, no second try.
        let none = Config { lock_retry: Duration::ZERO, ..config.clone() };
        let other = RevisionId { version: "0003".into(), name: "c".into() };
        assert!(Retries::default().after(&none, none.lock_timeout, &other, &timed_out).is_none());
        // A stop asked for ends the tries.
        config.cancel.cancel();
        assert!(retries.after(&config, config.lock_timeout, &revision, &timed_out).is_none());
        assert_eq!(retries.tries(&revision), 3, "a try refused is not counted");
    }

    #[test]
    fn a_pause_ends_early_when_a_stop_is_asked_for() {
        let cancel = Cancel::new();
        assert!(sleep(&cancel, Duration::from_millis(20)));
        cancel.cancel();
        let started = Instant::now();
        assert!(!sleep(&cancel, Duration::from_secs(10)));
        assert!(started.elapsed() < Duration::from_secs(1));
    }
}
