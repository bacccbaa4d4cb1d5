//! The setup handshakes some providers send before any delivery.

use std::fmt;

/// A provider's setup handshake: the request it sends to prove an endpoint is
/// theirs before it delivers events, and which the signature layer answers itself
/// (the inner service never sees it).
///
/// Descriptive only: a scheme names the handshake it knows, and the signature layer
/// puts the one it answered in the response extensions, where outer layers (metrics,
/// tracing) read it.
///
/// ```
/// use webhook_core::Handshake;
///
/// assert_eq!(Handshake::XCrc.as_str(), "x_crc");
/// assert_eq!(Handshake::DiscordPing.to_string(), "discord_ping");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Handshake {
    /// Slack's Events API `url_verification`: a signed `POST` whose `challenge` is
    /// echoed.
    SlackUrlVerification,
    /// Zoom's `endpoint.url_validation`: a signed `POST` answered with the
    /// `plainToken` and its HMAC.
    ZoomUrlValidation,
    /// X (Twitter) Account Activity's challenge-response check: a `GET` with a
    /// `crc_token`, answered with its HMAC.
    XCrc,
    /// Meta's (Facebook, Instagram, WhatsApp) verification request: a `GET` with
    /// `hub.mode=subscribe`, the verify token and a challenge to echo.
    MetaSubscribe,
    /// Twitch EventSub's `webhook_callback_verification`: a signed `POST` whose
    /// `challenge` is echoed.
    TwitchCallbackVerification,
    /// Dropbox's verification request: a `GET` with a `challenge` to echo.
    DropboxChallenge,
    /// Discord's PING: an interaction of type 1 (answered `{"type":1}`) or a
    /// webhook-events ping of type 0 (answered 204), both signed.
    DiscordPing,
}

impl Handshake {
    /// Every handshake, in declaration order.
    pub const ALL: &'static [Self] = &[
        Self::SlackUrlVerification,
        Self::ZoomUrlValidation,
        Self::XCrc,
        Self::MetaSubscribe,
        Self::TwitchCallbackVerification,
        Self::DropboxChallenge,
        Self::DiscordPing,
    ];

    /// A stable lowercase label, for metrics and logs.
    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::SlackUrlVerification => "slack_url_verification",
            Self::ZoomUrlValidation => "zoom_url_validation",
            Self::XCrc => "x_crc",
            Self::MetaSubscribe => "meta_subscribe",
            Self::TwitchCallbackVerification => "twitch_callback_verification",
            Self::DropboxChallenge => "dropbox_challenge",
            Self::DiscordPing => "discord_ping",
        }
    }
}

impl fmt::Display for Handshake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_unique_lowercase_identifiers() {
        for (i, handshake) in Handshake::ALL.iter().enumerate() {
            let label = handshake.as_str();
            assert!(label.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
            assert!(
                Handshake::ALL[i + 1..]
                    .iter()
                    .all(|other| other.as_str() != label)
            );
        }
    }
}
