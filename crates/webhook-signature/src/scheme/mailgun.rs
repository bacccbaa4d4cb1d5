use http::HeaderMap;

use super::algorithm::{Algorithm, Signature};
use super::decode::seconds;
use super::envelopes;
use super::interface::{Delivery, Scheme, SignRequest, Signed};
use crate::mac::hmac;
use crate::{SignError, SignatureRejection};
use webhook_core::envelope::Envelope;

/// Mailgun: the signature is inside the body, as `signature.timestamp`,
/// `signature.token` and `signature.signature` of a JSON webhook (or the form fields
/// `timestamp`, `token` and `signature` of a legacy one): hex HMAC-SHA256 of
/// `<timestamp><token>` with the webhook signing key.
///
/// **Mailgun does not sign the body.** The signature proves that Mailgun sent a
/// delivery at that time with that token, not what `event-data` holds; a captured
/// delivery's token and signature can be pasted onto other event data. The
/// timestamp's tolerance (5 minutes by default; Mailgun's SDKs check none) bounds
/// how long that stays possible, and deduplicating by token closes it: the event id
/// is `event-data.id`, and the token is unique per delivery.
///
/// Signing (for tests) needs the body to carry the signature: [`Mailgun::signature`]
/// computes the value to put in it, and [`Scheme::sign`] refuses.
#[derive(Debug, Clone, Copy, Default)]
pub struct Mailgun;

impl Mailgun {
    /// The hex signature of `timestamp` and `token` under the signing `key`, for a
    /// test body's `signature.signature`.
    pub fn signature(key: &str, timestamp: &str, token: &str) -> String {
        let tag = hmac(
            Algorithm::HmacSha256,
            key.as_bytes(),
            &[timestamp.as_bytes(), token.as_bytes()],
        );
        hex::encode(tag.as_bytes())
    }
}

/// The three signed fields, from a JSON body or form fields.
fn fields(body: &[u8]) -> Option<(String, String, String)> {
    let names = ["timestamp", "token", "signature"];
    if let Some([timestamp, token, signature]) =
        webhook_core::json::find_members(body, &["signature"], names)
    {
        return Some((timestamp, token, signature));
    }
    let (mut timestamp, mut token, mut signature) = (None, None, None);
    for (name, value) in form_urlencoded::parse(body) {
        let slot = match &*name {
            "timestamp" => &mut timestamp,
            "token" => &mut token,
            "signature" => &mut signature,
            _ => continue,
        };
        if slot.replace(value.into_owned()).is_some() {
            // A repeated field is ambiguous: refuse rather than pick one.
            return None;
        }
    }
    Some((timestamp?, token?, signature?))
}

impl Scheme for Mailgun {
    fn name(&self) -> &'static str {
        "mailgun"
    }

    fn signed_content(&self) -> &'static str {
        "`<timestamp><token>` from the body's `signature` (the body itself is not signed)"
    }

    fn envelope(&self) -> &'static Envelope {
        &envelopes::MAILGUN
    }

    fn parse<'a>(&'a self, delivery: &Delivery<'a>) -> Result<Signed<'a>, SignatureRejection> {
        let (timestamp, token, signature) =
            fields(delivery.body).ok_or(SignatureRejection::MalformedSignature {
                reason: "the body carries no `signature` with `timestamp`, `token` and `signature`",
            })?;
        let mut tag = [0u8; 32];
        if signature.len() != 64 {
            return Err(SignatureRejection::MalformedSignature {
                reason: "expected 64 hex characters (32 bytes)",
            });
        }
        hex::decode_to_slice(&signature, &mut tag).map_err(|_| {
            SignatureRejection::MalformedSignature {
                reason: "not hexadecimal",
            }
        })?;
        let seconds =
            seconds(timestamp.as_bytes()).ok_or(SignatureRejection::MalformedSignature {
                reason: "the body's `signature.timestamp` is not a Unix timestamp",
            })?;
        let mut signed = Signed::new();
        signed.push_signature(Signature::new(Algorithm::HmacSha256, &tag)?);
        signed.set_timestamp(seconds);
        signed.replace_body([timestamp.as_bytes(), token.as_bytes()].concat());
        Ok(signed)
    }

    fn sign(&self, _secret: &[u8], _request: &SignRequest<'_>) -> Result<HeaderMap, SignError> {
        Err(SignError::Unsupported {
            reason: "Mailgun signs inside the body: put `Mailgun::signature` in its `signature` object",
        })
    }
}
