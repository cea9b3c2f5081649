//! Compile-fail cases: one per mistake `migrations!()` reports, each with its own fixture folder and `.stderr`
//! snapshot. Regenerate snapshots with `TRYBUILD=overwrite cargo test --test integration ui`, never by hand.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
