//! Compile-fail cases: one per mistake `migrations!()` reports, each with its own fixture folder and `.stderr`
//! snapshot. Regenerate snapshots with `TRYBUILD=overwrite cargo test --test integration ui`, never by hand.
//!
//! trybuild builds each case in a crate of its own under `<target dir>/tests/trybuild/migrate`, and the macro reads
//! its folder relative to that crate's manifest, as it does for any crate. The fixture folders are copied there
//! first, so a case names its folder `tests/ui/<case>` and passes wherever the target directory is
//! (`CARGO_TARGET_DIR` included).

use std::path::Path;

#[test]
fn ui() {
    // Cargo gives integration tests `<target dir>/tmp`; trybuild's crate lives beside it.
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).parent().expect("the target directory");
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ui");
    let copy = target.join("tests/trybuild/migrate/tests/ui");
    if copy.exists() {
        std::fs::remove_dir_all(&copy).expect("remove the old fixture copy");
    }
    copy_folders(&fixtures, &copy);
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
    cases.pass("tests/ui/pass/*.rs");
    // Each real project's folder compiles in a crate that targets its backend, and embeds what the scan reads.
    if let Some(corpus) = crate::corpus::corpus() {
        let generated = target.join("tests/corpus-cases");
        let _ = std::fs::remove_dir_all(&generated);
        std::fs::create_dir_all(&generated).expect("create the corpus cases");
        for (name, dir, kind) in crate::corpus::folders(&corpus) {
            let case = name.replace('/', "_");
            copy_tree(&dir, &copy.join("corpus").join(&case));
            // Placeholder down files are accepted, as a project adopting its folder would (vaultwarden has dozens).
            let scanned = migrate::scan(&dir, &migrate::ScanOptions::default().allow_empty_down(true));
            let backend = migrate::Backend::from_name(kind.name()).expect("a backend");
            if scanned.problems.iter().any(|p| p.refuses_build_for(migrate::Backends::only(backend))) {
                // Refused on its own backend: a finding of the corpus test, which names each error.
                continue;
            }
            let count = scanned.revisions.len();
            let source = format!(
                "static MIGRATIONS: migrate::Migrations =\n    \
                 migrate::migrations!(\"tests/ui/corpus/{case}\", backends({}), allow_empty_down);\n\n\
                 fn main() {{\n    assert_eq!(MIGRATIONS.revisions().len(), {count});\n}}\n",
                kind.name()
            );
            let file = generated.join(format!("{case}.rs"));
            std::fs::write(&file, source).expect("write a corpus case");
            cases.pass(file);
        }
    }
}

/// Copies the fixture folders below `from` (not the cases and snapshots beside them) to `to`.
fn copy_folders(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("read the fixtures") {
        let entry = entry.expect("read the fixtures");
        if entry.file_type().expect("file type").is_dir() {
            copy_tree(&entry.path(), &to.join(entry.file_name()));
        }
    }
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create the fixture copy");
    for entry in std::fs::read_dir(from).expect("read a fixture") {
        let entry = entry.expect("read a fixture");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy a fixture file");
        }
    }
}
