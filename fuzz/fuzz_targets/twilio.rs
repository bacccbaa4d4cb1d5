//! Twilio: `X-Twilio-Signature: <base64>`, HMAC-SHA1 over the URL Twilio called and
//! the sorted form parameters, or over the URL alone when its query carries
//! `bodySHA256`. See `webhook_fuzz` for the input format; this target reads three
//! more config lines after the mode line:
//!
//! ```text
//! <public URL>   the verifier's (empty: https://hooks.example.com)
//! <request URI>  as the server sees it (empty: /webhooks/in?source=fuzz)
//! <options>      how `sign` spells the URL it signs: `p` without its port, `d` with
//!                the scheme's default port when it has none (no `:` after the
//!                host), `q` with `'` in the
//!                query as `%27`; `j` adds `bodySHA256=<hex>` of the body to the
//!                request's query (a JSON delivery)
//! ```
//!
//! A delivery signed over any of these spellings must verify. A verified delivery is
//! checked independently: the signature is base64 of the HMAC-SHA1, under the key it
//! names, of one spelling of the URL (as joined, without its port, with the default
//! port, each with `'` in the query as `%27` or not) followed by the parameters,
//! which are the form body's, decoded, sorted and each pair once (the body must be
//! `application/x-www-form-urlencoded` or empty), or none when the URL's
//! `bodySHA256` is the body's SHA-256 in hex.
#![no_main]

use std::collections::BTreeSet;

use base64::Engine as _;
use hmac::{KeyInit, Mac};
use http::{HeaderName, Method, Uri};
use libfuzzer_sys::fuzz_target;
use sha2::Digest as _;
use webhook_fuzz::request::{Case, Key, NOW, PATH, PUBLIC_URL, Verified};
use webhook_fuzz::{Input, required};
use webhook_signature::scheme::{Scheme, Twilio};

type HmacSha1 = hmac::Hmac<sha1::Sha1>;

const SECRETS: [&str; 3] = [
    "12345",
    "twilio-fuzz-auth-token",
    "twilio-unknown-auth-token",
];

fn scheme() -> Box<dyn Scheme> {
    Box::new(Twilio)
}

/// `url` without its port, or with the scheme's default port when it has none.
fn with_port(url: &str, port: Option<&str>) -> Option<String> {
    let uri: Uri = url.parse().ok()?;
    let authority = uri.authority()?.as_str();
    let host = match uri.port() {
        Some(port) => authority.strip_suffix(&format!(":{}", port.as_str()))?,
        None => authority,
    };
    let port = match port {
        Some(port) => format!(":{port}"),
        None => String::new(),
    };
    let (scheme, rest) = url.split_once("://")?;
    let after = rest.strip_prefix(authority)?;
    Some(format!("{scheme}://{host}{port}{after}"))
}

/// The default port of `url`'s scheme, when `url` has no port: no `:` after the
/// host (an IPv6 literal's brackets aside), so neither an empty port
/// (`https://host:/`) nor one `http` does not read as a number.
fn default_port(url: &str) -> Option<&'static str> {
    let uri: Uri = url.parse().ok()?;
    let host_port = uri.authority()?.as_str().rsplit('@').next()?;
    if host_port.rsplit(']').next()?.contains(':') {
        return None;
    }
    if url.starts_with("https://") {
        Some("443")
    } else if url.starts_with("http://") {
        Some("80")
    } else {
        None
    }
}

/// `url` with `'` in its query written `%27`.
fn escape_quotes(url: &str) -> String {
    match url.split_once('?') {
        Some((base, query)) => format!("{base}?{}", query.replace('\'', "%27")),
        None => url.to_owned(),
    }
}

/// The spellings of `url` a verified signature may cover.
fn spellings(url: &str) -> Vec<String> {
    let mut spellings = vec![url.to_owned()];
    spellings.extend(with_port(url, None));
    if let Some(port) = default_port(url) {
        spellings.extend(with_port(url, Some(port)));
    }
    let escaped: Vec<String> = spellings.iter().map(|url| escape_quotes(url)).collect();
    spellings.extend(escaped);
    spellings
}

