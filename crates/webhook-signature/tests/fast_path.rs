//! The verifier's fast path for built-in schemes answers exactly as the general path.
//!
//! A verifier built with a built-in scheme, by its own type (`Verifier::builder(Stripe)`)
//! or by name (`Verifier::builder(by_name("stripe")?)`), reads a usual delivery
//! straight from the headers and hands anything unusual to `Scheme::parse`; one built
//! with the same scheme behind a wrapper that forwards everything but
//! `Scheme::fast_path` always parses. For every built-in scheme, requests signed by
//! `Signer` and then mutated (headers removed, repeated, padded, changed, malformed,
//! non-ASCII, extra signatures, `svix-` names, timestamps at and past the tolerance,
//! a wrong key) must get the same answer from all three: the same rejection, or a
//! marker with the same scheme, key, event id, timestamp and body.

mod common;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue};
use proptest::prelude::*;
use proptest::sample::Index;
use webhook_core::VerifiedDelivery;
use webhook_signature::scheme::{
    Algorithm, Delivery, GitHub, GitLab, HopNow, NAMES, PROVIDERS, Scheme, Shopify, SignRequest,
    Signed, Slack, StandardWebhooks, Stripe, by_name,
};
use webhook_signature::{ConfigError, SignError, SignatureRejection, Signer, Verifier};

use common::clock_at;

const NOW: i64 = 1_700_000_000;

const STANDARD_SECRET: &str = "whsec_YSBTdGFuZGFyZCBXZWJob29rcyB0ZXN0IGtleSE=";
const OTHER_STANDARD_SECRET: &str = "whsec_b3RoZXIga2V5IGZvciB0aGUgZmFzdCBwYXRo";

/// The scheme, its secret and a secret that does not sign.
fn secrets(name: &str) -> (&'static str, &'static str) {
    if name == "standard" || name == "gitlab" {
        (STANDARD_SECRET, OTHER_STANDARD_SECRET)
    } else {
        ("fast path secret", "another secret")
    }
}

/// The headers each scheme reads.
fn header_names(name: &str) -> &'static [&'static str] {
    match name {
        "hopnow" => &["x-webhook-signature"],
        "github" => &["x-hub-signature-256", "x-github-delivery"],
        "stripe" => &["stripe-signature"],
        "standard" => &["webhook-signature", "webhook-id", "webhook-timestamp"],
        "slack" => &["x-slack-signature", "x-slack-request-timestamp"],
        "shopify" => &["x-shopify-hmac-sha256", "x-shopify-webhook-id"],
        "gitlab" => &["webhook-signature", "webhook-id", "webhook-timestamp"],
        other => panic!("unknown scheme {other}"),
    }
}

/// A scheme that reads the headers only with `parse`: everything is forwarded to
/// the scheme inside but `fast_path`, which keeps its default, `None`.
struct ParseOnly<S>(S);

impl<S: Scheme> Scheme for ParseOnly<S> {
    fn name(&self) -> &'static str {
        self.0.name()
    }
    fn signed_content(&self) -> &'static str {
        self.0.signed_content()
    }
    fn decode_secret(&self, secret: &str) -> Result<Vec<u8>, ConfigError> {
        self.0.decode_secret(secret)
    }
    fn algorithm(&self) -> Algorithm {
        self.0.algorithm()
    }
    fn default_tolerance(&self) -> std::time::Duration {
        self.0.default_tolerance()
    }
    fn signs_url(&self) -> bool {
        self.0.signs_url()
    }
    fn parse<'a>(&'a self, delivery: &Delivery<'a>) -> Result<Signed<'a>, SignatureRejection> {
        self.0.parse(delivery)
    }
    fn sign(&self, secret: &[u8], request: &SignRequest<'_>) -> Result<HeaderMap, SignError> {
        self.0.sign(secret, request)
    }
}

/// Three verifiers for `S`, with the same keys and clock: the fast one (built from
/// the type), the one built from the scheme `by_name` returns, and the general one
/// (behind [`ParseOnly`]).
fn verifiers<S: Scheme + Copy>(
    scheme: S,
    name: &str,
    keys: Keys,
) -> (Verifier, Verifier, Verifier) {
    let (secret, other) = secrets(name);
    let build = |builder: webhook_signature::VerifierBuilder| {
        let builder = match keys {
            Keys::Right => builder.secret("right", secret),
            Keys::WrongThenRight => builder.secret("wrong", other).secret("right", secret),
            Keys::Wrong => builder.secret("wrong", other),
        };
        builder
            .clock(clock_at(NOW))
            .build()
            .expect("valid verifier")
    };
    (
        build(Verifier::builder(scheme)),
        build(Verifier::builder(by_name(name).expect("a built-in scheme"))),
        build(Verifier::builder(ParseOnly(scheme))),
    )
}

