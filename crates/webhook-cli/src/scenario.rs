//! `webhook send --scenario FILE`: scripted steps, each with the status the receiver
//! should answer.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;
use webhook_testing::MockEvent;

use crate::cli::SendArgs;
use crate::input::{UsageError, collect_headers};
use crate::send::{Attempt, Keys, Sender, parse_url, read_file, runtime};
use crate::sign::SigningKey;

/// A scenario file: an optional default event and the steps, in order.
///
/// ```json
/// {
///   "event": {"type": "payout.completed", "data": {"payout_id": "po_1"}},
///   "steps": [
///     {"step": "send", "expect": 200, "replayed": false},
///     {"step": "duplicate", "expect": 200, "replayed": true},
///     {"step": "forged", "expect": 401}
///   ]
/// }
/// ```
///
/// The same in TOML: `event = { type = "...", data = { ... } }` and `[[steps]]`
/// tables.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// What the scenario checks, for people.
    #[serde(default)]
    pub description: Option<String>,
    /// The event the steps send unless a step says otherwise.
    #[serde(default)]
    pub event: Option<EventTemplate>,
    /// The secret `rotated_secret` steps sign with, when `--secret` is not repeated.
    #[serde(default)]
    pub rotated_secret: Option<String>,
    /// The steps.
    pub steps: Vec<Step>,
}

/// The event a scenario's steps send by default.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventTemplate {
    /// The event type.
    #[serde(rename = "type")]
    pub event_type: String,
    /// The payload (default `{}`).
    #[serde(default)]
    pub data: Option<Value>,
}

/// One step of a [`Scenario`].
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// What to send.
    pub step: StepKind,
    /// The status the receiver should answer with.
    pub expect: u16,
    /// Whether the answer should (`true`) or should not (`false`) be a replay
    /// (`Idempotent-Replayed: true`); unchecked when absent.
    #[serde(default)]
    pub replayed: Option<bool>,
    /// The event type, instead of the scenario's.
    #[serde(default, rename = "type")]
    pub event_type: Option<String>,
    /// The payload, instead of the scenario's.
    #[serde(default)]
    pub data: Option<Value>,
    /// The event id, instead of a fresh one.
    #[serde(default)]
    pub id: Option<String>,
    /// For `out_of_order`: how many seconds older than the previous event's
    /// `created` (default 60).
    #[serde(default)]
    pub older_by: Option<i64>,
}

/// The kinds of step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    /// A new event (fresh id, created now), validly signed.
    Send,
    /// The previous event again: same id and body, validly signed.
    Duplicate,
    /// A new event of the previous one's type and data (the same entity) whose
    /// `created` is older than the previous event's.
    OutOfOrder,
    /// A new event signed with the second key (`--secret` or `--private-key`).
    RotatedSecret,
    /// A new event with a corrupted signature.
    Forged,
}

impl StepKind {
    fn name(self) -> &'static str {
        match self {
            Self::Send => "send",
            Self::Duplicate => "duplicate",
            Self::OutOfOrder => "out_of_order",
            Self::RotatedSecret => "rotated_secret",
            Self::Forged => "forged",
        }
    }
}

impl Scenario {
    /// Reads a scenario: TOML when the name ends in `.toml`, JSON otherwise.
    pub fn load(path: &Path) -> Result<Self, UsageError> {
        let bytes = read_file(path)?;
        let invalid = |reason: String| UsageError::Scenario {
            path: path.to_owned(),
            reason,
        };
        let scenario: Self = if path.extension().is_some_and(|ext| ext == "toml") {
            let text = String::from_utf8(bytes).map_err(|_| invalid("not UTF-8 text".into()))?;
            toml::from_str(&text)
                .map_err(|error| invalid(format!("not a valid scenario: {error}")))?
        } else {
            serde_json::from_slice(&bytes)
                .map_err(|error| invalid(format!("not a valid scenario: {error}")))?
        };
        scenario.check().map_err(invalid)?;
        Ok(scenario)
    }

