//! The setup handshakes the layer answers itself: the `GET` ones before any body is
//! read, the signed `POST` ones once their signature verified. See the crate docs,
//! "Handshakes".

use base64::Engine as _;
use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderName, HeaderValue, X_CONTENT_TYPE_OPTIONS};
use http::{HeaderMap, Method, Response, StatusCode, Uri};
use webhook_core::{Handshake, VerifiedDelivery, json};

use crate::SignatureRejection;
use crate::layer::Config;

/// The longest token or challenge answered, in bytes.
pub(crate) const MAX_TOKEN_LEN: usize = 256;

static TWITCH_MESSAGE_TYPE: HeaderName = HeaderName::from_static("twitch-eventsub-message-type");

/// Whether `text` is a token or challenge of the shape the providers send: 1 to
/// [`MAX_TOKEN_LEN`] bytes of ASCII letters, digits and `-_.~+/=` (the base64 and
/// base64url alphabets and the URL's unreserved characters).
///
/// Nothing of that shape is a JSON object or array, nor holds a `:`, so no answer
/// computed over it is a signature of a delivery: an X event is a JSON object, and
/// Zoom signs `v0:<timestamp>:<body>`.
pub(crate) fn well_formed(text: &str) -> bool {
    (1..=MAX_TOKEN_LEN).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.~+/=".contains(&b))
}

