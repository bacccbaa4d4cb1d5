use http::{HeaderMap, HeaderName};

use super::content::{Tag, hmac_tag};
use super::decode::{
    base64_tag_from_bytes, encode_base64, hex_tag_from_bytes, timestamp_from_bytes,
};
use super::header::{Found, find_headers};
use super::interface::{Scheme, SignRequest, Signed};
use crate::{ConfigError, SignatureRejection};

/// How a [`GenericHmac`] signature is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Encoding {
    /// 64 hex characters, either case.
    #[default]
    Hex,
    /// 44 characters of standard, padded base64.
    Base64,
}

#[derive(Debug, Clone)]
enum Piece {
    Literal(Box<[u8]>),
    Timestamp,
    Id,
}

/// A configurable HMAC-SHA256 scheme for providers without a built-in one.
///
/// Choose the signature header, an optional prefix before the signature (`sha256=`),
/// hex or base64, optional timestamp and id headers, and the signed-content layout as
/// a template over `{id}`, `{timestamp}` and `{body}`, where `{body}` comes last:
///
/// ```
/// use bytes::Bytes;
/// use http::HeaderName;
/// use webhook_signature::{Signer, Verifier, scheme::{Encoding, GenericHmac}};
///
/// let scheme = GenericHmac::builder("acme", HeaderName::from_static("x-acme-signature"))
///     .prefix("sha256=")
///     .encoding(Encoding::Base64)
///     .timestamp_header(HeaderName::from_static("x-acme-timestamp"))
///     .signed_content("{timestamp}.{body}")
///     .build()
///     .unwrap();
///
/// let body = Bytes::from_static(b"{}");
/// let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
/// let headers = Signer::new(scheme.clone(), "secret").unwrap().sign(&body, now, "").unwrap();
/// assert!(headers["x-acme-signature"].to_str().unwrap().starts_with("sha256="));
/// let verifier = Verifier::builder(scheme).secret("k", "secret").build().unwrap();
/// assert!(verifier.verify(&headers, &body).is_ok());
/// ```
#[derive(Debug, Clone)]
pub struct GenericHmac {
    name: &'static str,
    header: HeaderName,
    prefix: Box<str>,
    encoding: Encoding,
    timestamp_header: Option<HeaderName>,
    id_header: Option<HeaderName>,
    layout: Vec<Piece>,
}

/// Builds a [`GenericHmac`]; see there.
#[derive(Debug, Clone)]
#[must_use]
pub struct GenericHmacBuilder {
    name: &'static str,
    header: HeaderName,
    prefix: String,
    encoding: Encoding,
    timestamp_header: Option<HeaderName>,
    id_header: Option<HeaderName>,
    template: String,
}

impl GenericHmac {
    /// Starts a scheme called `name` whose signature is in `header`. By default the
    /// signature is bare hex over the raw body.
    pub fn builder(name: &'static str, header: HeaderName) -> GenericHmacBuilder {
        GenericHmacBuilder {
            name,
            header,
            prefix: String::new(),
            encoding: Encoding::Hex,
            timestamp_header: None,
            id_header: None,
            template: "{body}".to_owned(),
        }
    }

    fn decode(&self, text: &[u8]) -> Result<Tag, SignatureRejection> {
        match self.encoding {
            Encoding::Hex => hex_tag_from_bytes(text),
            Encoding::Base64 => base64_tag_from_bytes(text),
        }
    }
}

impl GenericHmacBuilder {
    /// Text that precedes the signature in the header, such as `sha256=`: visible
    /// ASCII without spaces ([`build`](Self::build) refuses anything else).
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Hex (default) or base64.
    pub fn encoding(mut self, encoding: Encoding) -> Self {
        self.encoding = encoding;
        self
    }

    /// The header holding the signed Unix timestamp; its tolerance is enforced.
    pub fn timestamp_header(mut self, header: HeaderName) -> Self {
        self.timestamp_header = Some(header);
        self
    }

