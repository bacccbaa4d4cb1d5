//! Reading what the user gives: the body, `Name: value` header lines.

use std::fmt;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};
use webhook_signature::ConfigError;

use crate::cli::BodyArg;

/// A mistake in how the command was called: the command exits with status 2.
///
/// Messages name flags, files and header lines, never a secret.
#[derive(Debug)]
#[non_exhaustive]
pub enum UsageError {
    /// A `--header` (or header-file line) is not `Name: value`.
    MalformedHeader {
        /// Where it came from: `--header`, or `PATH:LINE`.
        origin: String,
        /// The text given.
        line: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A file could not be read.
    Read {
        /// The file (`None`: standard input).
        path: Option<PathBuf>,
        /// Why.
        source: io::Error,
    },
    /// A key was refused by the scheme: a secret that is empty or not the expected
    /// encoding, a public or private key not in a form the scheme reads, or a kind of
    /// key the scheme does not take.
    Key {
        /// The flag that gave it: `--secret`, `--public-key` or `--private-key`.
        flag: &'static str,
        /// Why the scheme refused it.
        error: ConfigError,
    },
    /// The scheme signs the URL the delivery is sent to, and no `--url` was given.
    UrlRequired {
        /// The scheme.
        scheme: &'static str,
    },
    /// The scheme cannot sign this request (Mailgun's signature is inside the body).
    CannotSign {
        /// The scheme.
        scheme: &'static str,
        /// Why.
        reason: &'static str,
    },
    /// A flag's value cannot be sent in a header.
    InvalidValue {
        /// The flag.
        flag: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// `--url` is not an `http://` URL.
    InvalidUrl {
        /// The text given.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Text that should be JSON is not.
    InvalidJson {
        /// Where it came from: `--data`, or the file.
        origin: String,
        /// The parser's message, with line and column.
        reason: String,
    },
    /// `--created` is neither Unix seconds nor RFC 3339 text.
    InvalidCreated(webhook_testing::InvalidCreated),
    /// A scenario file is not valid.
    Scenario {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MalformedHeader {
                origin,
                line,
                reason,
            } => write!(
                f,
                "{origin}: malformed header {line:?}: {reason}; expected `Name: value`"
            ),
            Self::Read {
                path: Some(path),
                source,
            } => write!(f, "cannot read {}: {source}", path.display()),
            Self::Read { path: None, source } => write!(f, "cannot read standard input: {source}"),
            Self::Key {
                flag,
                error: ConfigError::EmptySecret { key_id },
            } if key_id.is_empty() => write!(f, "{flag}: the secret is empty"),
            Self::Key { flag, error } => write!(f, "{flag}: {error}"),
            Self::UrlRequired { scheme } => write!(
                f,
                "--url: scheme `{scheme}` signs the URL the delivery is sent to: give the full URL \
                 the provider calls (https://host/path?query)"
            ),
            Self::CannotSign { scheme, reason } => {
                write!(f, "scheme `{scheme}` cannot be signed here: {reason}")
            }
            Self::InvalidValue { flag, reason } => write!(f, "{flag}: {reason}"),
            Self::InvalidUrl { url, reason } => write!(f, "--url {url:?}: {reason}"),
            Self::InvalidJson { origin, reason } => write!(f, "{origin}: not valid JSON: {reason}"),
            Self::InvalidCreated(error) => write!(f, "--created: {error}"),
            Self::Scenario { path, reason } => write!(f, "{}: {reason}", path.display()),
        }
    }
}

impl std::error::Error for UsageError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Read { source, .. } => Some(source),
            Self::Key { error, .. } => Some(error),
            Self::InvalidCreated(error) => Some(error),
            _ => None,
        }
    }
}

/// The body, as raw bytes, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Body {
    /// The exact bytes read.
    pub bytes: Vec<u8>,
    /// The file it was read from (`None`: standard input).
    pub path: Option<PathBuf>,
}

