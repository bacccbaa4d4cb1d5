use std::borrow::Cow;

use base64::Engine as _;
use http::{HeaderMap, HeaderName};
use sha2::Digest as _;

use super::algorithm::{Algorithm, Signature};
use super::envelopes;
use super::header::single_header;
use super::interface::{Delivery, Scheme, SignRequest, Signed};
use crate::mac::hmac;
use crate::{SignError, SignatureRejection};
use webhook_core::envelope::Envelope;

static SIGNATURE: HeaderName = HeaderName::from_static("x-twilio-signature");

const FORM: &str = "application/x-www-form-urlencoded";

/// Twilio: `X-Twilio-Signature: <base64>`, HMAC-SHA1 with the account's Auth Token
/// over the URL Twilio called followed by the POST parameters, names sorted, each
/// name then its values (sorted, repeated ones once), all URL-decoded.
///
/// A JSON body is covered another way: Twilio adds `bodySHA256=<hex SHA-256 of the
/// body>` to the URL's query, signs the URL alone, and the body must hash to it. A
/// body that is neither form parameters nor covered by `bodySHA256` is refused, so
/// nothing unsigned reaches the handler.
///
/// The URL is the verifier's [public URL](crate::VerifierBuilder::public_url) joined
/// with the request's path and query. As Twilio's SDKs do, the URL is tried with
/// its port removed and with the scheme's default port added (Twilio signs either),
/// and with `'` in the query written `%27` (as twilio-node's URL parser writes it).
/// Twilio signs no timestamp, so a captured delivery can be replayed: deduplicate
/// (its `I-Twilio-Idempotency-Token`, or the message SID in the body).
#[derive(Debug, Clone, Copy, Default)]
pub struct Twilio;

impl Scheme for Twilio {
    fn envelope(&self) -> &'static Envelope {
        &envelopes::TWILIO
    }

    fn name(&self) -> &'static str {
        "twilio"
    }

    fn signed_content(&self) -> &'static str {
        "`<URL><sorted form parameters>`, HMAC-SHA1 with the Auth Token (JSON bodies: `<URL>` with `bodySHA256`)"
    }

    fn algorithm(&self) -> Algorithm {
        Algorithm::HmacSha1
    }

    fn signs_url(&self) -> bool {
        true
    }

    fn parse<'a>(&'a self, delivery: &Delivery<'a>) -> Result<Signed<'a>, SignatureRejection> {
        let value = single_header(delivery.headers, &SIGNATURE)?.ok_or_else(|| {
            SignatureRejection::MissingSignature {
                header: SIGNATURE.clone(),
            }
        })?;
        let mut buf = [0u8; 21];
        if value.len() != 28 {
            return Err(SignatureRejection::MalformedSignature {
                reason: "expected 28 base64 characters (a 20-byte HMAC-SHA1 tag)",
            });
        }
        let len = base64::engine::general_purpose::STANDARD
            .decode_slice(value, &mut buf)
            .map_err(|_| SignatureRejection::MalformedSignature {
                reason: "not base64",
            })?;
        let mut signed = Signed::new();
        signed.push_signature(Signature::new(Algorithm::HmacSha1, &buf[..len])?);
        let url = delivery.required_url()?;
        // Read as every signed header is: copies that differ are refused, so the
        // body's reading cannot depend on which copy a reader takes.
        let form = single_header(delivery.headers, &http::header::CONTENT_TYPE)?
            .and_then(|value| value.split(';').next())
            .is_some_and(|kind| kind.trim().eq_ignore_ascii_case(FORM));
        let parameters = parameters(url, form, delivery.body)?;
        let mut candidates = spellings(url).into_iter();
        let first = candidates.next().unwrap_or(Cow::Borrowed(url));
        signed.replace_body(content(&first, &parameters));
        for candidate in candidates {
            signed.push_alternative_body(content(&candidate, &parameters));
        }
        Ok(signed)
    }

    fn sign(&self, secret: &[u8], request: &SignRequest<'_>) -> Result<HeaderMap, SignError> {
        let url = request.required_url()?;
        let parameters =
            parameters(url, true, request.body).map_err(|_| SignError::Unsupported {
                reason: "the body's SHA-256 differs from the URL's bodySHA256",
            })?;
        let tag = hmac(Algorithm::HmacSha1, secret, &[&content(url, &parameters)]);
        let mut headers = HeaderMap::new();
        if body_hash(url).is_none() {
            headers.insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static(FORM),
            );
        }
        headers.insert(
            SIGNATURE.clone(),
            base64::engine::general_purpose::STANDARD
                .encode(tag.as_bytes())
                .parse()?,
        );
        Ok(headers)
    }
}

/// A form parameter's name and value, decoded.
type Parameter<'b> = (Cow<'b, str>, Cow<'b, str>);