    /// The header holding the event id.
    pub fn id_header(mut self, header: HeaderName) -> Self {
        self.id_header = Some(header);
        self
    }

    /// The signed-content layout, such as `{id}.{timestamp}.{body}` (default `{body}`).
    pub fn signed_content(mut self, template: impl Into<String>) -> Self {
        self.template = template.into();
        self
    }

    /// Checks the layout against the headers configured.
    pub fn build(self) -> Result<GenericHmac, ConfigError> {
        let invalid = |reason| ConfigError::InvalidScheme { reason };
        // The prefix is matched in a header value, which the verifier reads as visible
        // ASCII, trimmed: any other prefix could never match.
        if !self.prefix.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(invalid(
                "the prefix must be visible ASCII without spaces, as in a header value",
            ));
        }
        let before_body = self.template.strip_suffix("{body}").ok_or(invalid(
            "the signed-content template must end with `{body}`",
        ))?;
        let mut layout = Vec::new();
        let mut rest = before_body;
        while !rest.is_empty() {
            let (piece, len) = if rest.starts_with("{timestamp}") {
                if self.timestamp_header.is_none() {
                    return Err(invalid("`{timestamp}` needs a timestamp header"));
                }
                (Piece::Timestamp, "{timestamp}".len())
            } else if rest.starts_with("{id}") {
                if self.id_header.is_none() {
                    return Err(invalid("`{id}` needs an id header"));
                }
                (Piece::Id, "{id}".len())
            } else if rest.starts_with("{body}") {
                return Err(invalid("`{body}` must appear once, at the end"));
            } else if is_placeholder(rest) {
                return Err(invalid(
                    "unknown placeholder: the template knows `{id}`, `{timestamp}` and `{body}`",
                ));
            } else {
                // Up to the next `{`, on a character boundary (the literal may be UTF-8).
                let len = rest
                    .char_indices()
                    .skip(1)
                    .find(|&(_, c)| c == '{')
                    .map_or(rest.len(), |(at, _)| at);
                (Piece::Literal(rest.as_bytes()[..len].into()), len)
            };
            layout.push(piece);
            rest = &rest[len..];
        }
        if self.timestamp_header.is_some()
            && !layout.iter().any(|piece| matches!(piece, Piece::Timestamp))
        {
            // Enforcing the tolerance on a timestamp the signature does not cover gives
            // no replay protection: a replay would just send a fresh header.
            return Err(invalid(
                "a timestamp header must be signed: put `{timestamp}` in the signed content",
            ));
        }
        Ok(GenericHmac {
            name: self.name,
            header: self.header,
            prefix: self.prefix.into(),
            encoding: self.encoding,
            timestamp_header: self.timestamp_header,
            id_header: self.id_header,
            layout,
        })
    }
}

/// Whether `text` starts with `{name}`, `name` made of ASCII letters, digits and `_`.
fn is_placeholder(text: &str) -> bool {
    text.strip_prefix('{')
        .and_then(|inner| inner.split_once('}'))
        .is_some_and(|(name, _)| {
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        })
}

