//! Every case of the shared conformance files, through `Verifier`.

use std::collections::BTreeSet;

use webhook_signature::Signer;
use webhook_signature::scheme::{NAMES, Provider, SignRequest};
use webhook_testing::conformance::{self, Case, Expect};

/// The provider cases the signature engine answers otherwise than the provider's SDK
/// does, by the engine's cause. Each must still fail, so the list shrinks as the
/// engine follows the SDKs.
const DIVERGENT: &[&str] = &[
    // A malformed signature entry beside a valid one: the SDKs skip it, the engine
    // refuses the delivery (400 malformed_signature).
    "clerk: an invalid signature before the valid one",
    "resend: an invalid signature before the valid one",
    "mux: several v1 items, the second valid",
    "paddle: published Python SDK vector, three keys, the third matches",
    // Linear: the SDK falls back to the `linear-timestamp` header, or checks no time,
    // when the body has no `webhookTimestamp`; the engine requires it.
    "linear: no body timestamp, fresh linear-timestamp header",
    "linear: no timestamp anywhere",
    // The SDKs compare lowercase hex text; the engine decodes either case.
    "linear: uppercase hex",
    "paddle: uppercase hex",
];

#[test]
fn every_provider_case_has_the_expected_outcome() {
    let mut skipped = Vec::new();
    let mut failures = Vec::new();
    let mut total = 0;
    println!(
        "{:<14} {:>5} {:>8} {:>7} {:>6} {:>9}",
        "provider", "cases", "accepted", "refused", "passed", "divergent"
    );
    for file in conformance::providers() {
        if let Some(reason) = file.unsupported() {
            println!("{:<14} skipped: {reason}", file.provider);
            skipped.push(file.provider);
            continue;
        }
        let accepted = file
            .cases
            .iter()
            .filter(|case| matches!(case.expect, Expect::Ok { .. }))
            .count();
        let failed: Vec<_> = file
            .cases
            .iter()
            .filter_map(|case| case.check().err())
            .collect();
        let cases = file.cases.len();
        println!(
            "{:<14} {cases:>5} {accepted:>8} {:>7} {:>6} {:>9}",
            file.provider,
            cases - accepted,
            cases - failed.len(),
            failed.len(),
        );
        total += cases;
        failures.extend(failed);
    }
    println!("{total} cases run; skipped: {skipped:?}");
    assert!(skipped.is_empty(), "skipped: {skipped:?}");
    let unexpected: Vec<String> = failures
        .iter()
        .filter(|mismatch| !DIVERGENT.contains(&mismatch.case.as_str()))
        .map(ToString::to_string)
        .collect();
    assert!(
        unexpected.is_empty(),
        "{} of {total} provider cases failed:\n{}",
        unexpected.len(),
        unexpected.join("\n")
    );
    let now_passing: Vec<&&str> = DIVERGENT
        .iter()
        .filter(|name| !failures.iter().any(|mismatch| mismatch.case == **name))
        .collect();
    assert!(
        now_passing.is_empty(),
        "these cases pass now: take them off DIVERGENT: {now_passing:?}"
    );
    println!("{} divergent cases, as listed", failures.len());
}

#[test]
fn the_embedded_provider_files_are_the_folder_s_and_each_names_its_provider() {
    let folder = concat!(env!("CARGO_MANIFEST_DIR"), "/conformance/providers");
    let on_disk: BTreeSet<String> = std::fs::read_dir(folder)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter_map(|name| name.strip_suffix(".json").map(str::to_owned))
        .collect();
    let embedded: Vec<&str> = conformance::PROVIDER_FILES
        .iter()
        .map(|(name, _)| *name)
        .collect();
    assert_eq!(
        embedded.iter().copied().collect::<BTreeSet<_>>(),
        on_disk.iter().map(String::as_str).collect(),
    );
    assert!(embedded.is_sorted(), "{embedded:?}");
    for ((name, json), file) in conformance::PROVIDER_FILES
        .iter()
        .zip(conformance::providers())
    {
        assert_eq!(
            std::fs::read_to_string(format!("{folder}/{name}.json")).unwrap(),
            *json
        );
        assert_eq!(file.provider, *name);
        assert!(file.spec["source"].is_string(), "{name}: no spec");
        let mut names = BTreeSet::new();
        for case in &file.cases {
            assert!(case.name.starts_with(&format!("{name}: ")), "{}", case.name);
            assert!(names.insert(&case.name), "{}: named twice", case.name);
        }
        // Positive and negative cases, both.
        assert!(
            file.cases
                .iter()
                .any(|case| matches!(case.expect, Expect::Ok { .. })),
            "{name}"
        );
        assert!(
            file.cases
                .iter()
                .any(|case| matches!(case.expect, Expect::Rejected { .. })),
            "{name}"
        );
    }
}

