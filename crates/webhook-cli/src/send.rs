//! `webhook send`: post signed mock events to a receiver and report its answers.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::uri::Scheme as UriScheme;
use http::{HeaderMap, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use tokio::sync::Semaphore;
use webhook_signature::SignError;
use webhook_testing::{Created, MockError, MockEvent};

use crate::cli::{SchemeArg, SendArgs};
use crate::input::{UsageError, collect_headers, split_url};
use crate::sign::{SigningKey, check_id};

/// The longest body excerpt printed per response, in characters.
const EXCERPT: usize = 100;

/// Parses `--url`: an absolute `http://` URL with a host.
///
/// ```
/// assert_eq!(webhook_cli::parse_url("http://127.0.0.1:3000/webhooks").unwrap().port_u16(), Some(3000));
/// assert!(webhook_cli::parse_url("https://example.com/").unwrap_err().to_string().contains("TLS"));
/// assert!(webhook_cli::parse_url("127.0.0.1:3000/webhooks").is_err());
/// ```
pub fn parse_url(url: &str) -> Result<Uri, UsageError> {
    let invalid = |reason| UsageError::InvalidUrl {
        url: url.to_owned(),
        reason,
    };
    let uri: Uri = url
        .parse()
        .map_err(|_| invalid("not a URL; expected http://HOST:PORT/PATH"))?;
    match uri.scheme() {
        Some(scheme) if *scheme == UriScheme::HTTP => {}
        Some(scheme) if *scheme == UriScheme::HTTPS => {
            return Err(invalid("https is not supported (no TLS); use http://"));
        }
        _ => return Err(invalid("expected http://HOST:PORT/PATH")),
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(invalid("no host; expected http://HOST:PORT/PATH"));
    }
    Ok(uri)
}

/// Parses JSON text given on the command line or in a file; `origin` names it in
/// the error.
pub fn parse_json(text: &[u8], origin: &str) -> Result<Value, UsageError> {
    serde_json::from_slice(text).map_err(|error| UsageError::InvalidJson {
        origin: origin.to_owned(),
        reason: error.to_string(),
    })
}

/// One request sent to the receiver: its answer, or why there was none.
#[derive(Debug, Clone)]
pub enum Attempt {
    /// It answered.
    Answered {
        /// The status.
        status: StatusCode,
        /// Whether it carried `Idempotent-Replayed: true`.
        replayed: bool,
        /// The body.
        body: Bytes,
    },
    /// No answer: the connection failed or the response timed out.
    Failed {
        /// Whether the connection could not be made (refused, unknown host).
        connect: bool,
        /// What happened.
        reason: String,
    },
}

impl Attempt {
    /// One line: the status, `idempotent-replayed: true` when present, and the start
    /// of the body; or what failed.
    pub fn describe(&self) -> String {
        match self {
            Self::Answered {
                status,
                replayed,
                body,
            } => {
                let mut line = status_text(*status);
                if *replayed {
                    line.push_str(" idempotent-replayed: true");
                }
                let excerpt = excerpt(body);
                if !excerpt.is_empty() {
                    line.push_str("  ");
                    line.push_str(&excerpt);
                }
                line
            }
            Self::Failed { reason, .. } => format!("failed: {reason}"),
        }
    }
}

fn status_text(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("{} {reason}", status.as_u16()),
        None => status.as_u16().to_string(),
    }
}

/// The body on one line, cut to [`EXCERPT`] characters.
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut out: String = text
        .chars()
        .take(EXCERPT)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().count() > EXCERPT {
        out.push_str("...");
    }
    out.trim_end().to_owned()
}

/// An HTTP/1 client over plain TCP.
#[derive(Clone)]
pub(crate) struct Sender {
    client: Client<HttpConnector, Full<Bytes>>,
    url: Uri,
    timeout: Duration,
}

impl Sender {
    pub(crate) fn new(url: Uri, timeout: Duration, concurrency: usize) -> Self {
        let client = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(concurrency)
            .build_http();
        Self {
            client,
            url,
            timeout,
        }
    }

    pub(crate) fn url(&self) -> &Uri {
        &self.url
    }

    /// Posts `rendered` and reads the whole answer.
    pub(crate) async fn post(&self, rendered: Rendered) -> Attempt {
        self.request(http::Method::POST, rendered).await
    }

