//! `webhook send --handshake`: the provider's setup handshake, sent as the provider
//! sends it, and its answer checked against what the provider expects.

use std::fmt::Write as _;
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use serde_json::{Value, json};
use webhook_core::Handshake;
use webhook_signature::scheme::hmac_tag;

use crate::cli::SendArgs;
use crate::input::UsageError;
use crate::send::{Attempt, Rendered, Report, Sender, parse_url, runtime};
use crate::sign::SigningKey;

/// What was sent, and what the answer must be.
struct Prepared {
    kind: Handshake,
    method: Method,
    rendered: Rendered,
    expected: Expected,
}

/// The answer the provider expects.
enum Expected {
    /// 200 with exactly this body (an echo, or Discord's `{"type":1}`).
    Text(String),
    /// 200 with this JSON document.
    Json(Value),
}

/// Sends the scheme's handshake once and reports the answer.
pub(crate) fn send(args: &SendArgs, now: i64) -> Result<Report, UsageError> {
    let url = parse_url(&args.url)?;
    let prepared = prepare(args, &url, args.timestamp.unwrap_or(now))?;
    let sender = Sender::new(url, Duration::from_secs(args.timeout), 1);
    let runtime = runtime().map_err(|source| UsageError::Read { path: None, source })?;
    let attempt =
        runtime.block_on(sender.request(prepared.method.clone(), prepared.rendered.clone()));

    let mut lines = String::new();
    let _ = writeln!(
        lines,
        "{} {} handshake {} (scheme {})",
        prepared.method,
        prepared.rendered.uri,
        prepared.kind,
        args.scheme.name(),
    );
    let _ = writeln!(lines, "#1 {}", attempt.describe());
    let (status, failure) = match &attempt {
        Attempt::Answered { status, body, .. } => {
            let verdict = prepared.expected.check(*status, body);
            match &verdict {
                Ok(()) => {
                    let _ = writeln!(lines, "handshake: the answer is what the provider expects");
                }
                Err(reason) => {
                    let _ = writeln!(lines, "handshake: unexpected answer: {reason}");
                }
            }
            let code = if verdict.is_ok() {
                crate::EXIT_OK
            } else {
                crate::EXIT_REJECTED
            };
            (code, None)
        }
        Attempt::Failed { connect, reason } => (
            crate::EXIT_USAGE,
            Some(if *connect {
                format!(
                    "cannot connect to {}: {reason}; is the receiver running?",
                    args.url
                )
            } else {
                format!("{}: {reason}", args.url)
            }),
        ),
    };
    Ok(Report {
        lines,
        status,
        failure,
    })
}

impl Expected {
    fn check(&self, status: StatusCode, body: &[u8]) -> Result<(), String> {
        if status != StatusCode::OK {
            return Err(format!("status {}, expected 200", status.as_u16()));
        }
        match self {
            Self::Text(text) if body == text.as_bytes() => Ok(()),
            Self::Text(text) => Err(format!("the body is not `{text}`")),
            Self::Json(expected) => match serde_json::from_slice::<Value>(body) {
                Ok(found) if &found == expected => Ok(()),
                // Not shown: it is keyed with the secret given.
                _ => Err("the body is not the answer keyed with the secret given".to_owned()),
            },
        }
    }
}

