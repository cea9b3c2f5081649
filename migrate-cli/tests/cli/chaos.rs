//! Chaos trials: `migrate upgrade` and `migrate downgrade base` killed with SIGKILL at seeded random moments, their
//! server connection cut from the server side (PostgreSQL `pg_terminate_backend`, MySQL `KILL`), asked to stop with
//! SIGTERM (`MIGRATE_CHAOS_TERMS`: they must stop at a safe point, exit 143 and say so), and 16 processes
//! started together, on a folder of 30 revisions of five statements each, every other one `no-transaction` (with
//! `CREATE INDEX CONCURRENTLY` on PostgreSQL). After each trial the history table is checked against the real schema
//! and data: every statement's effect is visible in the catalog or in a log table, so the test knows exactly which
//! statements took effect and whether the row says so. Then the database is brought to head (or base) the way an
//! operator would: `upgrade`/`downgrade`, `resume` when it is dirty, and `resume --in-doubt` only when resume asks.
//!
//! On MySQL, `MIGRATE_CHAOS_MYISAM` kill trials run with the log table in MyISAM, and `MIGRATE_CHAOS_DEADLOCKS`
//! trials make InnoDB pick a revision of data statements as a deadlock victim.
//!
//! A few trials run with the tests. The long run (CONTRIBUTING.md) is:
//!
//! `MIGRATE_CHAOS_BIN=<path>` runs the trials with another build of `migrate` (an earlier version, to compare).
//!
//! ```text
//! MIGRATE_CHAOS_TRIALS=200 MIGRATE_CHAOS_CUTS=30 MIGRATE_CHAOS_TERMS=30 MIGRATE_CHAOS_MYISAM=30 \
//!     MIGRATE_CHAOS_DEADLOCKS=30 MIGRATE_CHAOS_STORMS=3 MIGRATE_CHAOS_SEED=1 \
//!     cargo test --release -p migrate-cli --test cli chaos -- --nocapture --test-threads 1
//! ```

use std::collections::BTreeMap;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{on_every_backend, Db, Kind, Project};

on_every_backend!(chaos);

const REVISIONS: usize = 30;
const STATEMENTS: usize = 5;

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// SplitMix64: a small, seeded, reproducible sequence.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A fraction in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The folder: revision k creates table `r{k}`, logs `k.2`, indexes it, adds column `c`, logs `k.5`; its down file
/// undoes those in reverse order. Every other revision runs statement by statement.
fn write_folder(p: &Project, kind: Kind) {
    for k in 1..=REVISIONS {
        let alone = k % 2 == 0;
        let head = if alone { "-- migrate:no-transaction\n" } else { "" };
        let concurrently = if alone && kind == Kind::Postgres { "CONCURRENTLY " } else { "" };
        let up = format!(
            "{head}CREATE TABLE r{k} (id INTEGER);\nINSERT INTO chaos_log (token) VALUES ('{k}.2');\n\
             CREATE INDEX {concurrently}r{k}_i ON r{k} (id);\nALTER TABLE r{k} ADD COLUMN c INTEGER;\n\
             INSERT INTO chaos_log (token) VALUES ('{k}.5');\n"
        );
        let drop_index = match kind {
            Kind::Mysql => format!("DROP INDEX r{k}_i ON r{k}"),
            _ => format!("DROP INDEX {concurrently}r{k}_i"),
        };
        let down = format!(
            "{head}DELETE FROM chaos_log WHERE token = '{k}.5';\nALTER TABLE r{k} DROP COLUMN c;\n{drop_index};\n\
             DELETE FROM chaos_log WHERE token = '{k}.2';\nDROP TABLE r{k};\n"
        );
        p.write(&format!("{k:04}_r{k}/up.sql"), &up).write(&format!("{k:04}_r{k}/down.sql"), &down);
    }
}

/// What the database holds, read after every session of the trial has ended.
struct Observed {
    /// Per revision, the effect of each up statement: 0 absent, 1 present, 2 present twice or INVALID.
    effects: Vec<[u8; STATEMENTS]>,
    /// version → (state, statements done, in doubt).
    rows: BTreeMap<usize, (String, usize, bool)>,
}

fn col(row: &[Option<String>], i: usize) -> String {
    row.get(i).cloned().flatten().unwrap_or_default()
}