/// The layer's answer to a `GET` handshake of the verifier's scheme (X's CRC,
/// Meta's verification request, Dropbox's challenge), or `None` for any other
/// request, which goes on as usual.
pub(crate) fn answer_get(
    config: &Config,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> Option<Response<Bytes>> {
    if method != Method::GET {
        return None;
    }
    let kind = config.verifier.handshake()?;
    let parameter = match kind {
        Handshake::XCrc => "crc_token",
        Handshake::MetaSubscribe => "hub.mode",
        Handshake::DropboxChallenge => "challenge",
        _ => return None,
    };
    let query = Query(uri.query().unwrap_or_default());
    let first = query.get(parameter)?;
    let result = first.and_then(|value| match kind {
        Handshake::XCrc => x_crc(config, &value),
        Handshake::MetaSubscribe if value == "subscribe" => meta(config, &query),
        // Another mode (`unsubscribe`): not a verification request.
        Handshake::MetaSubscribe => Err(None),
        _ => echo(&value).map(|mut response| {
            response
                .headers_mut()
                .insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
            response
        }),
    });
    finish(config, kind, headers, result)
}

/// The layer's answer to a verified `POST` handshake of the verifier's scheme
/// (Slack, Zoom, Twitch, Discord), or `None` for a delivery, which goes on to the
/// inner service.
pub(crate) fn answer_verified(
    config: &Config,
    headers: &HeaderMap,
    delivery: &VerifiedDelivery,
) -> Option<Response<Bytes>> {
    let kind = config.verifier.handshake()?;
    let body = delivery.body();
    let result = match kind {
        Handshake::SlackUrlVerification => {
            if !mentions(body, b"url_verification")
                || json::find(body, &["type"]).as_deref() != Some("url_verification")
            {
                return None;
            }
            challenge(json::find(body, &["challenge"]))
        }
        Handshake::ZoomUrlValidation => {
            if !mentions(body, b"endpoint.url_validation")
                || json::find(body, &["event"]).as_deref() != Some("endpoint.url_validation")
            {
                return None;
            }
            zoom(
                config,
                delivery,
                json::find(body, &["payload", "plainToken"]),
            )
        }
        Handshake::TwitchCallbackVerification => {
            let message_type = headers.get(&TWITCH_MESSAGE_TYPE)?.as_bytes();
            if message_type == b"revocation" {
                log_revocation(body);
                return None;
            }
            if message_type != b"webhook_callback_verification" {
                return None;
            }
            challenge(json::find(body, &["challenge"]))
        }
        Handshake::DiscordPing => match json::find(body, &["type"]).as_deref() {
            // A webhook event is also of type 1, with an `event` of its own type.
            Some("1") if json::find(body, &["event", "type"]).is_none() => Ok(answer(
                StatusCode::OK,
                Some("application/json"),
                Bytes::from_static(br#"{"type":1}"#),
            )),
            Some("0") if json::find(body, &["event", "type"]).is_none() => {
                Ok(answer(StatusCode::NO_CONTENT, None, Bytes::new()))
            }
            _ => return None,
        },
        _ => return None,
    };
    let mut response = finish(config, kind, headers, result)?;
    response.extensions_mut().insert(delivery.clone());
    Some(response)
}

/// Whether `body` holds `word` anywhere: a search far cheaper than reading the JSON,
/// so that the usual delivery, which never does, is not read twice. (A handshake
/// spelling its type with `\u` escapes, which no provider sends, goes on to the
/// inner service as a delivery.)
fn mentions(body: &[u8], word: &[u8]) -> bool {
    memchr::memmem::find(body, word).is_some()
}

/// What a handshake came to: an answer, a refusal, or (`Err(None)`) nothing to
/// answer after all.
type Outcome = Result<Response<Bytes>, Option<SignatureRejection>>;

/// The response for `result`: an answer tagged with its [`Handshake`], or the
/// layer's rejection.
fn finish(
    config: &Config,
    kind: Handshake,
    headers: &HeaderMap,
    result: Outcome,
) -> Option<Response<Bytes>> {
    match result {
        Ok(mut response) => {
            tracing::debug!(
                handshake = kind.as_str(),
                status = response.status().as_u16(),
                "webhook handshake answered"
            );
            response.extensions_mut().insert(kind);
            Some(response)
        }
        Err(Some(rejection)) => Some(config.reject(&rejection, headers)),
        Err(None) => None,
    }
}

fn answer(status: StatusCode, content_type: Option<&'static str>, body: Bytes) -> Response<Bytes> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    if let Some(content_type) = content_type {
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    }
    response
}

fn invalid(reason: &'static str) -> Option<SignatureRejection> {
    Some(SignatureRejection::InvalidHandshake { reason })
}

/// The echo of a challenge read from a JSON body.
fn challenge(found: Option<String>) -> Outcome {
    echo(&found.ok_or_else(|| invalid("the challenge is missing"))?)
}

/// `challenge` as `text/plain`, when it is of the shape providers send.
fn echo(challenge: &str) -> Outcome {
    if !well_formed(challenge) {
        return Err(invalid(
            "the challenge is not of the shape the provider sends",
        ));
    }
    Ok(answer(
        StatusCode::OK,
        Some("text/plain; charset=utf-8"),
        Bytes::copy_from_slice(challenge.as_bytes()),
    ))
}

/// X's CRC: `{"response_token":"sha256=<base64 HMAC-SHA256(consumer secret, crc_token)>"}`,
/// with the first key of the keyring.
fn x_crc(config: &Config, token: &str) -> Outcome {
    if !well_formed(token) {
        return Err(invalid("the crc_token is not of the shape X sends"));
    }
    let tag = config
        .verifier
        .handshake_tag(None, token.as_bytes())
        .ok_or_else(|| invalid("the keyring holds no secret"))?;
    let encoded = base64::engine::general_purpose::STANDARD.encode(tag.as_bytes());
    Ok(answer(
        StatusCode::OK,
        Some("application/json"),
        Bytes::from(format!(r#"{{"response_token":"sha256={encoded}"}}"#)),
    ))
}

/// Meta's verification request: the challenge, when the verify token matches.
fn meta(config: &Config, query: &Query<'_>) -> Outcome {
    let token = query.get("hub.verify_token").unwrap_or(Ok(String::new()))?;
    if !config.verifier.verify_token_matches(token.as_bytes()) {
        return Err(Some(SignatureRejection::HandshakeRefused));
    }
    let challenge = query
        .get("hub.challenge")
        .ok_or_else(|| invalid("the challenge is missing"))??;
    echo(&challenge)
}

/// Zoom's URL validation: `{"plainToken":..,"encryptedToken":<hex HMAC-SHA256>}`,
/// with the key that verified the request.
fn zoom(config: &Config, delivery: &VerifiedDelivery, token: Option<String>) -> Outcome {
    let token = token.ok_or_else(|| invalid("the plainToken is missing"))?;
    if !well_formed(&token) {
        return Err(invalid("the plainToken is not of the shape Zoom sends"));
    }
    let tag = config
        .verifier
        .handshake_tag(Some(delivery.key_id()), token.as_bytes())
        .ok_or_else(|| invalid("the keyring holds no secret"))?;
    let encrypted = hex::encode(tag.as_bytes());
    Ok(answer(
        StatusCode::OK,
        Some("application/json"),
        Bytes::from(format!(
            r#"{{"plainToken":"{token}","encryptedToken":"{encrypted}"}}"#
        )),
    ))
}

/// Twitch's revocation goes on to the handler; it is logged here so that a
/// subscription that stopped is seen even if no handler routes it.
fn log_revocation(body: &[u8]) {
    let subscription_type = json::find(body, &["subscription", "type"]);
    let status = json::find(body, &["subscription", "status"]);
    tracing::warn!(
        subscription_type = subscription_type.as_deref().unwrap_or("unknown"),
        status = status.as_deref().unwrap_or("unknown"),
        "Twitch revoked an EventSub subscription"
    );
}

/// A query string's parameters.
struct Query<'a>(&'a str);

impl Query<'_> {
    /// The value of `name`, decoded; `Some(Err)` when it appears more than once
    /// with different values.
    fn get(&self, name: &str) -> Option<Result<String, Option<SignatureRejection>>> {
        let mut values = form_urlencoded::parse(self.0.as_bytes())
            .filter(|(key, _)| key == name)
            .map(|(_, value)| value);
        let first = values.next()?;
        if values.any(|other| other != first) {
            return Some(Err(invalid("a parameter appears twice")));
        }
        Some(Ok(first.into_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_bounded_and_of_the_providers_alphabet() {
        assert!(well_formed("qgg8vlvZRS6UYooatFL8Aw"));
        assert!(well_formed("pogchamp-kappa-360noscope-vohiyo"));
        assert!(well_formed("1158201444"));
        assert!(well_formed(&"a".repeat(MAX_TOKEN_LEN)));
        for bad in ["", "v0:1:{}", "{\"id\":1}", "[1]", "a b", "<script>", "é"] {
            assert!(!well_formed(bad), "{bad:?}");
        }
        assert!(!well_formed(&"a".repeat(MAX_TOKEN_LEN + 1)));
    }

    #[test]
    fn a_repeated_parameter_counts_once_unless_its_values_differ() {
        let query = Query("a=1&a=1&b=1&b=2&c=%41+b");
        assert_eq!(query.get("a").unwrap().unwrap(), "1");
        assert!(query.get("b").unwrap().is_err());
        assert_eq!(query.get("c").unwrap().unwrap(), "A b");
        assert!(query.get("d").is_none());
    }
}