/// A fresh token of the shape providers send.
fn token() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// The handshake of `args.scheme`, for `url`, signed at `timestamp` where the
/// provider signs it.
fn prepare(args: &SendArgs, url: &Uri, timestamp: i64) -> Result<Prepared, UsageError> {
    let scheme = args.scheme;
    let kind = scheme
        .scheme()
        .handshake()
        .ok_or(UsageError::InvalidValue {
            flag: "--handshake",
            reason: "this scheme's provider sends no setup handshake",
        })?;
    let key = || -> Result<SigningKey<'_>, UsageError> {
        match (args.private_keys.first(), args.secrets.first()) {
            (Some(key), _) => Ok(SigningKey::Private(key)),
            (None, Some(secret)) => Ok(SigningKey::Secret(secret)),
            (None, None) => Err(UsageError::InvalidValue {
                flag: "--secret",
                reason: "this handshake is signed or answered with the secret: give it",
            }),
        }
    };
    let secret = || match key()? {
        SigningKey::Secret(secret) => Ok(secret),
        SigningKey::Private(_) => Err(UsageError::InvalidValue {
            flag: "--secret",
            reason: "this handshake is answered with the secret: give it",
        }),
    };
    let challenge = token();
    let signed_post = |body: Value, extra: &[(&'static str, &'static str)]| {
        let body = Bytes::from(body.to_string());
        let signer = key()?.signer(scheme)?;
        let mut headers = signer
            .sign(&body, timestamp, &format!("msg_{}", token()))
            .map_err(|_| UsageError::InvalidValue {
                flag: "--timestamp",
                reason: "cannot be signed",
            })?;
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        for (name, value) in extra {
            headers.insert(*name, HeaderValue::from_static(value));
        }
        Ok::<_, UsageError>(Rendered {
            uri: url.clone(),
            headers,
            body,
        })
    };
    let get = |query: String| {
        let joined = match url.query() {
            Some(_) => format!("{url}&{query}"),
            None => format!("{url}?{query}"),
        };
        Ok::<_, UsageError>(Rendered {
            uri: joined.parse().map_err(|_| UsageError::InvalidUrl {
                url: joined.clone(),
                reason: "not a URL",
            })?,
            headers: HeaderMap::new(),
            body: Bytes::new(),
        })
    };
    let (method, rendered, expected) = match kind {
        Handshake::SlackUrlVerification => (
            Method::POST,
            signed_post(
                json!({"token": token(), "challenge": challenge, "type": "url_verification"}),
                &[],
            )?,
            Expected::Text(challenge),
        ),
        Handshake::ZoomUrlValidation => {
            let encrypted = hex::encode(hmac_tag(secret()?.as_bytes(), &[], challenge.as_bytes()));
            (
                Method::POST,
                signed_post(
                    json!({
                        "payload": {"plainToken": challenge},
                        "event_ts": timestamp.saturating_mul(1000),
                        "event": "endpoint.url_validation",
                    }),
                    &[],
                )?,
                Expected::Json(json!({"plainToken": challenge, "encryptedToken": encrypted})),
            )
        }
        Handshake::TwitchCallbackVerification => (
            Method::POST,
            signed_post(
                json!({
                    "challenge": challenge,
                    "subscription": {
                        "id": uuid::Uuid::new_v4().to_string(),
                        "status": "webhook_callback_verification_pending",
                        "type": "channel.follow",
                        "version": "2",
                        "condition": {},
                        "transport": {"method": "webhook", "callback": url.to_string()},
                    },
                }),
                &[(
                    "twitch-eventsub-message-type",
                    "webhook_callback_verification",
                )],
            )?,
            Expected::Text(challenge),
        ),
        Handshake::DiscordPing => (
            Method::POST,
            signed_post(
                json!({"id": token(), "application_id": "0", "type": 1, "version": 1, "token": token()}),
                &[],
            )?,
            Expected::Text(r#"{"type":1}"#.to_owned()),
        ),
        Handshake::XCrc => {
            let tag = hmac_tag(secret()?.as_bytes(), &[], challenge.as_bytes());
            let response = format!(
                "sha256={}",
                base64::engine::general_purpose::STANDARD.encode(tag)
            );
            (
                Method::GET,
                get(format!("crc_token={challenge}"))?,
                Expected::Json(json!({"response_token": response})),
            )
        }
        Handshake::MetaSubscribe => {
            let verify_token = args
                .verify_token
                .as_deref()
                .ok_or(UsageError::InvalidValue {
                    flag: "--verify-token",
                    reason: "Meta's verification request carries the verify token: give it",
                })?;
            let digits = u64::from_le_bytes(
                uuid::Uuid::new_v4().as_bytes()[..8]
                    .try_into()
                    .expect("8 bytes"),
            );
            let challenge = (digits % 10_000_000_000).to_string();
            let query: String = form_urlencoded::Serializer::new(String::new())
                .append_pair("hub.mode", "subscribe")
                .append_pair("hub.challenge", &challenge)
                .append_pair("hub.verify_token", verify_token)
                .finish();
            (Method::GET, get(query)?, Expected::Text(challenge))
        }
        Handshake::DropboxChallenge => (
            Method::GET,
            get(format!("challenge={challenge}"))?,
            Expected::Text(challenge),
        ),
        _ => {
            return Err(UsageError::InvalidValue {
                flag: "--handshake",
                reason: "this handshake cannot be sent here",
            });
        }
    };
    Ok(Prepared {
        kind,
        method,
        rendered,
        expected,
    })
}
