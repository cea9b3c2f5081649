// #[migrate::test] misused: a backend it does not know, an async body, a #[test] of its own, generics,
// #[should_panic] (a skipped backend would not panic)
#[migrate::test(backends(sqlite, oracle))]
fn unknown_backend(_db: &mut migrate::testing::TestDatabase) {}

#[migrate::test]
async fn not_async(_db: &mut migrate::testing::TestDatabase) {}

#[migrate::test]
#[test]
fn twice(_db: &mut migrate::testing::TestDatabase) {}

#[migrate::test]
fn generic<T>(_db: &mut migrate::testing::TestDatabase) {}

#[migrate::test]
#[should_panic]
fn expected_to_panic(_db: &mut migrate::testing::TestDatabase) {}

fn main() {}