fn observe(db: &Db) -> Observed {
    let (schema, kind) = (db.ident.as_str(), db.kind);
    let tables = db.tables();
    let mut effects = vec![[0u8; STATEMENTS]; REVISIONS + 1];
    for t in &tables {
        if let Some(k) = t.strip_prefix('r').and_then(|k| k.parse::<usize>().ok()) {
            effects[k][0] = 1;
        }
    }
    for row in db.query("SELECT token FROM chaos_log") {
        let token = col(&row, 0);
        let (k, i) = token.split_once('.').expect("k.i");
        let cell = &mut effects[k.parse::<usize>().unwrap()][i.parse::<usize>().unwrap() - 1];
        *cell = (*cell + 1).min(2);
    }
    let indexes = match kind {
        Kind::Sqlite => db.query("SELECT name, 't' FROM sqlite_master WHERE type = 'index'"),
        Kind::Postgres => db.query(&format!(
            "SELECT c.relname::text, i.indisvalid::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = '{schema}'"
        )),
        Kind::Mysql => db.query(&format!(
            "SELECT DISTINCT CAST(index_name AS CHAR), 't' FROM information_schema.statistics \
             WHERE table_schema = '{schema}'"
        )),
    };
    for row in indexes {
        let name = col(&row, 0);
        if let Some(k) = name.strip_prefix('r').and_then(|n| n.strip_suffix("_i")).and_then(|k| k.parse::<usize>().ok())
        {
            effects[k][2] = if col(&row, 1).starts_with('t') { 1 } else { 2 };
        }
    }
    let columns = match kind {
        Kind::Sqlite => db.query(
            "SELECT m.name FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE m.type = 'table' AND p.name = 'c'",
        ),
        _ => db.query(&format!(
            "SELECT CAST(table_name AS CHAR(64)) FROM information_schema.columns WHERE table_schema = '{schema}' \
             AND column_name = 'c'"
        )),
    };
    for row in columns {
        if let Some(k) = col(&row, 0).trim().strip_prefix('r').and_then(|k| k.parse::<usize>().ok()) {
            effects[k][3] = 1;
        }
    }
    let mut rows = BTreeMap::new();
    if tables.iter().any(|t| t == "_migrate_history") {
        // Every column, so a table without `in_doubt` (an earlier binary's, see MIGRATE_CHAOS_BIN) reads too.
        for row in db.query("SELECT * FROM _migrate_history") {
            let version = col(&row, 0).parse::<usize>().unwrap();
            let doubt = matches!(col(&row, 11).as_str(), "1" | "t" | "true");
            rows.insert(version, (col(&row, 7), col(&row, 8).parse().unwrap(), doubt));
        }
    }
    Observed { effects, rows }
}

impl Observed {
    /// The statements of revision `k` in effect, if they are a prefix of its up file run once each.
    fn in_effect(&self, k: usize) -> Option<usize> {
        let e = &self.effects[k];
        let m = e.iter().take_while(|&&x| x == 1).count();
        e[m..].iter().all(|&x| x == 0).then_some(m)
    }

    /// Every way the history row disagrees with what the database holds.
    fn false_records(&self) -> Vec<String> {
        let mut found = Vec::new();
        for k in 1..=REVISIONS {
            let row = self.rows.get(&k);
            let allowed: Vec<usize> = match row {
                None => vec![0],
                Some((state, _, _)) if state == "applied" => vec![STATEMENTS],
                Some((state, done, doubt)) => {
                    let (done, doubt) = (*done, *doubt);
                    match state.as_str() {
                        "upgrading" if doubt => vec![done, done + 1],
                        "upgrading" => vec![done],
                        _ if doubt => vec![STATEMENTS - done, STATEMENTS - done - 1],
                        _ => vec![STATEMENTS - done],
                    }
                }
            };
            let e = &self.effects[k];
            // A CONCURRENTLY build cut short leaves its index INVALID: true only while that statement is in doubt.
            let invalid_in_doubt =
                e[2] == 2 && e[..2] == [1, 1] && e[3..] == [0, 0] && matches!(row, Some((_, 2, true)));
            match self.in_effect(k) {
                Some(m) if allowed.contains(&m) => {}
                _ if invalid_in_doubt => {}
                m => found.push(format!("revision {k}: row {row:?} but in effect {e:?} (prefix {m:?})")),
            }
        }
        found
    }

    /// When the catalog could not settle a statement in doubt: whether it took effect, as an operator would see.
    fn doubt_ran(&self) -> Option<bool> {
        let (&k, (state, done, _)) = self.rows.iter().find(|(_, (_, _, doubt))| *doubt)?;
        if self.effects[k][2] == 2 {
            // An INVALID index: the build did not take effect.
            return Some(false);
        }
        let m = self.in_effect(k)?;
        Some(if state == "upgrading" { m == done + 1 } else { m + 1 + done == STATEMENTS })
    }
}

