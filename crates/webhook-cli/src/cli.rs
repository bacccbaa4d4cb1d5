//! The command line, as clap types.

use std::ffi::OsStr;
use std::path::PathBuf;

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser, ValueParserFactory};
use clap::{Args, Parser, Subcommand};
use webhook_signature::DEFAULT_TOLERANCE;
use webhook_signature::scheme::{NAMES, PROVIDERS, Provider, Scheme};

/// `webhook`: sign a body the way a webhook sender would, or verify a delivery.
#[derive(Debug, Parser)]
#[command(
    name = "webhook",
    version,
    about = "Sign, verify and send webhooks, for every provider `webhook providers` lists",
    long_about = "Sign, verify and send webhooks, for every provider `webhook providers` lists.\n\n\
        `webhook sign` prints the headers a sender would attach to a body; \
        `webhook verify` checks a delivery's headers against its body and says why \
        a signature does not match; `webhook providers` lists the schemes; `webhook send` posts signed mock events to a \
        receiver (once, as a duplicate storm, or as a scripted scenario).\n\n\
        Exit status: 0 verified (or signed, or sent), 1 the signature was rejected \
        (or the receiver answered otherwise than expected), 2 a usage error (unknown \
        scheme, malformed --header, unreadable file, bad secret, bad URL or JSON, \
        receiver unreachable)."
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the signature headers a sender would attach to a body, one `Name: value`
    /// per line.
    #[command(after_help = "Examples:\n  \
            webhook sign --scheme github --secret \"$SECRET\" body.json\n  \
            printf '%s' '{\"id\":1}' | webhook sign --scheme stripe --secret whsec_test\n  \
            webhook sign --scheme discord --private-key \"$(cat discord-key.pem)\" body.json\n  \
            webhook sign --scheme square --secret \"$SECRET\" --url https://example.com/hooks body.json")]
    Sign(SignArgs),
    /// Check a delivery's signature headers against its body and one or more secrets
    /// or public keys.
    ///
    /// When a key matches, exits 0 and prints `ok key=<index>` alone on the first
    /// line: the 0-based position of the matching --secret (of the matching
    /// --public-key for a scheme that verifies with public keys). When the body is a
    /// JSON object (an array for HubSpot and SendGrid, a form for Twilio), or the
    /// provider names the event type in a header, a line `event id=<id> type=<type>`
    /// follows (one per event of a batch): the id and type where the provider's
    /// envelope puts them (a header given with --header, such as `X-GitHub-Event`, or
    /// the body), each empty when absent and quoted when it holds a space.
    ///
    /// Otherwise prints `rejected code=<code>`, explains why on standard error and
    /// exits 1.
    #[command(after_help = "Examples:\n  \
            webhook verify --scheme github --secret \"$SECRET\" \\\n    \
            --header 'X-Hub-Signature-256: sha256=757107ea...' body.json\n  \
            webhook sign --scheme slack --secret s body.json > headers.txt\n  \
            webhook verify --scheme slack --secret s --header-file headers.txt body.json\n  \
            webhook verify --scheme discord --public-key \"$DISCORD_PUBLIC_KEY\" \\\n    \
            --header-file headers.txt body.json\n  \
            webhook verify --scheme hubspot --secret \"$SECRET\" --method POST \\\n    \
            --url 'https://example.com/hooks?portal=1' --header-file headers.txt body.json")]
    Verify(VerifyArgs),
    /// List the providers, one line each: `<name>  <algorithm>  <signature header>`.
    ///
    /// Every name listed is accepted by --scheme; so are the aliases `--scheme`'s
    /// `--help` shows (`svix` for `standard`).
    #[command(after_help = aliases_help())]
    Providers,
    /// Post a signed mock event to a receiver: once, several times at once (a
    /// duplicate storm), or as the steps of a scenario file.
    ///
    /// Prints one line per response (index, status, `idempotent-replayed` when the
    /// receiver replayed a recorded response, the start of the body) and a summary of
    /// the status codes. Exits 0 when every response is 2xx or 409 (a duplicate that
    /// arrived while the first copy was being processed), 1 otherwise, 2 when the
    /// receiver cannot be reached or the command is called wrongly.
    ///
    /// With --scenario, runs the file's steps in order and prints each step's expected
    /// and actual status; exits 1 if any differs.
    #[command(after_help = "Examples:\n  \
            webhook send --url http://127.0.0.1:3000/webhooks --scheme hopnow \\\n    \
            --secret \"$SECRET\" --type payout.completed --data '{\"id\":\"pout_1\",\"status\":\"completed\"}'\n  \
            webhook send --url http://127.0.0.1:3000/webhooks --scheme hopnow \\\n    \
            --secret \"$SECRET\" --type ping --repeat 20 --concurrency 20\n  \
            webhook send --url http://127.0.0.1:3000/webhooks --scheme hopnow \\\n    \
            --secret new --secret old --scenario scenarios/basic.json\n\n\
            Scenario steps: send (a new event), duplicate (the previous event again), \
            out_of_order (a new event for the same entity with an older `created`), \
            rotated_secret (a new event signed with the second --secret or --private-key), \
            forged (a new event with a corrupted signature).")]
    Send(SendArgs),
}

