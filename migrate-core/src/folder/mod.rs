//! The revision folder and its embedded form: [`scan`] reads a folder (every layout, every folder rule, problems
//! with their severity and backends), [`packed`] is the form `migrations!()` embeds and decodes, [`build`] is the
//! build-script helper that makes a new revision rebuild the crate. It imports the revision model and `sql`.

pub mod build;
#[doc(hidden)]
pub mod packed;
pub mod scan;
