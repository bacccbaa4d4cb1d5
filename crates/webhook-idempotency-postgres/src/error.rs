//! sqlx errors as store errors.

use webhook_idempotency::store::{StoreError, StoreErrorKind};

/// Classifies `error` as the layer's store-error policy reads it: the server gone or
/// unreachable is [`StoreErrorKind::Unavailable`], a statement cancelled by its
/// timeout is [`StoreErrorKind::Timeout`], unreadable data is
/// [`StoreErrorKind::Corrupt`].
pub(crate) fn store_error(error: sqlx::Error) -> StoreError {
    StoreError::new(kind(&error), error.to_string())
}

fn kind(error: &sqlx::Error) -> StoreErrorKind {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_) => StoreErrorKind::Unavailable,
        sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Decode(_)
        | sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::ColumnIndexOutOfBounds { .. }
        | sqlx::Error::TypeNotFound { .. }
        | sqlx::Error::RowNotFound => StoreErrorKind::Corrupt,
        sqlx::Error::Database(database) => match database.code().as_deref() {
            // query_canceled: the statement timeout fired.
            Some("57014") => StoreErrorKind::Timeout,
            // Connection exceptions, the server shutting down or starting, out of
            // resources (too many connections, disk full).
            Some(code)
                if code.starts_with("08")
                    || code.starts_with("53")
                    || matches!(code, "57P01" | "57P02" | "57P03" | "57P05") =>
            {
                StoreErrorKind::Unavailable
            }
            _ => StoreErrorKind::Other,
        },
        _ => StoreErrorKind::Other,
    }
}

/// An operation that did not finish within its timeout.
pub(crate) fn timed_out(what: &str) -> StoreError {
    StoreError::new(
        StoreErrorKind::Timeout,
        format!("{what} did not finish within the operation timeout"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lost_connection_or_an_empty_pool_is_unavailable() {
        let io = sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionReset));
        assert_eq!(store_error(io).kind(), StoreErrorKind::Unavailable);
        assert_eq!(
            store_error(sqlx::Error::PoolTimedOut).kind(),
            StoreErrorKind::Unavailable
        );
        assert_eq!(
            store_error(sqlx::Error::RowNotFound).kind(),
            StoreErrorKind::Corrupt
        );
        assert_eq!(timed_out("claim").kind(), StoreErrorKind::Timeout);
    }
}
