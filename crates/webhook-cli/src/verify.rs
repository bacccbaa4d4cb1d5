//! `webhook verify`: check a delivery and explain a rejection.

use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use http::{HeaderMap, Method};
use webhook_core::envelope::Member;
use webhook_core::{Rejection, VerifiedDelivery};
use webhook_signature::{SignatureRejection, Verifier};

use crate::cli::{SchemeArg, VerifyArgs};
use crate::input::{Body, UsageError, parse_method, split_url};

/// The key id of the `--public-key` at a position: apart from the secrets' ids
/// (`0`, `1`, ...), so that both kinds can be given at once (Standard Webhooks).
const PUBLIC_KEY_ID: &str = "public-key-";

/// What `webhook verify` checked, and what came of it.
#[derive(Debug)]
pub struct Verification {
    /// The scheme used.
    pub scheme: SchemeArg,
    /// The delivery's headers, as given.
    pub headers: HeaderMap,
    /// The body.
    pub body: Body,
    /// How many secrets were tried.
    pub secrets: usize,
    /// How many public keys were tried.
    pub public_keys: usize,
    /// The method checked, for the schemes that sign it.
    pub method: Method,
    /// The URL checked (`--url`), for the schemes that sign it.
    pub url: Option<String>,
    /// The time the timestamp was checked against (Unix seconds).
    pub now: i64,
    /// Whether `now` came from `--now` rather than the system clock.
    pub now_given: bool,
    /// The outcome: a verified delivery carries the event id of
    /// [`VerifiedDelivery::with_event_id_from_body`], as the signature layer gives it.
    pub outcome: Result<VerifiedDelivery, SignatureRejection>,
}

/// Verifies `body` and `headers` (built with [`collect_headers`](crate::collect_headers)
/// from `args`) against the secrets and public keys in `args`; `now` is the system
/// time, used unless `--now` is given.
///
/// Builds a [`Verifier`] with the secrets under key ids `0`, `1`, ... and the public
/// keys after them, each numbered by its position among its own flag. For a scheme
/// that signs the URL, `--url` is split into the verifier's public URL and the
/// request URI ([`split_url`]), and the delivery is checked as a request with
/// `--method` (default `POST`). A key the scheme refuses, a missing `--url` where
/// the scheme signs it, or a malformed flag is a [`UsageError`]; a signature that
/// does not verify is an `Err` in [`Verification::outcome`].
pub fn verify(
    args: &VerifyArgs,
    headers: HeaderMap,
    body: Body,
    now: i64,
) -> Result<Verification, UsageError> {
    let checked_at = args.now.unwrap_or(now);
    let at = UNIX_EPOCH + Duration::from_secs(checked_at.max(0).unsigned_abs());
    let scheme = args.scheme.scheme();
    // Each public key is read here too, so that a refusal names --public-key.
    for key in &args.public_keys {
        scheme
            .decode_public_key(key)
            .map_err(|error| UsageError::Key {
                flag: "--public-key",
                error,
            })?;
    }
    let method = match &args.method {
        Some(text) => parse_method(text)?,
        None => Method::POST,
    };
    let target = match &args.url {
        Some(url) if scheme.signs_url() => Some(split_url(url)?),
        None if scheme.signs_url() => {
            return Err(UsageError::UrlRequired {
                scheme: args.scheme.name(),
            });
        }
        _ => None,
    };
    let mut builder = Verifier::builder(scheme)
        .tolerance(Duration::from_secs(args.tolerance))
        .clock(move || at);
    let secrets = used_secrets(args);
    for (index, secret) in secrets.iter().enumerate() {
        builder = builder.secret(index.to_string(), secret.as_str());
    }
    for (index, key) in args.public_keys.iter().enumerate() {
        builder = builder.public_key(format!("{PUBLIC_KEY_ID}{index}"), key.as_str());
    }
    if let Some((public_url, _)) = &target {
        builder = builder.public_url(public_url.as_str());
    }
    let verifier = builder.build().map_err(|error| UsageError::Key {
        flag: "--secret",
        error,
    })?;
    let outcome = verifier
        .verify_request(
            &method,
            target.as_ref().map(|(_, uri)| uri),
            &headers,
            &Bytes::copy_from_slice(&body.bytes),
        )
        .map(|delivery| delivery.with_envelope(verifier.scheme().envelope(), &headers));
    Ok(Verification {
        scheme: args.scheme,
        headers,
        body,
        secrets: secrets.len(),
        public_keys: args.public_keys.len(),
        method,
        url: target.and(args.url.clone()),
        now: checked_at,
        now_given: args.now.is_some(),
        outcome,
    })
}

