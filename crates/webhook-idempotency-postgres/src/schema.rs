//! The schema: its name, and the embedded migrations that create its tables.

use sqlx::PgPool;
use webhook_idempotency::store::{StoreError, StoreErrorKind};

use crate::error::store_error;

/// The default schema: `webhook_idempotency`.
pub const DEFAULT_SCHEMA: &str = "webhook_idempotency";

/// The migrations, in order; `{schema}` stands for the quoted schema name.
const MIGRATIONS: &[(i32, &str)] = &[(1, include_str!("../migrations/0001_deliveries.sql"))];

/// Serializes migrations of every schema in the database (an arbitrary constant).
const MIGRATION_LOCK: i64 = 0x7765_6268_6f6f_6b31;

/// Checks a schema name: 1 to 63 lowercase ASCII letters, digits and `_`, not starting
/// with a digit, so it needs no quoting and cannot inject SQL. Returns it quoted.
pub(crate) fn quoted(schema: &str) -> Result<String, StoreError> {
    let valid = (1..=63).contains(&schema.len())
        && !schema.starts_with(|c: char| c.is_ascii_digit())
        && schema
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if valid {
        Ok(format!("\"{schema}\""))
    } else {
        Err(StoreError::new(
            StoreErrorKind::Other,
            format!(
                "invalid schema name {schema:?}: use 1 to 63 lowercase letters, digits and `_`, \
                 not starting with a digit"
            ),
        ))
    }
}

/// Creates the schema and applies the migrations it lacks, in one transaction under an
/// advisory lock, so processes starting together do not race.
pub(crate) async fn migrate(pool: &PgPool, schema: &str) -> Result<(), StoreError> {
    let mut tx = pool.begin().await.map_err(store_error)?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(MIGRATION_LOCK)
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
    sqlx::raw_sql(&format!(
        "CREATE SCHEMA IF NOT EXISTS {schema}; \
         CREATE TABLE IF NOT EXISTS {schema}.migrations \
         (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
    ))
    .execute(&mut *tx)
    .await
    .map_err(store_error)?;
    let applied: Option<i32> =
        sqlx::query_scalar(&format!("SELECT max(version) FROM {schema}.migrations"))
            .fetch_one(&mut *tx)
            .await
            .map_err(store_error)?;
    for (version, sql) in MIGRATIONS {
        if applied.is_some_and(|applied| applied >= *version) {
            continue;
        }
        sqlx::raw_sql(&sql.replace("{schema}", schema))
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
        sqlx::query(&format!(
            "INSERT INTO {schema}.migrations (version) VALUES ($1)"
        ))
        .bind(version)
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
    }
    tx.commit().await.map_err(store_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names_that_would_need_quoting_are_refused() {
        assert_eq!(quoted("webhooks_1").unwrap(), "\"webhooks_1\"");
        for bad in ["", "1st", "Upper", "a-b", "a\"b", "a;drop", &"x".repeat(64)] {
            assert!(quoted(bad).is_err(), "{bad:?}");
        }
    }
}
