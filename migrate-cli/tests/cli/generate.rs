//! `migrate new <name> --from <desired>`: a revision written from a schema change, proven on scratch databases
//! before it is saved; what a machine must not guess is marked and holds the revision back.

use crate::harness::{scratch_left, Db, Kind, Project};

const SCHEMA: &str = "CREATE TABLE users (id int PRIMARY KEY, mail text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());\n\
                      CREATE INDEX users_created ON users (created_at);\n\
                      CREATE TABLE posts (id bigserial PRIMARY KEY, author int NOT NULL REFERENCES users (id), title text);\n";

fn project() -> Project {
    let p = Project::new();
    p.write("0001_users/up.sql", "CREATE TABLE users (id int PRIMARY KEY, email text NOT NULL);\n")
        .write("0001_users/down.sql", "DROP TABLE users;\n");
    std::fs::write(p.path().join("schema.sql"), SCHEMA).unwrap();
    p
}

#[test]
fn a_revision_from_a_schema_file_is_proven_marked_and_applies() {
    let Some(db) = Db::new(Kind::Postgres, "new_from") else { return };
    let server = Kind::Postgres.server_url().unwrap();
    let p = project();
    // A column dropped and another added: written, marked, and refused until the mark is gone.
    let run = p.run(None, &["new", "add_posts", "--from", "schema.sql", "--dev-url", &server, "--sequential"]);
    assert_eq!(scratch_left(&db, &run), 0, "a scratch database was left on the server");
    run.ok().says(&[
        "created migrations/0002_add_posts/up.sql",
        "review: on users, column email is dropped and mail added",
        "proven",
    ]);
    let up = std::fs::read_to_string(p.migrations().join("0002_add_posts/up.sql")).unwrap();
    assert!(
        up.contains("-- migrate:review on users, column email is dropped") && up.contains("CREATE TABLE posts"),
        "{up}"
    );
    p.run(Some(&db), &["verify"]).code(4).says(&["waits for review here"]);
    p.run(Some(&db), &["upgrade"]).code(1);
    assert_eq!(db.versions(), Vec::<String>::new(), "nothing applied while the mark is there");
    // Said to be a rename: no mark, and it applies and reverts.
    std::fs::remove_dir_all(p.migrations().join("0002_add_posts")).unwrap();
    let args = [
        "new",
        "add_posts",
        "--from",
        "schema.sql",
        "--dev-url",
        &server,
        "--sequential",
        "--rename",
        "users.email=mail",
    ];
    p.run(None, &args).ok().says(&["next: read both files"]);
    let up = std::fs::read_to_string(p.migrations().join("0002_add_posts/up.sql")).unwrap();
    assert!(up.contains("ALTER TABLE users RENAME COLUMN email TO mail;") && !up.contains("migrate:review"), "{up}");
    p.run(Some(&db), &["upgrade"]).ok();
    db.exec("INSERT INTO users (id, mail) VALUES (1, 'a@example.com'); INSERT INTO posts (author) VALUES (1)");
    p.run(Some(&db), &["downgrade", "-1"]).ok();
    assert_eq!(db.versions(), ["0001"]);
    p.run(Some(&db), &["upgrade"]).ok();
    // The folder now gives the schema: nothing to write.
    let run = p.run(None, &["new", "again", "--from", "schema.sql", "--dev-url", &server, "--sequential"]);
    run.ok().says(&["nothing to write: the folder already gives the schema of schema.sql"]);
    assert_eq!(scratch_left(&db, &run), 0, "a scratch database was left on the server");
}

