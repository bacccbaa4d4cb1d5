//! Runs the built `webhook` binary and checks what a user sees: exit status, standard
//! output and standard error.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use webhook_signature::scheme::NAMES;

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

/// The 32-byte tag inside a signature header value (`sha256=<hex>`, `t=..,v1=<hex>`,
/// `v1,<base64>`, `v0=<hex>`, bare hex or base64).
fn tag_of(value: &str) -> &str {
    value
        .split([',', '=', ' '])
        .max_by_key(|piece| piece.len())
        .filter(|piece| piece.len() >= 43)
        .unwrap_or_else(|| panic!("no tag in {value:?}"))
}

#[test]
fn sign_then_verify_round_trips_for_every_scheme() {
    let body = br#"{"id":"evt_1","type":"payout.completed"}"#;
    for scheme in NAMES {
        let secret = secret_for(scheme);
        let headers = sign(
            scheme,
            &secret,
            &["--id", "msg_test_1", "--timestamp", "1700000000"],
            body,
        );
        let out = verify(scheme, &[&secret], &headers, &["--now", "1700000000"], body);
        // The schemes that carry an id (github, shopify, standard) report it; the
        // others report the body's.
        let id = if headers.contains("msg_test_1") {
            "msg_test_1"
        } else {
            "evt_1"
        };
        assert_eq!(
            (out.status, out.stdout.as_str(), out.stderr.as_str()),
            (
                0,
                format!("ok key=0\nevent id={id} type=payout.completed\n").as_str(),
                ""
            ),
            "{scheme}"
        );

        // With the defaults: a generated id, now as the timestamp, the system clock.
        let headers = sign(scheme, &secret, &[], body);
        let out = verify(scheme, &[&secret], &headers, &[], body);
        assert_eq!(out.status, 0, "{scheme}: {out:?}");
        assert!(out.stdout.starts_with("ok key=0\n"), "{scheme}: {out:?}");
    }
}

#[test]
fn verify_prints_the_index_of_the_matching_secret_and_the_event_for_every_scheme() {
    let body = br#"{"id":"evt_7","type":"invoice.paid","data":{}}"#;
    for scheme in NAMES {
        let (first, second) = if *scheme == "standard" {
            (
                "whsec_d3JvbmctYnV0LXZhbGlkLXNlY3JldA==".to_owned(),
                STANDARD_SECRET.to_owned(),
            )
        } else {
            (format!("first-{scheme}"), format!("second-{scheme}"))
        };
        let fixed = ["--id", "evt_7", "--timestamp", "1700000000"];
        let headers = sign(scheme, &second, &fixed, body);
        let out = verify(
            scheme,
            &[&first, &second],
            &headers,
            &["--now", "1700000000"],
            body,
        );
        assert_eq!(
            (out.status, out.stdout.as_str(), out.stderr.as_str()),
            (0, "ok key=1\nevent id=evt_7 type=invoice.paid\n", ""),
            "{scheme}"
        );

        let out = verify(
            scheme,
            &[&second, &first],
            &headers,
            &["--now", "1700000000"],
            body,
        );
        assert_eq!(out.stdout.lines().next(), Some("ok key=0"), "{scheme}");

        let tampered = br#"{"id":"evt_7","type":"invoice.paid","data":{"x":1}}"#;
        let out = verify(
            scheme,
            &[&first, &second],
            &headers,
            &["--now", "1700000000"],
            tampered,
        );
        assert_eq!(out.status, 1, "{scheme}: {out:?}");
        assert_eq!(out.stdout, "rejected code=signature_mismatch\n", "{scheme}");
        assert!(
            out.stderr.starts_with("error: signature_mismatch: "),
            "{scheme}: {}",
            out.stderr
        );
    }
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
    for (line, name) in lines.iter().zip(NAMES) {
        let columns: Vec<&str> = line.split("  ").collect();
        let [listed, algorithm, header] = columns[..] else {
            panic!("not `<name>  <algorithm>  <header>`: {line:?}")
        };
        assert_eq!(listed, *name);
        assert_eq!(algorithm, "hmac-sha256", "{line}");
        // The header listed is the one `webhook sign` puts the signature in.
        let signed = sign(name, &secret_for(name), &[], b"{}");
        assert!(
            signed.lines().any(|signed| {
                signed
                    .split_once(": ")
                    .is_some_and(|(signed, value)| signed == header && tag_of(value).len() >= 43)
            }),
            "{name}: sign printed no {header}:\n{signed}"
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
fn flags_a_scheme_does_not_use_are_accepted_and_noted() {
    let body = br#"{"id":"evt_1"}"#;
    let headers = sign("github", "s", &["--id", ""], body);
    let extra = [
        "--public-key",
        "dGhlLWtleQ==",
        "--url",
        "https://example.com/hook",
        "--method",
        "POST",
    ];
    let out = verify("github", &["s"], &headers, &extra, body);
    assert_eq!(
        (out.status, out.stdout.as_str()),
        (0, "ok key=0\nevent id=evt_1 type=\n"),
        "{out:?}"
    );
    for flag in ["--public-key", "--url", "--method"] {
        assert!(
            out.stderr
                .contains(&format!("note: {flag} ignored: scheme `github`")),
            "{}",
            out.stderr
        );
    }
    // The verification still decides the exit status.
    let out = verify("github", &["other"], &headers, &extra, body);
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
    let body = b"{\"id\":\"evt_wrong\"}";
    for scheme in NAMES {
        let (right, wrong) = if *scheme == "standard" {
            (
                STANDARD_SECRET.to_owned(),
                "whsec_d3JvbmctYnV0LXZhbGlkLXNlY3JldA==".to_owned(),
            )
        } else {
            (
                format!("right-secret-{scheme}"),
                format!("wrong-secret-{scheme}"),
            )
        };
        let fixed = ["--id", "msg_w", "--timestamp", "1700000000"];
        let presented = sign(scheme, &right, &fixed, body);
        // What the verifier computes with the wrong secret: it must never be shown.
        let expected = sign(scheme, &wrong, &fixed, body);
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

        let out = verify(
            scheme,
            &[&wrong],
            &presented,
            &["--now", "1700000000"],
            body,
        );
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
            &["sign", "--scheme", "gitlab", "--secret", "s"],
            "invalid value 'gitlab' for '--scheme <SCHEME>'",
        ),
        (
            &["verify", "--scheme", "gitlab", "--secret", "s"],
            "[possible values: hopnow, github, stripe, standard, slack, shopify]",
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
        "- github:   hmac-sha256, signature in `x-hub-signature-256`",
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
