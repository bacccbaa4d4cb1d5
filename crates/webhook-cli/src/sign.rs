//! `webhook sign`: the headers a sender attaches.

use std::fmt::Write as _;

use http::{HeaderMap, HeaderName};
use webhook_signature::Signer;

use crate::cli::SigningArgs;
use crate::input::UsageError;

/// A fresh message id: `msg_` followed by a random (version 4) UUID in hex.
///
/// ```
/// let id = webhook_cli::generate_id();
/// assert!(id.starts_with("msg_") && id.len() == 36);
/// assert_ne!(id, webhook_cli::generate_id());
/// ```
pub fn generate_id() -> String {
    format!("msg_{}", uuid::Uuid::new_v4().simple())
}

/// Signs `body` as `args` says, with `now` as the default timestamp.
///
/// Uses [`Signer`], so the signature is computed by the same code that verifies it.
pub fn sign(args: &SigningArgs, body: &[u8], now: i64) -> Result<HeaderMap, UsageError> {
    let signer = Signer::new(args.scheme.scheme(), &args.secret)?;
    let id = match &args.id {
        Some(id) => {
            check_id(id)?;
            id.clone()
        }
        None => generate_id(),
    };
    let timestamp = args.timestamp.unwrap_or(now);
    signer
        .sign(body, timestamp, &id)
        .map_err(|_| UsageError::InvalidValue {
            flag: "--id",
            reason: "the id cannot be sent in a header",
        })
}

/// An id a verifier reads back unchanged: printable ASCII, no surrounding whitespace
/// (header values are trimmed, which would change the signed content).
pub(crate) fn check_id(id: &str) -> Result<(), UsageError> {
    if !id.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Err(UsageError::InvalidValue {
            flag: "--id",
            reason: "the id must be printable ASCII",
        });
    }
    if id.trim() != id {
        return Err(UsageError::InvalidValue {
            flag: "--id",
            reason: "the id must not start or end with a space",
        });
    }
    Ok(())
}

/// Formats headers one `name: value` per line, sorted by name (values of one name in
/// their order), so the output is stable and can be fed back to `webhook verify`.
///
/// ```
/// let mut headers = http::HeaderMap::new();
/// headers.insert("x-b", "2".parse().unwrap());
/// headers.insert("x-a", "1".parse().unwrap());
/// assert_eq!(webhook_cli::format_headers(&headers), "x-a: 1\nx-b: 2\n");
/// ```
pub fn format_headers(headers: &HeaderMap) -> String {
    let mut names: Vec<&HeaderName> = headers.keys().collect();
    names.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    let mut out = String::new();
    for name in names {
        for value in headers.get_all(name) {
            let _ = writeln!(out, "{name}: {}", String::from_utf8_lossy(value.as_bytes()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::SchemeArg;

    fn args(scheme: &str, id: Option<&str>) -> SigningArgs {
        SigningArgs {
            scheme: SchemeArg::new(scheme).unwrap(),
            secret: if scheme == "standard" {
                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_owned()
            } else {
                "secret".to_owned()
            },
            id: id.map(str::to_owned),
            timestamp: Some(1_700_000_000),
        }
    }

    #[test]
    fn ids_that_would_not_survive_a_header_are_refused() {
        for id in ["caf\u{e9}", "a\nb", " padded", "padded "] {
            let error = sign(&args("standard", Some(id)), b"{}", 0);
            assert!(
                matches!(error, Err(UsageError::InvalidValue { flag: "--id", .. })),
                "{id:?}"
            );
        }
        // An empty id is allowed: GitHub and Shopify then send no id header.
        let headers = sign(&args("github", Some("")), b"{}", 0).unwrap();
        assert!(!headers.contains_key("x-github-delivery"));
    }

    #[test]
    fn a_generated_id_is_used_when_none_is_given() {
        let headers = sign(&args("shopify", None), b"{}", 0).unwrap();
        assert!(
            headers["x-shopify-webhook-id"]
                .to_str()
                .unwrap()
                .starts_with("msg_")
        );
    }

    #[test]
    fn headers_are_sorted_by_name() {
        let headers = sign(&args("standard", Some("msg_1")), b"{}", 0).unwrap();
        let text = format_headers(&headers);
        let names: Vec<_> = text
            .lines()
            .map(|line| line.split(':').next().unwrap())
            .collect();
        assert_eq!(
            names,
            ["webhook-id", "webhook-signature", "webhook-timestamp"]
        );
    }
}