#[derive(Debug, Clone, Copy)]
enum Keys {
    Right,
    WrongThenRight,
    Wrong,
}

/// What a caller can see of an answer.
#[derive(Debug, Clone, PartialEq)]
enum Answer {
    Verified {
        scheme: String,
        key_id: String,
        event_id: Option<String>,
        timestamp: Option<i64>,
        body: Bytes,
    },
    Rejected(SignatureRejection),
}

fn answer(result: Result<VerifiedDelivery, SignatureRejection>) -> Answer {
    match result {
        Ok(delivery) => Answer::Verified {
            scheme: delivery.scheme().to_owned(),
            key_id: delivery.key_id().to_string(),
            event_id: delivery.event_id().map(str::to_owned),
            timestamp: delivery.timestamp(),
            body: delivery.body().clone(),
        },
        Err(rejection) => Answer::Rejected(rejection),
    }
}

/// Variants of a header value: itself, padded, changed in case, shortened,
/// lengthened, with one byte changed, empty, not ASCII, with a second entry.
fn variants(value: &[u8], at: Index, other: &[u8]) -> Vec<Vec<u8>> {
    let mut changed = value.to_vec();
    if !changed.is_empty() {
        let at = at.index(changed.len());
        changed[at] = if changed[at] == b'0' { b'g' } else { b'0' };
    }
    let mut spaced = b" \t".to_vec();
    spaced.extend_from_slice(value);
    spaced.push(b' ');
    vec![
        value.to_vec(),
        spaced,
        value.to_ascii_uppercase(),
        value[..value.len().saturating_sub(1)].to_vec(),
        [value, b"0"].concat(),
        changed,
        Vec::new(),
        [value, b"\xc3\xa9"].concat(),
        [value, b" ", other].concat(),
        [value, b",", other].concat(),
        [other, b" ", value].concat(),
        [b"v1a,AAAA ", value].concat(),
        [value, b",v0=abc"].concat(),
        other.to_vec(),
    ]
}

/// One change to one header.
#[derive(Debug, Clone)]
enum Change {
    Keep,
    Remove,
    /// Another copy, the same.
    Repeat,
    /// Another copy, different.
    Conflict,
    Replace(usize, Index),
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        4 => Just(Change::Keep),
        1 => Just(Change::Remove),
        1 => Just(Change::Repeat),
        1 => Just(Change::Conflict),
        4 => (0..14usize, any::<Index>()).prop_map(|(which, at)| Change::Replace(which, at)),
    ]
}

fn apply(headers: &mut HeaderMap, name: &str, change: &Change, other: &HeaderMap) {
    let header = HeaderName::from_bytes(name.as_bytes()).unwrap();
    let Some(value) = headers.get(&header).cloned() else {
        return;
    };
    // The same header as signed by the other secret: a well-formed foreign value.
    let foreign = other.get(&header).cloned().unwrap_or_else(|| value.clone());
    match change {
        Change::Keep => {}
        Change::Remove => {
            headers.remove(&header);
        }
        Change::Repeat => {
            headers.append(header, value);
        }
        Change::Conflict => {
            // The other secret's value where it differs, else the value changed.
            let different = if foreign == value {
                HeaderValue::from_bytes(&[value.as_bytes(), b"x"].concat()).unwrap()
            } else {
                foreign
            };
            headers.append(header, different);
        }
        Change::Replace(which, at) => {
            let all = variants(value.as_bytes(), *at, foreign.as_bytes());
            let bytes = &all[*which % all.len()];
            headers.insert(header, HeaderValue::from_bytes(bytes).unwrap());
        }
    }
}

/// Standard Webhooks' `svix-` names for the `webhook-` ones.
fn to_svix(headers: HeaderMap) -> HeaderMap {
    headers
        .into_iter()
        .scan(None, |last, (name, value)| {
            let name = name.or_else(|| last.clone());
            last.clone_from(&name);
            Some((name, value))
        })
        .map(|(name, value)| {
            let name = name.expect("first entry has a name");
            let renamed = match name.as_str().strip_prefix("webhook-") {
                Some(rest) => HeaderName::from_bytes(format!("svix-{rest}").as_bytes()).unwrap(),
                None => name,
            };
            (renamed, value)
        })
        .fold(HeaderMap::new(), |mut headers, (name, value)| {
            headers.append(name, value);
            headers
        })
}

