use http::{HeaderMap, HeaderName};

use super::{
    Scheme, SignRequest, Signed, decode_hex_tag, hmac_tag, parse_timestamp, single_header,
};
use crate::SignatureRejection;

static SIGNATURE: HeaderName = HeaderName::from_static("stripe-signature");

/// Stripe: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>...][,v0=...]` over
/// `<t>.<body>`. The secret (`whsec_...`) is used as given, not decoded.
///
/// Every `v1` entry must be well formed and one must match; `v0` and unknown entries
/// are ignored, as Stripe's own libraries do. Exactly one `t` is required.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stripe;

impl Scheme for Stripe {
    fn name(&self) -> &'static str {
        "stripe"
    }

    fn signed_content(&self) -> &'static str {
        "`<t>.<body>`, t from the `t=` item of `Stripe-Signature`; the secret is used as given (with its `whsec_` prefix)"
    }

    fn parse<'a>(&'a self, headers: &'a HeaderMap) -> Result<Signed<'a>, SignatureRejection> {
        let value = single_header(headers, &SIGNATURE)?.ok_or_else(|| {
            SignatureRejection::MissingSignature {
                header: SIGNATURE.clone(),
            }
        })?;
        let mut signed = Signed::new();
        let mut timestamp = None;
        for item in value.split(',') {
            let (key, val) =
                item.trim()
                    .split_once('=')
                    .ok_or(SignatureRejection::MalformedHeader {
                        header: SIGNATURE.clone(),
                        reason: "expected comma-separated `key=value` items",
                    })?;
            match key {
                "t" if timestamp.is_some() => {
                    return Err(SignatureRejection::MalformedHeader {
                        header: SIGNATURE.clone(),
                        reason: "more than one `t=` item",
                    });
                }
                "t" => timestamp = Some(val),
                "v1" => signed.push_signature(decode_hex_tag(val)?),
                _ => {}
            }
        }
        let timestamp = timestamp.ok_or(SignatureRejection::MalformedHeader {
            header: SIGNATURE.clone(),
            reason: "no `t=` item",
        })?;
        if signed.signatures().is_empty() {
            return Err(SignatureRejection::MissingSignature {
                header: SIGNATURE.clone(),
            });
        }
        signed.set_timestamp(parse_timestamp(timestamp, &SIGNATURE)?);
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
        let tag = hmac_tag(secret, &[timestamp.as_bytes(), b"."], request.body);
        let mut headers = HeaderMap::new();
        headers.insert(
            SIGNATURE.clone(),
            format!("t={timestamp},v1={}", hex::encode(tag)).parse()?,
        );
        Ok(headers)
    }
}
