//! `webhook sign`: the headers a sender attaches.

use std::fmt::Write as _;

use http::{HeaderMap, HeaderName};
use webhook_signature::scheme::SignRequest;
use webhook_signature::{SignError, Signer};

use crate::cli::{SchemeArg, SigningArgs};
use crate::input::{UsageError, parse_method, split_url};

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

/// Signs `body` as `args` says, with `now` as the default timestamp: with the
/// private key when one is given, else with the secret; with the URL and method for
/// the schemes that sign them.
///
/// Uses [`Signer`], so the signature is computed by the same code that verifies it.
pub fn sign(args: &SigningArgs, body: &[u8], now: i64) -> Result<HeaderMap, UsageError> {
    let key = match (&args.private_key, &args.secret) {
        (Some(key), _) => SigningKey::Private(key),
        (None, Some(secret)) => SigningKey::Secret(secret),
        (None, None) => {
            return Err(UsageError::InvalidValue {
                flag: "--secret",
                reason: "give the signing secret, or --private-key",
            });
        }
    };
    let signer = key.signer(args.scheme)?;
    let id = match &args.id {
        Some(id) => {
            check_id(id)?;
            id.clone()
        }
        None => generate_id(),
    };
    let method = args.method.as_deref().map(parse_method).transpose()?;
    let url = match &args.url {
        Some(url) => {
            split_url(url)?;
            Some(url.as_str())
        }
        None if args.scheme.scheme().signs_url() => {
            return Err(UsageError::UrlRequired {
                scheme: args.scheme.name(),
            });
        }
        None => None,
    };
    let mut request = SignRequest::new(body, args.timestamp.unwrap_or(now), &id);
    if let Some(url) = url {
        request = request.with_url(url);
    }
    if let Some(method) = &method {
        request = request.with_method(method.as_str());
    }
    sign_request(&signer, args.scheme, &request)
}

/// What a sender signs with: `--secret` or `--private-key`.
#[derive(Clone, Copy)]
pub(crate) enum SigningKey<'a> {
    Secret(&'a str),
    Private(&'a str),
}

impl SigningKey<'_> {
    /// The flag it comes from.
    pub(crate) fn flag(self) -> &'static str {
        match self {
            Self::Secret(_) => "--secret",
            Self::Private(_) => "--private-key",
        }
    }

    /// A signer for `scheme` with this key; a key the scheme refuses is a usage error
    /// naming the flag it came from.
    pub(crate) fn signer(self, scheme: SchemeArg) -> Result<Signer, UsageError> {
        match self {
            Self::Secret(secret) => Signer::new(scheme.scheme(), secret),
            Self::Private(key) => Signer::with_private_key(scheme.scheme(), key),
        }
        .map_err(|error| UsageError::Key {
            flag: self.flag(),
            error,
        })
    }
}

/// The headers `signer` produces for `request`; a refusal is a usage error.
fn sign_request(
    signer: &Signer,
    scheme: SchemeArg,
    request: &SignRequest<'_>,
) -> Result<HeaderMap, UsageError> {
    signer.sign_request(request).map_err(|error| match error {
        SignError::Unsupported { reason } => UsageError::CannotSign {
            scheme: scheme.name(),
            reason,
        },
        _ => UsageError::InvalidValue {
            flag: "--id",
            reason: "the id cannot be sent in a header",
        },
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

    fn args(scheme: &str, id: Option<&str>) -> SigningArgs {
        SigningArgs {
            scheme: SchemeArg::new(scheme).unwrap(),
            secret: Some(if scheme == "standard" {
                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_owned()
            } else {
                "secret".to_owned()
            }),
            private_key: None,
            id: id.map(str::to_owned),
            timestamp: Some(1_700_000_000),
            url: None,
            method: None,
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