#[derive(Debug, Clone)]
struct Case {
    scheme: usize,
    body: Vec<u8>,
    id: &'static str,
    skew: i64,
    keys: Keys,
    changes: Vec<Change>,
    svix: bool,
}

fn case() -> impl Strategy<Value = Case> {
    (
        0..7usize,
        proptest::collection::vec(any::<u8>(), 0..200),
        prop_oneof![
            Just("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"),
            Just("evt_1"),
            Just(""),
        ],
        prop_oneof![
            Just(0i64),
            Just(-300),
            Just(300),
            Just(-301),
            Just(301),
            Just(-7)
        ],
        prop_oneof![
            3 => Just(Keys::Right),
            1 => Just(Keys::WrongThenRight),
            1 => Just(Keys::Wrong),
        ],
        proptest::collection::vec(change(), 3),
        any::<bool>(),
    )
        .prop_map(|(scheme, body, id, skew, keys, changes, svix)| Case {
            scheme,
            body,
            id,
            skew,
            keys,
            changes,
            svix,
        })
}

fn check<S: Scheme + Copy>(scheme: S, name: &str, case: &Case) -> Result<(), TestCaseError> {
    let (secret, other_secret) = secrets(name);
    let body = Bytes::from(case.body.clone());
    let timestamp = NOW + case.skew;
    let sign = |secret| {
        Signer::new(scheme, secret)
            .unwrap()
            .sign(&body, timestamp, case.id)
            .unwrap()
    };
    let mut headers = sign(secret);
    let other = sign(other_secret);
    for (header, change) in header_names(name).iter().zip(&case.changes) {
        apply(&mut headers, header, change, &other);
    }
    // GitLab reads no `svix-` names: renamed, they are not its signature.
    if (name == "standard" || name == "gitlab") && case.svix {
        headers = to_svix(headers);
    }
    let (fast, named, general) = verifiers(scheme, name, case.keys);
    let expected = answer(general.verify(&headers, &body));
    prop_assert_eq!(
        answer(fast.verify(&headers, &body)),
        expected.clone(),
        "{} with {:?}",
        name,
        headers
    );
    prop_assert_eq!(
        answer(named.verify(&headers, &body)),
        expected,
        "{} by name with {:?}",
        name,
        headers
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn the_fast_path_answers_as_the_general_path(case in case()) {
        match case.scheme {
            0 => check(HopNow, "hopnow", &case)?,
            1 => check(GitHub, "github", &case)?,
            2 => check(Stripe, "stripe", &case)?,
            3 => check(StandardWebhooks, "standard", &case)?,
            4 => check(Slack, "slack", &case)?,
            5 => check(Shopify, "shopify", &case)?,
            _ => check(GitLab, "gitlab", &case)?,
        }
    }
}

/// The providers described as data that have a fast path (every HMAC-SHA256 and
/// HMAC-SHA1 one whose signed content comes from the headers and the request line).
fn described() -> Vec<&'static str> {
    PROVIDERS
        .iter()
        .map(|provider| provider.name)
        // GitLab is coded too, and checked by `check`.
        .filter(|name| !common::CODED.contains(name) && *name != "gitlab")
        .filter(|name| by_name(name).unwrap().fast_path().is_some())
        .collect()
}

/// The public URL of the verifiers of providers that sign the URL.
const BASE: &str = "https://hooks.example.com";
/// The path and query those deliveries are posted to.
const PATH: &str = "/webhooks/in?source=test";

