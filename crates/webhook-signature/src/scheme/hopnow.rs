use http::{HeaderMap, HeaderName};

use super::content::hmac_tag;
use super::decode::hex_tag_from_bytes;
use super::fast::{Builtin, Encoded, FastPath, Usual};
use super::header::{find_headers, trimmed};
use super::interface::{Delivery, Scheme, SignRequest, Signed};
use crate::SignError;
use crate::SignatureRejection;

static SIGNATURE: HeaderName = HeaderName::from_static("x-webhook-signature");

/// The reference scheme: `X-Webhook-Signature: <lowercase hex HMAC-SHA256 of the raw body>`.
///
/// ```
/// use bytes::Bytes;
/// use webhook_signature::{Signer, Verifier, scheme::HopNow};
///
/// let body = Bytes::from_static(br#"{"id":"evt_1"}"#);
/// let headers = Signer::new(HopNow, "dev-secret").unwrap().sign(&body, 0, "").unwrap();
/// let verifier = Verifier::builder(HopNow).secret("current", "dev-secret").build().unwrap();
/// assert_eq!(verifier.verify(&headers, &body).unwrap().scheme(), "hopnow");
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct HopNow;

impl Scheme for HopNow {
    fn name(&self) -> &'static str {
        "hopnow"
    }

    fn signed_content(&self) -> &'static str {
        "`<body>`: the raw request body, nothing else"
    }

    fn parse<'a>(&'a self, delivery: &Delivery<'a>) -> Result<Signed<'a>, SignatureRejection> {
        let headers = delivery.headers;
        let [signature] = find_headers(headers, [&SIGNATURE]);
        let tag = signature
            .parse(&SIGNATURE, hex_tag_from_bytes)?
            .ok_or_else(|| SignatureRejection::MissingSignature {
                header: SIGNATURE.clone(),
            })?;
        let mut signed = Signed::new();
        signed.push_signature(tag);
        Ok(signed)
    }

    fn sign(&self, secret: &[u8], request: &SignRequest<'_>) -> Result<HeaderMap, SignError> {
        let mut headers = HeaderMap::new();
        let tag = hmac_tag(secret, &[], request.body);
        headers.insert(SIGNATURE.clone(), hex::encode(tag).parse()?);
        Ok(headers)
    }

    fn fast_path(&self) -> Option<FastPath> {
        Some(FastPath(Builtin::HopNow))
    }
}

/// The usual delivery, read as [`HopNow::parse`] reads it (see `fast.rs`).
#[inline]
pub(super) fn read_usual(headers: &HeaderMap) -> Option<Usual<'_>> {
    let [signature] = find_headers(headers, [&SIGNATURE]);
    Some(Usual::new(Encoded::Hex(trimmed(signature.one()?))))
}