impl Command {
    /// Whether the command reads the body from standard input (no FILE, or `-`).
    pub fn reads_stdin(&self) -> bool {
        match self {
            Self::Sign(args) => args.body.is_stdin(),
            Self::Verify(args) => args.body.is_stdin(),
            Self::Send(_) | Self::Providers => false,
        }
    }
}

/// `webhook sign`.
#[derive(Debug, Args)]
pub struct SignArgs {
    /// How to sign.
    #[command(flatten)]
    pub signing: SigningArgs,
    /// The body to sign.
    #[command(flatten)]
    pub body: BodyArg,
}

/// What a sender needs to sign a body: scheme, key, message id, timestamp, and the
/// URL and method for the schemes that sign them.
///
#[derive(Debug, Args)]
pub struct SigningArgs {
    /// The signature scheme: which headers to produce and what content to sign.
    #[arg(long, value_name = "SCHEME")]
    pub scheme: SchemeArg,

    /// The signing secret, for the schemes that sign with a shared secret (an HMAC
    /// in `webhook providers`). `standard` expects the `whsec_<base64>` secret (so
    /// does `gitlab`, for a signing token); other schemes use the text as given.
    /// Prefer the WEBHOOK_SECRET environment variable: command-line arguments are
    /// visible to other users in the process list.
    #[arg(
        long,
        value_name = "SECRET",
        env = "WEBHOOK_SECRET",
        hide_env_values = true,
        allow_hyphen_values = true,
        required_unless_present = "private_key"
    )]
    pub secret: Option<String>,

    /// The private key, for the schemes with asymmetric signatures: `discord` (the
    /// Ed25519 seed as 64 hex characters, or PKCS#8 PEM), `sendgrid` (the P-256
    /// scalar as 64 hex characters, or PEM) and `standard` (`whsk_<base64>`, signing
    /// a `v1a` signature). Used instead of --secret when both are given. Prefer the
    /// WEBHOOK_PRIVATE_KEY environment variable.
    #[arg(
        long,
        value_name = "KEY",
        env = "WEBHOOK_PRIVATE_KEY",
        hide_env_values = true,
        allow_hyphen_values = true
    )]
    pub private_key: Option<String>,

    /// The message id, for the schemes that sign or carry one, such as `standard`
    /// (`webhook-id`, signed), `github` (`X-GitHub-Delivery`), `shopify`
    /// (`X-Shopify-Webhook-Id`). Defaults to a random `msg_<uuid>`; other schemes
    /// ignore it.
    #[arg(long, value_name = "ID")]
    pub id: Option<String>,

    /// The Unix time in seconds to sign, for the schemes that sign one, such as
    /// `stripe`, `slack`, `standard`. Defaults to now; other schemes ignore it.
    #[arg(long, value_name = "UNIX", value_parser = clap::value_parser!(i64).range(0..))]
    pub timestamp: Option<i64>,

    /// The full URL the delivery is sent to, `https://host/path?query`, for the
    /// schemes that sign it (`square`, `hubspot`, `twilio`); other schemes ignore it,
    /// and say so on standard error.
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,

    /// The request method, for the schemes that sign it (`hubspot`). Default `POST`.
    #[arg(long, value_name = "METHOD")]
    pub method: Option<String>,
}

