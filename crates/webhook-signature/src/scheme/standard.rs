use base64::Engine as _;
use http::{HeaderMap, HeaderName};

use super::algorithm::{Algorithm, PrivateKey, PublicKey, Signature};
use super::content::hmac_tag;
use super::decode::{
    base64_tag_from_bytes, decode_base64_tag_fast, encode_base64, seconds, timestamp_from_bytes,
};
use super::envelopes;
use super::fast::{Builtin, Encoded, FastPath, Usual};
use super::generic::sign_asymmetric;
use super::header::{Found, ascii, check_ascii, find_headers, trimmed};
use super::interface::{Delivery, Scheme, SignRequest, Signed};
use crate::{ConfigError, SignError, SignatureRejection};
use webhook_core::envelope::Envelope;

struct Names {
    id: HeaderName,
    timestamp: HeaderName,
    signature: HeaderName,
}

impl Names {
    /// The names in the order `parse` reads them.
    fn all(&self) -> [&HeaderName; 3] {
        [&self.signature, &self.id, &self.timestamp]
    }
}

static WEBHOOK: Names = Names {
    id: HeaderName::from_static("webhook-id"),
    timestamp: HeaderName::from_static("webhook-timestamp"),
    signature: HeaderName::from_static("webhook-signature"),
};

static SVIX: Names = Names {
    id: HeaderName::from_static("svix-id"),
    timestamp: HeaderName::from_static("svix-timestamp"),
    signature: HeaderName::from_static("svix-signature"),
};

/// Standard Webhooks (and Svix): `webhook-signature: v1,<base64> [v1,<base64> ...]`
/// over `<webhook-id>.<webhook-timestamp>.<body>`, with a `whsec_<base64>` secret.
///
/// The `svix-id`, `svix-timestamp` and `svix-signature` headers are accepted when the
/// `webhook-` ones are absent. `v1a,<base64>` entries are Ed25519 signatures of the
/// same content, checked against the keyring's public keys (`whpk_<base64>`, added
/// with [`VerifierBuilder::public_key`](crate::VerifierBuilder::public_key)); a
/// keyring may hold secrets and public keys at once. Entries of other versions are
/// ignored, and so is a `v1a` entry that is not a 64-byte signature; every `v1` entry
/// must be well formed, and one signature must match a key of its algorithm. The
/// event id is `webhook-id`. Clerk, Resend and GitLab's signing token send Standard
/// Webhooks.
#[derive(Debug, Clone, Copy, Default)]
pub struct StandardWebhooks;