    /// Refuses a scenario that cannot run, before anything is sent.
    fn check(&self) -> Result<(), String> {
        if self.steps.is_empty() {
            return Err("no steps".into());
        }
        let mut previous = false;
        for (index, step) in self.steps.iter().enumerate() {
            let at = format!("step {} ({})", index + 1, step.step.name());
            if http::StatusCode::from_u16(step.expect).is_err() {
                return Err(format!(
                    "{at}: `expect` {} is not an HTTP status",
                    step.expect
                ));
            }
            if matches!(step.step, StepKind::Duplicate | StepKind::OutOfOrder) && !previous {
                return Err(format!(
                    "{at}: no previous event to resend; put a `send` step before it"
                ));
            }
            let makes_event = !matches!(step.step, StepKind::Duplicate);
            if makes_event && step.event_type.is_none() && self.event.is_none() && !previous {
                return Err(format!(
                    "{at}: no event type: give the step a `type` or the scenario an `event`"
                ));
            }
            if !makes_event
                && (step.event_type.is_some() || step.data.is_some() || step.id.is_some())
            {
                return Err(format!(
                    "{at}: a duplicate resends the previous event as it was"
                ));
            }
            if step.older_by.is_some() && step.step != StepKind::OutOfOrder {
                return Err(format!("{at}: `older_by` is for `out_of_order` steps"));
            }
            if let Some(id) = &step.id {
                crate::sign::check_id(id).map_err(|error| format!("{at}: {error}"))?;
            }
            previous |= matches!(
                step.step,
                StepKind::Send | StepKind::OutOfOrder | StepKind::RotatedSecret
            );
        }
        Ok(())
    }
}

/// What a scenario run printed and how it ended.
pub(crate) struct Report {
    pub(crate) lines: String,
    pub(crate) status: u8,
    pub(crate) failure: Option<String>,
}

/// Runs the scenario `args.scenario` names against `--url`.
pub(crate) fn run(args: &SendArgs, path: &Path, now: i64) -> Result<Report, UsageError> {
    let url = parse_url(&args.url)?;
    let scenario = Scenario::load(path)?;
    let mut keys = Keys::new(args, &url)?;
    if keys.len() < 2 {
        if let Some(secret) = &scenario.rotated_secret {
            keys.push(SigningKey::Secret(secret))
                .map_err(|error| UsageError::Scenario {
                    path: path.to_owned(),
                    reason: format!("`rotated_secret`: {error}"),
                })?;
        } else if scenario
            .steps
            .iter()
            .any(|step| step.step == StepKind::RotatedSecret)
        {
            return Err(UsageError::Scenario {
                path: path.to_owned(),
                reason: "a `rotated_secret` step needs a second key: repeat --secret \
                         (--secret CURRENT --secret OTHER) or --private-key, or set \
                         `rotated_secret` in the file"
                    .into(),
            });
        }
    }
    let extra = collect_headers(&args.headers, &[])?;
    let sender = Sender::new(url, Duration::from_secs(args.timeout), 1);
    let runtime = runtime().map_err(|source| UsageError::Read { path: None, source })?;

    let mut lines = String::new();
    let _ = writeln!(
        lines,
        "scenario {}: {} steps, POST {} (scheme {})",
        path.display(),
        scenario.steps.len(),
        sender.url(),
        args.scheme.name()
    );
    let mut previous: Option<MockEvent> = None;
    let mut differ = 0;
    for (index, step) in scenario.steps.iter().enumerate() {
        let event = step_event(&scenario, step, previous.as_ref(), now);
        let key = usize::from(step.step == StepKind::RotatedSecret);
        let forged = step.step == StepKind::Forged;
        let rendered = keys.render(key, &event, now, &extra, forged)?;
        if step.step != StepKind::Forged {
            previous = Some(event.clone());
        }
        let outcome = runtime.block_on(sender.post(rendered));

        let mut expected = step.expect.to_string();
        match step.replayed {
            Some(true) => expected.push_str(" replayed"),
            Some(false) => expected.push_str(" not replayed"),
            None => {}
        }
        let prefix = format!("step {} {:<14} {}", index + 1, step.step.name(), event.id);
        match &outcome {
            Attempt::Answered {
                status, replayed, ..
            } => {
                let matches = status.as_u16() == step.expect
                    && step.replayed.is_none_or(|want| want == *replayed);
                let mut got = status.as_u16().to_string();
                if *replayed {
                    got.push_str(" replayed");
                }
                let verdict = if matches {
                    "ok".to_owned()
                } else {
                    differ += 1;
                    format!("DIFFERS  {}", outcome.describe())
                };
                let _ = writeln!(lines, "{prefix}  expected {expected}, got {got}  {verdict}");
            }
            Attempt::Failed { connect, reason } => {
                let _ = writeln!(
                    lines,
                    "{prefix}  expected {expected}, {}",
                    outcome.describe()
                );
                let failure = if *connect {
                    format!(
                        "cannot connect to {}: {reason}; is the receiver running?",
                        sender.url()
                    )
                } else {
                    format!("{}: {reason}", sender.url())
                };
                return Ok(Report {
                    lines,
                    status: crate::EXIT_USAGE,
                    failure: Some(failure),
                });
            }
        }
    }
    let total = scenario.steps.len();
    let _ = writeln!(
        lines,
        "scenario: {total} steps, {} as expected, {differ} differ",
        total - differ
    );
    Ok(Report {
        lines,
        status: if differ == 0 {
            crate::EXIT_OK
        } else {
            crate::EXIT_REJECTED
        },
        failure: None,
    })
}