/// `webhook verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The signature scheme the delivery claims: which headers to read and what
    /// content was signed.
    #[arg(long, value_name = "SCHEME")]
    pub scheme: SchemeArg,

    /// A secret to try. Repeat it during a rotation (`--secret OLD --secret NEW`); the
    /// secrets get key ids 0, 1, ... by position, and the output names the one that
    /// matched. `standard` expects `whsec_<base64>`. Can come from WEBHOOK_SECRET
    /// (one secret), which keeps it out of the process list. A scheme with
    /// asymmetric signatures given --public-key ignores it, and says so.
    #[arg(
        long = "secret",
        value_name = "SECRET",
        env = "WEBHOOK_SECRET",
        hide_env_values = true,
        allow_hyphen_values = true,
        required_unless_present = "public_keys"
    )]
    pub secrets: Vec<String>,

    /// A public key to try, for the schemes with asymmetric signatures, in the form
    /// the provider shows it: `discord` (64 hex characters), `sendgrid` (base64 DER,
    /// as in SendGrid's settings, or PEM), `standard` (`whpk_<base64>`, for `v1a`
    /// signatures). Repeatable; numbered 0, 1, ... by position, as --secret is. A
    /// scheme that verifies with secrets only refuses it.
    #[arg(long = "public-key", value_name = "KEY", allow_hyphen_values = true)]
    pub public_keys: Vec<String>,

    /// The full URL the provider called, `https://host/path?query`, for the schemes
    /// that sign it (`square`, `hubspot`, `twilio`), which need it. Other schemes
    /// ignore it, and say so on standard error.
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,

    /// The request's HTTP method, for the schemes that sign it (`hubspot`). Default
    /// `POST`. Schemes that sign no URL ignore it, and say so on standard error.
    #[arg(long, value_name = "METHOD")]
    pub method: Option<String>,

    /// A header of the delivery, as `Name: value` (the name is case-insensitive).
    /// Repeat it for each header: the signature, and the timestamp and id headers the
    /// scheme signs. `webhook sign` prints headers in this form.
    #[arg(long = "header", short = 'H', value_name = "NAME: VALUE")]
    pub headers: Vec<String>,

    /// A file of headers, one `Name: value` per line (blank lines and lines starting
    /// with `#` are skipped), such as the saved output of `webhook sign`. Repeatable;
    /// combined with --header.
    #[arg(long = "header-file", value_name = "PATH")]
    pub header_files: Vec<PathBuf>,

    /// The Unix time in seconds to check the signed timestamp against, instead of the
    /// system clock. Set it to the delivery's time to check an old captured delivery.
    #[arg(long, value_name = "UNIX", value_parser = clap::value_parser!(i64).range(0..))]
    pub now: Option<i64>,

    /// How far, in seconds, the signed timestamp may be from now in either direction
    /// (exactly at the tolerance passes). Only for schemes that sign a timestamp.
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_TOLERANCE.as_secs())]
    pub tolerance: u64,

    /// The delivery's body.
    #[command(flatten)]
    pub body: BodyArg,
}

/// `webhook send`.
#[derive(Debug, Args)]
#[command(group(
    clap::ArgGroup::new("event").required(true).args(["event_type", "scenario", "handshake"])
))]
pub struct SendArgs {
    /// The receiver's URL, `http://HOST:PORT/PATH` (plain HTTP: no TLS).
    #[arg(long, value_name = "URL")]
    pub url: String,

    /// The signature scheme the receiver verifies.
    #[arg(long, value_name = "SCHEME")]
    pub scheme: SchemeArg,

