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

on_every_backend!(schema_and_verify_schema);
