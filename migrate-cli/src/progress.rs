//! Progress of a run: one line per revision with its duration as each one finishes, and for a revision that runs
//! long, a heartbeat on stderr (drawn in place on a terminal, a line every ten seconds elsewhere) saying which
//! statement it is on and for how long.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use migrate_core::plan::Step;
use migrate_core::{Action, DbError, Observer, StepReport};

use crate::output::{duration, Output, Style};

/// Shown only once a revision has run this long.
const QUIET_FOR: Duration = Duration::from_secs(2);
/// Overrides [`QUIET_FOR`], in milliseconds; for the command line's own tests, so they need not sleep for seconds.
const QUIET_FOR_VARIABLE: &str = "MIGRATE_PROGRESS_QUIET_MS";

/// How long a revision runs before its heartbeat shows.
fn quiet_for() -> Duration {
    std::env::var(QUIET_FOR_VARIABLE).ok().and_then(|ms| ms.parse().ok()).map_or(QUIET_FOR, Duration::from_millis)
}
/// How often the heartbeat looks.
const TICK: Duration = Duration::from_millis(200);
/// Off a terminal, a heartbeat line this often.
const LINE_EVERY: Duration = Duration::from_secs(10);

#[derive(Default)]
struct Current {
    /// `[2/31] applying 0002 (add_email)`.
    label: Option<String>,
    started: Option<Instant>,
    statement: Option<(usize, usize)>,
    drawn: bool,
    last_line: Option<Instant>,
}

impl Current {
    fn describe(&self, now: Instant) -> Option<String> {
        let label = self.label.as_ref()?;
        let elapsed = now.duration_since(self.started?).as_secs();
        Some(match self.statement {
            Some((index, total)) => format!("{label}: statement {} of {total}, {elapsed} s", index + 1),
            None => format!("{label}: {elapsed} s"),
        })
    }
}

/// Prints a run's progress; an [`Observer`] for the runner.
pub struct Progress {
    out: Output,
    current: Arc<Mutex<Current>>,
    stop: Option<mpsc::Sender<()>>,
    heartbeat: Option<JoinHandle<()>>,
}

fn verb(action: Action) -> (&'static str, &'static str) {
    match action {
        Action::Apply => ("applying", "applied"),
        Action::Revert => ("reverting", "reverted"),
        Action::StampApplied => ("recording", "stamped"),
        Action::StampReverted => ("unrecording", "unstamped"),
    }
}

impl Progress {
    /// Starts the heartbeat.
    pub fn start(out: &Output) -> Progress {
        let current = Arc::new(Mutex::new(Current::default()));
        let (stop, stopped) = mpsc::channel::<()>();
        let shared = Arc::clone(&current);
        let printer = out.clone();
        let terminal = out.stderr_is_terminal();
        let quiet_for = quiet_for();
        let heartbeat = std::thread::spawn(move || loop {
            match stopped.recv_timeout(TICK) {
                Err(RecvTimeoutError::Timeout) => {}
                _ => return,
            }
            let now = Instant::now();
            let mut cur = shared.lock().unwrap_or_else(PoisonError::into_inner);
            let long = cur.started.is_some_and(|s| now.duration_since(s) >= quiet_for);
            let Some(text) = cur.describe(now).filter(|_| long) else { continue };
            if terminal {
                printer.raw_err(&format!("\r\x1b[2K{}", printer.paint_err(&text, Style::Dim)));
                cur.drawn = true;
            } else if cur.last_line.is_none_or(|t| now.duration_since(t) >= LINE_EVERY) {
                printer.note(&format!("still {text}"));
                cur.last_line = Some(now);
            }
        });
        Progress { out: out.clone(), current, stop: Some(stop), heartbeat: Some(heartbeat) }
    }

    fn with<R>(&self, f: impl FnOnce(&mut Current) -> R) -> R {
        f(&mut self.current.lock().unwrap_or_else(PoisonError::into_inner))
    }

    fn clear(&self, cur: &mut Current) {
        if cur.drawn {
            self.out.raw_err("\r\x1b[2K");
            cur.drawn = false;
        }
    }
}

impl Observer for Progress {
    fn step_started(&mut self, step: &Step<'_>, index: usize, total: usize) {
        crate::stop::started();
        let (doing, _) = verb(step.action);
        let label = format!("[{}/{total}] {doing} {}", index + 1, step.revision);
        self.with(|cur| {
            *cur =
                Current { label: Some(label), started: Some(Instant::now()), drawn: cur.drawn, ..Current::default() };
        });
    }

    fn statement_started(&mut self, _step: &Step<'_>, index: usize, total: usize) {
        crate::stop::started();
        self.with(|cur| cur.statement = Some((index, total)));
    }

    fn step_finished(&mut self, report: &StepReport) {
        self.with(|cur| {
            self.clear(cur);
            *cur = Current::default();
        });
        if !self.out.is_json() {
            let (_, done) = verb(report.action);
            let ms = report.duration.as_secs_f64() * 1e3;
            let style =
                if matches!(report.action, Action::Apply | Action::StampApplied) { Style::Good } else { Style::Warn };
            let tries = if report.tries > 1 { format!(" ({} tries)", report.tries) } else { String::new() };
            self.out.line(&format!(
                "{}  {}  {}",
                self.out.paint(&format!("{done:<9}"), style),
                report.revision,
                self.out.paint(&format!("{}{tries}", duration(ms)), Style::Dim)
            ));
        }
    }

    fn lock_wait_ran_out(
        &mut self,
        step: &Step<'_>,
        tries: u32,
        error: &DbError,
        held_by: Option<&str>,
        pause: Duration,
    ) {
        self.with(|cur| self.clear(cur));
        let held_by = held_by.map(|h| format!("; held by {h}")).unwrap_or_default();
        self.out.note(&format!(
            "{} {} gave up waiting for a lock (try {tries}: {}{held_by}); trying again in {:.1} s",
            verb(step.action).0,
            step.revision,
            error.message,
            pause.as_secs_f64()
        ));
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.heartbeat.take() {
            let _ = thread.join();
        }
        let current = Arc::clone(&self.current);
        let mut cur = current.lock().unwrap_or_else(PoisonError::into_inner);
        self.clear(&mut cur);
    }
}
