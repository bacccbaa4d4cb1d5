use http::{HeaderMap, HeaderName, Response};
use webhook_core::{EventType, Handshake, IDEMPOTENT_REPLAYED, RejectionCode};

/// The label value for anything outside an allow-list: an event type that is not
/// configured, a rejection code that is not known.
pub const OTHER: &str = "other";

/// The `event_type` label value when no type is known: the stack failed (`Err`, or a
/// 5xx) before the event router tagged the response.
pub const UNKNOWN: &str = "unknown";

/// What became of a delivery, read from the response the stack produced (never from
/// the request: signature headers are not read).
///
/// The rules, in order:
///
/// | the response | outcome |
/// |---|---|
/// | `Err` from the inner service | [`Failed`](Self::Failed) |
/// | a [`Handshake`] (the signature layer answered a provider's setup handshake) | [`Handshake`](Self::Handshake) with its label |
/// | [`RejectionCode`] `rate_limited`; or, without a code and without an [`EventType`], status 429 or `grpc-status: 8` | [`RateLimited`](Self::RateLimited) |
/// | `Idempotent-Replayed: true`, or code `in_flight` | [`Duplicate`](Self::Duplicate) |
/// | a 5xx from the handler (an [`EventType`] is present), or a 5xx without a code | [`Failed`](Self::Failed) |
/// | any other [`RejectionCode`] (a layer's refusal: `signature_mismatch`, `store_unavailable`, ...) | [`Rejected`](Self::Rejected) with the code |
/// | a 4xx without a code | [`Rejected`](Self::Rejected) with `other` |
/// | anything else (1xx to 3xx) | [`Processed`](Self::Processed) |
///
/// ```
/// use http::{Response, StatusCode};
/// use webhook_core::Problem;
/// use webhook_observe::DeliveryOutcome;
///
/// let ok = Response::new(());
/// assert_eq!(DeliveryOutcome::of(&ok), DeliveryOutcome::Processed);
///
/// let forged = Problem::new(StatusCode::UNAUTHORIZED, "signature_mismatch", "no key matched").into_response();
/// assert_eq!(DeliveryOutcome::of(&forged), DeliveryOutcome::Rejected { reason: "signature_mismatch" });
///
/// let replay = Response::builder().header("idempotent-replayed", "true").body(()).unwrap();
/// assert_eq!(DeliveryOutcome::of(&replay), DeliveryOutcome::Duplicate);
///
/// let mut answered = Response::new(());
/// answered.extensions_mut().insert(webhook_core::Handshake::ZoomUrlValidation);
/// assert_eq!(DeliveryOutcome::of(&answered), DeliveryOutcome::Handshake { kind: "zoom_url_validation" });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DeliveryOutcome {
    /// The handler answered 1xx to 3xx.
    Processed,
    /// A layer refused the delivery (or the handler answered 4xx).
    Rejected {
        /// The [`RejectionCode`], or [`OTHER`] for a 4xx without one.
        reason: &'static str,
    },
    /// A copy of a delivery already processed (replayed) or being processed (409
    /// `in_flight`).
    Duplicate,
    /// A rate-limit layer refused the delivery.
    RateLimited,
    /// The signature layer answered a provider's setup handshake (the handler never
    /// saw it).
    Handshake {
        /// The [`Handshake`]'s label ([`Handshake::as_str`]).
        kind: &'static str,
    },
    /// Processing failed: the inner service returned `Err`, or a 5xx not produced by a
    /// layer's rejection.
    Failed,
}

impl DeliveryOutcome {
    /// Classifies a response; see the table on [`DeliveryOutcome`].
    pub fn of<B>(response: &Response<B>) -> Self {
        let extensions = response.extensions();
        if let Some(handshake) = extensions.get::<Handshake>() {
            return Self::Handshake {
                kind: handshake.as_str(),
            };
        }
        let code = extensions.get::<RejectionCode>().map(|code| code.0);
        let handled = extensions.get::<EventType>().is_some();
        let status = response.status();
        let headers = response.headers();
        match code {
            Some("rate_limited") => return Self::RateLimited,
            Some("in_flight") => return Self::Duplicate,
            None if !handled && (status.as_u16() == 429 || grpc_status(headers) == Some(8)) => {
                // Rate limits answered without a code (a custom rejection response, or
                // the gRPC mapping of `webhook-ratelimit`).
                return Self::RateLimited;
            }
            _ => {}
        }
        if headers
            .get(&IDEMPOTENT_REPLAYED)
            .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"true"))
        {
            return Self::Duplicate;
        }
        if status.is_server_error() && (handled || code.is_none()) {
            return Self::Failed;
        }
        match code {
            Some(reason) => Self::Rejected { reason },
            None if status.is_client_error() => Self::Rejected { reason: OTHER },
            None => Self::Processed,
        }
    }

    /// The outcome's name: `processed`, `rejected`, `duplicate`, `rate_limited`,
    /// `handshake` or `failed`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Processed => "processed",
            Self::Rejected { .. } => "rejected",
            Self::Duplicate => "duplicate",
            Self::RateLimited => "rate_limited",
            Self::Handshake { .. } => "handshake",
            Self::Failed => "failed",
        }
    }

    /// `true` for [`Rejected`](Self::Rejected) and [`Failed`](Self::Failed): what the
    /// [`ErrorRateMonitor`](crate::ErrorRateMonitor) and the Prometheus error-ratio
    /// alert count as errors. Duplicates and handshakes are successes; rate-limited
    /// deliveries are neither (the layer leaves them out of the monitor).
    pub fn is_error(&self) -> bool {
        matches!(self, Self::Rejected { .. } | Self::Failed)
    }
}