    /// Sends `rendered` with `method` and reads the whole answer.
    pub(crate) async fn request(&self, method: http::Method, rendered: Rendered) -> Attempt {
        let mut request = Request::new(Full::new(rendered.body));
        *request.method_mut() = method;
        *request.uri_mut() = rendered.uri;
        *request.headers_mut() = rendered.headers;
        let exchange = async {
            let response = self.client.request(request).await.map_err(|error| {
                let connect = error.is_connect();
                (connect, describe_error(&error))
            })?;
            let status = response.status();
            let replayed = response
                .headers()
                .get(&webhook_core::IDEMPOTENT_REPLAYED)
                .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"true"));
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|error| {
                    (
                        false,
                        format!("the response body failed: {}", describe_error(&error)),
                    )
                })?
                .to_bytes();
            Ok::<_, (bool, String)>(Attempt::Answered {
                status,
                replayed,
                body,
            })
        };
        match tokio::time::timeout(self.timeout, exchange).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err((connect, reason))) => Attempt::Failed { connect, reason },
            Err(_) => Attempt::Failed {
                connect: false,
                reason: format!("no response within {} s", self.timeout.as_secs()),
            },
        }
    }
}

/// The innermost I/O error of a chain, worded for a person; else the chain joined.
fn describe_error(error: &(dyn std::error::Error + 'static)) -> String {
    let mut source = Some(error);
    let mut chain = Vec::new();
    while let Some(current) = source {
        if let Some(io) = current.downcast_ref::<std::io::Error>() {
            return match io.kind() {
                std::io::ErrorKind::ConnectionRefused => "connection refused".to_owned(),
                std::io::ErrorKind::ConnectionReset => {
                    "connection reset by the receiver".to_owned()
                }
                _ => io.to_string(),
            };
        }
        chain.push(current.to_string());
        source = current.source();
    }
    chain.join(": ")
}

/// A signed request, ready to post: where, its headers and its body.
#[derive(Debug, Clone)]
pub(crate) struct Rendered {
    pub(crate) uri: Uri,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

/// The keys `webhook send` signs with, checked with the scheme before anything is
/// sent: each `--private-key` when any is given, else each `--secret`. The first
/// signs every delivery; a scenario's `rotated_secret` steps sign with the second.
///
/// Deliveries are [`MockDelivery`]s: the test kit's, which sign as each provider
/// does (Twilio's `bodySHA256` in the URL, Mailgun's signature inside the body) and
/// corrupt a signature for a forged one.
pub(crate) struct Keys<'a> {
    scheme: SchemeArg,
    keys: Vec<SigningKey<'a>>,
    /// Where the requests go.
    target: Uri,
    /// The URL the signatures cover, for the schemes that sign it: the target unless
    /// `--signed-url` says otherwise.
    signed: Uri,
}

impl<'a> Keys<'a> {
    /// The keys of `args`, sending to `target`.
    pub(crate) fn new(args: &'a SendArgs, target: &Uri) -> Result<Self, UsageError> {
        let signed = match &args.signed_url {
            Some(url) => {
                split_url(url)?;
                url.parse().map_err(|_| UsageError::InvalidUrl {
                    url: url.clone(),
                    reason: "not a URL",
                })?
            }
            None => target.clone(),
        };
        let mut keys = Self {
            scheme: args.scheme,
            keys: Vec::new(),
            target: target.clone(),
            signed,
        };
        if args.private_keys.is_empty() {
            for secret in &args.secrets {
                keys.push(SigningKey::Secret(secret))?;
            }
        } else {
            for key in &args.private_keys {
                keys.push(SigningKey::Private(key))?;
            }
        }
        Ok(keys)
    }

    /// Adds a key after those of the command line (a scenario's `rotated_secret`),
    /// once the scheme has read it.
    pub(crate) fn push(&mut self, key: SigningKey<'a>) -> Result<(), UsageError> {
        key.signer(self.scheme)?;
        self.keys.push(key);
        Ok(())
    }

    /// How many keys there are.
    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }

    /// `event` signed with key `index` at `timestamp`, with the `extra` headers after
    /// the scheme's; `forged`: with its signature corrupted. Linear reads the signed
    /// time from the body, so its envelope carries `webhookTimestamp`.
    pub(crate) fn render(
        &self,
        index: usize,
        event: &MockEvent,
        timestamp: i64,
        extra: &HeaderMap,
        forged: bool,
    ) -> Result<Rendered, UsageError> {
        let mut event = event.clone();
        if self.scheme.name() == "linear" {
            event = event.member("webhookTimestamp", Value::from(timestamp * 1000));
        }
        let scheme = self.scheme.scheme();
        let key = self.keys[index];
        let mut delivery = match key {
            SigningKey::Secret(secret) => event.sign(scheme, secret),
            SigningKey::Private(private) => event.sign_with_private_key(scheme, private),
        }
        .timestamp(timestamp)
        .uri(self.signed.clone());
        for (name, value) in extra {
            delivery = delivery.header(name.clone(), value.clone());
        }
        if forged {
            delivery = delivery.corrupt_signature();
        }
        let request: Request<String> = delivery.request().map_err(|error| match error {
            MockError::Secret(error) => UsageError::Key {
                flag: key.flag(),
                error,
            },
            MockError::Unsupported(SignError::Unsupported { reason }) => UsageError::CannotSign {
                scheme: self.scheme.name(),
                reason,
            },
            MockError::CannotCorrupt => UsageError::CannotSign {
                scheme: self.scheme.name(),
                reason: "no signature changes with the key, so none can be forged",
            },
            _ => UsageError::InvalidValue {
                flag: "--id",
                reason: "the id cannot be sent in a header",
            },
        })?;
        let (parts, body) = request.into_parts();
        Ok(Rendered {
            uri: self.target_of(&parts.uri),
            headers: parts.headers,
            body: Bytes::from(body),
        })
    }

    /// Where to send a delivery signed for `signed`: the target, with the query
    /// parameters the delivery added to the signed URL (Twilio's `bodySHA256`).
    fn target_of(&self, signed: &Uri) -> Uri {
        let (signed, base) = (signed.to_string(), self.signed.to_string());
        match signed.strip_prefix(&base) {
            Some(added) if !added.is_empty() => format!("{}{added}", self.target)
                .parse()
                .unwrap_or_else(|_| self.target.clone()),
            _ => self.target.clone(),
        }
    }
}

