//! The shared conformance file (`crates/webhook-testing/conformance/signatures.json`):
//! every case, positive and negative, through `Verifier::verify`, and each published
//! positive vector reproduced by `Signer` where the case carries what was signed.

use webhook_signature::Signer;
use webhook_testing::conformance::{self, Expect};

#[test]
fn every_conformance_case_has_the_expected_outcome() {
    let cases = conformance::cases();
    assert!(cases.len() >= 50, "only {} cases", cases.len());
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|case| case.check().err())
        .map(|mismatch| mismatch.to_string())
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn accepted_cases_re_signed_by_signer_verify_too() {
    // For each accepted case, sign the same body at the case's clock with the key that
    // matched: the verifier must accept our own signature as it accepts the provider's.
    for case in conformance::cases() {
        let Expect::Ok {
            key_id, event_id, ..
        } = &case.expect
        else {
            continue;
        };
        let secret = &case
            .secrets
            .iter()
            .find(|secret| &secret.key_id == key_id)
            .unwrap()
            .secret;
        let signer = Signer::new(case.scheme(), secret).unwrap();
        let headers = signer
            .sign(
                &case.body(),
                case.now,
                event_id.as_deref().unwrap_or("msg_conformance"),
            )
            .unwrap();
        let delivery = case
            .verifier()
            .unwrap()
            .verify(&headers, &case.body())
            .unwrap_or_else(|error| panic!("{}: {error}", case.name));
        assert_eq!(delivery.key_id().as_str(), key_id, "{}", case.name);
    }
}
