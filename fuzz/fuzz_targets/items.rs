//! `GenericHmac`'s header of items (`t=<unix>,v1=<hex>`), through the providers
//! described with it: Paddle (`ts=..;h1=..`), Calendly and Mux (`t=..,v1=..`) and
//! WorkOS (`t=<ms>, v1=..`). The first input byte picks one (modulo four); the rest is
//! the usual input (see `webhook_fuzz`), with one more config line after the mode
//! line: a layout that rewrites a signed header (empty: as signed).
//!
//! ```text
//! <layout>   `t` the timestamp item, `s` the signature item, `x` an item of another
//!            name, `,` and `;` the separators, anything else copied as is
//! ```
//!
//! A layout made of separators, spaces and tabs around at least one `t` and one `s`
//! (each item alone between separators of the provider) must verify.
//!
//! A verified delivery is checked against the header read independently: items are
//! split on the provider's separator and trimmed; every signature item is 64 hex
//! characters; the first timestamp item is the delivery's timestamp (milliseconds
//! for WorkOS) and one signature item is the HMAC of `<t>.<body>` (`<ts>:<body>` for
//! Paddle) under the key the delivery names, with `t` as presented. Paddle's event
//! id is the body's `event_id` as `serde_json` reads it, where `serde_json` reads the
//! body.
#![no_main]

use http::{HeaderMap, HeaderValue, Method};
use libfuzzer_sys::fuzz_target;
use webhook_fuzz::request::{Case, Key, Made, NOW, PATH, PUBLIC_URL, Verified};
use webhook_fuzz::{Input, SignSpec, hmac, is_hex_of, required};
use webhook_signature::Signer;
use webhook_signature::scheme::{SignRequest, by_name};

/// One provider's items.
struct Items {
    name: &'static str,
    header: &'static str,
    separator: u8,
    timestamp: &'static [u8],
    signature: &'static [u8],
    millis: bool,
    /// What joins the timestamp and the body in the signed content.
    join: &'static [u8],
}

const PROVIDERS: [Items; 4] = [
    Items {
        name: "paddle",
        header: "paddle-signature",
        separator: b';',
        timestamp: b"ts",
        signature: b"h1",
        millis: false,
        join: b":",
    },
    Items {
        name: "calendly",
        header: "calendly-webhook-signature",
        separator: b',',
        timestamp: b"t",
        signature: b"v1",
        millis: false,
        join: b".",
    },
    Items {
        name: "mux",
        header: "mux-signature",
        separator: b',',
        timestamp: b"t",
        signature: b"v1",
        millis: false,
        join: b".",
    },
    Items {
        name: "workos",
        header: "workos-signature",
        separator: b',',
        timestamp: b"t",
        signature: b"v1",
        millis: true,
        join: b".",
    },
];

const SECRETS: [&str; 3] = [
    "pdl_ntfset_01hsdn8d43dt7mezr1ef2jtbaw_fuzz",
    "items-fuzz-secret",
    "items-unknown-secret",
];

/// The (name, value) items of a header value, split and trimmed as documented.
fn split(value: &[u8], separator: u8) -> Vec<(&[u8], &[u8])> {
    value
        .split(|&b| b == separator)
        .map(<[u8]>::trim_ascii)
        .filter(|item| !item.is_empty())
        .map(|item| {
            let at = item
                .iter()
                .position(|&b| b == b'=')
                .unwrap_or_else(|| panic!("verified an item without `=`: {item:?}"));
            (&item[..at], &item[at + 1..])
        })
        .collect()
}