#[derive(Default, Debug)]
struct Tally {
    trials: usize,
    landed: usize,
    false_records: Vec<String>,
    by_commands: usize,
    by_flag: usize,
    /// SIGTERM trials that stopped at a safe point (exit 143, said so).
    stopped: usize,
    failed: Vec<String>,
}

/// Waits until no session of the trial is left on the server (a killed client's statement may still be running
/// there, and must finish or abort before the check reads anything).
fn wait_for_sessions(db: &Db, application: &str) {
    let sql = match db.kind {
        Kind::Sqlite => return,
        Kind::Postgres => {
            format!("SELECT count(*)::text FROM pg_stat_activity WHERE application_name = '{application}'")
        }
        Kind::Mysql => format!(
            "SELECT CAST(count(*) AS CHAR) FROM information_schema.processlist WHERE db = '{}' AND id <> CONNECTION_ID()",
            db.ident
        ),
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while col(&db.query(&sql)[0], 0) != "0" {
        assert!(Instant::now() < deadline, "a killed runner's session is still on the server after 60 s");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Cuts every server connection of the trial.
fn cut(db: &Db, application: &str) {
    match db.kind {
        Kind::Sqlite => unreachable!("SQLite has no server connection to cut"),
        Kind::Postgres => {
            db.query(&format!(
                "SELECT pg_terminate_backend(pid)::text FROM pg_stat_activity WHERE application_name = '{application}'"
            ));
        }
        Kind::Mysql => {
            let ids = db.query(&format!(
                "SELECT CAST(id AS CHAR) FROM information_schema.processlist WHERE db = '{}' AND id <> CONNECTION_ID()",
                db.ident
            ));
            for id in ids {
                // It may have ended meanwhile.
                let _ = db.try_exec(&format!("KILL {}", col(&id, 0)));
            }
        }
    }
}

/// How a trial stops its run.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// SIGKILL.
    Kill,
    /// Every server connection cut.
    Cut,
    /// SIGTERM: the run stops at its next safe point and exits 143, or has finished (0).
    Term,
}

struct Trial<'a> {
    db: &'a Db,
    p: &'a Project,
    url: String,
    application: String,
}

impl Trial<'_> {
    fn spawn(&self, args: &[&str]) -> Child {
        let mut cmd = self.p.command(Some(self.db), args);
        if let Ok(binary) = std::env::var("MIGRATE_CHAOS_BIN") {
            // Another build of the command line (an earlier version, to compare): same arguments, same environment.
            let mut other = std::process::Command::new(binary);
            other.current_dir(self.p.path()).args(args).env("NO_COLOR", "1");
            cmd = other;
        }
        cmd.env("DATABASE_URL", &self.url).stdout(Stdio::null()).stderr(Stdio::piped());
        cmd.spawn().expect("start migrate")
    }

    fn run(&self, args: &[&str]) -> (bool, String) {
        let out = self.spawn(args).wait_with_output().unwrap();
        (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
    }

    /// `upgrade` (or `downgrade base`), with `resume` whenever the database is dirty, until done; `resume --in-doubt`
    /// only when resume says the catalog cannot tell. `Ok(true)` if the flag was needed.
    fn recover(&self, up: bool) -> Result<bool, String> {
        let command: &[&str] = if up { &["upgrade"] } else { &["downgrade", "base"] };
        let mut flagged = false;
        for _ in 0..8 {
            let (ok, stderr) = self.run(command);
            if ok {
                return Ok(flagged);
            }
            if !stderr.contains("dirty") {
                return Err(format!("{}: {stderr}", command.join(" ")));
            }
            let (ok, stderr) = self.run(&["resume"]);
            if ok {
                continue;
            }
            if !stderr.contains("--in-doubt") {
                return Err(format!("resume: {stderr}"));
            }
            let answer = match observe(self.db).doubt_ran() {
                Some(true) => "ran",
                Some(false) => "not-run",
                None => return Err(format!("resume asks, and the database does not tell either: {stderr}")),
            };
            flagged = true;
            let (ok, stderr) = self.run(&["resume", "--in-doubt", answer]);
            if !ok {
                return Err(format!("resume --in-doubt {answer}: {stderr}"));
            }
        }
        Err("not done after 8 rounds".to_owned())
    }

    /// Puts the database where the next trial starts by hand: every revision's objects and rows gone, no history,
    /// then at head if the next trial is a downgrade (it is when this one was an upgrade).
    fn reset(&self, up: bool) {
        let mut sql: Vec<String> = (1..=REVISIONS).map(|k| format!("DROP TABLE IF EXISTS r{k}")).collect();
        sql.push("DROP TABLE IF EXISTS _migrate_history".to_owned());
        sql.push("DELETE FROM chaos_log".to_owned());
        for statement in sql {
            self.db.exec(&statement);
        }
        if up {
            assert!(self.run(&["upgrade"]).0, "upgrading after a reset");
        }
    }

    /// Runs `upgrade` or `downgrade base`, stops it after `after` by a kill, a cut or SIGTERM, checks the record
    /// and recovers.
    fn once(&self, tally: &mut Tally, up: bool, after: Duration, stop: Stop) {
        let command: &[&str] = if up { &["upgrade"] } else { &["downgrade", "base"] };
        let mut child = self.spawn(command);
        std::thread::sleep(after);
        tally.trials += 1;
        if child.try_wait().unwrap().is_none() {
            tally.landed += 1;
            match stop {
                Stop::Cut => cut(self.db, &self.application),
                Stop::Kill => child.kill().unwrap(),
                Stop::Term => {
                    let sent = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
                    assert!(sent.unwrap().success(), "kill -TERM");
                }
            }
        }
        let out = child.wait_with_output().unwrap();
        let what = match stop {
            Stop::Kill => "kill",
            Stop::Cut => "cut",
            Stop::Term => "SIGTERM",
        };
        let label = format!("{what} of {} after {after:?}", command.join(" "));
        if stop == Stop::Term {
            // Stopped at a safe point and said so (or at once, before revisions ran), or done before the signal.
            let stderr = String::from_utf8_lossy(&out.stderr);
            use std::os::unix::process::ExitStatusExt as _;
            match out.status.code() {
                Some(0) => {}
                Some(143) if stderr.contains("stopped as asked") => tally.stopped += 1,
                Some(143) if stderr.contains("SIGTERM: stopping\n") => {}
                // The signal came in the first milliseconds, before the process had set its handler: the system's
                // default ended it, as a kill would, and the record is checked as after a kill.
                None if out.status.signal() == Some(15) && stderr.is_empty() => {}
                code => tally.failed.push(format!("{label}: exit {code:?}: {stderr}")),
            }
        }
        wait_for_sessions(self.db, &self.application);
        let seen = observe(self.db);
        let wrong = seen.false_records();
        tally.false_records.extend(wrong.into_iter().map(|w| format!("{label}: {w}")));
        match self.recover(up) {
            Ok(false) => tally.by_commands += 1,
            Ok(true) => tally.by_flag += 1,
            Err(err) => {
                tally.failed.push(format!("{label}: {err}"));
                // The next trials start clean, so one failure is counted once.
                self.reset(up);
                return;
            }
        }
        let end = observe(self.db);
        let expected = if up { STATEMENTS } else { 0 };
        let at_end = (1..=REVISIONS).all(|k| end.in_effect(k) == Some(expected));
        let recorded = if up { end.rows.len() == REVISIONS } else { end.rows.is_empty() };
        if !(at_end && recorded && end.rows.values().all(|(state, _, _)| state == "applied")) {
            tally.failed.push(format!("{label}: after recovering, not at {}", if up { "head" } else { "base" }));
        }
    }
}

/// MySQL deadlock trials (`MIGRATE_CHAOS_DEADLOCKS`): a revision of data statements (insert row 100, raise id 1,
/// sleep, raise id 2, insert row 101) runs while another session that has written more rows holds id 2 and, at a
/// seeded moment, asks for id 1. When InnoDB picks the revision as the deadlock victim it rolls back the revision's
/// open transaction: the row must say what the server kept, and resume must leave every statement in effect once.
fn deadlocks(db: &Db, rng: &mut Rng, count: u64, tally: &mut Tally) {
    use ::mysql::prelude::Queryable;
    let p = Project::new();
    p.write(
        "0001_d/up.sql",
        "INSERT INTO d VALUES (100, 0);\nUPDATE d SET x = x + 1 WHERE id = 1;\nDO SLEEP(0.3);\n\
         UPDATE d SET x = x + 1 WHERE id = 2;\nINSERT INTO d VALUES (101, 0);\n",
    )
    .write("0001_d/down.sql", "DELETE FROM d WHERE id >= 100;\n");
    let history = ["--history-table", "deadlock_history"];
    let mut victims = 0;
    for n in 0..count {
        for sql in [
            "DROP TABLE IF EXISTS d, deadlock_history, filler",
            "CREATE TABLE d (id INT PRIMARY KEY, x INT NOT NULL) ENGINE = InnoDB",
            "INSERT INTO d VALUES (1, 0), (2, 0)",
            "CREATE TABLE filler (id INT PRIMARY KEY) ENGINE = InnoDB",
        ] {
            db.exec(sql);
        }
        let mut other = ::mysql::Conn::new(db.url.as_str()).unwrap();
        other.query_drop("START TRANSACTION").unwrap();
        other
            .query_drop(
                "INSERT INTO filler WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200) \
                 SELECT i FROM n",
            )
            .unwrap();
        other.query_drop("UPDATE d SET x = x + 10 WHERE id = 2").unwrap();
        let mut args = history.to_vec();
        args.push("upgrade");
        let child = p.command(Some(db), &args).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(50 + (rng.unit() * 500.0) as u64));
        // Blocks while the revision holds id 1, until InnoDB breaks the deadlock.
        other.query_drop("UPDATE d SET x = x + 10 WHERE id = 1").unwrap();
        other.query_drop("COMMIT").unwrap();
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        if stderr.contains("(1213)") {
            victims += 1;
        }
        tally.trials += 1;
        // What took effect, statement by statement (the sleep counts with the statement before it).
        let value = |sql: &str| col(&db.query(sql)[0], 0);
        let row_100 = value("SELECT CAST(count(*) AS CHAR) FROM d WHERE id = 100") == "1";
        let raised_1 = value("SELECT CAST(x MOD 10 AS CHAR) FROM d WHERE id = 1") == "1";
        let raised_2 = value("SELECT CAST(x MOD 10 AS CHAR) FROM d WHERE id = 2") == "1";
        let row_101 = value("SELECT CAST(count(*) AS CHAR) FROM d WHERE id = 101") == "1";
        let effects = [row_100, raised_1, raised_1, raised_2, row_101];
        let m = effects.iter().take_while(|e| **e).count();
        let prefix = effects[m..].iter().all(|e| !e);
        let row = db.query("SELECT state, CAST(statements_done AS CHAR) FROM deadlock_history");
        let done = row.first().map(|r| (col(r, 0), col(r, 1).parse::<usize>().unwrap()));
        let allowed = match &done {
            None => vec![0],
            Some((state, _)) if state == "applied" => vec![5],
            // The sleep has no effect of its own: two counts agree with the raise of id 1 done.
            Some((_, 2 | 3)) => vec![2, 3],
            Some((_, d)) => vec![*d],
        };
        let label = format!("deadlock trial {n}");
        if !prefix || !allowed.contains(&m) {
            tally.false_records.push(format!("{label}: row {done:?} but in effect {effects:?}"));
        }
        let mut resume = history.to_vec();
        resume.push("resume");
        if done.as_ref().is_some_and(|(state, _)| state != "applied") {
            let out = p.command(Some(db), &resume).output().unwrap();
            if !out.status.success() {
                tally.failed.push(format!("{label}: resume: {}", String::from_utf8_lossy(&out.stderr)));
                continue;
            }
        }
        let out = p.command(Some(db), &args).output().unwrap();
        let all = value("SELECT GROUP_CONCAT(CONCAT(id, '=', x) ORDER BY id) FROM d");
        if !out.status.success() || all != "1=11,2=11,100=0,101=0" {
            tally.failed.push(format!("{label}: after recovering, {all}: {}", String::from_utf8_lossy(&out.stderr)));
        } else {
            tally.by_commands += 1;
        }
    }
    db.exec("DROP TABLE IF EXISTS d, deadlock_history, filler");
    eprintln!("chaos mysql deadlocks: {count} trials, the revision was the victim in {victims}");
}

