//! Exactly-once effects for webhook handlers on PostgreSQL.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod error;
mod schema;
mod store;

pub use schema::DEFAULT_SCHEMA;
pub use store::{DEFAULT_CLEANUP_BATCH, DEFAULT_OPERATION_TIMEOUT, PostgresStore, PostgresStoreBuilder};