/// The event `step` sends, given the previous one and the time.
fn step_event(
    scenario: &Scenario,
    step: &Step,
    previous: Option<&MockEvent>,
    now: i64,
) -> MockEvent {
    match step.step {
        StepKind::Duplicate => previous.cloned().expect("checked: a previous event"),
        StepKind::OutOfOrder => {
            let newer = previous.expect("checked: a previous event");
            fresh(scenario, step, Some(newer))
                .created(newer.created.earlier_by(step.older_by.unwrap_or(60)))
        }
        _ => fresh(scenario, step, previous).created(now),
    }
}

/// A new event for `step`: its type and data, else the scenario's, else the previous
/// event's; its id, else a fresh one.
fn fresh(scenario: &Scenario, step: &Step, previous: Option<&MockEvent>) -> MockEvent {
    let template = scenario.event.as_ref();
    let event_type = step
        .event_type
        .clone()
        .or_else(|| {
            (step.step == StepKind::OutOfOrder)
                .then(|| previous.map(|event| event.event_type.clone()))
                .flatten()
        })
        .or_else(|| template.map(|event| event.event_type.clone()))
        .or_else(|| previous.map(|event| event.event_type.clone()))
        .expect("checked: a type");
    let data = step
        .data
        .clone()
        .or_else(|| {
            (step.step == StepKind::OutOfOrder)
                .then(|| previous.map(|event| event.data.clone()))
                .flatten()
        })
        .or_else(|| template.and_then(|event| event.data.clone()))
        .unwrap_or_else(|| Value::Object(Default::default()));
    let mut event = MockEvent::new(event_type).data(data);
    if let Some(id) = &step.id {
        event = event.id(id.clone());
    }
    event
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<Scenario, String> {
        let scenario: Scenario = serde_json::from_str(json).map_err(|e| e.to_string())?;
        scenario.check()?;
        Ok(scenario)
    }

    #[test]
    fn scenarios_that_cannot_run_are_refused_before_sending() {
        for (json, reason) in [
            (r#"{"steps": []}"#, "no steps"),
            (
                r#"{"steps": [{"step": "duplicate", "expect": 200}]}"#,
                "step 1 (duplicate): no previous event to resend; put a `send` step before it",
            ),
            (
                r#"{"steps": [{"step": "send", "expect": 200}]}"#,
                "step 1 (send): no event type: give the step a `type` or the scenario an `event`",
            ),
            (
                r#"{"event": {"type": "t"}, "steps": [{"step": "send", "expect": 99}]}"#,
                "step 1 (send): `expect` 99 is not an HTTP status",
            ),
            (
                r#"{"event": {"type": "t"}, "steps": [{"step": "send", "expect": 200, "older_by": 5}]}"#,
                "step 1 (send): `older_by` is for `out_of_order` steps",
            ),
        ] {
            assert_eq!(parse(json).unwrap_err(), reason, "{json}");
        }
        let error = parse(r#"{"steps": [{"step": "replay", "expect": 200}]}"#).unwrap_err();
        assert!(error.contains("unknown variant `replay`"), "{error}");
        let error =
            parse(r#"{"steps": [{"step": "send", "expect": 200, "expected": 1}]}"#).unwrap_err();
        assert!(error.contains("unknown field `expected`"), "{error}");
    }

    #[test]
    fn out_of_order_keeps_the_entity_and_goes_back_in_time() {
        let scenario = parse(
            r#"{"steps": [{"step": "send", "type": "payout.completed", "data": {"payout_id": "po_1"}, "expect": 200},
                          {"step": "out_of_order", "expect": 200, "older_by": 300}]}"#,
        )
        .unwrap();
        let previous = step_event(&scenario, &scenario.steps[0], None, 1_000);
        assert_eq!(previous.created.unix_seconds(), 1_000);
        let older = step_event(&scenario, &scenario.steps[1], Some(&previous), 2_000);
        assert_eq!(older.event_type, "payout.completed");
        assert_eq!(older.data, serde_json::json!({"payout_id": "po_1"}));
        assert_ne!(older.id, previous.id);
        assert_eq!(older.created.unix_seconds(), 700);

        let text = previous.created(
            "2025-11-02T10:00:00Z"
                .parse::<webhook_testing::Created>()
                .unwrap(),
        );
        let older = step_event(&scenario, &scenario.steps[1], Some(&text), 2_000);
        assert_eq!(older.created.to_string(), "2025-11-02T09:55:00Z");
    }
}