/// Each built-in provider has cases: in `signatures.json` or in its own file.
#[test]
fn every_built_in_provider_has_conformance_cases() {
    let files = conformance::providers();
    let signatures = conformance::cases();
    for name in NAMES {
        let in_signatures = signatures.iter().any(|case| case.scheme == *name);
        let in_a_file = files.iter().any(|file| file.provider == *name);
        assert!(in_signatures || in_a_file, "{name}: no conformance case");
    }
}

#[test]
fn every_case_has_the_expected_outcome() {
    let cases = conformance::cases();
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|case| case.check().err())
        .map(|mismatch| mismatch.to_string())
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// The checker can fail: every case, with its expectation turned around, fails.
#[test]
fn a_case_with_the_wrong_expectation_fails() {
    let json: serde_json::Value = serde_json::from_str(conformance::JSON).unwrap();
    let mut flipped = json.clone();
    for case in flipped["cases"].as_array_mut().unwrap() {
        let expect = &mut case["expect"];
        *expect = if expect["outcome"] == "ok" {
            serde_json::json!({"outcome": "rejected", "code": "signature_mismatch", "status": 401})
        } else {
            serde_json::json!({"outcome": "ok", "key_id": "k1"})
        };
    }
    let cases = conformance::parse(&flipped.to_string()).unwrap();
    assert_eq!(cases.len(), conformance::cases().len());
    for case in &cases {
        let mismatch = case.check().unwrap_err();
        assert_eq!(mismatch.case, case.name);
    }

    // A wrong key id, code or status is caught too.
    let by_name = |name: &str| {
        let original = json["cases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|case| case["name"] == name)
            .unwrap()
            .clone();
        move |field: &str, value: serde_json::Value| {
            let mut case = original.clone();
            case["expect"][field] = value;
            let file = serde_json::json!({ "cases": [case.clone()] });
            conformance::parse(&file.to_string()).unwrap().remove(0)
        }
    };
    let github = by_name("github: published docs vector");
    let detail = github("key_id", "k2".into()).check().unwrap_err().detail;
    assert_eq!(detail, "verified with key `k1`, expected `k2`");
    let detail = github("event_id", "other".into())
        .check()
        .unwrap_err()
        .detail;
    assert!(detail.starts_with("event id"), "{detail}");
    let stale = by_name("stripe: out of tolerance, past");
    let detail = stale("code", "signature_mismatch".into())
        .check()
        .unwrap_err()
        .detail;
    assert!(
        detail.starts_with("rejected with 401 `timestamp_out_of_tolerance`"),
        "{detail}"
    );
    let detail = stale("status", 400.into()).check().unwrap_err().detail;
    assert!(
        detail.ends_with("expected 400 `timestamp_out_of_tolerance`"),
        "{detail}"
    );
}

fn cases_of(scheme: &str) -> Vec<Case> {
    conformance::cases()
        .into_iter()
        .filter(|case| case.scheme == scheme)
        .collect()
}

fn rejected_with(cases: &[Case], code: &str) -> usize {
    cases
        .iter()
        .filter(|case| {
            matches!(&case.expect, Expect::Rejected { code: c, .. } if c.as_deref() == Some(code))
        })
        .count()
}

/// The built-in schemes without a provider file of their own are covered here.
#[test]
fn every_scheme_has_published_positive_and_negative_cases() {
    let files = conformance::providers();
    let without_file = NAMES
        .iter()
        .copied()
        .filter(|name| !files.iter().any(|file| file.provider == *name));
    for scheme in without_file.chain(["generic"]) {
        let cases = cases_of(scheme);
        let published_ok = cases
            .iter()
            .filter(|case| case.source.is_some() && matches!(case.expect, Expect::Ok { .. }))
            .count();
        assert!(published_ok >= 1, "{scheme}: no published positive vector");
        assert!(
            cases
                .iter()
                .all(|case| case.name.starts_with(&format!("{scheme}: "))),
            "{scheme}: names start with the scheme"
        );
        if scheme == "generic" {
            continue;
        }
        assert!(
            rejected_with(&cases, "signature_mismatch") >= 1,
            "{scheme}: no wrong-key case"
        );
        assert!(
            cases.iter().any(|case| case.name.ends_with(": wrong key")),
            "{scheme}: no wrong-key case"
        );
        assert!(
            rejected_with(&cases, "malformed_signature") >= 2,
            "{scheme}: truncated and wrongly encoded signatures"
        );
        assert!(
            rejected_with(&cases, "conflicting_headers") >= 1,
            "{scheme}: no conflicting duplicate header"
        );
    }
}

#[test]
fn timestamped_schemes_are_checked_out_of_tolerance_both_ways() {
    for scheme in ["stripe", "slack", "standard"] {
        let cases = cases_of(scheme);
        let stale: Vec<&Case> = cases
            .iter()
            .filter(|case| {
                matches!(&case.expect, Expect::Rejected { code: Some(code), .. } if code == "timestamp_out_of_tolerance")
            })
            .collect();
        // The direction comes from the signed timestamp: the same case with `now` at
        // the timestamp verifies.
        let direction = |case: &Case| {
            let mut at = case.clone();
            at.now = signed_timestamp(case);
            at.expect = Expect::Ok {
                key_id: "k1".into(),
                event_id: None,
                timestamp: None,
            };
            at.check().unwrap();
            case.now.cmp(&at.now)
        };
        let past = stale.iter().filter(|c| direction(c).is_gt()).count();
        let future = stale.iter().filter(|c| direction(c).is_lt()).count();
        assert!(
            past >= 1 && future >= 1,
            "{scheme}: past {past}, future {future}"
        );
    }
}

fn signed_timestamp(case: &Case) -> i64 {
    let headers = case.headers();
    for name in ["webhook-timestamp", "x-slack-request-timestamp"] {
        if let Some(value) = headers.get(name) {
            return value.to_str().unwrap().parse().unwrap();
        }
    }
    let stripe = headers["stripe-signature"].to_str().unwrap();
    stripe
        .split(',')
        .find_map(|item| item.strip_prefix("t="))
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn the_published_vectors_of_the_signature_crate_are_included_with_their_source() {
    // The values pinned in crates/webhook-signature/tests/vectors.rs.
    let vectors = [
        (
            "github",
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
        ),
        (
            "standard",
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
        ),
        (
            "slack",
            "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
        ),
        (
            "stripe",
            "t=1533204620,v1=2220f87ef101a04665f11cdf770523143f875572008577fa0f20882ddb9cc3c7,v0=63f3a72374a733066c4be69ed7f8e5ac85c22c9f0a6a612ab9a025a9e4ee7eef",
        ),
        ("shopify", "B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g="),
        (
            "hopnow",
            "6f3992ee2788ad30eaa6ccf2b226007914f54f6070c5cb3eabe0e27e51847271",
        ),
    ];
    for (scheme, signature) in vectors {
        let case = cases_of(scheme)
            .into_iter()
            .find(|case| {
                matches!(case.expect, Expect::Ok { .. })
                    && case.headers.iter().any(|(_, value)| value == signature)
            })
            .unwrap_or_else(|| panic!("{scheme}: the published vector is missing"));
        assert!(case.source.is_some(), "{}: no source", case.name);
        case.check().unwrap();
    }
}

#[test]
fn bodies_may_be_base64_for_bytes_that_are_not_utf8() {
    let case = conformance::cases()
        .into_iter()
        .find(|case| case.name == "hopnow: a body that is not UTF-8 (body_base64)")
        .unwrap();
    assert!(std::str::from_utf8(&case.body()).is_err());
    case.check().unwrap();
}

#[test]
fn malformed_files_are_refused_with_the_case_named() {
    let case = |extra: &str| {
        format!(
            r#"{{"cases": [{{"name": "x", "scheme": "hopnow", "secrets": [], "headers": [], "now": 0,
                "expect": {{"outcome": "ok", "key_id": "k1"}} {extra}}}]}}"#
        )
    };
    let error = conformance::parse(&case("")).unwrap_err().to_string();
    assert_eq!(
        error,
        "conformance case \"x\": give exactly one of `body` and `body_base64`"
    );
    let error = conformance::parse(&case(r#", "body": "a", "body_base64": "YQ==""#))
        .unwrap_err()
        .to_string();
    assert!(error.contains("exactly one"), "{error}");
    let error = conformance::parse(&case(r#", "body_base64": "not base64!""#))
        .unwrap_err()
        .to_string();
    assert!(error.contains("not base64"), "{error}");
    let error = conformance::parse(&case(r#", "body": "a", "headers": [["bad name", "v"]]"#));
    assert!(error.is_err());
    let unknown = case(r#", "body": "a""#).replace("hopnow", "no-such-scheme");
    let error = conformance::parse(&unknown).unwrap_err().to_string();
    assert!(error.contains("unknown scheme `no-such-scheme`"), "{error}");
    let error = conformance::parse("{").unwrap_err().to_string();
    assert!(error.starts_with("conformance file: "), "{error}");

    // A case with no secrets cannot build a verifier: reported, not a panic.
    let cases = conformance::parse(&case(r#", "body": "a""#)).unwrap();
    let mismatch = cases[0].check().unwrap_err();
    assert!(
        mismatch
            .detail
            .starts_with("the verifier could not be built"),
        "{mismatch}"
    );
}

/// The provider checker can fail: every case of a file that runs, with its expectation
/// turned around, fails.
#[test]
fn a_provider_case_with_the_wrong_expectation_fails() {
    let mut checked = 0;
    for (_, json) in conformance::PROVIDER_FILES {
        let mut file: serde_json::Value = serde_json::from_str(json).unwrap();
        for case in file["cases"].as_array_mut().unwrap() {
            let expect = &mut case["expect"];
            *expect = if expect["outcome"] == "ok" {
                serde_json::json!({"outcome": "rejected"})
            } else {
                serde_json::json!({"outcome": "ok", "key_id": "k1"})
            };
        }
        let file = conformance::parse_provider(&file.to_string()).unwrap();
        if file.unsupported().is_some() {
            continue;
        }
        for case in &file.cases {
            if DIVERGENT.contains(&case.name.as_str()) {
                continue;
            }
            let mismatch = case.check().unwrap_err();
            assert_eq!(mismatch.case, case.name);
            checked += 1;
        }
    }
    assert!(checked >= 250, "only {checked} cases checked");
}

/// Each accepted provider case, signed again by `Signer` with the case's own key (its
/// secret, or its private key for asymmetric schemes) at the case's clock, verifies
/// with the key id the case names.
#[test]
fn accepted_provider_cases_re_signed_by_signer_verify_too() {
    let mut failures = Vec::new();
    for file in conformance::providers() {
        if file.unsupported().is_some() {
            continue;
        }
        for case in &file.cases {
            let Expect::Ok {
                key_id, event_id, ..
            } = &case.expect
            else {
                continue;
            };
            // Mailgun's signature travels in the body, which `Signer` does not write.
            let in_body = Provider::find(&case.scheme)
                .is_some_and(|provider| provider.signature_header == "body");
            if DIVERGENT.contains(&case.name.as_str()) || in_body {
                continue;
            }
            let signer = match case.secrets.iter().find(|secret| &secret.key_id == key_id) {
                Some(secret) => Signer::new(case.scheme(), &secret.secret),
                None => {
                    let Some(private_key) = &case.private_key else {
                        // A published vector of a key pair whose private half is not.
                        continue;
                    };
                    Signer::with_private_key(case.scheme(), private_key)
                }
            };
            let signer = match signer {
                Ok(signer) => signer,
                Err(error) => {
                    failures.push(format!("{}: no signer: {error}", case.name));
                    continue;
                }
            };
            let body = case.body();
            let method = case.method();
            let mut request = SignRequest::new(
                &body,
                case.now,
                event_id.as_deref().unwrap_or("msg_conformance"),
            )
            .with_method(method.as_str());
            if let Some(url) = &case.url {
                request = request.with_url(url);
            }
            let headers = match signer.sign_request(&request) {
                Ok(headers) => headers,
                Err(error) => {
                    failures.push(format!("{}: not signed: {error}", case.name));
                    continue;
                }
            };
            let verified = case.verifier().unwrap().verify_request(
                &method,
                case.uri().as_ref(),
                &headers,
                &body,
            );
            match verified {
                Ok(delivery) if delivery.key_id().as_str() == key_id => {}
                Ok(delivery) => failures.push(format!(
                    "{}: verified with `{}`, not `{key_id}`",
                    case.name,
                    delivery.key_id()
                )),
                Err(rejection) => failures.push(format!("{}: {rejection}", case.name)),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