    /// The signing secret. Repeat it for a rotation: the first signs every delivery,
    /// the second signs the `rotated_secret` steps of a scenario. `standard` expects
    /// `whsec_<base64>`. Prefer WEBHOOK_SECRET (one secret): command-line arguments
    /// are visible to other users in the process list.
    #[arg(
        long = "secret",
        value_name = "SECRET",
        env = "WEBHOOK_SECRET",
        hide_env_values = true,
        allow_hyphen_values = true,
        required_unless_present_any = ["private_keys", "handshake"]
    )]
    pub secrets: Vec<String>,

    /// The private key, for the schemes with asymmetric signatures (`discord`,
    /// `sendgrid`; `standard` with `whsk_<base64>`), in the forms `webhook sign
    /// --private-key` takes. Repeatable as --secret is, and used instead of it.
    /// Prefer WEBHOOK_PRIVATE_KEY (one key).
    #[arg(
        long = "private-key",
        value_name = "KEY",
        env = "WEBHOOK_PRIVATE_KEY",
        hide_env_values = true,
        allow_hyphen_values = true
    )]
    pub private_keys: Vec<String>,

    /// The full URL the signature covers, for the schemes that sign the URL
    /// (`square`, `hubspot`, `twilio`): the URL the provider would call, when the
    /// receiver sits behind a proxy. Default: --url.
    #[arg(long, value_name = "URL")]
    pub signed_url: Option<String>,

    /// The event type, the envelope's `type` (`payout.completed`).
    #[arg(long = "type", value_name = "TYPE")]
    pub event_type: Option<String>,

    /// The event's `data`, as JSON text. Default `{}`.
    #[arg(long, value_name = "JSON", conflicts_with_all = ["data_file", "scenario"])]
    pub data: Option<String>,

    /// A file holding the event's `data` as JSON.
    #[arg(long, value_name = "PATH", conflicts_with = "scenario")]
    pub data_file: Option<PathBuf>,

    /// The event id (`id`; also `webhook-id`, `X-GitHub-Delivery` or
    /// `X-Shopify-Webhook-Id` for the schemes that send one). Default: a random
    /// `evt_<uuid>`, the same for every copy of a --repeat.
    #[arg(long, value_name = "ID", conflicts_with = "scenario")]
    pub id: Option<String>,

    /// The envelope's `created`: Unix seconds or RFC 3339 text
    /// (`2025-11-02T10:00:00Z`), sent as given. Default: now, in Unix seconds.
    #[arg(
        long,
        value_name = "TIME",
        allow_hyphen_values = true,
        conflicts_with = "scenario"
    )]
    pub created: Option<String>,

    /// The Unix time in seconds to sign, for the schemes that sign one (`stripe`,
    /// `slack`, `standard`). Default: now.
    #[arg(long, value_name = "UNIX", value_parser = clap::value_parser!(i64).range(0..))]
    pub timestamp: Option<i64>,

    /// How many times to send the same event (same id, same body).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 1,
        value_parser = clap::value_parser!(u32).range(1..=10_000),
        conflicts_with = "scenario"
    )]
    pub repeat: u32,

    /// How many of the --repeat copies are in flight at once. Equal to --repeat, they
    /// all start together: a duplicate storm.
    #[arg(
        long,
        value_name = "C",
        default_value_t = 1,
        value_parser = clap::value_parser!(u32).range(1..=256),
        conflicts_with = "scenario"
    )]
    pub concurrency: u32,

    /// An extra request header, as `Name: value`. Repeatable.
    #[arg(long = "header", short = 'H', value_name = "NAME: VALUE")]
    pub headers: Vec<String>,

    /// Seconds to wait for each response.
    #[arg(long, value_name = "SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,

    /// Run the steps of a scenario file (JSON, or TOML when the name ends in `.toml`)
    /// instead of sending one event.
    #[arg(long, value_name = "FILE")]
    pub scenario: Option<PathBuf>,

    /// Send the provider's setup handshake instead of an event, as the provider
    /// would (signed where it signs it), and print the answer's status and body and
    /// whether it is the answer the provider expects: Slack `url_verification`, Zoom
    /// `endpoint.url_validation`, X's CRC `GET`, Meta's verification `GET` (with
    /// --verify-token), Twitch `webhook_callback_verification`, Dropbox's challenge
    /// `GET`, Discord's PING. Exit 0 when it is, 1 when not.
    #[arg(long, conflicts_with_all = ["scenario", "data", "data_file", "repeat", "concurrency"])]
    pub handshake: bool,

    /// Meta's verify token, sent in its verification request (--handshake with
    /// `meta`). Prefer WEBHOOK_VERIFY_TOKEN.
    #[arg(
        long,
        value_name = "TOKEN",
        env = "WEBHOOK_VERIFY_TOKEN",
        hide_env_values = true,
        allow_hyphen_values = true
    )]
    pub verify_token: Option<String>,
}

