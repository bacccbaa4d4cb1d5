use base64::Engine as _;
use http::{HeaderMap, HeaderName};

use super::{
    Scheme, SignRequest, Signed, decode_base64_tag, decode_base64_tag_fast, encode_base64,
    hmac_tag, parse_timestamp, single_header,
};
use crate::{ConfigError, SignatureRejection};

struct Names {
    id: HeaderName,
    timestamp: HeaderName,
    signature: HeaderName,
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
/// `webhook-` ones are absent. Signatures of other versions (`v1a,` asymmetric) are
/// ignored; every `v1` entry must be well formed, and one must match. The event id is
/// `webhook-id`.
#[derive(Debug, Clone, Copy, Default)]
pub struct StandardWebhooks;

impl Scheme for StandardWebhooks {
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

    fn parse<'a>(&'a self, headers: &'a HeaderMap) -> Result<Signed<'a>, SignatureRejection> {
        let (names, value) = match single_header(headers, &WEBHOOK.signature)? {
            Some(value) => (&WEBHOOK, value),
            None => match single_header(headers, &SVIX.signature)? {
                Some(value) => (&SVIX, value),
                None => {
                    return Err(SignatureRejection::MissingSignature {
                        header: WEBHOOK.signature.clone(),
                    });
                }
            },
        };
        let mut signed = Signed::new();
        // The usual value, one `v1,<base64>` entry, without splitting: a well-formed
        // signature holds no space or comma, so the loop below would read the same.
        let single = value
            .strip_prefix("v1,")
            .and_then(|text| decode_base64_tag_fast(text.as_bytes()));
        let entries = match single {
            Some(tag) => {
                signed.push_signature(tag);
                ""
            }
            None => value,
        };
        for entry in entries.split_ascii_whitespace() {
            let (version, signature) =
                entry
                    .split_once(',')
                    .ok_or(SignatureRejection::MalformedSignature {
                        reason: "expected space-separated `v1,<base64>` entries",
                    })?;
            if version == "v1" {
                signed.push_signature(decode_base64_tag(signature)?);
            }
        }
        if signed.signatures().is_empty() {
            return Err(SignatureRejection::MissingSignature {
                header: names.signature.clone(),
            });
        }
        let id = single_header(headers, &names.id)?.ok_or_else(|| {
            SignatureRejection::MissingHeader {
                header: names.id.clone(),
            }
        })?;
        let timestamp = single_header(headers, &names.timestamp)?.ok_or_else(|| {
            SignatureRejection::MissingHeader {
                header: names.timestamp.clone(),
            }
        })?;
        signed.set_timestamp(parse_timestamp(timestamp, &names.timestamp)?);
        signed.set_event_id(id);
        signed.push_prefix(id.as_bytes());
        signed.push_prefix(b".");
        signed.push_prefix(timestamp.as_bytes());
        signed.push_prefix(b".");
        Ok(signed)
    }

    fn sign(
        &self,
        secret: &[u8],
        request: &SignRequest<'_>,
    ) -> Result<HeaderMap, http::header::InvalidHeaderValue> {
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
}
