//! `migrate schema` and `migrate verify --schema` on each backend: the snapshot printed, a match verified, and a
//! column added by hand reported as drift with exit 4.

use crate::harness::{on_every_backend, Db, Kind, Project};

fn schema_and_verify_schema(kind: Kind) {
    let Some(db) = Db::new(kind, "verify_schema") else { return };
    let p = Project::new();
    p.write("0001_accounts/up.sql", "CREATE TABLE accounts (id INT NOT NULL PRIMARY KEY, email VARCHAR(100));\n");
    p.write("0001_accounts/down.sql", "DROP TABLE accounts;\n");
    p.write("0002_email/up.sql", "CREATE INDEX accounts_email ON accounts (email);\n");
    p.write("0002_email/down.sql", "DROP INDEX accounts_email ON accounts;\n");
    if kind != Kind::Mysql {
        p.write("0002_email/down.sql", "DROP INDEX accounts_email;\n");
    }
    p.run(Some(&db), &["upgrade"]).ok();
    let printed = p.run(Some(&db), &["schema"]);
    printed.ok().says(&[
        &format!("-- migrate schema snapshot: {}", kind.name()),
        "table accounts",
        "index accounts_email",
    ]);
    assert!(!printed.stdout.contains("_migrate_history"), "{}", printed.stdout);
    let file = p.path().join("schema.txt");
    std::fs::write(&file, &printed.stdout).unwrap();
    let file = file.to_string_lossy().into_owned();
    p.run(Some(&db), &["verify", "--schema", &file]).ok().says(&["verified"]);

    db.exec("ALTER TABLE accounts ADD COLUMN nickname VARCHAR(20)");
    p.run(Some(&db), &["verify", "--schema", &file])
        .code(4)
        .says(&["column accounts.nickname is in the database, not in the snapshot"]);
    let json = p.run(Some(&db), &["--format", "json", "verify", "--schema", &file]).code(4).json();
    let problems = json["problems"].as_array().unwrap();
    assert!(problems.iter().any(|p| p.as_str().unwrap().contains("accounts.nickname")), "{json}");
}

/// `migrate schema --diagram mermaid`: the tables, their columns with keys, and a line per foreign key.
fn schema_as_a_diagram(kind: Kind) {
    let Some(db) = Db::new(kind, "schema_diagram") else { return };
    let p = Project::new();
    p.write(
        "0001_blog/up.sql",
        "CREATE TABLE accounts (id INT NOT NULL PRIMARY KEY, email VARCHAR(100) NOT NULL UNIQUE);\n\
         CREATE TABLE posts (id INT NOT NULL PRIMARY KEY, author_id INT NOT NULL, title VARCHAR(200),\n\
           CONSTRAINT posts_author FOREIGN KEY (author_id) REFERENCES accounts (id));\n",
    );
    p.write("0001_blog/down.sql", "DROP TABLE posts;\nDROP TABLE accounts;\n");
    p.run(Some(&db), &["upgrade"]).ok();
    let diagram = p.run(Some(&db), &["schema", "--diagram", "mermaid"]);
    diagram.ok().says(&[
        "erDiagram",
        "    accounts {",
        " id PK",
        " email UK",
        "    posts {",
        " author_id FK",
        "accounts ||--o{ posts : \"author_id\"",
    ]);
    assert!(!diagram.stdout.contains("_migrate_history"), "{}", diagram.stdout);
    let json = p.run(Some(&db), &["--format", "json", "schema", "--diagram", "mermaid"]).ok().json();
    assert!(json["mermaid"].as_str().unwrap().starts_with("erDiagram"), "{json}");
}

on_every_backend!(schema_and_verify_schema, schema_as_a_diagram);

/// `--write-schema FILE` (and `write_schema` in migrate.toml) writes the snapshot after each upgrade and downgrade.
#[test]
fn write_schema_after_each_run() {
    let p = Project::new();
    p.write("0001_a/up.sql", "CREATE TABLE a (id INTEGER);\n");
    p.write("0001_a/down.sql", "DROP TABLE a;\n");
    p.write("0002_b/up.sql", "CREATE TABLE b (id INTEGER);\n");
    p.write("0002_b/down.sql", "DROP TABLE b;\n");
    let config = "database_url = \"sqlite:app.db\"\nwrite_schema = \"schema.txt\"\n";
    std::fs::write(p.path().join("migrate.toml"), config).unwrap();
    let file = p.path().join("schema.txt");
    p.run(None, &["upgrade"]).ok().complains(&["schema snapshot written to"]);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("table a\n") && text.contains("table b\n"), "{text}");
    p.run(None, &["downgrade", "-1"]).ok();
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("table a\n") && !text.contains("table b"), "{text}");
    // The flag wins over the file; a dry run writes nothing.
    let other = p.path().join("other.txt");
    p.run(None, &["upgrade", "--dry-run", "--write-schema", &other.to_string_lossy()]).ok();
    assert!(!other.exists());
    p.run(None, &["upgrade", "--write-schema", &other.to_string_lossy()]).ok();
    assert!(std::fs::read_to_string(&other).unwrap().contains("table b\n"));
}
