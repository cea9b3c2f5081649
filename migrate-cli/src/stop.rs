//! Stops asked for by signals: SIGINT (Ctrl-C in a terminal) and SIGTERM (`docker stop`, Kubernetes, systemd).
//!
//! While a command runs revisions ([`Running`]), the first signal asks the run to stop at its next safe point
//! ([`migrate_core::Cancel`]): a revision in one transaction commits (or a single-transaction run rolls back whole),
//! one run statement by statement stops after the statement that is running, its record complete, and the lock is
//! released. The command then says where it stopped and exits 130 (SIGINT) or 143 (SIGTERM). A second signal stops
//! at once, as a kill does: the database rolls back what was not committed and the record stays true. Outside a run,
//! and before its first step starts (while it waits for the lock), the first signal stops at once.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

use migrate_core::Cancel;

use crate::failure::Exit;

/// The signal that asked for the stop, 0 before any.
static SIGNAL: AtomicI32 = AtomicI32::new(0);
/// Whether a command is running revisions now.
static RUNNING: AtomicBool = AtomicBool::new(false);
/// Whether a step of the run has started: before one has (while waiting for the lock, planning), a stop asked for
/// stops at once, as nothing is under way.
static STARTED: AtomicBool = AtomicBool::new(false);

/// A step (or one of its statements) is starting: from now a stop waits for a safe point.
pub fn started() {
    STARTED.store(true, Ordering::SeqCst);
}

/// An observer that only marks the run as started, for commands that print no progress (`resume`).
pub struct Started;

impl migrate_core::Observer for Started {
    fn step_started(&mut self, _: &migrate_core::Step<'_>, _: usize, _: usize) {
        started();
    }

    fn statement_started(&mut self, _: &migrate_core::Step<'_>, _: usize, _: usize) {
        started();
    }
}

/// Listens for SIGINT and SIGTERM on a thread of its own; the handle it returns is cancelled by the first one that
/// arrives while revisions run. Where the signals cannot be listened for, the handle is never cancelled (and the
/// signals keep their default: they end the process at once).
pub fn install() -> Cancel {
    let cancel = Cancel::new();
    #[cfg(unix)]
    {
        use signal_hook::consts::{SIGINT, SIGTERM};
        match signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) {
            Ok(mut signals) => {
                let asked = cancel.clone();
                std::thread::spawn(move || {
                    for signal in signals.forever() {
                        let name = if signal == SIGINT { "SIGINT" } else { "SIGTERM" };
                        let first = SIGNAL.compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst).is_ok();
                        let under_way = RUNNING.load(Ordering::SeqCst) && STARTED.load(Ordering::SeqCst);
                        if !first || !under_way {
                            if first {
                                eprintln!("migrate: {name}: stopping");
                            } else {
                                eprintln!("migrate: {name} again: stopping at once");
                            }
                            std::process::exit(128 + signal);
                        }
                        eprintln!(
                            "migrate: {name}: stopping at the next safe point (after the statement or revision under \
                             way); send it again to stop at once"
                        );
                        asked.cancel();
                    }
                });
            }
            Err(err) => eprintln!("migrate: cannot listen for SIGINT and SIGTERM ({err}): they stop at once"),
        }
    }
    cancel
}

/// How the process exits after a run stopped as asked: 128 plus the signal's number.
pub fn exit() -> Exit {
    match SIGNAL.load(Ordering::SeqCst) {
        2 => Exit::Interrupted,
        _ => Exit::Terminated,
    }
}

/// Marks a command as running revisions while it lives: a signal then stops the run at its next safe point instead
/// of the process at once.
pub struct Running(());

impl Running {
    /// From now until this is dropped.
    pub fn start() -> Running {
        RUNNING.store(true, Ordering::SeqCst);
        Running(())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        RUNNING.store(false, Ordering::SeqCst);
    }
}