impl Scheme for StandardWebhooks {
    fn envelope(&self) -> &'static Envelope {
        &envelopes::STANDARD_WEBHOOKS
    }

    fn name(&self) -> &'static str {
        "standard"
    }

    fn signed_content(&self) -> &'static str {
        "`<webhook-id>.<webhook-timestamp>.<body>`; the secret is the base64 after `whsec_`"
    }

    fn decode_secret(&self, secret: &str) -> Result<Vec<u8>, ConfigError> {
        let encoded = secret.strip_prefix("whsec_").unwrap_or(secret);
        base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map_err(|_| ConfigError::InvalidSecret {
                reason: "a Standard Webhooks secret is `whsec_` followed by base64",
            })
    }

    fn parse<'a>(&'a self, delivery: &Delivery<'a>) -> Result<Signed<'a>, SignatureRejection> {
        let headers = delivery.headers;
        let mut names = &WEBHOOK;
        let mut found = find_headers(headers, names.all());
        let value = match found[0].raw(&names.signature)? {
            Some(value) => value,
            None => {
                names = &SVIX;
                found = find_headers(headers, names.all());
                match found[0].raw(&names.signature)? {
                    Some(value) => value,
                    None => {
                        return Err(SignatureRejection::MissingSignature {
                            header: WEBHOOK.signature.clone(),
                        });
                    }
                }
            }
        };
        let [_, id, timestamp] = found;
        let mut signed = Signed::new();
        // The usual value, one `v1,<base64>` entry, without splitting: a well-formed
        // signature holds no space or comma, so the loop below would read the same.
        // Anything it accepts is ASCII; anything else is checked before the loop.
        let single = value.strip_prefix(b"v1,").and_then(decode_base64_tag_fast);
        let entries: &[u8] = match single {
            Some(tag) => {
                signed.push_signature(tag);
                b""
            }
            None => check_ascii(value, &names.signature)?,
        };
        // What `str::split_ascii_whitespace` splits on, empty entries skipped.
        for entry in entries
            .split(u8::is_ascii_whitespace)
            .filter(|entry| !entry.is_empty())
        {
            let (version, signature) = entry
                .iter()
                .position(|&b| b == b',')
                .map(|at| (&entry[..at], &entry[at + 1..]))
                .ok_or(SignatureRejection::MalformedSignature {
                    reason: "expected space-separated `v1,<base64>` entries",
                })?;
            if version == b"v1" {
                signed.push_signature(base64_tag_from_bytes(signature)?);
            } else if version == b"v1a" {
                // One that is not a 64-byte signature is skipped, as an unknown
                // version is: it cannot be an Ed25519 signature, and a sender moving
                // to `v1a` keeps its `v1` entries.
                if let Some(signature) = decode_ed25519(signature) {
                    signed.push_signature(signature);
                }
            }
        }
        if signed.signatures().is_empty() {
            return Err(SignatureRejection::MissingSignature {
                header: names.signature.clone(),
            });
        }
        let (id_value, id) =
            id.bytes(&names.id)?
                .ok_or_else(|| SignatureRejection::MissingHeader {
                    header: names.id.clone(),
                })?;
        let (timestamp, seconds) = timestamp
            .parse(&names.timestamp, |text| {
                Ok((text, timestamp_from_bytes(text, &names.timestamp)?))
            })?
            .ok_or_else(|| SignatureRejection::MissingHeader {
                header: names.timestamp.clone(),
            })?;
        signed.set_timestamp(seconds);
        signed.set_checked_event_id(id_value, id);
        signed.set_prefix([id, b".", timestamp, b"."]);
        Ok(signed)
    }

    fn sign(&self, secret: &[u8], request: &SignRequest<'_>) -> Result<HeaderMap, SignError> {
        let timestamp = request.timestamp.to_string();
        let tag = hmac_tag(
            secret,
            &[request.id.as_bytes(), b".", timestamp.as_bytes(), b"."],
            request.body,
        );
        let mut headers = HeaderMap::new();
        headers.insert(WEBHOOK.id.clone(), request.id.parse()?);
        headers.insert(WEBHOOK.timestamp.clone(), timestamp.parse()?);
        headers.insert(
            WEBHOOK.signature.clone(),
            format!("v1,{}", encode_base64(&tag)).parse()?,
        );
        Ok(headers)
    }

    fn decode_public_key(&self, key: &str) -> Result<PublicKey, ConfigError> {
        PublicKey::ed25519(key)
    }

    fn decode_private_key(&self, key: &str) -> Result<PrivateKey, ConfigError> {
        PrivateKey::ed25519(key)
    }

    fn sign_with_private_key(
        &self,
        key: &PrivateKey,
        request: &SignRequest<'_>,
    ) -> Result<HeaderMap, SignError> {
        let timestamp = request.timestamp.to_string();
        let message = [
            request.id.as_bytes(),
            b".",
            timestamp.as_bytes(),
            b".",
            request.body,
        ]
        .concat();
        let signature = sign_asymmetric(key, &message);
        let mut headers = HeaderMap::new();
        headers.insert(WEBHOOK.id.clone(), request.id.parse()?);
        headers.insert(WEBHOOK.timestamp.clone(), timestamp.parse()?);
        headers.insert(
            WEBHOOK.signature.clone(),
            format!(
                "v1a,{}",
                base64::engine::general_purpose::STANDARD.encode(signature)
            )
            .parse()?,
        );
        Ok(headers)
    }

    fn fast_path(&self) -> Option<FastPath> {
        Some(FastPath(Builtin::Standard))
    }
}

/// A `v1a` entry: the standard base64 of a 64-byte Ed25519 signature.
fn decode_ed25519(text: &[u8]) -> Option<Signature> {
    let mut buf = [0u8; 66];
    if text.len() != 88 {
        return None;
    }
    let len = base64::engine::general_purpose::STANDARD
        .decode_slice(text, &mut buf)
        .ok()?;
    Signature::new(Algorithm::Ed25519, &buf[..len]).ok()
}

/// The usual delivery, read as [`StandardWebhooks::parse`] reads it (see `fast.rs`):
/// one `v1,<base64>` signature.
#[inline]
pub(super) fn read_usual(headers: &HeaderMap) -> Option<Usual<'_>> {
    let mut found = find_headers(headers, WEBHOOK.all());
    if matches!(found[0], Found::Absent) {
        found = find_headers(headers, SVIX.all());
    }
    read_found(found)
}

/// [`read_usual`] from the `webhook-` headers only, with no `svix-` fallback.
#[inline]
pub(super) fn read_usual_unprefixed(headers: &HeaderMap) -> Option<Usual<'_>> {
    read_found(find_headers(headers, WEBHOOK.all()))
}

/// The usual delivery in the signature, id and timestamp headers found.
#[inline]
fn read_found(found: [Found<'_>; 3]) -> Option<Usual<'_>> {
    let [signature, id, timestamp] = found;
    let encoded = trimmed(signature.one()?).strip_prefix(b"v1,")?;
    let id_value = id.one()?;
    let id = ascii(id_value)?;
    let timestamp = trimmed(timestamp.one()?);
    let mut usual = Usual::new(Encoded::Base64(encoded)).with_prefix([id, b".", timestamp, b"."]);
    usual.timestamp = Some(seconds(timestamp)?);
    usual.event_id = Some((id_value, id));
    Some(usual)
}
