//! The splitter against the databases' own reading of the same text: every revision file of the fixtures, the cases
//! that once went wrong, and generated scripts full of the tokens that decide where a statement ends. SQLite's
//! reading is its prepare tail (`rusqlite::Batch`); PostgreSQL's is the server's, one CommandComplete per statement
//! of a simple query; MySQL's is the server's too, one result per statement of a multi-statement query (the
//! `DELIMITER` command is the client's, so each chunk between delimiters must be exactly one statement there).

use ::mysql::prelude::Queryable;
use fallible_iterator::FallibleIterator as _;
use migrate::{sql, Backend, Revision};

use crate::backend::{on_every_backend, Conn, Db, Kind};
use crate::common::scan_ok;

on_every_backend!(the_databases_count_the_statements_the_splitter_finds);

fn backend(kind: Kind) -> Backend {
    match kind {
        Kind::Sqlite => Backend::Sqlite,
        Kind::Postgres => Backend::Postgres,
        Kind::Mysql => Backend::Mysql,
    }
}

/// Statements the database reads in `script`, and runs them; `None` where it refuses the script as a whole.
fn database_count(conn: &mut Conn, script: &str) -> Result<usize, String> {
    match conn {
        Conn::Sqlite(c) => {
            let mut batch = rusqlite::Batch::new(c, script);
            let mut count = 0;
            while let Some(mut stmt) = batch.next().map_err(|e| e.to_string())? {
                let mut rows = stmt.raw_query();
                while rows.next().map_err(|e| e.to_string())?.is_some() {}
                count += 1;
            }
            Ok(count)
        }
        Conn::Postgres(c) => {
            let messages = c.simple_query(script).map_err(|e| e.to_string())?;
            Ok(messages.iter().filter(|m| matches!(m, ::postgres::SimpleQueryMessage::CommandComplete(_))).count())
        }
        Conn::Mysql(c) => {
            let mut count = 0;
            let mut result = c.query_iter(script).map_err(|e| e.to_string())?;
            while let Some(set) = result.iter() {
                for row in set {
                    row.map_err(|e| e.to_string())?;
                }
                count += 1;
            }
            Ok(count)
        }
        _ => unreachable!("the three backends"),
    }
}

/// What the splitter finds in `script`, checked against the database, which then runs it.
fn agree(conn: &mut Conn, backend: Backend, script: &str, what: &str) {
    let ours = sql::split(script, backend);
    if backend == Backend::Mysql && script.lines().any(|l| l.trim_start().to_ascii_uppercase().starts_with("DELIMITER"))
    {
        for statement in &ours {
            let count =
                database_count(conn, statement.text).unwrap_or_else(|e| panic!("{what}: {e}\n{}", statement.text));
            assert_eq!(count, 1, "{what}: one chunk is {count} statements to MySQL:\n{}", statement.text);
        }
        return;
    }
    let mut theirs = database_count(conn, script).unwrap_or_else(|e| panic!("{what}: the database refused it: {e}"));
    if backend == Backend::Mysql {
        // MySQL answers a comment after the last `;` as one more, empty, statement; it runs nothing.
        let end = ours.last().map_or(0, |s| s.offset + s.text.len());
        if !script[end..].trim_start_matches(|c: char| c == ';' || c.is_whitespace()).is_empty() {
            theirs -= 1;
        }
    }
    let texts: Vec<&str> = ours.iter().map(|s| s.text).collect();
    assert_eq!(ours.len(), theirs, "{what}: the database read {theirs} statement(s), the splitter {texts:#?}");
}

/// The up files of a fixture in order, then the down files in reverse, as `backend` runs them.
fn fixture_scripts(name: &str, backend: Backend) -> Vec<(String, String)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
    let revisions: Vec<Revision> = scan_ok(&dir, migrate::ScanOptions::default());
    let mut scripts = Vec::new();
    let transactional = |s: &migrate::Script| s.transaction() || backend != Backend::Postgres;
    for r in &revisions {
        let up = r.up(backend);
        if transactional(up) {
            scripts.push((format!("{name}/{}/{}", r.folder(), up.file()), up.sql().to_owned()));
        }
    }
    for r in revisions.iter().rev() {
        let down = r.down(backend);
        if transactional(down) && down.kind() == migrate::ScriptKind::Sql {
            scripts.push((format!("{name}/{}/{}", r.folder(), down.file()), down.sql().to_owned()));
        }
    }
    scripts
}

/// Small, seeded, reproducible.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) % n as u64) as usize
    }
}

