use http::{HeaderMap, HeaderName, HeaderValue};

use super::envelopes;
use super::fast::{Builtin, FastPath, Usual};
use super::header::find_headers;
use super::interface::{Delivery, Scheme, SignRequest, Signed};
use super::standard::StandardWebhooks;
use crate::mac::hmac;
use crate::scheme::Algorithm;
use crate::{ConfigError, SignError, SignatureRejection};
use webhook_core::envelope::Envelope;

static TOKEN: HeaderName = HeaderName::from_static("x-gitlab-token");
static IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
static WEBHOOK_SIGNATURE: HeaderName = HeaderName::from_static("webhook-signature");

/// What a presented token and each configured one are keyed over: comparing
/// `HMAC(token, LABEL)` tags compares the tokens in constant time, length included.
const LABEL: &[u8] = b"tower-webhook gitlab token";

/// GitLab: a hook's signing token (`whsec_<base64>`), which signs the delivery as
/// Standard Webhooks (`webhook-signature: v1,<base64>` over
/// `<webhook-id>.<webhook-timestamp>.<body>`), or its secret token, sent as is in
/// `X-Gitlab-Token`.
///
/// A secret starting `whsec_` is a signing token; any other is a secret token
/// (line breaks removed, as GitLab removes them before sending). A delivery with a
/// `webhook-signature` is verified as Standard Webhooks; one without is checked for
/// its token, compared in constant time. **A secret token signs nothing:** anyone who
/// sees one delivery can replay it or change its body. Prefer the signing token. The
/// event id is `Idempotency-Key` (equal to `webhook-id`), the same on every retry.
#[derive(Debug, Clone, Copy, Default)]
pub struct GitLab;

impl Scheme for GitLab {
    fn envelope(&self) -> &'static Envelope {
        &envelopes::GITLAB
    }

    fn name(&self) -> &'static str {
        "gitlab"
    }

    fn signed_content(&self) -> &'static str {
        "`<webhook-id>.<webhook-timestamp>.<body>` with a signing token; nothing with a secret token (`X-Gitlab-Token`)"
    }

    fn decode_secret(&self, secret: &str) -> Result<Vec<u8>, ConfigError> {
        if secret.starts_with("whsec_") {
            return StandardWebhooks.decode_secret(secret);
        }
        Ok(secret.replace(['\r', '\n'], "").into_bytes())
    }

    fn parse<'a>(&'a self, delivery: &Delivery<'a>) -> Result<Signed<'a>, SignatureRejection> {
        let [token, signature, id] = find_headers(
            delivery.headers,
            [&TOKEN, &WEBHOOK_SIGNATURE, &IDEMPOTENCY_KEY],
        );
        if signature.value(&WEBHOOK_SIGNATURE)?.is_some() {
            return StandardWebhooks.parse(delivery);
        }
        let (_, token) =
            token
                .bytes(&TOKEN)?
                .ok_or_else(|| SignatureRejection::MissingSignature {
                    header: TOKEN.clone(),
                })?;
        if token.is_empty() {
            return Err(SignatureRejection::MalformedSignature {
                reason: "empty token",
            });
        }
        let mut signed = Signed::new();
        signed.push_signature(hmac(Algorithm::HmacSha256, token, &[LABEL]));
        // The label signed in the body's place, borrowed: an empty body allocates
        // nothing.
        signed.push_prefix(LABEL);
        signed.replace_body(Vec::new());
        if let Some((value, id)) = id.bytes(&IDEMPOTENCY_KEY)? {
            signed.set_checked_event_id(value, id);
        }
        Ok(signed)
    }

    fn fast_path(&self) -> Option<FastPath> {
        Some(FastPath(Builtin::GitLab))
    }

    /// A secret that can travel in a header is sent as the secret token; any other
    /// (a decoded `whsec_` signing token) signs the delivery as Standard Webhooks.
    fn sign(&self, secret: &[u8], request: &SignRequest<'_>) -> Result<HeaderMap, SignError> {
        match HeaderValue::from_bytes(secret) {
            Ok(token) if secret.iter().all(u8::is_ascii_graphic) => {
                let mut headers = HeaderMap::new();
                headers.insert(TOKEN.clone(), token);
                headers.insert(IDEMPOTENCY_KEY.clone(), request.id.parse()?);
                Ok(headers)
            }
            _ => {
                let mut headers = StandardWebhooks.sign(secret, request)?;
                headers.insert(IDEMPOTENCY_KEY.clone(), request.id.parse()?);
                Ok(headers)
            }
        }
    }
}

/// A delivery signed with a signing token, read as [`GitLab::parse`] hands it to
/// [`StandardWebhooks::parse`] (see `fast.rs`): from the `webhook-` headers only,
/// since `parse` hands a delivery on only when it has a `webhook-signature`, and
/// `svix-` headers never sign a GitLab delivery.
#[inline]
pub(super) fn read_usual(headers: &HeaderMap) -> Option<Usual<'_>> {
    super::standard::read_usual_unprefixed(headers)
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;

    use super::*;

    #[test]
    fn a_signing_token_is_decoded_and_a_secret_token_kept_without_line_breaks() {
        let key = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        assert_eq!(
            GitLab.decode_secret(&format!("whsec_{key}")).unwrap(),
            [7u8; 32]
        );
        assert_eq!(GitLab.decode_secret("to\nken\r").unwrap(), b"token");
    }
}
