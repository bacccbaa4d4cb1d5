//! Every case of the shared conformance file, through `Verifier`.

use webhook_signature::scheme::NAMES;
use webhook_testing::conformance::{self, Case, Expect};

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
        .filter(|case| matches!(&case.expect, Expect::Rejected { code: c, .. } if c == code))
        .count()
}

#[test]
fn every_scheme_has_published_positive_and_negative_cases() {
    for scheme in NAMES.iter().copied().chain(["generic"]) {
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
                matches!(&case.expect, Expect::Rejected { code, .. } if code == "timestamp_out_of_tolerance")
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
    let unknown = case(r#", "body": "a""#).replace("hopnow", "gitlab");
    let error = conformance::parse(&unknown).unwrap_err().to_string();
    assert!(error.contains("unknown scheme `gitlab`"), "{error}");
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