/// The desired state read from a database someone changed by hand, and a change the writer cannot make (a
/// function), which fails its proof: nothing is saved, and the generated text and the difference are said.
#[test]
fn from_a_database_and_a_proof_that_fails() {
    let Some(db) = Db::new(Kind::Postgres, "new_from_db") else { return };
    let server = Kind::Postgres.server_url().unwrap();
    let p = project();
    p.run(Some(&db), &["upgrade"]).ok();
    db.exec("ALTER TABLE users ADD COLUMN nickname varchar(40); CREATE INDEX users_nick ON users (nickname)");
    p.run(None, &["new", "nickname", "--from", &db.url, "--dev-url", &server, "--sequential"]).ok();
    let up = std::fs::read_to_string(p.migrations().join("0002_nickname/up.sql")).unwrap();
    assert!(up.contains("ADD COLUMN nickname character varying(40)") && up.contains("CREATE INDEX users_nick"), "{up}");
    std::fs::remove_dir_all(p.migrations().join("0002_nickname")).unwrap();
    db.exec("CREATE FUNCTION answer() RETURNS int LANGUAGE sql AS 'SELECT 42'");
    p.run(None, &["new", "nickname", "--from", &db.url, "--dev-url", &server, "--sequential"]).code(4).complains(&[
        "the generated up does not give the schema it should",
        "function answer()",
        "nothing was saved",
    ]);
    assert!(!p.migrations().join("0002_nickname").exists());
}

/// MySQL: the desired schema read from `schema.mysql.sql`, which a MySQL scratch server takes over `schema.sql` as
/// a revision's override files are chosen; the revision is proven, applies, keeps the rows of a renamed column and
/// reverts.
#[test]
fn mysql_from_its_own_schema_file() {
    let Some(db) = Db::new(Kind::Mysql, "new_from_mysql") else { return };
    let server = Kind::Mysql.server_url().unwrap();
    let p = project();
    std::fs::write(
        p.path().join("schema.mysql.sql"),
        "CREATE TABLE users (id int PRIMARY KEY, mail text NOT NULL, \
           created_at timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP, KEY users_created (created_at));\n\
         CREATE TABLE posts (id bigint AUTO_INCREMENT PRIMARY KEY, author int NOT NULL, title text, \
           FOREIGN KEY (author) REFERENCES users (id));\n",
    )
    .unwrap();
    let args =
        ["new", "posts", "--from", "schema.sql", "--dev-url", &server, "--sequential", "--rename", "users.email=mail"];
    p.run(None, &args).ok().says(&["proven"]);
    let up = std::fs::read_to_string(p.migrations().join("0002_posts/up.sql")).unwrap();
    assert!(
        up.contains("ALTER TABLE `users` RENAME COLUMN `email` TO `mail`;")
            && up.contains("CREATE TABLE `posts`")
            && up.contains("ADD CONSTRAINT `posts_ibfk_1` FOREIGN KEY (`author`) REFERENCES `users` (`id`)")
            && !up.contains("migrate:review"),
        "{up}"
    );
    let down = std::fs::read_to_string(p.migrations().join("0002_posts/down.sql")).unwrap();
    assert!(down.contains("DROP TABLE `posts`;"), "{down}");
    p.run(Some(&db), &["upgrade"]).ok();
    db.exec("INSERT INTO users (id, mail) VALUES (1, 'a@example.com'); INSERT INTO posts (author) VALUES (1)");
    p.run(Some(&db), &["downgrade", "-1"]).ok();
    assert_eq!(db.versions(), ["0001"]);
    assert_eq!(
        db.query("SELECT email FROM users")[0][0].as_deref(),
        Some("a@example.com"),
        "the rename keeps the rows"
    );
    p.run(None, &["new", "x", "--from", "schema.sql", "--rename", "users"]).code(2).complains(&["--rename users"]);
}