/// A runtime for the client: one thread is plenty for I/O.
pub(crate) fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

/// The event `--type`, `--data`/`--data-file`, `--id` and `--created` describe.
fn event(args: &SendArgs, now: i64) -> Result<MockEvent, UsageError> {
    let event_type = args.event_type.clone().unwrap_or_default();
    let mut event = MockEvent::new(event_type).created(now);
    if let Some(text) = &args.data {
        event = event.data(parse_json(text.as_bytes(), "--data")?);
    }
    if let Some(path) = &args.data_file {
        let bytes = std::fs::read(path).map_err(|source| UsageError::Read {
            path: Some(path.clone()),
            source,
        })?;
        event = event.data(parse_json(&bytes, &path.display().to_string())?);
    }
    if let Some(id) = &args.id {
        check_id(id)?;
        event = event.id(id.clone());
    }
    if let Some(created) = &args.created {
        event = event.created(
            created
                .parse::<Created>()
                .map_err(UsageError::InvalidCreated)?,
        );
    }
    Ok(event)
}

/// What a `webhook send` run printed and how it ended.
pub(crate) struct Report {
    pub(crate) lines: String,
    pub(crate) status: u8,
    /// The first failure, when a request got no answer.
    pub(crate) failure: Option<String>,
}

/// Sends one event `--repeat` times, `--concurrency` at once.
pub(crate) fn send(args: &SendArgs, now: i64) -> Result<Report, UsageError> {
    let url = parse_url(&args.url)?;
    let keys = Keys::new(args, &url)?;
    let extra = collect_headers(&args.headers, &[])?;
    let event = event(args, now)?;
    let rendered = keys.render(0, &event, args.timestamp.unwrap_or(now), &extra, false)?;

    let repeat = args.repeat as usize;
    let concurrency = (args.concurrency as usize).min(repeat);
    let sender = Sender::new(url, Duration::from_secs(args.timeout), concurrency);
    let runtime = runtime().map_err(|source| UsageError::Read { path: None, source })?;
    let outcomes = runtime.block_on(storm(&sender, rendered, repeat, concurrency));

    let mut lines = String::new();
    let _ = writeln!(
        lines,
        "POST {} event {} type {} (scheme {}), {} {}",
        sender.url(),
        event.id,
        event.event_type,
        args.scheme.name(),
        repeat,
        if repeat == 1 {
            "time".to_owned()
        } else {
            format!("times, {concurrency} at once")
        }
    );
    for (index, outcome) in outcomes.iter().enumerate() {
        let _ = writeln!(lines, "#{} {}", index + 1, outcome.describe());
    }
    let _ = writeln!(lines, "{}", summary(&outcomes));

    let failure = outcomes.iter().find_map(|outcome| match outcome {
        Attempt::Failed { connect, reason } => Some(if *connect {
            format!(
                "cannot connect to {}: {reason}; is the receiver running?",
                sender.url()
            )
        } else {
            format!("{}: {reason}", sender.url())
        }),
        Attempt::Answered { .. } => None,
    });
    let accepted = outcomes.iter().all(|outcome| match outcome {
        Attempt::Answered { status, .. } => status.is_success() || *status == StatusCode::CONFLICT,
        Attempt::Failed { .. } => false,
    });
    let status = if failure.is_some() {
        crate::EXIT_USAGE
    } else if accepted {
        crate::EXIT_OK
    } else {
        crate::EXIT_REJECTED
    };
    Ok(Report {
        lines,
        status,
        failure,
    })
}

