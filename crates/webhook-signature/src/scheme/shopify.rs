use http::{HeaderMap, HeaderName};

use super::{
    Scheme, SignRequest, Signed, decode_base64_tag, encode_base64, hmac_tag, single_header,
};
use crate::SignatureRejection;

static SIGNATURE: HeaderName = HeaderName::from_static("x-shopify-hmac-sha256");
static WEBHOOK_ID: HeaderName = HeaderName::from_static("x-shopify-webhook-id");

/// Shopify: `X-Shopify-Hmac-Sha256: <base64>` over the raw body; the event id comes
/// from `X-Shopify-Webhook-Id`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Shopify;

impl Scheme for Shopify {
    fn name(&self) -> &'static str {
        "shopify"
    }

    fn signed_content(&self) -> &'static str {
        "`<body>`: the raw request body, nothing else"
    }

    fn parse<'a>(&'a self, headers: &'a HeaderMap) -> Result<Signed<'a>, SignatureRejection> {
        let value = single_header(headers, &SIGNATURE)?.ok_or_else(|| {
            SignatureRejection::MissingSignature {
                header: SIGNATURE.clone(),
            }
        })?;
        let mut signed = Signed::new();
        signed.push_signature(decode_base64_tag(value)?);
        if let Some(id) = single_header(headers, &WEBHOOK_ID)? {
            signed.set_event_id(id);
        }
        Ok(signed)
    }

    fn sign(
        &self,
        secret: &[u8],
        request: &SignRequest<'_>,
    ) -> Result<HeaderMap, http::header::InvalidHeaderValue> {
        let mut headers = HeaderMap::new();
        let tag = hmac_tag(secret, &[], request.body);
        headers.insert(SIGNATURE.clone(), encode_base64(&tag).parse()?);
        if !request.id.is_empty() {
            headers.insert(WEBHOOK_ID.clone(), request.id.parse()?);
        }
        Ok(headers)
    }
}