fn form(content_type: Option<&[u8]>) -> bool {
    content_type
        .and_then(|value| std::str::from_utf8(value).ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|kind| {
            kind.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

fuzz_target!(|data: &[u8]| {
    let input = Input::parse(data, 4);
    let (Ok(public_url), Ok(path), options) = (
        std::str::from_utf8(input.config[1]),
        std::str::from_utf8(input.config[2]),
        input.config[3],
    ) else {
        return;
    };
    let public_url = if public_url.is_empty() {
        PUBLIC_URL
    } else {
        public_url
    };
    let mut path = if path.is_empty() { PATH } else { path }.to_owned();
    if options.contains(&b'j') {
        let digest = hex::encode(sha2::Sha256::digest(input.body));
        let join = if path.contains('?') { '&' } else { '?' };
        path = format!("{path}{join}bodySHA256={digest}");
    }
    let Ok(uri) = path.parse::<Uri>() else {
        return;
    };
    let keys = SECRETS.map(Key::secret);
    let mut case = Case {
        scheme: &scheme,
        configured: &keys[..2],
        unconfigured: &keys[2..],
        now: NOW,
        public_url,
        method: Method::POST,
        uri,
        sign_url: String::new(),
        signature: Some(HeaderName::from_static("x-twilio-signature")),
        signed_must_verify: true,
        sign_fn: None,
    };
    // `p` and `d` spell the URL as received: a port is removed, or a default one
    // added where it has none, never both.
    let received = case.url();
    let mut sign_url = received.clone();
    if options.contains(&b'p') {
        sign_url = with_port(&received, None).unwrap_or(sign_url);
    }
    if options.contains(&b'd')
        && let Some(port) = default_port(&received)
    {
        sign_url = with_port(&received, Some(port)).unwrap_or(sign_url);
    }
    if options.contains(&b'q') {
        sign_url = escape_quotes(&sign_url);
    }
    // `Signer` leaves out `Content-Type` whenever the URL contains the text
    // `bodySHA256=`, even inside another query name such as `xbodySHA256=`, where the
    // verifier finds no `bodySHA256` and wants form parameters.
    let query = sign_url.split_once('?').map_or("", |(_, query)| query);
    let body_hash = form_urlencoded::parse(query.as_bytes()).any(|(name, _)| name == "bodySHA256");
    case.signed_must_verify = body_hash || !sign_url.contains("bodySHA256=");
    case.sign_url = sign_url;
    case.run(data, 4, &[], |verified: &Verified<'_>| {
        let signature = required(verified.headers, "x-twilio-signature");
        let tag = base64::engine::general_purpose::STANDARD
            .decode(signature)
            .expect("verified a signature that is not base64");
        assert_eq!(tag.len(), 20);
        let query = verified.url.split_once('?').map_or("", |(_, query)| query);
        let body_hash = form_urlencoded::parse(query.as_bytes())
            .find(|(name, _)| name == "bodySHA256")
            .map(|(_, value)| value.into_owned());
        let parameters: BTreeSet<(String, String)> = match body_hash {
            Some(expected) => {
                let actual = hex::encode(sha2::Sha256::digest(verified.body));
                assert!(
                    actual.eq_ignore_ascii_case(&expected),
                    "verified a body whose SHA-256 is not the URL's bodySHA256"
                );
                BTreeSet::new()
            }
            None => {
                // The first `Content-Type`: Twilio reads that one, and does not refuse
                // differing copies.
                let content_type = verified.headers.get("content-type").map(|v| v.as_bytes());
                assert!(
                    verified.body.is_empty() || form(content_type),
                    "verified a body that is not form parameters"
                );
                form_urlencoded::parse(verified.body)
                    .map(|(name, value)| (name.into_owned(), value.into_owned()))
                    .collect()
            }
        };
        let genuine = spellings(&verified.url).iter().any(|url| {
            let mut mac = <HmacSha1 as KeyInit>::new_from_slice(verified.key.verify.as_bytes())
                .expect("any key length");
            mac.update(url.as_bytes());
            for (name, value) in &parameters {
                mac.update(name.as_bytes());
                mac.update(value.as_bytes());
            }
            mac.finalize().into_bytes()[..] == tag[..]
        });
        assert!(genuine, "verified {signature:?} for {}", verified.url);
        assert_eq!(verified.delivery.timestamp(), None);
        assert_eq!(verified.delivery.event_id(), None);
    });
});