impl Verification {
    /// The verdict, the first line of standard output: `ok key=<index>` (the position
    /// of the key that matched among the `--secret`s, or among the `--public-key`s),
    /// or `rejected code=<code>`.
    pub fn verdict(&self) -> String {
        match &self.outcome {
            Ok(delivery) => {
                let id = delivery.key_id().as_str();
                let index = id.strip_prefix(PUBLIC_KEY_ID).unwrap_or(id);
                format!("ok key={}", quoted(index))
            }
            Err(rejection) => format!("rejected code={}", rejection.code()),
        }
    }

    /// For a verified delivery whose envelope can be read, the lines after `ok`:
    /// `event id=<id> type=<type>`, one per event of a batch (HubSpot, SendGrid).
    ///
    /// The id and type follow the provider's envelope
    /// ([`Scheme::envelope`](webhook_signature::scheme::Scheme::envelope)): the
    /// delivery's [`VerifiedDelivery::event_id`], and the type where the provider puts
    /// it (a header given with `--header`, or the body). The envelope can be read when
    /// the body is a JSON object (an array for a batch, a form for Twilio) or the type
    /// is in a header. A value absent
    /// is empty, and a value with a space or a quote is quoted.
    pub fn events(&self) -> Vec<String> {
        let Ok(delivery) = self.outcome.as_ref() else {
            return Vec::new();
        };
        let envelope = delivery.envelope();
        let line = |id: Option<&str>, event_type: Option<&str>| {
            format!("event id={} type={}", field(id), field(event_type))
        };
        if let Some(batch) = envelope.batch_of() {
            let Ok(elements) =
                serde_json::from_slice::<Vec<&serde_json::value::RawValue>>(&self.body.bytes)
            else {
                return Vec::new();
            };
            let read = |members: &[Member], element: &[u8]| {
                members.iter().find_map(|member| member.from_body(element))
            };
            return elements
                .iter()
                .map(|element| {
                    let element = element.get().as_bytes();
                    line(
                        read(batch.item.id_members(), element).as_deref(),
                        read(batch.item.event_type_members(), element).as_deref(),
                    )
                })
                .collect();
        }
        let event_type = delivery.event_type();
        let readable = envelope.is_form()
            || serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(
                &self.body.bytes,
            )
            .is_ok();
        if !readable && event_type.is_none() {
            return Vec::new();
        }
        vec![line(delivery.event_id(), event_type.as_deref())]
    }

    /// For a rejection, the lines for standard error: `error: <code>: <message>`, then
    /// `hint:` lines that help find why. Empty when the delivery verified.
    ///
    /// Built from the rejection, the body's length and the header names: never from a
    /// secret or a computed signature.
    pub fn explanation(&self) -> Vec<String> {
        let Err(rejection) = &self.outcome else {
            return Vec::new();
        };
        let mut lines = vec![format!("error: {}: {rejection}", rejection.code())];
        let mut hint = |text: String| lines.push(format!("hint: {text}"));
        hint(format!(
            "body: {} bytes read from {}",
            self.body.bytes.len(),
            self.body.origin()
        ));
        let scheme = self.scheme.scheme();
        match rejection {
            SignatureRejection::SignatureMismatch { .. } => {
                let (tried, kind) = match (self.secrets, self.public_keys) {
                    (secrets, 0) => (
                        format!("no secret matched ({secrets} tried: {})", key_ids(secrets)),
                        "secret",
                    ),
                    (0, keys) => (
                        format!("no public key matched ({keys} tried: {})", key_ids(keys)),
                        "public key",
                    ),
                    (secrets, keys) => (
                        format!(
                            "no key matched ({secrets} secrets tried: {}; {keys} public keys \
                             tried: {})",
                            key_ids(secrets),
                            key_ids(keys)
                        ),
                        "key",
                    ),
                };
                hint(format!(
                    "{tried}: check that the {kind} is this endpoint's and that the body is the \
                     exact bytes received, before any JSON parsing or re-encoding"
                ));
                if let Some(url) = &self.url {
                    hint(format!(
                        "scheme `{}` signs the URL: checked as {} {url}, which must be exactly \
                         what the provider called (scheme, host, port, path and query)",
                        scheme.name(),
                        self.method
                    ));
                }
                if self.body.bytes.ends_with(b"\n") {
                    hint(
                        "the body ends with a newline: if the sender's did not (`echo` and \
                         editors add one), the signature cannot match; `printf '%s'` writes none"
                            .to_owned(),
                    );
                }
            }
            SignatureRejection::TimestampOutOfTolerance {
                skew_seconds,
                tolerance_seconds,
            } => {
                let signed_at = self.now.saturating_sub(*skew_seconds);
                let source = if self.now_given {
                    "--now"
                } else {
                    "system clock"
                };
                let direction = if *skew_seconds >= 0 {
                    "in the past"
                } else {
                    "in the future"
                };
                hint(format!(
                    "signed at {signed_at}, checked at {} ({source}): skew {} s {direction}, \
                     tolerance {tolerance_seconds} s",
                    self.now,
                    skew_seconds.unsigned_abs()
                ));
                hint(format!(
                    "to check the signature of an old captured delivery, pass --now {signed_at}; \
                     a clock that is off by this much also causes it"
                ));
            }
            _ => {
                hint(format!(
                    "scheme `{}` signs {}",
                    scheme.name(),
                    scheme.signed_content()
                ));
                hint(self.header_names());
            }
        }
        lines
    }