fn chaos(kind: Kind) {
    let Some(db) = Db::new(kind, &format!("chaos_{}", kind.name())) else { return };
    let trials = env_number("MIGRATE_CHAOS_TRIALS", 4);
    let cuts = if kind == Kind::Sqlite { 0 } else { env_number("MIGRATE_CHAOS_CUTS", 2) };
    let terms = env_number("MIGRATE_CHAOS_TERMS", 2);
    let storms = env_number("MIGRATE_CHAOS_STORMS", 0);
    let seed = env_number("MIGRATE_CHAOS_SEED", 1);
    let mut rng = Rng(seed ^ (kind as u64).wrapping_mul(0x5851_f42d_4c95_7f2d));
    let p = Project::new();
    write_folder(&p, kind);
    db.exec("CREATE TABLE chaos_log (token VARCHAR(20))");
    let application = format!("chaos_{}", db.ident);
    let url = match kind {
        Kind::Postgres => format!("{}&application_name={application}", db.url),
        _ => db.url.clone(),
    };
    let trial = Trial { db: &db, p: &p, url, application };

    // How long a whole upgrade and downgrade take here: kills land in between.
    let started = Instant::now();
    assert!(trial.run(&["upgrade"]).0);
    let up_time = started.elapsed();
    let started = Instant::now();
    assert!(trial.run(&["downgrade", "base"]).0);
    let down_time = started.elapsed();

    let mut tally = Tally::default();
    for n in 0..trials + cuts + terms {
        // Upgrade from base, then downgrade from head, alternately.
        let up = n % 2 == 0;
        let whole = if up { up_time } else { down_time };
        let after = whole.mul_f64(0.02 + 0.96 * rng.unit());
        let stop = match n {
            n if n < trials => Stop::Kill,
            n if n < trials + cuts => Stop::Cut,
            _ => Stop::Term,
        };
        trial.once(&mut tally, up, after, stop);
    }
    if kind == Kind::Mysql {
        // MyISAM trials: the log table takes no part in transactions, so its inserts run alone, behind their intent.
        let myisam = env_number("MIGRATE_CHAOS_MYISAM", 2);
        db.exec("ALTER TABLE chaos_log ENGINE = MyISAM");
        let flags_before = tally.by_flag;
        for n in 0..myisam {
            let up = n % 2 == 0;
            let whole = if up { up_time } else { down_time };
            trial.once(&mut tally, up, whole.mul_f64(0.02 + 0.96 * rng.unit()), Stop::Kill);
        }
        // A kill during a MyISAM insert leaves it in doubt with nothing in the catalog to tell: resume asks, which
        // the long run's rate of --in-doubt does not count.
        let myisam_flags = tally.by_flag - flags_before;
        tally.by_flag = flags_before;
        db.exec("ALTER TABLE chaos_log ENGINE = InnoDB");
        eprintln!("chaos mysql MyISAM: {myisam} kill trials, {myisam_flags} needed --in-doubt");
        // The deadlock trials count apart from the rate of kills that landed.
        let trials_before = tally.trials;
        deadlocks(&db, &mut rng, env_number("MIGRATE_CHAOS_DEADLOCKS", 2), &mut tally);
        tally.trials = trials_before;
    }
    let mut storm_failures = 0;
    for _ in 0..storms {
        let children: Vec<Child> = (0..16).map(|_| trial.spawn(&["upgrade", "--lock-wait", "120"])).collect();
        storm_failures +=
            children.into_iter().map(|c| c.wait_with_output().unwrap()).filter(|o| !o.status.success()).count();
        let end = observe(&db);
        if !(1..=REVISIONS).all(|k| end.in_effect(k) == Some(STATEMENTS)) || end.rows.len() != REVISIONS {
            tally.failed.push("storm: not at head afterwards".to_owned());
        }
        assert!(trial.run(&["downgrade", "base"]).0);
    }
    eprintln!(
        "chaos {} seed {seed}: {trials} kill trials, {cuts} cuts and {terms} SIGTERMs ({} landed while running, {} \
         SIGTERMs stopped at a safe point), {} false record(s); brought back by upgrade/downgrade/resume alone {}, \
         with --in-doubt {}, not at all {}; {storms} storm(s) of 16, {storm_failures} process(es) failed; whole \
         upgrade {up_time:.2?}, downgrade {down_time:.2?}",
        kind.name(),
        tally.landed,
        tally.stopped,
        tally.false_records.len(),
        tally.by_commands,
        tally.by_flag,
        tally.failed.len(),
    );
    assert!(tally.false_records.is_empty(), "false records:\n{}", tally.false_records.join("\n"));
    assert!(tally.failed.is_empty(), "not brought back:\n{}", tally.failed.join("\n"));
    assert_eq!(storm_failures, 0, "storm processes failed");
    // A cut during `CREATE INDEX CONCURRENTLY` leaves an INVALID index, which only `--in-doubt` settles: one such trial
    // among the few run with the tests is not a rate, so the rate is held only in the long run.
    if tally.trials >= 100 {
        assert!(tally.by_flag * 20 <= tally.trials, "more than 5% needed --in-doubt: {tally:?}");
    }
}