impl Body {
    /// Reads the body from the file `arg` names, or from `stdin`.
    pub fn read(arg: &BodyArg, stdin: &mut dyn Read) -> Result<Self, UsageError> {
        if arg.is_stdin() {
            let mut bytes = Vec::new();
            stdin
                .read_to_end(&mut bytes)
                .map_err(|source| UsageError::Read { path: None, source })?;
            return Ok(Self { bytes, path: None });
        }
        let path = arg.file.clone().expect("not stdin, so a file");
        match std::fs::read(&path) {
            Ok(bytes) => Ok(Self {
                bytes,
                path: Some(path),
            }),
            Err(source) => Err(UsageError::Read {
                path: Some(path),
                source,
            }),
        }
    }

    /// Where the body came from, for messages: the file name or `standard input`.
    pub fn origin(&self) -> String {
        match &self.path {
            Some(path) => path.display().to_string(),
            None => "standard input".to_owned(),
        }
    }
}

/// Splits `--url`, the full URL the provider called, into what a
/// [`Verifier`](webhook_signature::Verifier) takes: the public URL
/// (`scheme://host[:port]`) and the request URI as a server sees it (`/path?query`).
/// Joined again they are the URL as given.
///
/// ```
/// let (base, uri) = webhook_cli::split_url("https://hooks.example.com:8443/in?x=1").unwrap();
/// assert_eq!(base, "https://hooks.example.com:8443");
/// assert_eq!(uri, "/in?x=1");
/// assert!(webhook_cli::split_url("/in?x=1").is_err());
/// ```
pub fn split_url(url: &str) -> Result<(String, Uri), UsageError> {
    let invalid = |reason| UsageError::InvalidUrl {
        url: url.to_owned(),
        reason,
    };
    let expected = "expected the full URL the provider calls, https://HOST/PATH";
    let parsed: Uri = url.parse().map_err(|_| invalid(expected))?;
    let (Some(scheme), Some(authority)) = (parsed.scheme_str(), parsed.authority()) else {
        return Err(invalid(expected));
    };
    if !matches!(scheme, "http" | "https") || authority.host().is_empty() {
        return Err(invalid(expected));
    }
    if url.contains('#') {
        return Err(invalid("a URL a provider calls has no `#fragment`"));
    }
    let path = parsed
        .path_and_query()
        .map_or("/", |path| path.as_str())
        .parse()
        .map_err(|_| invalid(expected))?;
    Ok((format!("{scheme}://{authority}"), path))
}

/// Parses `--method`: an HTTP method token, kept as written (`POST`).
pub fn parse_method(text: &str) -> Result<Method, UsageError> {
    Method::from_bytes(text.as_bytes()).map_err(|_| UsageError::InvalidValue {
        flag: "--method",
        reason: "not an HTTP method (such as POST)",
    })
}

/// Parses one `Name: value` line. Whitespace around the value is dropped; the name is
/// case-insensitive.
///
/// ```
/// let (name, value) = webhook_cli::parse_header_line("X-Hub-Signature-256: sha256=ab").unwrap();
/// assert_eq!(name, "x-hub-signature-256");
/// assert_eq!(value, "sha256=ab");
/// ```
pub fn parse_header_line(line: &str) -> Result<(HeaderName, HeaderValue), &'static str> {
    let (name, value) = line.split_once(':').ok_or("no `:` after the header name")?;
    if name.is_empty() {
        return Err("empty header name");
    }
    if name.trim() != name {
        return Err("whitespace around the header name");
    }
    let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| "invalid header name")?;
    let value = HeaderValue::from_str(value.trim_matches([' ', '\t']))
        .map_err(|_| "the value holds a control character")?;
    Ok((name, value))
}

/// Builds the delivery's headers from `--header` values and `--header-file` files.
/// Repeated names are kept as several values, as a request would carry them.
pub fn collect_headers(lines: &[String], files: &[PathBuf]) -> Result<HeaderMap, UsageError> {
    let mut headers = HeaderMap::new();
    for line in lines {
        add_header(&mut headers, line, || "--header".to_owned())?;
    }
    for path in files {
        add_header_file(&mut headers, path)?;
    }
    Ok(headers)
}