/// A folder that serves several backends: one --dev-url each; where the SQL differs, a file per backend, each
/// proven on its own server, and a generic pair for any other backend, which waits for review unless every backend
/// has its own.
#[test]
fn a_file_per_backend_where_the_sql_differs() {
    let Some(pg) = Db::new(Kind::Postgres, "new_from_each_pg") else { return };
    let Some(my) = Db::new(Kind::Mysql, "new_from_each_my") else { return };
    let (pg_server, my_server) = (Kind::Postgres.server_url().unwrap(), Kind::Mysql.server_url().unwrap());
    let p = Project::new();
    p.write("0001_users/up.sql", "CREATE TABLE users (id int PRIMARY KEY, email varchar(100) NOT NULL);\n")
        .write("0001_users/down.sql", "DROP TABLE users;\n");
    std::fs::write(
        p.path().join("schema.sql"),
        "CREATE TABLE users (id int PRIMARY KEY, email varchar(100) NOT NULL, nick varchar(40));\n\
         CREATE INDEX users_nick ON users (nick);\n",
    )
    .unwrap();
    let args =
        ["new", "nick", "--from", "schema.sql", "--sequential", "--dev-url", &pg_server, "--dev-url", &my_server];
    p.run(None, &args).ok().says(&[
        "created migrations/0002_nick/up.postgres.sql",
        "created migrations/0002_nick/down.mysql.sql",
        "review: this revision was written for postgres and mysql only",
    ]);
    let dir = p.migrations().join("0002_nick");
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap();
    assert!(read("up.postgres.sql").contains("ALTER TABLE users ADD COLUMN nick character varying(40);"));
    assert!(read("up.mysql.sql").contains("ADD COLUMN `nick` varchar(40) AFTER `email`"));
    assert!(read("up.sql").contains("-- migrate:review this revision was written for postgres and mysql only"));
    // Every backend written for: the generic pair is a comment, and the revision applies on each.
    std::fs::remove_dir_all(&dir).unwrap();
    let args = [&args[..], &["--dev-url", "sqlite:"]].concat();
    p.run(None, &args).ok().says(&["created migrations/0002_nick/up.sqlite.sql"]);
    assert!(!read("up.sql").contains("migrate:review"), "{}", read("up.sql"));
    for db in [&pg, &my] {
        p.run(Some(db), &["upgrade"]).ok();
        p.run(Some(db), &["downgrade", "-1"]).ok();
        assert_eq!(db.versions(), ["0001"]);
    }
    p.run(None, &[&args[..], &["--dev-url", &pg_server]].concat())
        .code(2)
        .complains(&["two --dev-url servers are postgres"]);
}

/// SQLite needs no --dev-url (scratch databases are temporary files), and its table rebuild is proven like the rest.
#[test]
fn sqlite_without_a_dev_url() {
    let Some(db) = Db::new(Kind::Sqlite, "new_from_sqlite") else { return };
    let p = Project::new();
    p.write("0001_users/up.sql", "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);\n")
        .write("0001_users/down.sql", "DROP TABLE users;\n");
    // A psql command is refused at its line; pg_dump's `\restrict` bracket is left out.
    std::fs::write(p.path().join("schema.sql"), "\\connect app\nCREATE TABLE users (id INTEGER PRIMARY KEY);\n")
        .unwrap();
    p.run(Some(&db), &["new", "posts", "--from", "schema.sql", "--sequential"])
        .code(2)
        .complains(&["schema.sql:1: `\\connect` is a psql command"]);
    std::fs::write(
        p.path().join("schema.sql"),
        "\\restrict Xk2\n\
         CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, nick TEXT);\n\
         CREATE TABLE posts (id INTEGER PRIMARY KEY, author INT NOT NULL REFERENCES users (id));\n\
         \\unrestrict Xk2\n",
    )
    .unwrap();
    p.run(Some(&db), &["new", "posts", "--from", "sqlite:nowhere.db", "--sequential"])
        .code(2)
        .complains(&["the file nowhere.db does not exist"]);
    p.run(Some(&db), &["new", "posts", "--from", "schema.sql", "--sequential"]).ok().says(&["proven"]);
    let up = std::fs::read_to_string(p.migrations().join("0002_posts/up.sql")).unwrap();
    assert!(up.contains("ALTER TABLE _new_users RENAME TO users;") && up.contains("CREATE TABLE posts"), "{up}");
    p.run(Some(&db), &["upgrade"]).ok();
    db.exec("INSERT INTO users (id, email) VALUES (1, 'a@example.com')");
    p.run(Some(&db), &["downgrade", "-1"]).ok();
    assert_eq!(
        db.query("SELECT email FROM users")[0][0].as_deref(),
        Some("a@example.com"),
        "the rebuild keeps the rows"
    );
    p.run(Some(&db), &["upgrade"]).ok();
}
