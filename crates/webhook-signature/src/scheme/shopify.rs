use http::{HeaderMap, HeaderName};

use super::content::hmac_tag;
use super::decode::{base64_tag_from_bytes, encode_base64};
use super::envelopes;
use super::fast::{Builtin, Encoded, FastPath, Usual};
use super::header::{find_headers, trimmed};
use super::interface::{Delivery, Scheme, SignRequest, Signed};
use crate::SignError;
use crate::SignatureRejection;
use webhook_core::envelope::Envelope;

static SIGNATURE: HeaderName = HeaderName::from_static("x-shopify-hmac-sha256");
static WEBHOOK_ID: HeaderName = HeaderName::from_static("x-shopify-webhook-id");

/// Shopify: `X-Shopify-Hmac-Sha256: <base64>` over the raw body; the event id comes
/// from `X-Shopify-Webhook-Id`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Shopify;

impl Scheme for Shopify {
    fn envelope(&self) -> &'static Envelope {
        &envelopes::SHOPIFY
    }

    fn name(&self) -> &'static str {
        "shopify"
    }

    fn signed_content(&self) -> &'static str {
        "`<body>`: the raw request body, nothing else"
    }

    fn parse<'a>(&'a self, delivery: &Delivery<'a>) -> Result<Signed<'a>, SignatureRejection> {
        let headers = delivery.headers;
        let [signature, webhook_id] = find_headers(headers, [&SIGNATURE, &WEBHOOK_ID]);
        let tag = signature
            .parse(&SIGNATURE, base64_tag_from_bytes)?
            .ok_or_else(|| SignatureRejection::MissingSignature {
                header: SIGNATURE.clone(),
            })?;
        let mut signed = Signed::new();
        signed.push_signature(tag);
        if let Some((value, id)) = webhook_id.bytes(&WEBHOOK_ID)? {
            signed.set_checked_event_id(value, id);
        }
        Ok(signed)
    }

    fn sign(&self, secret: &[u8], request: &SignRequest<'_>) -> Result<HeaderMap, SignError> {
        let mut headers = HeaderMap::new();
        let tag = hmac_tag(secret, &[], request.body);
        headers.insert(SIGNATURE.clone(), encode_base64(&tag).parse()?);
        if !request.id.is_empty() {
            headers.insert(WEBHOOK_ID.clone(), request.id.parse()?);
        }
        Ok(headers)
    }

    fn fast_path(&self) -> Option<FastPath> {
        Some(FastPath(Builtin::Shopify))
    }
}

/// The usual delivery, read as [`Shopify::parse`] reads it (see `fast.rs`).
#[inline]
pub(super) fn read_usual(headers: &HeaderMap) -> Option<Usual<'_>> {
    let [signature, webhook_id] = find_headers(headers, [&SIGNATURE, &WEBHOOK_ID]);
    let mut usual = Usual::new(Encoded::Base64(trimmed(signature.one()?)));
    usual.event_id = webhook_id.optional_ascii()?;
    Some(usual)
}