/// A script of statements whose text holds what decides where statements end: quotes, comments, semicolons inside
/// them, columns named like block keywords, and each dialect's own quoting and bodies.
fn generated(rng: &mut Rng, backend: Backend, n: usize) -> String {
    let t = format!("g{n}");
    let mut pool: Vec<String> = vec![
        format!("CREATE TABLE {t}_a (id INT, note VARCHAR(40))"),
        format!("INSERT INTO {t}_a VALUES (1, 'semi;colon')"),
        format!("INSERT INTO {t}_a VALUES (2, 'it''s -- not a comment; really')"),
        format!("INSERT INTO {t}_a /* a comment; with a semicolon */ VALUES (3, 'x')"),
        format!("UPDATE {t}_a SET note = 'begin; end;' WHERE id = 1"),
        "SELECT 1".to_owned(),
        format!("SELECT count(*) FROM {t}_a -- trailing; comment\n"),
    ];
    match backend {
        Backend::Postgres => pool.extend([
            format!("CREATE TABLE {t}_b (id int, trigger text, begin date, \"end;\" text)"),
            format!("CREATE FUNCTION {t}_f() RETURNS int LANGUAGE plpgsql AS $body$ BEGIN RETURN 1; END; $body$"),
            "SELECT $x$a;b$x$, E'it\\'s;', $$;$$".to_owned(),
            format!("CREATE TABLE {t}_n (v int)"),
            format!("CREATE RULE {t}_r AS ON INSERT TO {t}_n WHERE new.v < 0 DO ALSO (SELECT 1; SELECT 2)"),
            "/* outer /* nested; */ still comment; */ SELECT 2".to_owned(),
        ]),
        Backend::Mysql => pool.extend([
            format!("CREATE TABLE {t}_b (id int, event text, `begin` date, `end;` text)"),
            "SELECT 5--2".to_owned(),
            "SELECT 'a\\';b' # hash comment; here\n".to_owned(),
            "SELECT \"double; quoted\"".to_owned(),
            format!("CREATE TABLE {t}_c (begin INT, end INT)"),
        ]),
        Backend::Sqlite => pool.extend([
            format!("CREATE TABLE {t}_b (id int, trigger text, begin date, [end;] text)"),
            format!("CREATE TABLE {t}_n (v int)"),
            format!(
                "CREATE TRIGGER {t}_tr AFTER INSERT ON {t}_n BEGIN INSERT INTO {t}_a VALUES (9, 'a;b'); \
                 UPDATE {t}_a SET note = 'end' WHERE id = 9; END"
            ),
            "SELECT 'case; end' AS \"begin\"".to_owned(),
        ]),
        _ => {}
    }
    // The tables first (the others refer to them), then a random choice of the rest, with random glue.
    let mut script = format!("{};\n", pool[0]);
    for _ in 0..3 + rng.below(8) {
        let statement = &pool[1 + rng.below(pool.len() - 1)];
        if statement.starts_with("CREATE") && script.contains(statement.as_str()) {
            continue;
        }
        if statement.contains("_n") && !statement.starts_with("CREATE TABLE") && !script.contains(&format!("{t}_n (v"))
        {
            continue;
        }
        let glue = ["\n", " ", "\n\n-- between; statements\n", "\n/* block; */\n", "\t"][rng.below(5)];
        script.push_str(glue);
        script.push_str(statement);
        script.push(';');
    }
    if rng.below(2) == 0 {
        script.push_str("\n-- the end; without a newline");
    }
    script
}

fn the_databases_count_the_statements_the_splitter_finds(kind: Kind) {
    let Some(db) = Db::new(kind, "splitting") else { return };
    let backend = backend(kind);
    let mut conn = db.connect();
    // Revision files, in the order a run reads them.
    for fixture in ["accounts", "shapes", "counted"] {
        for (what, script) in fixture_scripts(fixture, backend) {
            agree(&mut conn, backend, &script, &what);
        }
    }
    // The cases that once went wrong.
    let cases: &[&str] = match kind {
        Kind::Postgres => &[
            "CREATE TABLE shifts (id int, trigger text, begin date);\nCREATE TABLE n (v int);\n\
             CREATE RULE shifts_n AS ON INSERT TO shifts DO ALSO (INSERT INTO n VALUES (1); INSERT INTO n VALUES (2));\n\
             INSERT INTO shifts (id) VALUES (1);\nDROP TABLE shifts;\nDROP TABLE n;",
        ],
        Kind::Mysql => &[
            "CREATE TABLE shifts (id int, event text, begin date);\nSELECT 5--2;\nSELECT 1;\nDROP TABLE shifts;",
            "DELIMITER x\nCREATE PROCEDURE p_split() BEGIN SELECT 1; ENDx\nDELIMITER ;\nDROP PROCEDURE p_split;",
        ],
        Kind::Sqlite => &[
            "CREATE TABLE shifts (id int, trigger text, begin date);\nCREATE TABLE n (v int);\n\
             CREATE TRIGGER shifts_n AFTER INSERT ON shifts BEGIN INSERT INTO n VALUES (1); INSERT INTO n VALUES (2); END;\n\
             INSERT INTO shifts (id) VALUES (1);",
        ],
    };
    for (i, case) in cases.iter().enumerate() {
        agree(&mut conn, backend, case, &format!("case {i}"));
    }
    // Generated scripts, seeded.
    let mut rng = Rng(7);
    for n in 0..60 {
        let script = generated(&mut rng, backend, n);
        agree(&mut conn, backend, &script, &format!("generated script {n}:\n{script}"));
    }
}

