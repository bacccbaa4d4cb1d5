use http::HeaderName;

/// The header the idempotency layer adds to a replayed response:
/// `Idempotent-Replayed: true`. Outer layers (metrics) and clients read it to tell a
/// replay from a delivery the handler processed.
///
/// ```
/// use http::Response;
/// use webhook_core::IDEMPOTENT_REPLAYED;
///
/// let replay = Response::builder().header("idempotent-replayed", "true").body(()).unwrap();
/// assert_eq!(replay.headers()[&IDEMPOTENT_REPLAYED], "true");
/// ```
pub static IDEMPOTENT_REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");