/// The POST parameters the signature covers, sorted: none when the URL carries
/// `bodySHA256` (then the body must hash to it), else the form body's.
fn parameters<'b>(
    url: &str,
    form: bool,
    body: &'b [u8],
) -> Result<Vec<Parameter<'b>>, SignatureRejection> {
    if let Some(expected) = body_hash(url) {
        let actual = hex::encode(sha2::Sha256::digest(body));
        // The hash is public (it is in the URL): a plain comparison reveals nothing.
        if !actual.eq_ignore_ascii_case(&expected) {
            return Err(SignatureRejection::SignatureMismatch {
                signed_content: "`<URL>`; the body's SHA-256 differs from the URL's bodySHA256",
            });
        }
        return Ok(Vec::new());
    }
    if !form && !body.is_empty() {
        return Err(SignatureRejection::MalformedSignature {
            reason: "the body is neither form parameters nor covered by the URL's bodySHA256",
        });
    }
    // Checked once as a whole: `&` and `=` are ASCII, so every piece of a UTF-8 body
    // is UTF-8, and a piece with nothing to decode is borrowed as it is. A body that is
    // not UTF-8 has a piece that is not, decoded or not.
    let body = std::str::from_utf8(body).map_err(not_utf8)?;
    let mut parameters = Vec::with_capacity(memchr::memchr_iter(b'&', body.as_bytes()).count() + 1);
    for pair in body.split('&').filter(|pair| !pair.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        parameters.push((form_decode(name)?, form_decode(value)?));
    }
    parameters.sort();
    parameters.dedup();
    Ok(parameters)
}

/// The refusal of a form that is not UTF-8, decoded or as sent.
fn not_utf8(_: std::str::Utf8Error) -> SignatureRejection {
    SignatureRejection::MalformedSignature {
        reason: "a form parameter is not UTF-8 once decoded",
    }
}

/// A form name or value, decoded (`+` is a space; `%` and two hex digits a byte, any
/// other `%` itself), refused unless it is UTF-8: a lossy decoding would let bytes
/// that were never signed verify. Borrowed when there is nothing to decode.
fn form_decode(text: &str) -> Result<Cow<'_, str>, SignatureRejection> {
    if !text.bytes().any(|b| b == b'+' || b == b'%') {
        return Ok(Cow::Borrowed(text));
    }
    let text = text.as_bytes();
    let mut decoded = Vec::with_capacity(text.len());
    // Runs without `%` are copied with `+` replaced, branch-free; each `%` is then
    // decoded with the two digits after it, or kept.
    let mut rest = text;
    loop {
        let run = rest.iter().position(|&b| b == b'%').unwrap_or(rest.len());
        decoded.extend(
            rest[..run]
                .iter()
                .map(|&b| if b == b'+' { b' ' } else { b }),
        );
        let Some(after) = rest.get(run + 1..) else {
            break;
        };
        match after {
            [high, low, tail @ ..] if hex_value(*high).is_some() && hex_value(*low).is_some() => {
                let value = |digit| hex_value(digit).unwrap_or_default();
                decoded.push(value(*high) << 4 | value(*low));
                rest = tail;
            }
            _ => {
                decoded.push(b'%');
                rest = after;
            }
        }
    }
    String::from_utf8(decoded)
        .map(Cow::Owned)
        .map_err(|error| not_utf8(error.utf8_error()))
}

/// The value of a hex digit, either case.
fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

/// The `bodySHA256` parameter of the URL's query, if it has one.
fn body_hash(url: &str) -> Option<String> {
    let query = url.split_once('?').map_or("", |(_, query)| query);
    let query = query.split_once('#').map_or(query, |(query, _)| query);
    form_urlencoded::parse(query.as_bytes())
        .find(|(name, _)| name == "bodySHA256")
        .map(|(_, value)| value.into_owned())
}

