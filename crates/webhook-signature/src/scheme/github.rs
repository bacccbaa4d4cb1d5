use http::{HeaderMap, HeaderName};

use super::content::hmac_tag;
use super::decode::hex_tag_from_bytes;
use super::envelopes;
use super::fast::{Builtin, Encoded, FastPath, Usual};
use super::header::{find_headers, trimmed};
use super::interface::{Delivery, Scheme, SignRequest, Signed};
use crate::SignError;
use crate::SignatureRejection;
use webhook_core::envelope::Envelope;

static SIGNATURE: HeaderName = HeaderName::from_static("x-hub-signature-256");
static DELIVERY: HeaderName = HeaderName::from_static("x-github-delivery");

/// GitHub: `X-Hub-Signature-256: sha256=<hex>` over the raw body; the event id comes
/// from `X-GitHub-Delivery`.
///
/// The legacy SHA-1 header `X-Hub-Signature` is ignored.
#[derive(Debug, Clone, Copy, Default)]
pub struct GitHub;

impl Scheme for GitHub {
    fn envelope(&self) -> &'static Envelope {
        &envelopes::GITHUB
    }

    fn name(&self) -> &'static str {
        "github"
    }

    fn signed_content(&self) -> &'static str {
        "`<body>`: the raw request body, nothing else"
    }

    fn parse<'a>(&'a self, delivery: &Delivery<'a>) -> Result<Signed<'a>, SignatureRejection> {
        let headers = delivery.headers;
        let [signature, delivery] = find_headers(headers, [&SIGNATURE, &DELIVERY]);
        let tag = signature
            .parse(&SIGNATURE, |value| {
                let hex = value.strip_prefix(b"sha256=").ok_or(
                    SignatureRejection::MalformedSignature {
                        reason: "expected `sha256=<hex>`",
                    },
                )?;
                hex_tag_from_bytes(hex)
            })?
            .ok_or_else(|| SignatureRejection::MissingSignature {
                header: SIGNATURE.clone(),
            })?;
        let mut signed = Signed::new();
        signed.push_signature(tag);
        if let Some((value, id)) = delivery.bytes(&DELIVERY)? {
            signed.set_checked_event_id(value, id);
        }
        Ok(signed)
    }

    fn sign(&self, secret: &[u8], request: &SignRequest<'_>) -> Result<HeaderMap, SignError> {
        let mut headers = HeaderMap::new();
        let tag = hmac_tag(secret, &[], request.body);
        headers.insert(
            SIGNATURE.clone(),
            format!("sha256={}", hex::encode(tag)).parse()?,
        );
        if !request.id.is_empty() {
            headers.insert(DELIVERY.clone(), request.id.parse()?);
        }
        Ok(headers)
    }

    fn fast_path(&self) -> Option<FastPath> {
        Some(FastPath(Builtin::GitHub))
    }
}

/// The usual delivery, read as [`GitHub::parse`] reads it (see `fast.rs`).
#[inline]
pub(super) fn read_usual(headers: &HeaderMap) -> Option<Usual<'_>> {
    let [signature, delivery] = find_headers(headers, [&SIGNATURE, &DELIVERY]);
    let hex = trimmed(signature.one()?).strip_prefix(b"sha256=")?;
    let mut usual = Usual::new(Encoded::Hex(hex));
    usual.event_id = delivery.optional_ascii()?;
    Some(usual)
}