/// Whether a transaction block is open on `conn` now.
fn in_transaction(conn: &mut Conn) -> bool {
    match conn {
        Conn::Sqlite(c) => !c.is_autocommit(),
        // SAVEPOINT is refused outside a transaction block.
        Conn::Postgres(c) => {
            let open = c.simple_query("SAVEPOINT migrate_probe").is_ok();
            if open {
                c.simple_query("RELEASE SAVEPOINT migrate_probe").unwrap();
            }
            open
        }
        _ => unreachable!("SQLite and PostgreSQL"),
    }
}

/// The classification of transaction control against each database's own reading: a statement read as opening a
/// transaction leaves one open when run outside one; one read as ending it leaves none open when run inside one;
/// any other statement (savepoints, a trigger's or a routine's `BEGIN … END`, the words in strings and comments)
/// does neither. MySQL runs every revision statement by statement, so nothing is classified there.
fn transaction_control_is_what_the_database_does(kind: Kind) {
    let Some(db) = Db::new(kind, "classify_transaction_control") else { return };
    let backend = backend(kind);
    let mut conn = db.connect();
    conn.execute("CREATE TABLE t (a INT)");
    let (opens, ends, neither): (&[&str], &[&str], Vec<&str>) = match kind {
        Kind::Sqlite => (
            &["BEGIN", "begin deferred transaction", "BEGIN /* c */ IMMEDIATE"],
            &["COMMIT", "END", "ROLLBACK", "commit transaction", "END TRANSACTION"],
            vec![
                "CREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE t SET a = 1 WHERE 0; END",
                "SELECT 'commit'",
                "-- commit\nSELECT 1",
                "/* BEGIN */ SELECT 1",
                "SELECT [begin] FROM (SELECT 1 AS [begin])",
                "DROP TRIGGER tr",
            ],
        ),
        _ => (
            &["BEGIN", "begin work", "START TRANSACTION", "BEGIN /* c */ ISOLATION LEVEL SERIALIZABLE"],
            &["COMMIT", "END", "ROLLBACK", "ABORT", "commit work", "END TRANSACTION"],
            vec![
                "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END",
                "CREATE FUNCTION g() RETURNS int AS $$\nDECLARE x int;\nBEGIN\n  RETURN 1;\nEND\n$$ LANGUAGE plpgsql",
                "DO $$ BEGIN PERFORM 1; END $$",
                "SELECT 'commit'",
                "-- commit\nSELECT 1",
                "/* BEGIN /* nested */ */ SELECT 1",
                "SELECT $q$ rollback $q$",
                "DROP FUNCTION f(); DROP FUNCTION g()",
            ],
        ),
    };
    let classify = |statement: &str| {
        let expected = if statement.starts_with("DROP FUNCTION") { 2 } else { 1 };
        assert_eq!(sql::split(statement, backend).len(), expected, "{statement}: one statement per entry");
        sql::first_transaction_control(statement, backend).map(|(_, what)| what)
    };
    for statement in opens {
        assert!(classify(statement).is_some(), "{statement}: not read as transaction control");
        assert!(!in_transaction(&mut conn));
        conn.execute(statement);
        assert!(in_transaction(&mut conn), "{statement}: read as opening a transaction, but none is open");
        conn.execute("ROLLBACK");
    }
    for statement in ends {
        assert!(classify(statement).is_some(), "{statement}: not read as transaction control");
        conn.execute("BEGIN");
        conn.execute(statement);
        assert!(!in_transaction(&mut conn), "{statement}: read as ending the transaction, but it is still open");
    }
    for statement in neither {
        assert_eq!(classify(statement), None, "{statement}: read as transaction control");
        conn.execute("BEGIN");
        conn.execute(statement);
        assert!(in_transaction(&mut conn), "{statement}: ended the transaction, and was not read as doing so");
        conn.execute("COMMIT");
        assert!(!in_transaction(&mut conn));
    }
}

