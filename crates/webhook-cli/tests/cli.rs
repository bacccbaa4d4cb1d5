//! Runs the built `webhook` binary and checks what a user sees: exit status, standard
//! output and standard error.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use base64::Engine as _;
use webhook_core::envelope::Member;
use webhook_signature::scheme::{Algorithm, NAMES, PROVIDERS, Provider, Scheme as _};

const T: i64 = 1_700_000_000;
/// The Standard Webhooks specification's example secret.
const STANDARD_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const GITHUB_SECRET: &str = "It's a Secret to Everybody";
const GITHUB_SIGNATURE: &str =
    "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

#[derive(Debug)]
struct Output {
    status: i32,
    stdout: String,
    stderr: String,
}

impl Output {
    fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

fn webhook_with_env(args: &[&str], stdin: &[u8], env: Option<(&str, &str)>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_webhook"));
    command
        .args(args)
        .env_remove("WEBHOOK_SECRET")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some((name, value)) = env {
        command.env(name, value);
    }
    let mut child = command.spawn().expect("the webhook binary runs");
    let mut input = child.stdin.take().unwrap();
    // A command that fails before reading its body closes the pipe: ignore that.
    let _ = input.write_all(stdin);
    drop(input);
    let output = child.wait_with_output().unwrap();
    Output {
        status: output.status.code().expect("exited, not killed"),
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    }
}

fn webhook(args: &[&str], stdin: &[u8]) -> Output {
    webhook_with_env(args, stdin, None)
}

fn secret_for(scheme: &str) -> String {
    if scheme == "standard" {
        STANDARD_SECRET.to_owned()
    } else {
        format!("test-secret-for-{scheme}")
    }
}

/// `webhook sign` output turned into `--header` flags.
fn header_flags(sign_stdout: &str) -> Vec<String> {
    assert!(!sign_stdout.is_empty(), "sign printed no header");
    sign_stdout
        .lines()
        .flat_map(|line| ["--header".to_owned(), line.to_owned()])
        .collect()
}

fn sign(scheme: &str, secret: &str, extra: &[&str], body: &[u8]) -> String {
    let mut args = vec!["sign", "--scheme", scheme, "--secret", secret];
    args.extend_from_slice(extra);
    let out = webhook(&args, body);
    assert_eq!(out.status, 0, "{out:?}");
    assert_eq!(out.stderr, "");
    out.stdout
}

fn verify(scheme: &str, secrets: &[&str], headers: &str, extra: &[&str], body: &[u8]) -> Output {
    let flags = header_flags(headers);
    let mut args = vec!["verify", "--scheme", scheme];
    for secret in secrets {
        args.extend_from_slice(&["--secret", secret]);
    }
    args.extend(flags.iter().map(String::as_str));
    args.extend_from_slice(extra);
    webhook(&args, body)
}

fn temp_file(name: &str, contents: &[u8]) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("webhook-cli-{}-{name}", std::process::id()));
    std::fs::write(&path, contents).unwrap();
    path
}

/// The URL the URL-signing providers are called at in these tests.
const URL: &str = "https://hooks.example.com/webhooks/in?source=test";

/// The flags that sign with, and verify, key `slot` of `provider`: a secret for an
/// HMAC (`whsec_<base64>` for the schemes that read that form), else a private key
/// and its public key in the form the provider shows it (Discord: 64 hex characters;
/// SendGrid: base64 DER). Slot 1's private key is PKCS#8 PEM, slot 0's raw hex.
fn key_flags(provider: &Provider, slot: u8) -> ([String; 2], [String; 2]) {
    let flags = |sign: (&str, String), verify: (&str, String)| {
        ([sign.0.to_owned(), sign.1], [verify.0.to_owned(), verify.1])
    };
    let seed = [0x10 + slot; 32];
    match provider.algorithm {
        Algorithm::Ed25519 => {
            use ed25519_dalek::pkcs8::EncodePrivateKey as _;
            let key = ed25519_dalek::SigningKey::from_bytes(&seed);
            let private = if slot == 0 {
                hex::encode(seed)
            } else {
                key.to_pkcs8_pem(Default::default()).unwrap().to_string()
            };
            let public = hex::encode(key.verifying_key().as_bytes());
            flags(("--private-key", private), ("--public-key", public))
        }
        Algorithm::EcdsaP256Sha256 => {
            use p256::pkcs8::{EncodePrivateKey as _, EncodePublicKey as _};
            let key = p256::ecdsa::SigningKey::from_slice(&seed).unwrap();
            let private = if slot == 0 {
                hex::encode(seed)
            } else {
                key.to_pkcs8_pem(Default::default()).unwrap().to_string()
            };
            let der = key.verifying_key().to_public_key_der().unwrap();
            let public = base64::engine::general_purpose::STANDARD.encode(der.as_bytes());
            flags(("--private-key", private), ("--public-key", public))
        }
        _ => {
            let secret = match provider.name {
                "standard" | "gitlab" => format!(
                    "whsec_{}",
                    base64::engine::general_purpose::STANDARD
                        .encode(format!("{} signing key {slot}", provider.name))
                ),
                name => format!("{name}-secret-{slot}"),
            };
            flags(("--secret", secret.clone()), ("--secret", secret))
        }
    }
}

/// The flags a provider that signs the URL (and method) needs, on both sides.
fn url_flags(provider: &Provider) -> Vec<&'static str> {
    if (provider.scheme)().signs_url() {
        vec!["--url", URL, "--method", "POST"]
    } else {
        Vec::new()
    }
}

/// The providers whose signature `webhook sign` makes: all but Mailgun, whose
/// signature is inside the body.
fn signed_providers() -> impl Iterator<Item = &'static Provider> {
    PROVIDERS
        .iter()
        .filter(|provider| provider.signature_header != "body")
}