impl Scheme for GenericHmac {
    fn name(&self) -> &'static str {
        self.name
    }

    fn signed_content(&self) -> &'static str {
        "the configured signed-content template"
    }

    fn parse<'a>(&'a self, headers: &'a HeaderMap) -> Result<Signed<'a>, SignatureRejection> {
        // An absent optional header is looked up as the signature header again: its
        // answer is then never read.
        let [signature, timestamp_value, id_value] = find_headers(
            headers,
            [
                &self.header,
                self.timestamp_header.as_ref().unwrap_or(&self.header),
                self.id_header.as_ref().unwrap_or(&self.header),
            ],
        );
        let (_, value) =
            signature
                .bytes(&self.header)?
                .ok_or_else(|| SignatureRejection::MissingSignature {
                    header: self.header.clone(),
                })?;
        let encoded = value.strip_prefix(self.prefix.as_bytes()).ok_or(
            SignatureRejection::MalformedSignature {
                reason: "the signature lacks the configured prefix",
            },
        )?;
        let mut signed = Signed::new();
        signed.push_signature(self.decode(encoded)?);
        let required = |found: Found<'a>, header: &HeaderName| {
            found
                .bytes(header)?
                .ok_or_else(|| SignatureRejection::MissingHeader {
                    header: header.clone(),
                })
        };
        let timestamp: &[u8] = match &self.timestamp_header {
            Some(header) => {
                let (_, text) = required(timestamp_value, header)?;
                signed.set_timestamp(timestamp_from_bytes(text, header)?);
                text
            }
            None => b"",
        };
        let id: &[u8] = match &self.id_header {
            Some(header) => {
                let (value, id) = required(id_value, header)?;
                signed.set_checked_event_id(value, id);
                id
            }
            None => b"",
        };
        for piece in &self.layout {
            signed.push_prefix(match piece {
                Piece::Literal(bytes) => bytes,
                Piece::Timestamp => timestamp,
                Piece::Id => id,
            });
        }
        Ok(signed)
    }

    fn sign(
        &self,
        secret: &[u8],
        request: &SignRequest<'_>,
    ) -> Result<HeaderMap, http::header::InvalidHeaderValue> {
        let timestamp = request.timestamp.to_string();
        let prefix: Vec<&[u8]> = self
            .layout
            .iter()
            .map(|piece| match piece {
                Piece::Literal(bytes) => &**bytes,
                Piece::Timestamp => timestamp.as_bytes(),
                Piece::Id => request.id.as_bytes(),
            })
            .collect();
        let tag = hmac_tag(secret, &prefix, request.body);
        let encoded = match self.encoding {
            Encoding::Hex => hex::encode(tag),
            Encoding::Base64 => encode_base64(&tag),
        };
        let mut headers = HeaderMap::new();
        headers.insert(
            self.header.clone(),
            format!("{}{encoded}", self.prefix).parse()?,
        );
        if let Some(header) = &self.timestamp_header {
            headers.insert(header.clone(), timestamp.parse()?);
        }
        if let Some(header) = &self.id_header {
            headers.insert(header.clone(), request.id.parse()?);
        }
        Ok(headers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn builder() -> GenericHmacBuilder {
        GenericHmac::builder("acme", HeaderName::from_static("x-sig"))
    }

    #[test]
    fn templates_are_checked_at_build_time() {
        assert!(builder().signed_content("{body}.x").build().is_err());
        assert!(
            builder()
                .signed_content("{timestamp}.{body}")
                .build()
                .is_err()
        );
        assert!(builder().signed_content("{id}.{body}").build().is_err());
        assert!(builder().signed_content("{body}{body}").build().is_err());
        let scheme = builder()
            .id_header(HeaderName::from_static("x-id"))
            .timestamp_header(HeaderName::from_static("x-ts"))
            .signed_content("v1:{id}:{timestamp}:{body}")
            .build()
            .unwrap();
        assert_eq!(scheme.layout.len(), 5);
    }

    #[test]
    fn signed_content_follows_the_template() {
        let scheme = builder()
            .id_header(HeaderName::from_static("x-id"))
            .timestamp_header(HeaderName::from_static("x-ts"))
            .signed_content("v1:{id}:{timestamp}:{body}")
            .build()
            .unwrap();
        let request = SignRequest {
            body: b"hello",
            timestamp: 42,
            id: "abc",
        };
        let headers = scheme.sign(b"key", &request).unwrap();
        let expected = hmac_tag(b"key", &[b"v1:abc:42:"], b"hello");
        assert_eq!(headers["x-sig"], hex::encode(expected));
        let signed = scheme.parse(&headers).unwrap();
        assert_eq!(signed.prefix().concat(), b"v1:abc:42:");
        assert_eq!(signed.timestamp(), Some(42));
        assert_eq!(signed.event_id(), Some("abc"));
    }
}