/// Sends the same request `repeat` times with at most `concurrency` in flight; the
/// outcomes in request order.
async fn storm(
    sender: &Sender,
    rendered: Rendered,
    repeat: usize,
    concurrency: usize,
) -> Vec<Attempt> {
    let permits = Arc::new(Semaphore::new(concurrency));
    let mut tasks = Vec::with_capacity(repeat);
    for _ in 0..repeat {
        let permits = permits.clone();
        let sender = sender.clone();
        let rendered = rendered.clone();
        tasks.push(tokio::spawn(async move {
            let _permit = permits.acquire_owned().await.expect("never closed");
            sender.post(rendered).await
        }));
    }
    let mut outcomes = Vec::with_capacity(repeat);
    for task in tasks {
        outcomes.push(task.await.unwrap_or_else(|error| Attempt::Failed {
            connect: false,
            reason: format!("the request task failed: {error}"),
        }));
    }
    outcomes
}

/// `summary: 20 sent; 200: 16 (15 replayed); 409: 4`, statuses in order.
pub fn summary(outcomes: &[Attempt]) -> String {
    let mut by_status: BTreeMap<u16, (usize, usize)> = BTreeMap::new();
    let mut failed = 0;
    for outcome in outcomes {
        match outcome {
            Attempt::Answered {
                status, replayed, ..
            } => {
                let entry = by_status.entry(status.as_u16()).or_default();
                entry.0 += 1;
                entry.1 += usize::from(*replayed);
            }
            Attempt::Failed { .. } => failed += 1,
        }
    }
    let mut text = format!("summary: {} sent", outcomes.len());
    for (status, (count, replayed)) in by_status {
        let _ = write!(text, "; {status}: {count}");
        if replayed > 0 {
            let _ = write!(text, " ({replayed} replayed)");
        }
    }
    if failed > 0 {
        let _ = write!(text, "; failed: {failed}");
    }
    text
}

/// Reads a file for a scenario or `--data-file`.
pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>, UsageError> {
    std::fs::read(path).map_err(|source| UsageError::Read {
        path: Some(path.to_owned()),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_plain_http_with_a_host() {
        assert!(parse_url("http://localhost:3000/webhooks").is_ok());
        for (url, reason) in [
            (
                "https://localhost/",
                "https is not supported (no TLS); use http://",
            ),
            (
                "localhost:3000/webhooks",
                "not a URL; expected http://HOST:PORT/PATH",
            ),
            ("ftp://localhost/", "expected http://HOST:PORT/PATH"),
            ("http://", "not a URL; expected http://HOST:PORT/PATH"),
            (
                "http:// bad host/",
                "not a URL; expected http://HOST:PORT/PATH",
            ),
            ("/webhooks", "expected http://HOST:PORT/PATH"),
        ] {
            let error = parse_url(url).unwrap_err().to_string();
            assert_eq!(error, format!("--url {url:?}: {reason}"));
        }
    }

    #[test]
    fn bodies_are_cut_to_one_short_line() {
        assert_eq!(excerpt(b"{\"a\":\n1}\n"), "{\"a\": 1}");
        let long = "x".repeat(300);
        assert_eq!(
            excerpt(long.as_bytes()),
            format!("{}...", "x".repeat(EXCERPT))
        );
        assert_eq!(excerpt(b""), "");
    }

    #[test]
    fn the_summary_counts_statuses_replays_and_failures() {
        let answered = |status: u16, replayed| Attempt::Answered {
            status: StatusCode::from_u16(status).unwrap(),
            replayed,
            body: Bytes::new(),
        };
        let outcomes = [
            answered(409, false),
            answered(200, false),
            answered(200, true),
            answered(200, true),
            Attempt::Failed {
                connect: true,
                reason: "connection refused".into(),
            },
        ];
        assert_eq!(
            summary(&outcomes),
            "summary: 5 sent; 200: 3 (2 replayed); 409: 1; failed: 1"
        );
        assert_eq!(outcomes[2].describe(), "200 OK idempotent-replayed: true");
        assert_eq!(outcomes[4].describe(), "failed: connection refused");
    }
}