/// [`check`] for a provider described as data, by name: the headers mutated are
/// every header its signer writes. A provider that signs the URL is posted to
/// [`PATH`] under [`BASE`].
fn check_described(name: &str, case: &Case) -> Result<(), TestCaseError> {
    let scheme = || by_name(name).unwrap();
    let signs_url = scheme().signs_url();
    let (secret, other_secret) = secrets(name);
    let body = Bytes::from(case.body.clone());
    let url = format!("{BASE}{PATH}");
    let sign = |secret| {
        let request = SignRequest::new(&body, NOW + case.skew, case.id).with_url(&url);
        Signer::new(scheme(), secret)
            .unwrap()
            .sign_request(&request)
            .unwrap()
    };
    let mut headers = sign(secret);
    let other = sign(other_secret);
    let names: Vec<String> = headers.keys().map(|name| name.to_string()).collect();
    for (header, change) in names.iter().zip(&case.changes) {
        apply(&mut headers, header, change, &other);
    }
    let build = |builder: webhook_signature::VerifierBuilder| {
        let builder = match case.keys {
            Keys::Right => builder.secret("right", secret),
            Keys::WrongThenRight => builder
                .secret("wrong", other_secret)
                .secret("right", secret),
            Keys::Wrong => builder.secret("wrong", other_secret),
        };
        let builder = if signs_url {
            builder.public_url(BASE)
        } else {
            builder
        };
        builder.clock(clock_at(NOW)).build().unwrap()
    };
    let fast = build(Verifier::builder(scheme()));
    prop_assert!(fast.fast_path().is_some());
    let general = build(Verifier::builder(ParseOnly(scheme())));
    let uri: http::Uri = PATH.parse().unwrap();
    let verify = |verifier: &Verifier| {
        answer(verifier.verify_request(&http::Method::POST, Some(&uri), &headers, &body))
    };
    prop_assert_eq!(
        verify(&fast),
        verify(&general),
        "{} with {:?}",
        name,
        headers
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn described_providers_answer_on_the_fast_path_as_on_the_general_path(
        case in case(),
        which in any::<Index>(),
    ) {
        let names = described();
        check_described(names[which.index(names.len())], &case)?;
    }
}

#[test]
fn described_hmac_providers_take_the_fast_path() {
    let names = described();
    // The rest sign with an asymmetric key, or a timestamp in the body.
    assert_eq!(
        names,
        [
            "paddle",
            "intercom",
            "bitbucket",
            "typeform",
            "calendly",
            "lemonsqueezy",
            "mux",
            "vercel",
            "sentry",
            "workos",
            "coinbase",
            "meta",
            "twitter",
            "dropbox",
            "zoom",
            "twitch",
            "square",
            "hubspot"
        ]
    );
}

/// The unmutated deliveries verify on both paths, with the right key of two.
#[test]
fn usual_deliveries_verify_on_both_paths() {
    fn both<S: Scheme + Copy>(scheme: S, name: &str) {
        let (secret, _) = secrets(name);
        let body = Bytes::from_static(br#"{"id":"evt_1"}"#);
        let headers = Signer::new(scheme, secret)
            .unwrap()
            .sign(&body, NOW, "evt_1")
            .unwrap();
        for keys in [Keys::Right, Keys::WrongThenRight] {
            let (fast, named, general) = verifiers(scheme, name, keys);
            let verified = answer(fast.verify(&headers, &body));
            assert!(
                matches!(&verified, Answer::Verified { key_id, .. } if key_id == "right"),
                "{name}: {verified:?}"
            );
            assert_eq!(verified, answer(named.verify(&headers, &body)), "{name}");
            assert_eq!(verified, answer(general.verify(&headers, &body)), "{name}");
        }
    }
    both(HopNow, "hopnow");
    both(GitHub, "github");
    both(Stripe, "stripe");
    both(StandardWebhooks, "standard");
    both(Slack, "slack");
    both(Shopify, "shopify");
}

/// A built-in scheme takes the fast path whether the verifier gets its type or the
/// `Box<dyn Scheme>` that `by_name` returns, under every name and alias; a scheme that
/// does not forward `fast_path` does not.
#[test]
fn schemes_chosen_by_name_take_the_fast_path() {
    fn fast_path_of(scheme: impl Scheme) -> Option<webhook_signature::scheme::FastPath> {
        let secret = secrets(scheme.name()).0;
        let verifier = Verifier::builder(scheme).secret("k", secret).build();
        verifier.expect("valid verifier").fast_path()
    }
    let by_type = [
        fast_path_of(HopNow),
        fast_path_of(GitHub),
        fast_path_of(Stripe),
        fast_path_of(StandardWebhooks),
        fast_path_of(Slack),
        fast_path_of(Shopify),
    ];
    for (name, by_type) in NAMES.iter().zip(&by_type) {
        assert!(by_type.is_some(), "{name}");
        assert_eq!(&fast_path_of(by_name(name).unwrap()), by_type, "{name}");
        let upper = name.to_ascii_uppercase();
        assert_eq!(&fast_path_of(by_name(&upper).unwrap()), by_type, "{upper}");
    }
    for alias in ["standardwebhooks", "standard-webhooks", "svix"] {
        assert_eq!(
            fast_path_of(by_name(alias).unwrap()),
            fast_path_of(StandardWebhooks),
            "{alias}"
        );
    }
    // Each built-in scheme has a fast path of its own.
    for (at, a) in by_type.iter().enumerate() {
        assert!(by_type[at + 1..].iter().all(|b| b != a), "{:?}", NAMES[at]);
    }
    assert_eq!(fast_path_of(ParseOnly(Stripe)), None);
}
