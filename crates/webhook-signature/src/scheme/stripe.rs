use http::{HeaderMap, HeaderName};

use super::content::{Tag, hmac_tag};
use super::decode::{hex_tag_from_bytes, seconds, timestamp_from_bytes};
use super::fast::{Builtin, Encoded, FastPath, Usual};
use super::header::{check_ascii, find_headers, trimmed};
use super::interface::{Delivery, Scheme, SignRequest, Signed};
use crate::SignError;
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

    fn parse<'a>(&'a self, delivery: &Delivery<'a>) -> Result<Signed<'a>, SignatureRejection> {
        let headers = delivery.headers;
        let [signature] = find_headers(headers, [&SIGNATURE]);
        let value =
            signature
                .raw(&SIGNATURE)?
                .ok_or_else(|| SignatureRejection::MissingSignature {
                    header: SIGNATURE.clone(),
                })?;
        let mut signed = Signed::new();
        let timestamp = match usual_layout(value) {
            Some((timestamp, seconds, tag)) => {
                signed.push_signature(tag);
                signed.set_timestamp(seconds);
                timestamp
            }
            None => general_layout(value, &mut signed)?,
        };
        signed.set_prefix([timestamp, b"."]);
        Ok(signed)
    }

    fn sign(&self, secret: &[u8], request: &SignRequest<'_>) -> Result<HeaderMap, SignError> {
        let timestamp = request.timestamp.to_string();
        let tag = hmac_tag(secret, &[timestamp.as_bytes(), b"."], request.body);
        let mut headers = HeaderMap::new();
        headers.insert(
            SIGNATURE.clone(),
            format!("t={timestamp},v1={}", hex::encode(tag)).parse()?,
        );
        Ok(headers)
    }

    fn fast_path(&self) -> Option<FastPath> {
        Some(FastPath(Builtin::Stripe))
    }
}

/// `t=<timestamp>,v1=<64 hex>`, what Stripe sends, read without splitting: the
/// timestamp, its value and the tag, or `None` for anything else. Whatever it accepts,
/// [`general_layout`] reads the same, and all of it is ASCII.
fn usual_layout(value: &[u8]) -> Option<(&[u8], i64, Tag)> {
    let (timestamp, seconds, hex) = usual_layout_text(value)?;
    Some((timestamp, seconds, hex_tag_from_bytes(hex).ok()?))
}

/// [`usual_layout`] but for decoding the signature: the timestamp, its value and
/// the 64 characters where the hex signature should be.
#[inline]
fn usual_layout_text(value: &[u8]) -> Option<(&[u8], i64, &[u8])> {
    let rest = value.strip_prefix(b"t=")?;
    let (timestamp, signature) = rest.split_at_checked(rest.len().checked_sub(68)?)?;
    let hex = signature.strip_prefix(b",v1=")?;
    Some((timestamp, seconds(timestamp)?, hex))
}

/// The usual delivery, read as [`Stripe::parse`] reads it (see `fast.rs`): only the
/// layout [`usual_layout`] reads.
#[inline]
pub(super) fn read_usual(headers: &HeaderMap) -> Option<Usual<'_>> {
    let [signature] = find_headers(headers, [&SIGNATURE]);
    let (timestamp, seconds, hex) = usual_layout_text(trimmed(signature.one()?))?;
    let mut usual = Usual::new(Encoded::Hex(hex)).with_prefix([timestamp, b"."]);
    usual.timestamp = Some(seconds);
    Some(usual)
}

/// Any layout: comma-separated `key=value` items, each `v1` a signature, one `t`.
/// Returns the timestamp after recording it and the signatures in `signed`.
fn general_layout<'a>(
    value: &'a [u8],
    signed: &mut Signed<'a>,
) -> Result<&'a [u8], SignatureRejection> {
    let value = check_ascii(value, &SIGNATURE)?;
    let mut timestamp = None;
    for item in value.split(|&b| b == b',') {
        let item = item.trim_ascii();
        let (key, val) = item
            .iter()
            .position(|&b| b == b'=')
            .map(|at| (&item[..at], &item[at + 1..]))
            .ok_or(SignatureRejection::MalformedHeader {
                header: SIGNATURE.clone(),
                reason: "expected comma-separated `key=value` items",
            })?;
        match key {
            b"t" if timestamp.is_some() => {
                return Err(SignatureRejection::MalformedHeader {
                    header: SIGNATURE.clone(),
                    reason: "more than one `t=` item",
                });
            }
            b"t" => timestamp = Some(val),
            b"v1" => signed.push_signature(hex_tag_from_bytes(val)?),
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
    signed.set_timestamp(timestamp_from_bytes(timestamp, &SIGNATURE)?);
    Ok(timestamp)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the general reader makes of `value`: the timestamp, its value, the tags.
    fn general(value: &[u8]) -> Option<(Vec<u8>, i64, Vec<Tag>)> {
        let mut signed = Signed::new();
        let timestamp = general_layout(value, &mut signed).ok()?;
        Some((
            timestamp.to_vec(),
            signed.timestamp()?,
            signed
                .signatures()
                .iter()
                .map(|signature| signature.as_bytes().try_into().unwrap())
                .collect(),
        ))
    }

    fn usual(value: &[u8]) -> Option<(Vec<u8>, i64, Vec<Tag>)> {
        usual_layout(value)
            .map(|(timestamp, seconds, tag)| (timestamp.to_vec(), seconds, vec![tag]))
    }

    const HEX: &str = "5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd";

    #[test]
    fn the_usual_layout_reads_what_stripe_sends_and_defers_the_rest() {
        let sent = format!("t=1492774577,v1={HEX}");
        assert!(usual(sent.as_bytes()).is_some());
        assert_eq!(usual(sent.as_bytes()), general(sent.as_bytes()));
        for other in [
            format!("t=1492774577, v1={HEX}"),
            format!("t=1492774577,v1={HEX},v0={HEX}"),
            format!("v1={HEX},t=1492774577"),
            format!("t=1492774577,v1={}", HEX.to_uppercase()),
            format!("t=,v1={HEX}"),
            format!("t=1x,v1={HEX}"),
            format!("t=1,v1={}", &HEX[1..]),
            format!("t=1,v1={HEX}0"),
            format!("t=1,v2={HEX}"),
            format!("t=1;v1={HEX}"),
        ] {
            if let Some(read) = usual(other.as_bytes()) {
                assert_eq!(Some(read), general(other.as_bytes()), "{other}");
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn the_usual_layout_agrees_with_the_general_one(
            timestamp in "[0-9]{0,20}|[0-9 =,a]{0,6}",
            separator in ",v1=|, v1=|,v0=|,v1|;v1=",
            hex in "[0-9a-fA-F]{62,66}|[0-9a-f,= ]{64}",
        ) {
            let value = format!("t={timestamp}{separator}{hex}");
            if let Some(read) = usual(value.as_bytes()) {
                proptest::prop_assert_eq!(Some(read), general(value.as_bytes()));
            }
        }
    }
}