/// Rewrites a signed header after `layout`; whether the result must still verify.
fn relayout(items: &Items, signed: &[u8], layout: &[u8]) -> Option<(Vec<u8>, bool)> {
    let parsed: Vec<(&[u8], &[u8])> = signed
        .split(|&b| b == items.separator)
        .map(<[u8]>::trim_ascii)
        .filter_map(|item| {
            let at = item.iter().position(|&b| b == b'=')?;
            Some((&item[..at], &item[at + 1..]))
        })
        .collect();
    let find = |name: &[u8]| {
        parsed
            .iter()
            .find(|(item, _)| *item == name)
            .map(|(_, value)| *value)
    };
    let timestamp = find(items.timestamp)?;
    let signature = find(items.signature)?;
    let mut out = Vec::new();
    for &b in layout {
        match b {
            b't' => out.extend([items.timestamp, b"=", timestamp].concat()),
            b's' => out.extend([items.signature, b"=", signature].concat()),
            b'x' => out.extend_from_slice(b"zz=1"),
            other => out.push(other),
        }
    }
    let fields: Vec<&[u8]> = layout
        .split(|&b| b == items.separator)
        .map(|field| field.trim_ascii())
        .collect();
    let well_formed = fields
        .iter()
        .all(|field| matches!(field, [] | [b't' | b's' | b'x']))
        && layout
            .iter()
            .all(|b| b" \ttsx".contains(b) || *b == items.separator);
    let must_verify = well_formed && fields.contains(&&b"t"[..]) && fields.contains(&&b"s"[..]);
    Some((out, must_verify))
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let items = &PROVIDERS[usize::from(first) % PROVIDERS.len()];
    let scheme = move || by_name(items.name).expect("a built-in provider");
    let keys = SECRETS.map(Key::secret);
    let input = Input::parse(rest, 2);
    let layout = input.config[1].to_vec();
    // Signs with `Signer`, then rewrites the header after the layout.
    let sign = |keys: &[&Key], spec: &SignSpec, timestamp: i64, body: &[u8]| {
        let signer = Signer::new(scheme(), &keys[0].sign).ok()?;
        let mut headers: HeaderMap = signer
            .sign_request(&SignRequest::new(body, timestamp, &spec.id))
            .ok()?;
        let mut genuine = true;
        if !layout.is_empty() {
            let (value, must_verify) =
                relayout(items, headers.get(items.header)?.as_bytes(), &layout)?;
            headers.insert(items.header, HeaderValue::from_bytes(&value).ok()?);
            genuine = must_verify;
        }
        Some(Made {
            headers,
            body: body.to_vec(),
            genuine,
        })
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
        signature: Some(http::HeaderName::from_static(items.header)),
        signed_must_verify: true,
        sign_fn: Some(&sign),
    };
    case.run(rest, 2, &[], |verified: &Verified<'_>| {
        let value = required(verified.headers, items.header);
        let parsed = split(value, items.separator);
        for (name, text) in &parsed {
            if *name == items.signature {
                assert!(
                    text.len() == 64 && text.iter().all(u8::is_ascii_hexdigit),
                    "verified with a malformed signature item {text:?}"
                );
            }
        }
        let timestamp = parsed
            .iter()
            .find(|(name, _)| *name == items.timestamp)
            .map(|(_, text)| *text)
            .expect("verified without a timestamp item");
        assert!(
            (1..=18).contains(&timestamp.len()) && timestamp.iter().all(u8::is_ascii_digit),
            "verified with timestamp {timestamp:?}"
        );
        let number: i64 = std::str::from_utf8(timestamp)
            .expect("digits")
            .parse()
            .expect("at most 18 digits");
        let seconds = if items.millis {
            number.div_euclid(1000)
        } else {
            number
        };
        assert_eq!(verified.delivery.timestamp(), Some(seconds));
        let tag = hmac(
            verified.key.verify.as_bytes(),
            &[timestamp, items.join, verified.body],
        );
        assert!(
            parsed
                .iter()
                .any(|(name, text)| *name == items.signature && is_hex_of(text, &tag)),
            "verified {value:?}"
        );
        if items.name == "paddle" {
            // Compared only where `serde_json` reads the body: `webhook_core::json::find`
            // also reads an id beside a string `serde_json` refuses (invalid UTF-8, a
            // lone surrogate escape).
            let json = serde_json::from_slice::<serde_json::Value>(verified.body);
            if let (Some(event_id), Ok(json)) = (verified.delivery.event_id(), json) {
                let id = match json.get("event_id") {
                    Some(serde_json::Value::String(text)) => Some(text.clone()),
                    Some(serde_json::Value::Number(number))
                        if number.is_i64() || number.is_u64() =>
                    {
                        Some(number.to_string())
                    }
                    _ => None,
                };
                assert_eq!(Some(event_id), id.as_deref());
            }
        } else {
            assert_eq!(verified.delivery.event_id(), None);
        }
    });
});
