use http::{HeaderMap, HeaderName};
use webhook_core::Handshake;

use super::content::hmac_tag;
use super::decode::{hex_tag_from_bytes, seconds, timestamp_from_bytes};
use super::envelopes;
use super::fast::{Builtin, Encoded, FastPath, Usual};
use super::header::{find_headers, trimmed};
use super::interface::{Delivery, Scheme, SignRequest, Signed};
use crate::SignError;
use crate::SignatureRejection;
use webhook_core::envelope::Envelope;

static SIGNATURE: HeaderName = HeaderName::from_static("x-slack-signature");
static TIMESTAMP: HeaderName = HeaderName::from_static("x-slack-request-timestamp");

/// Slack: `X-Slack-Signature: v0=<hex>` over `v0:<timestamp>:<body>`, with the
/// timestamp from `X-Slack-Request-Timestamp`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Slack;

impl Scheme for Slack {
    fn envelope(&self) -> &'static Envelope {
        &envelopes::SLACK
    }

    fn name(&self) -> &'static str {
        "slack"
    }

    fn signed_content(&self) -> &'static str {
        "`v0:<timestamp>:<body>`, timestamp from `X-Slack-Request-Timestamp`"
    }

    fn handshake(&self) -> Option<Handshake> {
        Some(Handshake::SlackUrlVerification)
    }

    fn parse<'a>(&'a self, delivery: &Delivery<'a>) -> Result<Signed<'a>, SignatureRejection> {
        let headers = delivery.headers;
        let [signature, timestamp] = find_headers(headers, [&SIGNATURE, &TIMESTAMP]);
        let tag = signature
            .parse(&SIGNATURE, |value| {
                let hex =
                    value
                        .strip_prefix(b"v0=")
                        .ok_or(SignatureRejection::MalformedSignature {
                            reason: "expected `v0=<hex>`",
                        })?;
                hex_tag_from_bytes(hex)
            })?
            .ok_or_else(|| SignatureRejection::MissingSignature {
                header: SIGNATURE.clone(),
            })?;
        let (timestamp, seconds) = timestamp
            .parse(&TIMESTAMP, |text| {
                Ok((text, timestamp_from_bytes(text, &TIMESTAMP)?))
            })?
            .ok_or_else(|| SignatureRejection::MissingHeader {
                header: TIMESTAMP.clone(),
            })?;
        let mut signed = Signed::new();
        signed.push_signature(tag);
        signed.set_timestamp(seconds);
        signed.set_prefix([b"v0:", timestamp, b":"]);
        Ok(signed)
    }

    fn sign(&self, secret: &[u8], request: &SignRequest<'_>) -> Result<HeaderMap, SignError> {
        let timestamp = request.timestamp.to_string();
        let tag = hmac_tag(secret, &[b"v0:", timestamp.as_bytes(), b":"], request.body);
        let mut headers = HeaderMap::new();
        headers.insert(
            SIGNATURE.clone(),
            format!("v0={}", hex::encode(tag)).parse()?,
        );
        headers.insert(TIMESTAMP.clone(), timestamp.parse()?);
        Ok(headers)
    }

    fn fast_path(&self) -> Option<FastPath> {
        Some(FastPath(Builtin::Slack))
    }
}

/// The usual delivery, read as [`Slack::parse`] reads it (see `fast.rs`).
#[inline]
pub(super) fn read_usual(headers: &HeaderMap) -> Option<Usual<'_>> {
    let [signature, timestamp] = find_headers(headers, [&SIGNATURE, &TIMESTAMP]);
    let hex = trimmed(signature.one()?).strip_prefix(b"v0=")?;
    let timestamp = trimmed(timestamp.one()?);
    let mut usual = Usual::new(Encoded::Hex(hex)).with_prefix([b"v0:", timestamp, b":"]);
    usual.timestamp = Some(seconds(timestamp)?);
    Some(usual)
}