mod classification {
    #[test]
    fn sqlite() {
        super::transaction_control_is_what_the_database_does(super::Kind::Sqlite);
    }

    #[test]
    fn postgres() {
        super::transaction_control_is_what_the_database_does(super::Kind::Postgres);
    }
}

/// The error a statement gets inside a transaction block, if any.
fn refused_in_transaction(conn: &mut Conn, statement: &str) -> Option<String> {
    let result = match conn {
        Conn::Sqlite(c) => c.execute_batch(&format!("BEGIN; {statement};")).map_err(|e| e.to_string()),
        Conn::Postgres(c) => c.batch_execute(&format!("BEGIN; {statement};")).map_err(|e| e.to_string()),
        _ => unreachable!("SQLite and PostgreSQL"),
    };
    // Whatever happened, the transaction goes.
    let _ = match conn {
        Conn::Sqlite(c) => c.execute_batch("ROLLBACK").map_err(|e| e.to_string()),
        Conn::Postgres(c) => c.batch_execute("ROLLBACK").map_err(|e| e.to_string()),
        _ => unreachable!("SQLite and PostgreSQL"),
    };
    result.err()
}

/// The classification of statements a transaction block refuses, against each database: what is read as refused
/// is refused inside `BEGIN`, what is not runs there; SQLite's `PRAGMA foreign_keys` runs and does nothing (read as
/// ignored, a warning).
fn refused_in_a_transaction_is_what_the_database_refuses(kind: Kind) {
    let Some(db) = Db::new(kind, "classify_non_transactional") else { return };
    let backend = backend(kind);
    let mut conn = db.connect();
    conn.execute("CREATE TABLE t (a INT)");
    let (refused, accepted): (&[&str], &[&str]) = match kind {
        Kind::Sqlite => (
            &["VACUUM", "PRAGMA journal_mode = WAL"],
            // SQLite has long run ATTACH and DETACH inside a transaction; this reading once refused them.
            &[
                "CREATE TABLE vacuum_t (a INT)",
                "SELECT 'VACUUM'",
                "-- VACUUM\nSELECT 1",
                "PRAGMA foreign_keys = ON",
                "ATTACH ':memory:' AS other; DETACH other",
            ],
        ),
        _ => (
            &[
                "CREATE INDEX CONCURRENTLY ci ON t (a)",
                "CREATE UNIQUE INDEX /* c */ CONCURRENTLY cu ON t (a)",
                "DROP INDEX CONCURRENTLY IF EXISTS ci",
                "VACUUM t",
                "REINDEX TABLE CONCURRENTLY t",
                "ALTER SYSTEM SET work_mem = '4MB'",
            ],
            &[
                "CREATE INDEX i ON t (a)",
                "CREATE TABLE concurrently_t (a INT)",
                "SELECT 'VACUUM'",
                "/* CREATE INDEX CONCURRENTLY x ON t (a) */ SELECT 1",
                "SELECT $$ VACUUM $$",
            ],
        ),
    };
    for statement in refused {
        let statements = sql::split(statement, backend);
        assert!(sql::non_transactional_in(&statements, backend).is_some(), "{statement}: not read as refused");
        assert!(
            refused_in_transaction(&mut conn, statement).is_some(),
            "{statement}: the database ran it in a transaction"
        );
    }
    for statement in accepted {
        let statements = sql::split(statement, backend);
        assert!(sql::non_transactional_in(&statements, backend).is_none(), "{statement}: read as refused");
        let err = refused_in_transaction(&mut conn, statement);
        assert!(err.is_none(), "{statement}: refused in a transaction ({err:?}), and not read as refused");
    }
    if kind == Kind::Sqlite {
        // Run in a transaction, the pragma did nothing: the warning's claim, checked.
        let statements = sql::split("PRAGMA foreign_keys = ON", backend);
        assert!(sql::ignored_in_transaction_in(&statements, backend).is_some());
        conn.execute("PRAGMA foreign_keys = OFF");
        conn.execute("BEGIN; PRAGMA foreign_keys = ON; COMMIT;");
        assert_eq!(conn.value("PRAGMA foreign_keys").as_deref(), Some("0"));
    }
}

mod refused_in_a_transaction {
    #[test]
    fn sqlite() {
        super::refused_in_a_transaction_is_what_the_database_refuses(super::Kind::Sqlite);
    }

    #[test]
    fn postgres() {
        super::refused_in_a_transaction_is_what_the_database_refuses(super::Kind::Postgres);
    }
}
