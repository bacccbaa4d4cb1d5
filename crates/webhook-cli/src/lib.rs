//! The `webhook` command: sign a body the way a webhook sender would, verify a
//! captured delivery (with a hint when the signature does not match), list the
//! providers, and send signed mock events to a receiver: once, as a duplicate storm,
//! or as a scripted scenario.
//!
//! Other tools drive it, so its output is a contract:
//! - `webhook providers` prints `<name>  <algorithm>  <signature header>`, one line
//!   per entry of [`webhook_signature::scheme::PROVIDERS`];
//! - `webhook verify` exits 0 and prints `ok key=<index>` alone on its first line (the
//!   0-based position of the matching `--secret`, or of the matching `--public-key`
//!   for the schemes with asymmetric signatures), then `event id=<id> type=<type>`
//!   (one line per event of a batch) when the delivery's envelope can be read
//!   ([`Verification::events`]); otherwise it
//!   prints `rejected code=<code>`, explains why on standard error and exits 1. For
//!   the schemes that sign the URL, `--url` is the full URL the provider called.
//!
//! Every provider signs and verifies: with `--secret` for an HMAC, with
//! `--private-key` and `--public-key` for Ed25519 (Discord, Standard Webhooks `v1a`)
//! and ECDSA P-256 (SendGrid), and with `--url` (and `--method`) for the schemes that
//! sign the request's URL (Square, HubSpot, Twilio). Mailgun's signature travels
//! inside the body: `webhook verify` checks it and `webhook send` makes it, but
//! `webhook sign`, which prints headers, cannot.
//!
//! The binary is a thin shell over [`run`]; the pieces it uses (header parsing, body
//! reading, formatting) are public here so they can be tested and reused by later
//! subcommands. Signing and verifying go through [`webhook_signature::Signer`] and
//! [`webhook_signature::Verifier`], and the handshake answers keyed with the secret
//! are checked with [`webhook_signature::scheme::hmac_tag`]: the CLI computes no
//! HMAC of its own.
//!
//! ```
//! use clap::Parser;
//! use webhook_cli::{Cli, EXIT_OK, run};
//!
//! // GitHub's published example.
//! let cli = Cli::parse_from(["webhook", "sign", "--scheme", "github",
//!     "--secret", "It's a Secret to Everybody", "--id", "d1"]);
//! let (mut out, mut err) = (Vec::new(), Vec::new());
//! let status = run(&cli, 1_700_000_000, &mut &b"Hello, World!"[..], &mut out, &mut err);
//! assert_eq!(status, EXIT_OK);
//! assert_eq!(
//!     String::from_utf8(out).unwrap(),
//!     "x-github-delivery: d1\n\
//!      x-hub-signature-256: sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17\n"
//! );
//!
//! let cli = Cli::parse_from(["webhook", "verify", "--scheme", "github",
//!     "--secret", "It's a Secret to Everybody",
//!     "--header", "X-Hub-Signature-256: sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"]);
//! let mut out = Vec::new();
//! let status = run(&cli, 1_700_000_000, &mut &b"Hello, World!"[..], &mut out, &mut err);
//! assert_eq!(status, EXIT_OK);
//! assert_eq!(String::from_utf8(out).unwrap(), "ok key=0\n");
//! ```
//!
//! `webhook send` builds and signs its events with [`webhook_testing::MockEvent`] and
//! posts them with a hyper 1 client over plain HTTP; see [`Scenario`] for the
//! scenario files. `webhook send --handshake` sends the provider's setup handshake
//! instead (Slack, Zoom, X, Meta with `--verify-token`, Twitch, Dropbox, Discord),
//! signed where the provider signs it, prints the answer's status and body, then
//! `handshake: the answer is what the provider expects` (exit 0) or
//! `handshake: unexpected answer: <why>` (exit 1).
//!
//! Exit status: [`EXIT_OK`] (0), [`EXIT_REJECTED`] (1, the signature was refused, or
//! the receiver answered otherwise than expected) and [`EXIT_USAGE`] (2, a usage or
//! I/O error, or an unreachable receiver; clap uses it for its own errors too).

use std::io::{self, Read, Write};
use std::time::{SystemTime, UNIX_EPOCH};

mod cli;
mod handshake;
mod input;
mod scenario;
mod send;
mod sign;
mod verify;

pub use cli::{
    BodyArg, Cli, Command, SchemeArg, SchemeParser, SendArgs, SignArgs, SigningArgs, VerifyArgs,
};
pub use input::{Body, UsageError, collect_headers, parse_header_line, parse_method, split_url};
pub use scenario::{EventTemplate, Scenario, Step, StepKind};
pub use send::{Attempt, parse_json, parse_url, summary};
pub use sign::{format_headers, generate_id, sign};
pub use verify::{Verification, verify};