fn add_header_file(headers: &mut HeaderMap, path: &Path) -> Result<(), UsageError> {
    let read_error = |source| UsageError::Read {
        path: Some(path.to_owned()),
        source,
    };
    let bytes = std::fs::read(path).map_err(read_error)?;
    let text = String::from_utf8(bytes)
        .map_err(|_| read_error(io::Error::new(io::ErrorKind::InvalidData, "not UTF-8 text")))?;
    for (index, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        add_header(headers, line, || {
            format!("{}:{}", path.display(), index + 1)
        })?;
    }
    Ok(())
}

fn add_header(
    headers: &mut HeaderMap,
    line: &str,
    origin: impl FnOnce() -> String,
) -> Result<(), UsageError> {
    let (name, value) = parse_header_line(line).map_err(|reason| UsageError::MalformedHeader {
        origin: origin(),
        line: line.to_owned(),
        reason,
    })?;
    headers.append(name, value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_lines_are_split_at_the_first_colon_and_trimmed() {
        let (name, value) = parse_header_line("Stripe-Signature:  t=1,v1=ab:cd \t").unwrap();
        assert_eq!(name, "stripe-signature");
        assert_eq!(value, "t=1,v1=ab:cd");
        let (_, empty) = parse_header_line("X-Empty:").unwrap();
        assert_eq!(empty, "");
    }

    #[test]
    fn a_url_splits_into_the_public_url_and_the_request_uri() {
        for (url, base, uri) in [
            ("https://example.com/hooks", "https://example.com", "/hooks"),
            (
                "http://127.0.0.1:3000/a/b?c=d&e",
                "http://127.0.0.1:3000",
                "/a/b?c=d&e",
            ),
            ("https://example.com", "https://example.com", "/"),
        ] {
            let (got_base, got_uri) = split_url(url).unwrap();
            assert_eq!(
                (got_base.as_str(), got_uri.to_string().as_str()),
                (base, uri)
            );
        }
        for url in [
            "example.com/hooks",
            "/hooks",
            "ftp://example.com/",
            "https://example.com/a#b",
        ] {
            let error = split_url(url).unwrap_err().to_string();
            assert!(error.starts_with(&format!("--url {url:?}: ")), "{error}");
        }
        assert_eq!(parse_method("PUT").unwrap(), Method::PUT);
        assert!(parse_method("PO ST").is_err());
    }

    #[test]
    fn malformed_header_lines_are_refused_with_a_reason() {
        for (line, reason) in [
            ("no colon here", "no `:` after the header name"),
            (": value", "empty header name"),
            ("X-Sig : value", "whitespace around the header name"),
            ("X Sig: value", "invalid header name"),
            ("X-Sig: a\u{7}b", "the value holds a control character"),
        ] {
            assert_eq!(parse_header_line(line).unwrap_err(), reason, "{line:?}");
        }
    }

    #[test]
    fn repeated_headers_are_kept_and_files_skip_comments() {
        let dir = std::env::temp_dir().join(format!("webhook-cli-headers-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("headers.txt");
        std::fs::write(&path, "# captured\r\nx-a: 2\r\n\r\nX-B: 3\n").unwrap();
        let headers = collect_headers(&["X-A: 1".to_owned()], std::slice::from_ref(&path)).unwrap();
        let a: Vec<_> = headers.get_all("x-a").iter().collect();
        assert_eq!(a, ["1", "2"]);
        assert_eq!(headers["x-b"], "3");

        std::fs::write(&path, "x-a: 1\nbroken\n").unwrap();
        let error = collect_headers(&[], std::slice::from_ref(&path))
            .unwrap_err()
            .to_string();
        assert!(error.contains("headers.txt:2"), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_unreadable_body_file_names_the_file() {
        let arg = BodyArg {
            file: Some("/nonexistent/webhook-body".into()),
        };
        let error = Body::read(&arg, &mut io::empty()).unwrap_err().to_string();
        assert!(
            error.starts_with("cannot read /nonexistent/webhook-body: "),
            "{error}"
        );
    }

    #[test]
    fn the_body_is_read_as_raw_bytes_from_stdin() {
        let arg = BodyArg { file: None };
        let body = Body::read(&arg, &mut &[0xff, 0x00, 0x80][..]).unwrap();
        assert_eq!(body.bytes, [0xff, 0x00, 0x80]);
        assert_eq!(body.origin(), "standard input");
    }
}
