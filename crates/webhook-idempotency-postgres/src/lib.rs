//! Exactly-once effects for webhook handlers on PostgreSQL.
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "axum")]
mod axum;
mod error;
mod inbox;
mod schema;
mod store;

#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub use axum::InboxRejection;
pub use inbox::{
    Begin, Committed, DEFAULT_IN_FLIGHT_RETRY_AFTER, Inbox, InboxError, InboxTransaction, replay,
};
pub use schema::DEFAULT_SCHEMA;
pub use store::{
    DEFAULT_CLEANUP_BATCH, DEFAULT_OPERATION_TIMEOUT, PostgresStore, PostgresStoreBuilder,
};
