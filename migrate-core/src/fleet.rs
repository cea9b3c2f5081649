//! Fleets: one piece of work over many databases (a schema or a database per tenant, a file per device), `jobs` at
//! a time. Each target is migrated under its own lock and keeps its own history, so nothing here coordinates them:
//! a target that fails is its own, and the others go on, unless the fleet is told to stop at the first failure
//! (`fail_fast`), which then leaves only the targets not yet started untouched. A run stopped in the middle (a
//! cancel, a signal, a killed process) leaves each target as its own run left it; the next run of the fleet
//! finishes the rest, as each target's history says what it still needs.
//!
//! The order of the results is the order of the targets, whatever order they finished in.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::Cancel;

/// How a fleet runs.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct FleetOptions {
    /// How many targets run at once (at least 1).
    pub jobs: usize,
    /// Start no more targets once one has failed.
    pub fail_fast: bool,
    /// Start no more targets once cancelled (the running ones stop at their own safe points if their work watches
    /// the same [`Cancel`]).
    pub cancel: Option<Cancel>,
}

impl Default for FleetOptions {
    fn default() -> FleetOptions {
        FleetOptions { jobs: 4, fail_fast: false, cancel: None }
    }
}

impl FleetOptions {
    /// `jobs` targets at once.
    #[must_use]
    pub fn jobs(mut self, jobs: usize) -> FleetOptions {
        self.jobs = jobs.max(1);
        self
    }

    /// Whether to start no more targets after a failure.
    #[must_use]
    pub fn fail_fast(mut self, on: bool) -> FleetOptions {
        self.fail_fast = on;
        self
    }

    /// Starts no more targets once `cancel` is cancelled.
    #[must_use]
    pub fn cancel_with(mut self, cancel: Cancel) -> FleetOptions {
        self.cancel = Some(cancel);
        self
    }
}

/// What became of one target.
#[derive(Debug)]
pub enum Outcome<R, E> {
    /// The work ran to its end.
    Done(R),
    /// The work failed.
    Failed(E),
    /// The work never started: an earlier target failed under `fail_fast`, or the fleet was cancelled.
    NotStarted,
}

impl<R, E> Outcome<R, E> {
    /// Whether the work ran to its end.
    pub fn is_done(&self) -> bool {
        matches!(self, Outcome::Done(_))
    }
}

/// One target's run.
#[derive(Debug)]
pub struct TargetRun<R, E> {
    /// The target's name, as given.
    pub name: String,
    /// What became of it.
    pub outcome: Outcome<R, E>,
    /// How long its work took (zero when it never started).
    pub took: Duration,
}

/// Runs `work` on each of `targets` (a name and what the work needs, a connection or a URL), at most
/// `options.jobs` at once. `finished` is called as each target ends, with how many have ended so far, for a
/// progress line. Returns one run per target, in the targets' order.
pub fn run<T, R, E>(
    targets: Vec<(String, T)>,
    options: &FleetOptions,
    work: impl Fn(&str, T) -> Result<R, E> + Sync,
    finished: impl Fn(&TargetRun<R, E>, usize) + Sync,
) -> Vec<TargetRun<R, E>>
where
    T: Send,
    R: Send,
    E: Send,
{
    let count = targets.len();
    let names: Vec<String> = targets.iter().map(|(name, _)| name.clone()).collect();
    let inputs: Vec<Mutex<Option<T>>> = targets.into_iter().map(|(_, t)| Mutex::new(Some(t))).collect();
    let results: Vec<Mutex<Option<TargetRun<R, E>>>> = (0..count).map(|_| Mutex::new(None)).collect();
    let (next, ended, failed) = (AtomicUsize::new(0), AtomicUsize::new(0), AtomicBool::new(false));
    let stopped = || {
        (options.fail_fast && failed.load(Ordering::SeqCst))
            || options.cancel.as_ref().is_some_and(Cancel::is_cancelled)
    };
    let worker = || loop {
        let index = next.fetch_add(1, Ordering::SeqCst);
        if index >= count {
            break;
        }
        let name = names[index].clone();
        let input = inputs[index].lock().unwrap_or_else(|e| e.into_inner()).take();
        let run = match input {
            Some(input) if !stopped() => {
                let started = Instant::now();
                let outcome = match work(&name, input) {
                    Ok(done) => Outcome::Done(done),
                    Err(err) => {
                        failed.store(true, Ordering::SeqCst);
                        Outcome::Failed(err)
                    }
                };
                TargetRun { name, outcome, took: started.elapsed() }
            }
            _ => TargetRun { name, outcome: Outcome::NotStarted, took: Duration::ZERO },
        };
        finished(&run, ended.fetch_add(1, Ordering::SeqCst) + 1);
        *results[index].lock().unwrap_or_else(|e| e.into_inner()) = Some(run);
    };
    std::thread::scope(|scope| {
        for _ in 0..options.jobs.clamp(1, count.max(1)) {
            scope.spawn(worker);
        }
    });
    results
        .into_iter()
        .map(|slot| slot.into_inner().unwrap_or_else(|e| e.into_inner()).expect("every target ran or was skipped"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_target_runs_once_in_parallel_and_comes_back_in_order() {
        let live = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        let targets: Vec<(String, usize)> = (0..40).map(|i| (format!("t{i}"), i)).collect();
        let runs = run(
            targets,
            &FleetOptions::default().jobs(8),
            |_, i| {
                let now = live.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(5));
                live.fetch_sub(1, Ordering::SeqCst);
                if i == 7 {
                    Err("seven")
                } else {
                    Ok(i * 2)
                }
            },
            |_, _| {},
        );
        assert_eq!(runs.len(), 40);
        for (i, run) in runs.iter().enumerate() {
            assert_eq!(run.name, format!("t{i}"));
            match &run.outcome {
                Outcome::Done(n) => assert_eq!(*n, i * 2),
                Outcome::Failed(e) => assert_eq!((i, *e), (7, "seven")),
                Outcome::NotStarted => panic!("t{i} did not start"),
            }
        }
        let most = most.load(Ordering::SeqCst);
        assert!(most > 1 && most <= 8, "{most} at once");
    }

    #[test]
    fn fail_fast_and_cancel_leave_the_rest_unstarted() {
        let targets: Vec<(String, usize)> = (0..20).map(|i| (format!("t{i}"), i)).collect();
        let runs = run(
            targets,
            &FleetOptions::default().jobs(1).fail_fast(true),
            |_, i| if i == 3 { Err(()) } else { Ok(()) },
            |_, _| {},
        );
        let started = runs.iter().filter(|r| !matches!(r.outcome, Outcome::NotStarted)).count();
        assert_eq!(started, 4, "one job: the targets before the failure and the failure itself");
        let cancel = Cancel::new();
        let seen = AtomicUsize::new(0);
        let runs = run(
            (0..20).map(|i| (format!("t{i}"), i)).collect(),
            &FleetOptions::default().jobs(1).cancel_with(cancel.clone()),
            |_, i| {
                if i == 5 {
                    cancel.cancel();
                }
                Ok::<_, ()>(())
            },
            |_, n| {
                seen.store(n, Ordering::SeqCst);
            },
        );
        assert_eq!(runs.iter().filter(|r| r.outcome.is_done()).count(), 6);
        assert_eq!(seen.load(Ordering::SeqCst), 20, "every target is reported, started or not");
    }
}
