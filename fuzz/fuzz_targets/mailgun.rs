//! Mailgun: the signature inside the body, `signature.{timestamp,token,signature}` of
//! a JSON body or the form fields `timestamp`, `token` and `signature`: hex
//! HMAC-SHA256 of `<timestamp><token>`. See `webhook_fuzz` for the input format;
//! this target reads one more config line after the mode line:
//!
//! ```text
//! <options>   `f`: `sign` writes form fields, else a JSON body; `i`: the JSON
//!             timestamp is an integer, else a string
//! ```
//!
//! `sign <key> <delta> <token>` writes the signature into the body: JSON
//! `{"signature":{...},"event-data":<body>}`, which must verify when it is valid
//! JSON, or `timestamp=..&token=..&signature=..&<body>`, which must verify when the
//! body's own form fields include none of those three names. `<pos> <byte>` mutate the
//! hex signature.
//!
//! A verified delivery is checked independently: the body holds, as `serde_json`
//! reads it or as form fields present once each, a timestamp, token and signature
//! where the signature is the hex HMAC of `<timestamp><token>` under the key the
//! delivery names and the timestamp is the delivery's; its event id is the body's
//! `event-data.id` as `serde_json` reads it. A body `serde_json` refuses is not
//! compared with the JSON reading.
#![no_main]

use http::{HeaderMap, Method};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use webhook_fuzz::request::{Case, Key, Made, PATH, PUBLIC_URL, Verified};
use webhook_fuzz::{Input, SignSpec, hmac, is_hex_of, timestamp};
use webhook_signature::scheme::{Mailgun, Scheme};

/// Mailgun's published SDK vector was signed at this time, with the first key.
const NOW: i64 = 1_403_645_225;

const KEYS: [&str; 3] = [
    "key-3ax6xnjp29jd6fds4gc373sgvjxteol0",
    "key-previous0000000000000000000000",
    "key-unknown-mailgun-signing-key",
];

fn scheme() -> Box<dyn Scheme> {
    Box::new(Mailgun)
}

/// A JSON string or integer as text.
fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) if number.is_i64() || number.is_u64() => Some(number.to_string()),
        _ => None,
    }
}

/// The (timestamp, token, signature) triples the body holds, read independently.
fn triples(body: &[u8]) -> Vec<[String; 3]> {
    let mut found = Vec::new();
    if let Ok(json) = serde_json::from_slice::<Value>(body) {
        let field = |name: &str| text(json.get("signature")?.get(name)?);
        if let (Some(timestamp), Some(token), Some(signature)) =
            (field("timestamp"), field("token"), field("signature"))
        {
            found.push([timestamp, token, signature]);
        }
    }
    let fields: Vec<(String, String)> = form_urlencoded::parse(body)
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect();
    let once = |wanted: &str| {
        let mut values = fields.iter().filter(|(name, _)| name == wanted);
        let first = values.next()?;
        values.next().is_none().then(|| first.1.clone())
    };
    if let (Some(timestamp), Some(token), Some(signature)) =
        (once("timestamp"), once("token"), once("signature"))
    {
        found.push([timestamp, token, signature]);
    }
    found
}

fn sign_in_body(
    keys: &[&Key],
    spec: &SignSpec,
    now: i64,
    body: &[u8],
    options: &[u8],
) -> Option<Made> {
    let timestamp = now.to_string();
    let mut signature = Mailgun::signature(&keys[0].sign, &timestamp, &spec.id).into_bytes();
    let mut genuine = true;
    if let Some((position, byte)) = spec.mutation {
        let at = position % signature.len();
        genuine = signature[at] == byte;
        signature[at] = byte;
    }
    let signature = String::from_utf8(signature).ok()?;
    let made = if options.contains(&b'f') {
        let encode =
            |text: &str| form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>();
        let own = form_urlencoded::parse(body)
            .any(|(name, _)| matches!(&*name, "timestamp" | "token" | "signature"));
        let made = format!(
            "timestamp={}&token={}&signature={}&",
            encode(&timestamp),
            encode(&spec.id),
            encode(&signature)
        );
        genuine &= !own;
        [made.as_bytes(), body].concat()
    } else {
        let timestamp = if options.contains(&b'i') {
            timestamp
        } else {
            format!("\"{timestamp}\"")
        };
        let token = serde_json::to_string(&spec.id).ok()?;
        let made = [
            format!(
                r#"{{"signature":{{"timestamp":{timestamp},"token":{token},"signature":"{signature}"}},"event-data":"#
            )
            .as_bytes(),
            body,
            b"}",
        ]
        .concat();
        genuine &= serde_json::from_slice::<serde::de::IgnoredAny>(&made).is_ok();
        made
    };
    Some(Made {
        headers: HeaderMap::new(),
        body: made,
        genuine,
    })
}

fuzz_target!(|data: &[u8]| {
    let input = Input::parse(data, 2);
    let options = input.config[1];
    let keys = KEYS.map(Key::secret);
    let sign = |keys: &[&Key], spec: &SignSpec, now: i64, body: &[u8]| {
        sign_in_body(keys, spec, now, body, options)
    };
    let case = Case {
        scheme: &scheme,
        configured: &keys[..2],
        unconfigured: &keys[2..],
        now: NOW,
        public_url: PUBLIC_URL,
        method: Method::POST,
        uri: PATH.parse().expect("a valid path"),
        sign_url: String::new(),
        signature: None,
        signed_must_verify: true,
        sign_fn: Some(&sign),
    };
    case.run(data, 2, &[], |verified: &Verified<'_>| {
        let seconds = verified.delivery.timestamp().expect("a signed timestamp");
        let genuine = triples(verified.body)
            .iter()
            .any(|[time, token, signature]| {
                let tag = hmac(
                    verified.key.verify.as_bytes(),
                    &[time.as_bytes(), token.as_bytes()],
                );
                is_hex_of(signature.as_bytes(), &tag) && timestamp(time.as_bytes()) == seconds
            });
        // Where `serde_json` refuses the body, `webhook_core::json::find` may still
        // read it (it skips strings `serde_json` refuses: invalid UTF-8, a lone
        // surrogate escape), so neither the JSON fields nor the id are compared.
        let json = serde_json::from_slice::<Value>(verified.body);
        assert!(genuine || json.is_err(), "verified {:?}", verified.body);
        if let (Some(id), Ok(json)) = (verified.delivery.event_id(), json) {
            let expected = json
                .get("event-data")
                .and_then(|data| text(data.get("id")?));
            assert_eq!(Some(id), expected.as_deref());
        }
    });
});