/// A body for `provider` signed at `at`: Linear checks the body's own
/// `webhookTimestamp` (milliseconds).
fn body_for(provider: &Provider, id: &str, event_type: &str, at: i64) -> Vec<u8> {
    // The id also where the provider's body names its event (Paddle's `event_id`,
    // Coinbase's `event.id`).
    let path = (provider.scheme)()
        .envelope()
        .id_members()
        .iter()
        .find_map(|member| match member {
            Member::Body(path) => Some(*path),
            _ => None,
        })
        .unwrap_or(&["id"]);
    let located = if path == ["id"] {
        String::new()
    } else {
        let member = path.iter().rev().fold(format!("\"{id}\""), |inner, name| {
            format!("{{\"{name}\":{inner}}}")
        });
        format!("{},", &member[1..member.len() - 1])
    };
    if provider.name == "linear" {
        format!(
            r#"{{{located}"id":"{id}","type":"{event_type}","webhookTimestamp":{}}}"#,
            at * 1000
        )
        .into_bytes()
    } else {
        format!(r#"{{{located}"id":"{id}","type":"{event_type}","data":{{}}}}"#).into_bytes()
    }
}

/// The `event` line `webhook verify` prints for `body` signed with the header lines
/// `signed`, by the provider's envelope: the first id member with a value (the signed
/// headers, then the body), and likewise the type; none for a batch provider, whose
/// body here is not an array. The realistic deliveries of
/// `realistic_deliveries_print_their_id_and_type` check the envelopes themselves.
fn event_line(provider: &Provider, signed: &str, body: &[u8]) -> String {
    let envelope = (provider.scheme)().envelope();
    if envelope.batch_of().is_some() {
        return String::new();
    }
    let mut headers = http::HeaderMap::new();
    for line in signed.lines() {
        let (name, value) = line.split_once(": ").unwrap();
        headers.insert(
            http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            http::HeaderValue::from_str(value).unwrap(),
        );
    }
    let read = |members: &[Member]| {
        members
            .iter()
            .find_map(|member| match member.from_headers(&headers) {
                Some(value) => Some(value.to_str().unwrap().to_owned()),
                None => member.from_body(body).map(String::from),
            })
            .unwrap_or_default()
    };
    let quoted = |text: String| {
        if text.contains([' ', '"']) {
            format!("{text:?}")
        } else {
            text
        }
    };
    format!(
        "event id={} type={}\n",
        quoted(read(envelope.id_members())),
        quoted(read(envelope.event_type_members()))
    )
}

/// Signs `body` for `provider` with key `slot` and `extra` flags.
fn sign_with(provider: &Provider, slot: u8, extra: &[&str], body: &[u8]) -> String {
    let (sign_key, _) = key_flags(provider, slot);
    let mut args: Vec<&str> = vec!["sign", "--scheme", provider.name];
    args.extend(sign_key.iter().map(String::as_str));
    args.extend(url_flags(provider));
    args.extend_from_slice(extra);
    let out = webhook(&args, body);
    assert_eq!(out.status, 0, "{}: {out:?}", provider.name);
    assert_eq!(out.stderr, "", "{}", provider.name);
    out.stdout
}

/// Verifies `body` with `headers` against keys `slots` of `provider`.
fn verify_with(
    provider: &Provider,
    slots: &[u8],
    headers: &str,
    extra: &[&str],
    body: &[u8],
) -> Output {
    let flags = header_flags(headers);
    let keys: Vec<String> = slots
        .iter()
        .flat_map(|slot| key_flags(provider, *slot).1)
        .collect();
    let mut args: Vec<&str> = vec!["verify", "--scheme", provider.name];
    args.extend(keys.iter().map(String::as_str));
    args.extend(url_flags(provider));
    args.extend(flags.iter().map(String::as_str));
    args.extend_from_slice(extra);
    webhook(&args, body)
}

/// The tag inside a signature header value (`sha256=<hex>`, `t=..,v1=<hex>`,
/// `v1,<base64>`, `v0=<hex>`, bare hex or base64), at least 20 bytes.
fn tag_of(value: &str) -> &str {
    value
        .split([',', '=', ' '])
        .max_by_key(|piece| piece.len())
        .filter(|piece| piece.len() >= 27)
        .unwrap_or_else(|| panic!("no tag in {value:?}"))
}

#[test]
fn sign_then_verify_round_trips_for_every_provider() {
    let mut checked = Vec::new();
    for provider in signed_providers() {
        let name = provider.name;
        let body = body_for(provider, "evt_1", "payout.completed", T);
        let fixed = ["--id", "msg_test_1", "--timestamp", "1700000000"];
        let headers = sign_with(provider, 0, &fixed, &body);
        let out = verify_with(provider, &[0], &headers, &["--now", "1700000000"], &body);
        assert_eq!(
            (out.status, out.stdout.as_str(), out.stderr.as_str()),
            (
                0,
                format!("ok key=0\n{}", event_line(provider, &headers, &body)).as_str(),
                ""
            ),
            "{name}"
        );

        // With the defaults: a generated id, now as the timestamp, the system clock.
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let body = body_for(provider, "evt_2", "ping", now);
        let headers = sign_with(provider, 0, &[], &body);
        let out = verify_with(provider, &[0], &headers, &[], &body);
        assert_eq!(out.status, 0, "{name}: {out:?}");
        assert!(out.stdout.starts_with("ok key=0\n"), "{name}: {out:?}");
        checked.push(name);
    }
    assert_eq!(checked.len(), PROVIDERS.len() - 1, "{checked:?}");
}

#[test]
fn verify_prints_the_index_of_the_matching_key_and_refuses_a_changed_body_for_every_provider() {
    for provider in signed_providers() {
        let name = provider.name;
        let body = body_for(provider, "evt_7", "invoice.paid", T);
        let fixed = ["--id", "evt_7", "--timestamp", "1700000000"];
        let headers = sign_with(provider, 1, &fixed, &body);
        let now = ["--now", "1700000000"];
        let out = verify_with(provider, &[0, 1], &headers, &now, &body);
        assert_eq!(
            (out.status, out.stdout.as_str(), out.stderr.as_str()),
            (
                0,
                format!("ok key=1\n{}", event_line(provider, &headers, &body)).as_str(),
                ""
            ),
            "{name}"
        );

        let out = verify_with(provider, &[1, 0], &headers, &now, &body);
        assert_eq!(out.stdout.lines().next(), Some("ok key=0"), "{name}");

        let out = verify_with(provider, &[0], &headers, &now, &body);
        assert_eq!(out.status, 1, "{name}: {out:?}");
        assert_eq!(out.stdout, "rejected code=signature_mismatch\n", "{name}");

        let tampered = String::from_utf8(body.clone())
            .unwrap()
            .replace("invoice.paid", "invoice.void")
            .into_bytes();
        let out = verify_with(provider, &[0, 1], &headers, &now, &tampered);
        assert_eq!(out.status, 1, "{name}: {out:?}");
        assert_eq!(out.stdout, "rejected code=signature_mismatch\n", "{name}");
        assert!(
            out.stderr.starts_with("error: signature_mismatch: "),
            "{name}: {}",
            out.stderr
        );
    }
}

#[test]
fn asymmetric_providers_name_the_matching_public_key_in_their_dashboard_forms() {
    let body = br#"{"id":"evt_pk","type":"ping"}"#;
    for provider in PROVIDERS.iter().filter(|p| !p.algorithm.is_hmac()) {
        let name = provider.name;
        // Slot 1 signs with a PEM private key, slot 0 with raw hex.
        for slot in [0, 1] {
            let headers = sign_with(provider, slot, &["--timestamp", "1700000000"], body);
            let out = verify_with(provider, &[0, 1], &headers, &["--now", "1700000000"], body);
            assert_eq!(
                out.stdout,
                format!("ok key={slot}\n{}", event_line(provider, &headers, body)),
                "{name}"
            );
        }
        let headers = sign_with(provider, 1, &["--timestamp", "1700000000"], body);
        let out = verify_with(provider, &[0], &headers, &["--now", "1700000000"], body);
        assert_eq!(out.status, 1, "{name}: {out:?}");
        assert!(
            out.stderr
                .contains("no public key matched (1 tried: key id 0)"),
            "{name}: {}",
            out.stderr
        );

        // A WEBHOOK_SECRET set for other schemes does not stand in the way.
        let flags = header_flags(&headers);
        let [_, public] = key_flags(provider, 1).1;
        let mut args = vec!["verify", "--scheme", name, "--public-key", &public];
        args.extend(["--now", "1700000000"]);
        args.extend(flags.iter().map(String::as_str));
        let out = webhook_with_env(&args, body, Some(("WEBHOOK_SECRET", "other-secret")));
        assert_eq!(
            out.stdout.lines().next(),
            Some("ok key=0"),
            "{name}: {out:?}"
        );
        assert_eq!(
            out.stderr,
            format!("note: --secret ignored: scheme `{name}` verifies with --public-key\n")
        );

        // A secret is no key for them, and a secret-only scheme takes no public key.
        let out = webhook(
            &["verify", "--scheme", name, "--secret", "s", "-H", "x: 1"],
            body,
        );
        assert_eq!(out.status, 2, "{name}: {out:?}");
        assert!(
            out.stderr.starts_with("error: --secret: "),
            "{}",
            out.stderr
        );
        let out = webhook(&["sign", "--scheme", name, "--secret", "s"], body);
        assert_eq!(out.status, 2, "{name}: {out:?}");
        assert!(
            out.stderr.starts_with("error: --secret: "),
            "{}",
            out.stderr
        );
    }
    let (_, [_, public]) = key_flags(PROVIDERS.iter().find(|p| p.name == "discord").unwrap(), 0);
    let out = webhook(
        &[
            "verify",
            "--scheme",
            "github",
            "--public-key",
            &public,
            "-H",
            "x: 1",
        ],
        body,
    );
    assert_eq!(out.status, 2, "{out:?}");
    assert!(
        out.stderr.starts_with("error: --public-key: "),
        "{}",
        out.stderr
    );
    let out = webhook(
        &[
            "verify",
            "--scheme",
            "discord",
            "--public-key",
            "whpk_AAAA",
            "-H",
            "x: 1",
        ],
        body,
    );
    assert_eq!(out.status, 2, "{out:?}");
    assert!(
        out.stderr
            .contains("an Ed25519 public key is 64 hex characters"),
        "{}",
        out.stderr
    );
}

#[test]
fn standard_webhooks_signs_v1a_with_whsk_and_verifies_with_whpk() {
    let seed = [0x42u8; 32];
    let key = ed25519_dalek::SigningKey::from_bytes(&seed);
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let whsk = format!("whsk_{}", b64(&seed));
    let whpk = format!("whpk_{}", b64(key.verifying_key().as_bytes()));
    let other = format!(
        "whpk_{}",
        b64(ed25519_dalek::SigningKey::from_bytes(&[7; 32])
            .verifying_key()
            .as_bytes())
    );
    let body = br#"{"id":"evt_v1a","type":"ping"}"#;
    let fixed = ["--id", "msg_v1a", "--timestamp", "1700000000"];
    let mut args = vec!["sign", "--scheme", "standard", "--private-key", &whsk];
    args.extend_from_slice(&fixed);
    let signed = webhook(&args, body);
    assert_eq!(signed.status, 0, "{signed:?}");
    assert!(
        signed.stdout.contains("webhook-signature: v1a,"),
        "{}",
        signed.stdout
    );

    let verify = |keys: &[&str]| {
        let flags = header_flags(&signed.stdout);
        let mut args = vec!["verify", "--scheme", "standard", "--now", "1700000000"];
        args.extend_from_slice(keys);
        args.extend(flags.iter().map(String::as_str));
        webhook(&args, body)
    };
    let out = verify(&["--public-key", &other, "--public-key", &whpk]);
    assert_eq!(
        out.stdout, "ok key=1\nevent id=msg_v1a type=ping\n",
        "{out:?}"
    );
    // Alongside a secret, the public key keeps its own index.
    let out = verify(&["--secret", STANDARD_SECRET, "--public-key", &whpk]);
    assert_eq!(out.stdout.lines().next(), Some("ok key=0"), "{out:?}");
    let out = verify(&["--secret", STANDARD_SECRET, "--public-key", &other]);
    assert_eq!(out.stdout, "rejected code=signature_mismatch\n", "{out:?}");
    assert!(
        out.stderr
            .contains("no key matched (1 secrets tried: key id 0; 1 public keys tried: key id 0)"),
        "{}",
        out.stderr
    );
}

#[test]
fn providers_that_sign_the_url_need_it_and_refuse_another() {
    let body = br#"{"id":"evt_url","type":"ping"}"#;
    let url_signers: Vec<&Provider> = PROVIDERS
        .iter()
        .filter(|provider| (provider.scheme)().signs_url())
        .collect();
    let names: Vec<&str> = url_signers.iter().map(|provider| provider.name).collect();
    assert_eq!(names, ["square", "hubspot", "twilio"]);
    for provider in url_signers {
        let name = provider.name;
        let headers = sign_with(provider, 0, &["--timestamp", "1700000000"], body);
        let other_url = "https://hooks.example.com/webhooks/in?source=other";
        let [flag, key] = key_flags(provider, 0).1;
        let flags = header_flags(&headers);
        let mut args = vec!["verify", "--scheme", name, &flag, &key, "--url", other_url];
        args.extend(["--now", "1700000000"]);
        args.extend(flags.iter().map(String::as_str));
        let out = webhook(&args, body);
        assert_eq!(
            out.stdout, "rejected code=signature_mismatch\n",
            "{name}: {out:?}"
        );
        assert!(
            out.stderr.contains(&format!(
                "scheme `{name}` signs the URL: checked as POST {other_url}, which must be exactly"
            )),
            "{name}: {}",
            out.stderr
        );

        let (sign_key, verify_key) = key_flags(provider, 0);
        for command in ["sign", "verify"] {
            let key = if command == "sign" {
                &sign_key
            } else {
                &verify_key
            };
            let mut args = vec![command, "--scheme", name, &key[0], &key[1], "-H", "x: 1"];
            if command == "sign" {
                args.truncate(5);
            }
            let out = webhook(&args, body);
            assert_eq!(out.status, 2, "{name} {command}: {out:?}");
            assert_eq!(
                out.stderr,
                format!(
                    "error: --url: scheme `{name}` signs the URL the delivery is sent to: give \
                     the full URL the provider calls (https://host/path?query)\n"
                ),
                "{name} {command}"
            );
        }
    }
    // HubSpot signs the method too.
    let hubspot = PROVIDERS.iter().find(|p| p.name == "hubspot").unwrap();
    let headers = sign_with(hubspot, 0, &["--timestamp", "1700000000"], body);
    let [flag, key] = key_flags(hubspot, 0).1;
    let flags = header_flags(&headers);
    let mut args = vec!["verify", "--scheme", "hubspot", &flag, &key, "--url", URL];
    args.extend(["--now", "1700000000", "--method", "PUT"]);
    args.extend(flags.iter().map(String::as_str));
    let out = webhook(&args, body);
    assert_eq!(out.stdout, "rejected code=signature_mismatch\n", "{out:?}");
    assert!(
        out.stderr.contains("checked as PUT https://"),
        "{}",
        out.stderr
    );
}

#[test]
fn mailgun_is_verified_from_the_body_and_cannot_be_signed_here() {
    let body = |token: &str, signature: &str| {
        format!(
            r#"{{"signature":{{"timestamp":"{T}","token":"{token}","signature":"{signature}"}},"event-data":{{"id":"ev_9","event":"delivered"}}}}"#
        )
    };
    let signature = webhook_signature::scheme::Mailgun::signature("key-b", &T.to_string(), "tok_1");
    let signed = body("tok_1", &signature);
    let args = [
        "verify",
        "--scheme",
        "mailgun",
        "--secret",
        "key-a",
        "--secret",
        "key-b",
        "--now",
        "1700000000",
    ];
    let out = webhook(&args, signed.as_bytes());
    assert_eq!(
        (out.status, out.stdout.lines().next()),
        (0, Some("ok key=1")),
        "{out:?}"
    );
    let out = webhook(&args, body("tok_2", &signature).as_bytes());
    assert_eq!(out.stdout, "rejected code=signature_mismatch\n", "{out:?}");

    let out = webhook(&["sign", "--scheme", "mailgun", "--secret", "key-b"], b"{}");
    assert_eq!(out.status, 2, "{out:?}");
    assert!(
        out.stderr.starts_with(
            "error: scheme `mailgun` cannot be signed here: Mailgun signs inside the body"
        ),
        "{}",
        out.stderr
    );
}

#[test]
fn the_event_line_takes_what_the_delivery_has() {
    // GitHub names the event type in `X-GitHub-Event`, not in the body.
    let body = br#"{"action":"opened","number":1}"#;
    let mut headers = sign("github", "s", &["--id", "d-1"], body);
    headers.push_str("X-GitHub-Event: pull_request\n");
    let out = verify("github", &["s"], &headers, &[], body);
    assert_eq!(
        (out.status, out.stdout.as_str()),
        (0, "ok key=0\nevent id=d-1 type=pull_request\n"),
        "{out:?}"
    );
    // ... even when the body is not JSON (GitHub's form-encoded deliveries).
    let form = b"payload=%7B%7D";
    let mut headers = sign("github", "s", &["--id", "d-2"], form);
    headers.push_str("X-GitHub-Event: ping\n");
    let out = verify("github", &["s"], &headers, &[], form);
    assert_eq!(out.stdout, "ok key=0\nevent id=d-2 type=ping\n", "{out:?}");

    // What is absent is empty; a value with a space is quoted.
    let body = br#"{"id":42,"type":"a b"}"#;
    let headers = sign("hopnow", "s", &[], body);
    let out = verify("hopnow", &["s"], &headers, &[], body);
    assert_eq!(
        out.stdout, "ok key=0\nevent id=42 type=\"a b\"\n",
        "{out:?}"
    );
    let headers = sign("hopnow", "s", &[], b"{}");
    let out = verify("hopnow", &["s"], &headers, &[], b"{}");
    assert_eq!(out.stdout, "ok key=0\nevent id= type=\n", "{out:?}");

    // No envelope to read: the verdict alone.
    for body in [&b"not json"[..], b"[1,2]", b""] {
        let headers = sign("hopnow", "s", &[], body);
        let out = verify("hopnow", &["s"], &headers, &[], body);
        assert_eq!(out.stdout, "ok key=0\n", "{body:?}: {out:?}");
    }
}

#[test]
fn providers_lists_every_scheme_with_its_signature_header() {
    let out = webhook(&["providers"], b"");
    assert_eq!((out.status, out.stderr.as_str()), (0, ""), "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), NAMES.len(), "{}", out.stdout);
    assert!(
        lines.contains(&"github  hmac-sha256  x-hub-signature-256"),
        "{}",
        out.stdout
    );
    for (line, provider) in lines.iter().zip(PROVIDERS) {
        let columns: Vec<&str> = line.split("  ").collect();
        let [listed, algorithm, header] = columns[..] else {
            panic!("not `<name>  <algorithm>  <header>`: {line:?}")
        };
        assert_eq!(listed, provider.name);
        assert_eq!(algorithm, provider.algorithm.as_str(), "{line}");
        if header == "body" {
            continue;
        }
        // The header listed is the one `webhook sign` puts the signature in (GitLab's
        // with a secret token; a signing token signs as Standard Webhooks).
        let signed = if provider.name == "gitlab" {
            sign("gitlab", "gitlab-secret-token", &[], b"{}")
        } else {
            sign_with(provider, 0, &[], b"{}")
        };
        assert!(
            signed.lines().any(|signed| {
                signed
                    .split_once(": ")
                    .is_some_and(|(signed, value)| signed == header && !value.is_empty())
            }),
            "{}: sign printed no {header}:\n{signed}",
            provider.name
        );
    }
    for algorithm in ["hmac-sha1", "ed25519", "ecdsa-p256-sha256"] {
        assert!(
            lines
                .iter()
                .any(|line| line.contains(&format!("  {algorithm}  "))),
            "{}",
            out.stdout
        );
    }

    // Aliases are no lines of their own; --help names them, and --scheme takes them.
    assert!(!out.stdout.contains("svix"), "{}", out.stdout);
    let help = webhook(&["providers", "--help"], b"");
    assert!(
        help.stdout
            .contains("standard: svix, standardwebhooks, standard-webhooks"),
        "{}",
        help.stdout
    );
    let headers = sign("svix", STANDARD_SECRET, &[], b"{}");
    let out = verify(
        "standard-webhooks",
        &[STANDARD_SECRET],
        &headers,
        &[],
        b"{}",
    );
    assert_eq!(out.status, 0, "{out:?}");
}

#[test]
fn url_and_method_are_noted_as_ignored_by_a_scheme_that_signs_neither() {
    let body = br#"{"id":"evt_1"}"#;
    let extra = ["--url", "https://example.com/hook", "--method", "POST"];
    let mut args = vec!["sign", "--scheme", "github", "--secret", "s", "--id", ""];
    args.extend_from_slice(&extra);
    let signed = webhook(&args, body);
    assert_eq!(signed.status, 0, "{signed:?}");
    assert_eq!(signed.stdout, sign("github", "s", &["--id", ""], body));
    let out = verify("github", &["s"], &signed.stdout, &extra, body);
    assert_eq!(
        (out.status, out.stdout.as_str()),
        (0, "ok key=0\nevent id= type=\n"),
        "{out:?}"
    );
    for flag in ["--url", "--method"] {
        let note =
            format!("note: {flag} ignored: scheme `github` signs neither the URL nor the method");
        assert!(out.stderr.contains(&note), "{}", out.stderr);
        assert!(signed.stderr.contains(&note), "{}", signed.stderr);
    }
    // The verification still decides the exit status.
    let out = verify("github", &["other"], &signed.stdout, &extra, body);
    assert_eq!(out.status, 1, "{out:?}");
    assert_eq!(out.stdout, "rejected code=signature_mismatch\n");
}

#[test]
fn the_body_can_come_from_a_file_or_stdin() {
    let body = b"{\"amount\":42}";
    let path = temp_file("body.json", body);
    let file = path.to_str().unwrap();
    let from_file = sign(
        "stripe",
        "whsec_file",
        &["--timestamp", "1700000000", file],
        b"ignored",
    );
    let from_stdin = sign("stripe", "whsec_file", &["--timestamp", "1700000000"], body);
    let from_dash = sign(
        "stripe",
        "whsec_file",
        &["--timestamp", "1700000000", "-"],
        body,
    );
    assert_eq!(from_file, from_stdin);
    assert_eq!(from_file, from_dash);

    let out = verify(
        "stripe",
        &["whsec_file"],
        &from_file,
        &["--now", "1700000000", file],
        b"",
    );
    assert_eq!(out.stdout, "ok key=0\nevent id= type=\n", "{out:?}");
    let out = verify(
        "stripe",
        &["whsec_file"],
        &from_file,
        &["--now", "1700000000"],
        body,
    );
    assert_eq!(out.stdout, "ok key=0\nevent id= type=\n", "{out:?}");

    // The headers can also come from a file: the saved sign output.
    let headers = temp_file("headers.txt", from_file.as_bytes());
    let out = webhook(
        &[
            "verify",
            "--scheme",
            "stripe",
            "--secret",
            "whsec_file",
            "--now",
            "1700000000",
            "--header-file",
            headers.to_str().unwrap(),
            file,
        ],
        b"",
    );
    assert_eq!(
        (out.status, out.stdout.as_str()),
        (0, "ok key=0\nevent id= type=\n"),
        "{out:?}"
    );
    std::fs::remove_file(path).unwrap();
    std::fs::remove_file(headers).unwrap();
}

#[test]
fn a_non_utf8_body_is_signed_as_raw_bytes() {
    let body: &[u8] = b"\xff\xfe\x00binary\x80\xc3(";
    // Invalid UTF-8 (0xff, a lone 0x80, a truncated sequence) and a NUL byte.
    for scheme in ["hopnow", "standard", "slack"] {
        let secret = secret_for(scheme);
        let headers = sign(scheme, &secret, &["--timestamp", "1700000000"], body);
        let out = verify(scheme, &[&secret], &headers, &["--now", "1700000000"], body);
        assert_eq!(out.status, 0, "{scheme}: {out:?}");

        let mut tampered = body.to_vec();
        tampered[0] = 0xfd;
        let out = verify(
            scheme,
            &[&secret],
            &headers,
            &["--now", "1700000000"],
            &tampered,
        );
        assert_eq!(out.status, 1, "{scheme}: {out:?}");
        assert_eq!(out.stdout, "rejected code=signature_mismatch\n");
        assert!(
            out.stderr
                .contains("body: 12 bytes read from standard input"),
            "{out:?}"
        );
    }
}

#[test]
fn a_wrong_secret_is_rejected_without_printing_secrets_or_the_expected_signature() {
    for provider in signed_providers().filter(|p| p.algorithm.is_hmac()) {
        let scheme = provider.name;
        let body = &body_for(provider, "evt_wrong", "ping", T)[..];
        let [_, right] = key_flags(provider, 0).0;
        let [_, wrong] = key_flags(provider, 1).0;
        let fixed = ["--id", "msg_w", "--timestamp", "1700000000"];
        let presented = sign_with(provider, 0, &fixed, body);
        // What the verifier computes with the wrong secret: it must never be shown.
        let expected = sign_with(provider, 1, &fixed, body);
        let expected_tags: Vec<&str> = expected
            .lines()
            .filter(|line| !presented.lines().any(|other| other == *line))
            .map(|line| tag_of(line.split_once(": ").unwrap().1))
            .collect();
        assert_eq!(
            expected_tags.len(),
            1,
            "{scheme}: one signature header differs"
        );

        let out = verify_with(provider, &[1], &presented, &["--now", "1700000000"], body);
        assert_eq!(out.status, 1, "{scheme}: {out:?}");
        assert_eq!(out.stdout, "rejected code=signature_mismatch\n", "{scheme}");
        assert!(
            out.stderr.starts_with("error: signature_mismatch: no configured secret produced a matching signature (signed content: "),
            "{scheme}: {}",
            out.stderr
        );
        assert!(
            out.stderr.contains(&format!("body: {} bytes", body.len())),
            "{}",
            out.stderr
        );
        assert!(out.stderr.contains("1 tried: key id 0"), "{}", out.stderr);
        let all = out.all();
        assert!(!all.contains(&wrong), "{scheme}: the secret leaked: {all}");
        assert!(
            !all.contains(&right),
            "{scheme}: the signer's secret leaked: {all}"
        );
        assert!(
            !all.contains(expected_tags[0]),
            "{scheme}: the expected signature leaked: {all}"
        );
    }
}

#[test]
fn the_scheme_tells_what_content_it_signs() {
    let headers = sign("stripe", "whsec_a", &["--timestamp", "1700000000"], b"{}");
    let out = verify(
        "stripe",
        &["whsec_b"],
        &headers,
        &["--now", "1700000000"],
        b"{}",
    );
    assert!(out.stderr.contains("`<t>.<body>`"), "{}", out.stderr);
    let headers = sign("slack", "a", &["--timestamp", "1700000000"], b"{}");
    let out = verify("slack", &["b"], &headers, &["--now", "1700000000"], b"{}");
    assert!(
        out.stderr.contains("`v0:<timestamp>:<body>`"),
        "{}",
        out.stderr
    );
}

#[test]
fn rotation_names_the_key_that_matched() {
    let body = b"{}";
    for scheme in ["hopnow", "stripe"] {
        let new = sign(scheme, "new-secret", &["--timestamp", "1700000000"], body);
        let out = verify(
            scheme,
            &["old-secret", "new-secret"],
            &new,
            &["--now", "1700000000"],
            body,
        );
        assert_eq!(out.status, 0, "{out:?}");
        assert!(out.stdout.starts_with("ok key=1"), "{scheme}: {out:?}");

        let old = sign(scheme, "old-secret", &["--timestamp", "1700000000"], body);
        let out = verify(
            scheme,
            &["old-secret", "new-secret"],
            &old,
            &["--now", "1700000000"],
            body,
        );
        assert!(out.stdout.starts_with("ok key=0"), "{scheme}: {out:?}");

        let other = sign(scheme, "other-secret", &["--timestamp", "1700000000"], body);
        let out = verify(
            scheme,
            &["old-secret", "new-secret"],
            &other,
            &["--now", "1700000000"],
            body,
        );
        assert_eq!(out.status, 1, "{out:?}");
        assert!(
            out.stderr.contains("2 tried: key ids 0, 1"),
            "{}",
            out.stderr
        );
    }
}

#[test]
fn a_timestamp_outside_the_tolerance_is_rejected_with_the_skew() {
    let body = b"{}";
    for scheme in ["stripe", "slack", "standard"] {
        let secret = secret_for(scheme);
        let headers = sign(scheme, &secret, &["--timestamp", "1700000000"], body);

        let late = (T + 301).to_string();
        let out = verify(scheme, &[&secret], &headers, &["--now", &late], body);
        assert_eq!(out.status, 1, "{scheme}: {out:?}");
        assert_eq!(out.stdout, "rejected code=timestamp_out_of_tolerance\n");
        assert!(
            out.stderr.starts_with(
                "error: timestamp_out_of_tolerance: the signed timestamp is 301 s before now"
            ),
            "{}",
            out.stderr
        );
        assert!(
            out.stderr.contains("hint: signed at 1700000000, checked at 1700000301 (--now): skew 301 s in the past, tolerance 300 s"),
            "{}",
            out.stderr
        );
        assert!(
            out.stderr.contains("pass --now 1700000000"),
            "{}",
            out.stderr
        );

        let early = (T - 301).to_string();
        let out = verify(scheme, &[&secret], &headers, &["--now", &early], body);
        assert_eq!(out.status, 1, "{scheme}: {out:?}");
        assert!(
            out.stderr.contains("skew 301 s in the future"),
            "{}",
            out.stderr
        );

        // Exactly at the tolerance passes; a wider tolerance lets the late one through.
        let edge = (T + 300).to_string();
        let out = verify(scheme, &[&secret], &headers, &["--now", &edge], body);
        assert_eq!(out.status, 0, "{scheme}: {out:?}");
        let out = verify(
            scheme,
            &[&secret],
            &headers,
            &["--now", &late, "--tolerance", "301"],
            body,
        );
        assert_eq!(out.status, 0, "{scheme}: {out:?}");
    }
}

#[test]
fn schemes_without_a_timestamp_ignore_now() {
    let headers = sign("github", GITHUB_SECRET, &[], b"Hello, World!");
    let out = verify(
        "github",
        &[GITHUB_SECRET],
        &headers,
        &["--now", "0"],
        b"Hello, World!",
    );
    assert_eq!(out.status, 0, "{out:?}");
}

#[test]
fn the_github_published_vector_signs_and_verifies() {
    let headers = sign("github", GITHUB_SECRET, &["--id", ""], b"Hello, World!");
    assert_eq!(
        headers,
        format!("x-hub-signature-256: {GITHUB_SIGNATURE}\n")
    );

    let header = format!("X-Hub-Signature-256: {GITHUB_SIGNATURE}");
    let args = [
        "verify",
        "--scheme",
        "github",
        "--secret",
        GITHUB_SECRET,
        "--header",
        &header,
    ];
    let out = webhook(&args, b"Hello, World!");
    assert_eq!(
        (out.status, out.stdout.as_str(), out.stderr.as_str()),
        (0, "ok key=0\n", "")
    );

    // The usual mistake: a trailing newline from `echo`.
    let out = webhook(&args, b"Hello, World!\n");
    assert_eq!(out.status, 1);
    assert!(out.stderr.contains("body: 14 bytes"), "{}", out.stderr);
    assert!(
        out.stderr.contains("the body ends with a newline"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_missing_signature_lists_the_headers_given() {
    let out = webhook(&["verify", "--scheme", "github", "--secret", "s"], b"{}");
    assert_eq!(out.status, 1, "{out:?}");
    assert_eq!(out.stdout, "rejected code=missing_signature\n");
    assert!(
        out.stderr.contains("`x-hub-signature-256`"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("no header was given"), "{}", out.stderr);

    let out = webhook(
        &[
            "verify",
            "--scheme",
            "standard",
            "--secret",
            STANDARD_SECRET,
            "-H",
            "webhook-signature: v1,abc",
        ],
        b"{}",
    );
    assert_eq!(out.stdout, "rejected code=malformed_signature\n", "{out:?}");
    assert!(
        out.stderr.contains("headers given: webhook-signature"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("`<webhook-id>.<webhook-timestamp>.<body>`"),
        "{}",
        out.stderr
    );
}

#[test]
fn usage_errors_exit_2_with_a_clear_message() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["sign", "--scheme", "gitea", "--secret", "s"],
            "invalid value 'gitea' for '--scheme <SCHEME>'",
        ),
        (
            &["verify", "--scheme", "gitea", "--secret", "s"],
            "[possible values: hopnow, github, stripe, standard, slack, shopify, paddle,",
        ),
        (
            &[
                "verify",
                "--scheme",
                "github",
                "--secret",
                "s",
                "--header",
                "X-Hub-Signature-256 sha256=00",
            ],
            "error: --header: malformed header \"X-Hub-Signature-256 sha256=00\": no `:` after the header name",
        ),
        (
            &[
                "verify",
                "--scheme",
                "github",
                "--secret",
                "s",
                "--header",
                "Bad Name: 1",
            ],
            "invalid header name",
        ),
        (
            &[
                "verify",
                "--scheme",
                "github",
                "--secret",
                "s",
                "/nonexistent/body.json",
            ],
            "error: cannot read /nonexistent/body.json: ",
        ),
        (
            &[
                "sign",
                "--scheme",
                "github",
                "--secret",
                "s",
                "/nonexistent/body.json",
            ],
            "error: cannot read /nonexistent/body.json: ",
        ),
        (
            &[
                "verify",
                "--scheme",
                "github",
                "--secret",
                "s",
                "--header-file",
                "/nonexistent/headers",
            ],
            "error: cannot read /nonexistent/headers: ",
        ),
        (
            &[
                "sign",
                "--scheme",
                "standard",
                "--secret",
                "whsec_not*base64!",
            ],
            "error: --secret: invalid secret: a Standard Webhooks secret is `whsec_` followed by base64",
        ),
        (
            &[
                "verify",
                "--scheme",
                "standard",
                "--secret",
                "whsec_not*base64!",
            ],
            "error: --secret: invalid secret",
        ),
        (
            &["sign", "--scheme", "github", "--secret", ""],
            "error: --secret: the secret is empty",
        ),
        (
            &[
                "verify", "--scheme", "github", "--secret", "ok", "--secret", "",
            ],
            "error: --secret: the secret for key `1` is empty",
        ),
        (&["verify", "--scheme", "github"], "--secret <SECRET>"),
        (&["sign", "--secret", "s"], "--scheme <SCHEME>"),
        (
            &[
                "sign",
                "--scheme",
                "standard",
                "--secret",
                STANDARD_SECRET,
                "--id",
                "caf\u{e9}",
            ],
            "error: --id: the id must be printable ASCII",
        ),
        (
            &[
                "sign",
                "--scheme",
                "stripe",
                "--secret",
                "s",
                "--timestamp=-5",
            ],
            "--timestamp",
        ),
        (
            &[
                "verify",
                "--scheme",
                "stripe",
                "--secret",
                "s",
                "--tolerance",
                "soon",
            ],
            "--tolerance",
        ),
    ];
    for (args, message) in cases {
        let out = webhook(args, b"{}");
        assert_eq!(out.status, 2, "{args:?}: {out:?}");
        assert_eq!(out.stdout, "", "{args:?}");
        assert!(out.stderr.contains(message), "{args:?}: {}", out.stderr);
        assert!(
            !out.stderr.contains("whsec_not*base64!"),
            "the secret leaked: {}",
            out.stderr
        );
    }
}

#[test]
fn sign_output_is_stable_and_ids_are_generated() {
    let fixed = ["--id", "msg_1", "--timestamp", "1700000000"];
    let first = sign("standard", STANDARD_SECRET, &fixed, b"{}");
    assert_eq!(first, sign("standard", STANDARD_SECRET, &fixed, b"{}"));
    let names: Vec<&str> = first
        .lines()
        .map(|line| line.split_once(": ").unwrap().0)
        .collect();
    assert_eq!(
        names,
        ["webhook-id", "webhook-signature", "webhook-timestamp"]
    );
    assert!(first.starts_with("webhook-id: msg_1\n"));
    assert!(first.ends_with("webhook-timestamp: 1700000000\n"));

    let a = sign("shopify", "s", &[], b"{}");
    let b = sign("shopify", "s", &[], b"{}");
    let id = |out: &str| {
        out.lines()
            .find_map(|line| line.strip_prefix("x-shopify-webhook-id: "))
            .unwrap()
            .to_owned()
    };
    assert!(id(&a).starts_with("msg_") && id(&a).len() > 20, "{a}");
    assert_ne!(id(&a), id(&b));

    // Schemes without an id print none.
    let hopnow = sign("hopnow", "s", &[], b"{}");
    assert_eq!(hopnow.lines().count(), 1);
    assert!(hopnow.starts_with("x-webhook-signature: "), "{hopnow}");
}

#[test]
fn the_secret_can_come_from_the_environment_and_help_hides_it() {
    let env = Some(("WEBHOOK_SECRET", "env-secret-value"));
    let signed = webhook_with_env(&["sign", "--scheme", "hopnow"], b"{}", env);
    assert_eq!(signed.status, 0, "{signed:?}");
    assert_eq!(
        signed.stdout,
        sign("hopnow", "env-secret-value", &[], b"{}")
    );
    let flags = header_flags(&signed.stdout);
    let mut args = vec!["verify", "--scheme", "hopnow"];
    args.extend(flags.iter().map(String::as_str));
    let out = webhook_with_env(&args, b"{}", env);
    assert_eq!(out.stdout, "ok key=0\nevent id= type=\n", "{out:?}");

    for command in ["sign", "verify"] {
        let help = webhook_with_env(&[command, "--help"], b"", env);
        assert_eq!(help.status, 0);
        assert!(help.stdout.contains("WEBHOOK_SECRET"), "{}", help.stdout);
        assert!(!help.all().contains("env-secret-value"), "{}", help.all());
    }
}

#[test]
fn help_says_what_each_flag_means() {
    let out = webhook(&["sign", "--help"], b"");
    assert_eq!(out.status, 0);
    for text in [
        "--scheme <SCHEME>",
        "which headers to produce and what content to sign",
        "- github:       hmac-sha256, signature in `x-hub-signature-256`",
        "- discord:      ed25519, signature in `x-signature-ed25519`",
        "- mailgun:      hmac-sha256, signature inside the body",
        "--private-key <KEY>",
        "WEBHOOK_PRIVATE_KEY",
        "--url <URL>",
        "--method <METHOD>",
        "aliases svix, standardwebhooks, standard-webhooks",
        "--secret <SECRET>",
        "--id <ID>",
        "Defaults to a random `msg_<uuid>`",
        "--timestamp <UNIX>",
        "Defaults to now",
        "[FILE]",
        "read standard input",
    ] {
        assert!(
            out.stdout.contains(text),
            "sign --help lacks {text:?}:\n{}",
            out.stdout
        );
    }

    let out = webhook(&["verify", "--help"], b"");
    assert_eq!(out.status, 0);
    for text in [
        "--secret <SECRET>",
        "key ids 0, 1, ... by position",
        "--header <NAME: VALUE>",
        "--header-file <PATH>",
        "--public-key <KEY>",
        "--url <URL>",
        "--method <METHOD>",
        "`ok key=<index>` alone on the first",
        "`event id=<id> type=<type>`",
        "--now <UNIX>",
        "--tolerance <SECS>",
        "[default: 300]",
        "[FILE]",
    ] {
        assert!(
            out.stdout.contains(text),
            "verify --help lacks {text:?}:\n{}",
            out.stdout
        );
    }

    let out = webhook(&["--help"], b"");
    assert_eq!(out.status, 0);
    assert!(
        out.stdout.contains("sign")
            && out.stdout.contains("verify")
            && out.stdout.contains("providers"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("Exit status: 0 verified"),
        "{}",
        out.stdout
    );
}