/// Where the body comes from.
#[derive(Debug, Args)]
pub struct BodyArg {
    /// The file holding the body, read as raw bytes (it need not be UTF-8). Omit it,
    /// or pass `-`, to read standard input.
    #[arg(value_name = "FILE")]
    pub file: Option<PathBuf>,
}

impl BodyArg {
    /// Whether the body comes from standard input.
    pub fn is_stdin(&self) -> bool {
        self.file
            .as_deref()
            .is_none_or(|path| path == OsStr::new("-"))
    }
}

/// A built-in scheme, by name: one of [`NAMES`], or an alias of one (`svix` for
/// `standard`), as listed in [`PROVIDERS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchemeArg(&'static str);

impl SchemeArg {
    /// Looks a scheme up by name or alias, as [`Provider::find`] does.
    pub fn new(name: &str) -> Option<Self> {
        Provider::find(name).map(|provider| Self(provider.name))
    }

    /// The scheme's canonical name (`standard` for `svix`).
    pub fn name(self) -> &'static str {
        self.0
    }

    /// The scheme's entry in [`PROVIDERS`].
    pub fn provider(self) -> &'static Provider {
        Provider::find(self.0).expect("a SchemeArg names a built-in scheme")
    }

    /// A fresh instance of the scheme.
    pub fn scheme(self) -> Box<dyn Scheme> {
        (self.provider().scheme)()
    }
}

/// The providers that have aliases, one line each, for help texts.
fn aliases_help() -> String {
    let mut text = String::from("Aliases:");
    for provider in PROVIDERS.iter().filter(|p| !p.aliases.is_empty()) {
        text.push_str(&format!(
            "\n  {}: {}",
            provider.name,
            provider.aliases.join(", ")
        ));
    }
    text
}

impl ValueParserFactory for SchemeArg {
    type Parser = SchemeParser;

    fn value_parser() -> SchemeParser {
        SchemeParser
    }
}

/// Parses a [`SchemeArg`]; help texts and errors list [`NAMES`].
#[derive(Debug, Clone, Copy)]
pub struct SchemeParser;

impl TypedValueParser for SchemeParser {
    type Value = SchemeArg;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<SchemeArg, clap::Error> {
        if let Some(scheme) = value.to_str().and_then(SchemeArg::new) {
            return Ok(scheme);
        }
        // Not a known scheme: let clap's own parser word the error and list the names.
        let name = PossibleValuesParser::new(NAMES).parse_ref(cmd, arg, value)?;
        SchemeArg::new(&name).ok_or_else(|| clap::Error::new(clap::error::ErrorKind::InvalidValue))
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(PROVIDERS.iter().map(|provider| {
            let mut help = match provider.signature_header {
                "body" => format!("{}, signature inside the body", provider.algorithm),
                header => format!("{}, signature in `{header}`", provider.algorithm),
            };
            if !provider.aliases.is_empty() {
                help.push_str(&format!("; aliases {}", provider.aliases.join(", ")));
            }
            PossibleValue::new(provider.name)
                .aliases(provider.aliases.iter().copied())
                .help(help)
        })))
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn schemes_parse_by_name_and_alias() {
        for name in NAMES {
            assert_eq!(SchemeArg::new(name).unwrap().name(), *name);
        }
        assert_eq!(SchemeArg::new("svix").unwrap().name(), "standard");
        assert_eq!(SchemeArg::new("GitHub").unwrap().name(), "github");
        assert!(SchemeArg::new("gitea").is_none());
    }

    #[test]
    fn an_unknown_scheme_is_a_usage_error_listing_the_names() {
        let error = Cli::try_parse_from(["webhook", "sign", "--scheme", "gitea", "--secret", "s"])
            .unwrap_err();
        assert_eq!(error.exit_code(), 2);
        let text = error.to_string();
        assert!(text.contains("gitea"), "{text}");
        for name in NAMES {
            assert!(text.contains(name), "{text}");
        }
    }

    #[test]
    fn a_secret_may_start_with_a_hyphen() {
        let cli = Cli::try_parse_from(["webhook", "sign", "--scheme", "hopnow", "--secret", "-x"])
            .unwrap();
        let Command::Sign(args) = cli.command else {
            panic!("not sign")
        };
        assert_eq!(args.signing.secret.as_deref(), Some("-x"));
        assert!(args.body.is_stdin());
    }
}