/// Exit status: signed, or verified.
pub const EXIT_OK: u8 = 0;
/// Exit status: the delivery's signature was rejected.
pub const EXIT_REJECTED: u8 = 1;
/// Exit status: the command was called wrongly, or input or output failed.
pub const EXIT_USAGE: u8 = 2;

/// The current Unix time in seconds.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            i64::try_from(since.as_secs()).unwrap_or(i64::MAX)
        })
}

/// Runs a parsed command line: reads the body from its file or `stdin`, writes the
/// result to `stdout` and explanations to `stderr`, and returns the exit status.
///
/// `now` (Unix seconds) is the default signing timestamp and the time a signed
/// timestamp is checked against, unless `--timestamp` or `--now` says otherwise.
pub fn run(
    cli: &Cli,
    now: i64,
    stdin: &mut dyn Read,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> u8 {
    let result = match &cli.command {
        Command::Sign(args) => run_sign(args, now, stdin, stdout, stderr),
        Command::Verify(args) => run_verify(args, now, stdin, stdout, stderr),
        Command::Send(args) => run_send(args, now, stdout, stderr),
        Command::Providers => run_providers(stdout),
    };
    match result {
        Ok(status) => status,
        Err(Failure::Usage(error)) => {
            let _ = writeln!(stderr, "error: {error}");
            EXIT_USAGE
        }
        Err(Failure::Output(error)) => {
            let _ = writeln!(stderr, "error: cannot write the output: {error}");
            EXIT_USAGE
        }
    }
}

enum Failure {
    Usage(UsageError),
    Output(io::Error),
}

impl From<UsageError> for Failure {
    fn from(error: UsageError) -> Self {
        Self::Usage(error)
    }
}

impl From<io::Error> for Failure {
    fn from(error: io::Error) -> Self {
        Self::Output(error)
    }
}

fn run_sign(
    args: &SignArgs,
    now: i64,
    stdin: &mut dyn Read,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<u8, Failure> {
    let signing = &args.signing;
    for note in verify::ignored_flags(
        signing.scheme,
        signing.url.is_some(),
        signing.method.is_some(),
    ) {
        writeln!(stderr, "{note}")?;
    }
    let body = Body::read(&args.body, stdin)?;
    let headers = sign(signing, &body.bytes, now)?;
    stdout.write_all(format_headers(&headers).as_bytes())?;
    stdout.flush()?;
    Ok(EXIT_OK)
}

/// `webhook providers`: one `<name>  <algorithm>  <signature header>` line per
/// provider in [`PROVIDERS`](webhook_signature::scheme::PROVIDERS).
fn run_providers(stdout: &mut dyn Write) -> Result<u8, Failure> {
    for provider in webhook_signature::scheme::PROVIDERS {
        writeln!(
            stdout,
            "{}  {}  {}",
            provider.name,
            provider.algorithm.as_str(),
            provider.signature_header
        )?;
    }
    stdout.flush()?;
    Ok(EXIT_OK)
}

fn run_send(
    args: &SendArgs,
    now: i64,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<u8, Failure> {
    let (lines, status, failure) = match &args.scenario {
        Some(path) => {
            let report = scenario::run(args, path, now)?;
            (report.lines, report.status, report.failure)
        }
        None if args.handshake => {
            let report = handshake::send(args, now)?;
            (report.lines, report.status, report.failure)
        }
        None => {
            let report = send::send(args, now)?;
            (report.lines, report.status, report.failure)
        }
    };
    stdout.write_all(lines.as_bytes())?;
    stdout.flush()?;
    if let Some(failure) = failure {
        writeln!(stderr, "error: {failure}")?;
    }
    Ok(status)
}

fn run_verify(
    args: &VerifyArgs,
    now: i64,
    stdin: &mut dyn Read,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<u8, Failure> {
    let notes = verify::ignored_flags(args.scheme, args.url.is_some(), args.method.is_some());
    for note in notes.into_iter().chain(verify::ignored_secrets(args)) {
        writeln!(stderr, "{note}")?;
    }
    // Check the headers before waiting on standard input for the body.
    let headers = collect_headers(&args.headers, &args.header_files)?;
    let body = Body::read(&args.body, stdin)?;
    let verification = verify(args, headers, body, now)?;
    writeln!(stdout, "{}", verification.verdict())?;
    for event in verification.events() {
        writeln!(stdout, "{event}")?;
    }
    stdout.flush()?;
    for line in verification.explanation() {
        writeln!(stderr, "{line}")?;
    }
    Ok(if verification.outcome.is_ok() {
        EXIT_OK
    } else {
        EXIT_REJECTED
    })
}
