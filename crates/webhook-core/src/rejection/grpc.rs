//! The gRPC side of a rejection: which requests are gRPC, and the status codes.

use http::HeaderMap;
use http::StatusCode;
use http::header::{CONTENT_TYPE, HeaderName};

pub(super) const GRPC_STATUS: HeaderName = HeaderName::from_static("grpc-status");
pub(super) const GRPC_MESSAGE: HeaderName = HeaderName::from_static("grpc-message");

/// Whether a request is gRPC (`content-type: application/grpc`, `application/grpc+proto`,
/// ...): its client reads `grpc-status`, not an HTTP status and a JSON body.
///
/// ```
/// let mut headers = http::HeaderMap::new();
/// assert!(!webhook_core::is_grpc(&headers));
/// headers.insert("content-type", "application/grpc+proto".parse().unwrap());
/// assert!(webhook_core::is_grpc(&headers));
/// ```
pub fn is_grpc(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"application/grpc"))
}

/// The gRPC status code that matches a rejection's HTTP status.
///
/// | HTTP | gRPC |
/// |---|---|
/// | 400, 422 | 3 `INVALID_ARGUMENT` |
/// | 401 | 16 `UNAUTHENTICATED` |
/// | 403 | 7 `PERMISSION_DENIED` |
/// | 408 | 4 `DEADLINE_EXCEEDED` |
/// | 409 | 10 `ABORTED` |
/// | 413, 429 | 8 `RESOURCE_EXHAUSTED` |
/// | 500 | 13 `INTERNAL` |
/// | 503 | 14 `UNAVAILABLE` |
/// | any other | 2 `UNKNOWN` |
///
/// ```
/// use http::StatusCode;
/// assert_eq!(webhook_core::grpc_status_for(StatusCode::UNAUTHORIZED), 16);
/// assert_eq!(webhook_core::grpc_status_for(StatusCode::SERVICE_UNAVAILABLE), 14);
/// ```
pub const fn grpc_status_for(status: StatusCode) -> u16 {
    match status.as_u16() {
        400 | 422 => 3,
        401 => 16,
        403 => 7,
        408 => 4,
        409 => 10,
        413 | 429 => 8,
        500 => 13,
        503 => 14,
        _ => 2,
    }
}

/// Percent-encodes a `grpc-message` as the gRPC HTTP/2 protocol asks: every byte
/// outside printable ASCII, and `%`.
pub(super) fn percent_encode(text: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if (0x20..=0x7e).contains(&byte) && byte != b'%' {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_percent_encoded_outside_printable_ascii_and_percent() {
        assert_eq!(percent_encode("100% é\n"), "100%25 %C3%A9%0A");
        assert_eq!(percent_encode("plain text"), "plain text");
    }
}
