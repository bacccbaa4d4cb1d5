use http::{HeaderMap, HeaderName};

use super::{
    Scheme, SignRequest, Signed, decode_hex_tag, hmac_tag, parse_timestamp, single_header,
};
use crate::SignatureRejection;

static SIGNATURE: HeaderName = HeaderName::from_static("x-slack-signature");
static TIMESTAMP: HeaderName = HeaderName::from_static("x-slack-request-timestamp");

/// Slack: `X-Slack-Signature: v0=<hex>` over `v0:<timestamp>:<body>`, with the
/// timestamp from `X-Slack-Request-Timestamp`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Slack;

impl Scheme for Slack {
    fn name(&self) -> &'static str {
        "slack"
    }

    fn signed_content(&self) -> &'static str {
        "`v0:<timestamp>:<body>`, timestamp from `X-Slack-Request-Timestamp`"
    }

    fn parse<'a>(&'a self, headers: &'a HeaderMap) -> Result<Signed<'a>, SignatureRejection> {
        let value = single_header(headers, &SIGNATURE)?.ok_or_else(|| {
            SignatureRejection::MissingSignature {
                header: SIGNATURE.clone(),
            }
        })?;
        let hex = value
            .strip_prefix("v0=")
            .ok_or(SignatureRejection::MalformedSignature {
                reason: "expected `v0=<hex>`",
            })?;
        let tag = decode_hex_tag(hex)?;
        let timestamp = single_header(headers, &TIMESTAMP)?.ok_or_else(|| {
            SignatureRejection::MissingHeader {
                header: TIMESTAMP.clone(),
            }
        })?;
        let mut signed = Signed::new();
        signed.push_signature(tag);
        signed.set_timestamp(parse_timestamp(timestamp, &TIMESTAMP)?);
        signed.push_prefix(b"v0:");
        signed.push_prefix(timestamp.as_bytes());
        signed.push_prefix(b":");
        Ok(signed)
    }

    fn sign(
        &self,
        secret: &[u8],
        request: &SignRequest<'_>,
    ) -> Result<HeaderMap, http::header::InvalidHeaderValue> {
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
}