    fn header_names(&self) -> String {
        if self.headers.is_empty() {
            return "no header was given: pass each as --header 'Name: value'".to_owned();
        }
        let mut names: Vec<&str> = self.headers.keys().map(|name| name.as_str()).collect();
        names.sort_unstable();
        format!("headers given: {}", names.join(", "))
    }
}

fn key_ids(count: usize) -> String {
    let ids: Vec<String> = (0..count).map(|id| id.to_string()).collect();
    format!(
        "key {} {}",
        if count == 1 { "id" } else { "ids" },
        ids.join(", ")
    )
}

/// The value as is, or quoted when it holds whitespace or a quote, so an output line
/// stays `key=value` pairs split on spaces.
fn quoted(value: &str) -> String {
    if value.is_empty() || value.contains(|c: char| c.is_whitespace() || c == '"') {
        format!("{value:?}")
    } else {
        value.to_owned()
    }
}

/// A field of the event line: [`quoted`], or nothing when absent or empty.
fn field(value: Option<&str>) -> String {
    value
        .filter(|value| !value.is_empty())
        .map(quoted)
        .unwrap_or_default()
}

/// The secrets to try: none for a scheme with asymmetric signatures given public
/// keys, so that a WEBHOOK_SECRET set for other schemes does not stand in the way.
fn used_secrets(args: &VerifyArgs) -> &[String] {
    if args.public_keys.is_empty() || args.scheme.provider().algorithm.is_hmac() {
        &args.secrets
    } else {
        &[]
    }
}

/// The note for standard error when `args` gives secrets that [`used_secrets`]
/// leaves out.
pub(crate) fn ignored_secrets(args: &VerifyArgs) -> Option<String> {
    (used_secrets(args).len() < args.secrets.len()).then(|| {
        format!(
            "note: --secret ignored: scheme `{}` verifies with --public-key",
            args.scheme.name()
        )
    })
}

/// Lines for standard error about the flags a scheme does not use: a scheme that
/// signs no URL ignores --url and --method.
pub(crate) fn ignored_flags(scheme: SchemeArg, url: bool, method: bool) -> Vec<String> {
    if scheme.scheme().signs_url() {
        return Vec::new();
    }
    [("--url", url), ("--method", method)]
        .into_iter()
        .filter(|(_, given)| *given)
        .map(|(flag, _)| {
            format!(
                "note: {flag} ignored: scheme `{}` signs neither the URL nor the method",
                scheme.name()
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdict_values_with_spaces_are_quoted() {
        assert_eq!(quoted("msg_1"), "msg_1");
        assert_eq!(quoted("a b"), "\"a b\"");
        assert_eq!(quoted(""), "\"\"");
    }

    #[test]
    fn absent_event_fields_are_empty() {
        assert_eq!(field(None), "");
        assert_eq!(field(Some("")), "");
        assert_eq!(field(Some("a b")), "\"a b\"");
        assert_eq!(field(Some("evt_1")), "evt_1");
    }

    #[test]
    fn key_ids_are_listed_by_position() {
        assert_eq!(key_ids(1), "key id 0");
        assert_eq!(key_ids(3), "key ids 0, 1, 2");
    }
}