/// `url` followed by each parameter's name and value, in one allocation.
fn content(url: &str, parameters: &[Parameter<'_>]) -> Vec<u8> {
    let len = parameters
        .iter()
        .map(|(name, value)| name.len() + value.len())
        .sum::<usize>();
    let mut content = Vec::with_capacity(url.len() + len);
    content.extend_from_slice(url.as_bytes());
    for (name, value) in parameters {
        content.extend_from_slice(name.as_bytes());
        content.extend_from_slice(value.as_bytes());
    }
    content
}

/// The spellings of `url` Twilio's SDKs accept: without its port, with the scheme's
/// default port when it has none, and each with `'` in the query as `%27`.
fn spellings(url: &str) -> Vec<Cow<'_, str>> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return vec![Cow::Borrowed(url)];
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    let (userinfo, host_port) = match authority.rfind('@') {
        Some(at) => (&authority[..=at], &authority[at + 1..]),
        None => ("", authority),
    };
    // A port follows the last `:` outside an IPv6 literal's brackets.
    let (host, port) = match host_port.rfind(':') {
        Some(at) if !host_port[at..].contains(']') => {
            (&host_port[..at], Some(&host_port[at + 1..]))
        }
        _ => (host_port, None),
    };
    let (without_port, with_port) = match (port, scheme) {
        (Some(port), _) => (
            Cow::Owned(format!("{scheme}://{userinfo}{host}{path}")),
            Cow::Owned(format!("{scheme}://{userinfo}{host}:{port}{path}")),
        ),
        // The usual URL, given without its port, is the first spelling as it is.
        (None, "https") => (
            url.into(),
            format!("{scheme}://{userinfo}{host}:443{path}").into(),
        ),
        (None, "http") => (
            url.into(),
            format!("{scheme}://{userinfo}{host}:80{path}").into(),
        ),
        (None, _) => (url.into(), url.into()),
    };
    let mut spellings = vec![without_port, with_port];
    let escaped: Vec<Cow<'_, str>> = spellings
        .iter()
        .filter_map(|spelling| {
            let (base, query) = spelling.split_once('?')?;
            query
                .contains('\'')
                .then(|| format!("{base}?{}", query.replace('\'', "%27")).into())
        })
        .collect();
    spellings.extend(escaped);
    spellings.dedup();
    spellings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_parameters_that_are_not_utf8_once_decoded_are_refused() {
        // Decoded lossily, `%fe` and `%ff` would both read U+FFFD: a delivery signed
        // with one would verify with the other.
        for body in [&b"a=%fe"[..], b"%ff=1", b"a=b&c=\xff"] {
            assert!(matches!(
                parameters("https://example.com/", true, body),
                Err(SignatureRejection::MalformedSignature { .. })
            ));
        }
        let decoded = parameters("https://example.com/", true, b"b=2&a=x+y%21&a=x+y%21").unwrap();
        assert_eq!(
            decoded,
            [("a".into(), "x y!".into()), ("b".into(), "2".into())]
        );
        // `+` and `%XX` decoded in one pass; a `%` without two hex digits kept.
        for (text, expected) in [
            ("a+b%2Bc%2bd", "a b+c+d"),
            ("%+1", "% 1"),
            ("100%", "100%"),
            ("%4", "%4"),
            ("%zz%41", "%zzA"),
            ("%E2%9C%93+ok", "\u{2713} ok"),
            ("plain", "plain"),
        ] {
            assert_eq!(form_decode(text).unwrap(), expected);
        }
    }

    /// Found by fuzzing: the signer left the form's `Content-Type` out for any URL
    /// whose text held `bodySHA256=`, and the verifier read the first of several
    /// `Content-Type` copies.
    #[test]
    fn the_form_is_signed_and_read_whatever_the_url_holds_and_one_content_type_only() {
        use crate::{Signer, Verifier};
        let url = "https://example.com/a?xbodySHA256=1";
        let signer = Signer::new(Twilio, "token").unwrap();
        let request = SignRequest::new(b"A=1", 0, "x").with_url(url);
        let mut headers = signer.sign_request(&request).unwrap();
        assert_eq!(headers[http::header::CONTENT_TYPE], FORM);
        let verifier = Verifier::builder(Twilio)
            .secret("k", "token")
            .public_url("https://example.com")
            .build()
            .unwrap();
        let uri: http::Uri = "/a?xbodySHA256=1".parse().unwrap();
        let body = bytes::Bytes::from_static(b"A=1");
        let verify = |headers: &HeaderMap| {
            verifier.verify_request(&http::Method::POST, Some(&uri), headers, &body)
        };
        assert!(verify(&headers).is_ok());
        headers.append(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("text/plain"),
        );
        assert!(matches!(
            verify(&headers),
            Err(SignatureRejection::ConflictingHeaders { .. })
        ));
    }

    #[test]
    fn form_decoding_agrees_with_percent_encoding() {
        let alphabet: &[u8] = b"a+%2Bfz\xff\xc3\xa9";
        let mut state = 0x2545_f491_u32;
        for _ in 0..20_000 {
            let len = (state % 9) as usize;
            let text: Vec<u8> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 17;
                    state ^= state << 5;
                    alphabet[state as usize % alphabet.len()]
                })
                .collect();
            let spaced: Vec<u8> = text
                .iter()
                .map(|&b| if b == b'+' { b' ' } else { b })
                .collect();
            let reference = percent_encoding::percent_decode(&spaced).decode_utf8().ok();
            // As a form's value: the body as sent is checked UTF-8 first, then decoded.
            let body = [&b"k="[..], &text].concat();
            let decoded = parameters("https://example.com/", true, &body)
                .ok()
                .map(|parameters| parameters[0].1.to_string());
            assert_eq!(decoded.as_deref(), reference.as_deref(), "{text:?}");
        }
    }

    #[test]
    fn the_url_is_tried_with_and_without_its_port() {
        assert_eq!(
            spellings("https://example.com/a?b=1"),
            ["https://example.com/a?b=1", "https://example.com:443/a?b=1"]
        );
        assert_eq!(
            spellings("http://u:p@example.com:1234/a"),
            ["http://u:p@example.com/a", "http://u:p@example.com:1234/a"]
        );
        assert_eq!(
            spellings("https://example.com/a?b=It's"),
            [
                "https://example.com/a?b=It's",
                "https://example.com:443/a?b=It's",
                "https://example.com/a?b=It%27s",
                "https://example.com:443/a?b=It%27s"
            ]
        );
    }
}