/// Named once, not parsed from a string at every lookup.
static GRPC_STATUS: HeaderName = HeaderName::from_static("grpc-status");

fn grpc_status(headers: &HeaderMap) -> Option<u16> {
    headers.get(&GRPC_STATUS)?.to_str().ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use http::StatusCode;
    use webhook_core::Problem;

    use super::*;

    fn response(status: u16) -> Response<()> {
        let mut response = Response::new(());
        *response.status_mut() = StatusCode::from_u16(status).unwrap();
        response
    }

    fn problem(status: u16, code: &'static str) -> Response<bytes::Bytes> {
        Problem::new(StatusCode::from_u16(status).unwrap(), code, "x").into_response()
    }

    #[test]
    fn classification_table() {
        assert_eq!(
            DeliveryOutcome::of(&response(200)),
            DeliveryOutcome::Processed
        );
        assert_eq!(
            DeliveryOutcome::of(&response(204)),
            DeliveryOutcome::Processed
        );
        assert_eq!(
            DeliveryOutcome::of(&problem(401, "signature_mismatch")),
            DeliveryOutcome::Rejected {
                reason: "signature_mismatch"
            }
        );
        // A layer's 5xx rejection is a rejection with its code...
        assert_eq!(
            DeliveryOutcome::of(&problem(503, "store_unavailable")),
            DeliveryOutcome::Rejected {
                reason: "store_unavailable"
            }
        );
        // ...but the handler's own 5xx problem is a processing failure.
        let mut handled = problem(503, "ordering_unavailable");
        handled
            .extensions_mut()
            .insert(EventType::new("payout.created"));
        assert_eq!(DeliveryOutcome::of(&handled), DeliveryOutcome::Failed);
        assert_eq!(DeliveryOutcome::of(&response(500)), DeliveryOutcome::Failed);
        assert_eq!(
            DeliveryOutcome::of(&response(422)),
            DeliveryOutcome::Rejected { reason: OTHER }
        );
        assert_eq!(
            DeliveryOutcome::of(&problem(409, "in_flight")),
            DeliveryOutcome::Duplicate
        );
        assert_eq!(
            DeliveryOutcome::of(&problem(429, "rate_limited")),
            DeliveryOutcome::RateLimited
        );
        assert_eq!(
            DeliveryOutcome::of(&response(429)),
            DeliveryOutcome::RateLimited
        );
        let grpc = Response::builder()
            .header("grpc-status", "8")
            .body(())
            .unwrap();
        assert_eq!(DeliveryOutcome::of(&grpc), DeliveryOutcome::RateLimited);
        let grpc_ok = Response::builder()
            .header("grpc-status", "0")
            .body(())
            .unwrap();
        assert_eq!(DeliveryOutcome::of(&grpc_ok), DeliveryOutcome::Processed);
        let replay = Response::builder()
            .status(200)
            .header("idempotent-replayed", "true")
            .body(())
            .unwrap();
        assert_eq!(DeliveryOutcome::of(&replay), DeliveryOutcome::Duplicate);
    }

    #[test]
    fn errors_are_rejections_and_failures() {
        assert!(DeliveryOutcome::Failed.is_error());
        assert!(DeliveryOutcome::Rejected { reason: "x" }.is_error());
        assert!(!DeliveryOutcome::Processed.is_error());
        assert!(!DeliveryOutcome::Duplicate.is_error());
        assert!(!DeliveryOutcome::RateLimited.is_error());
        assert!(!DeliveryOutcome::Handshake { kind: "x_crc" }.is_error());
    }
}
