//! A handler slower than the lease, which reads its `Lease`, and the duplicates the
//! heartbeat tests send while it runs.

use std::collections::HashMap;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use tokio::sync::Notify;
use tokio::time::Instant;
use tower::util::BoxCloneSyncService;
use tower::{ServiceBuilder, ServiceExt, service_fn};
use webhook_core::{ResponseBody, VerifiedBody};
use webhook_idempotency::{IdempotencyLayer, Lease, Store};
use webhook_signature::scheme::HopNow;
use webhook_signature::{Verifier, VerifySignatureLayer};

use super::{Answer, SECRET, Stack, send_ok};

/// The handler: counts runs per event id and behaves as the body asks.
///
/// Body fields: `id`; `work_ms: n` (works n ms, then commits if its lease still holds
/// or it has none, and answers 200; answers 503 without committing if the lease is
/// lost); `until_lost: true` (waits for the lease to be lost, at most `give_up_ms`,
/// default 10 s, and answers 503 with how long it waited in `waited_ms`).
///
/// The answer's body is `{"id", "run", "lease"}`, `lease` one of `"held"`, `"lost"`,
/// `"none"` (no `Lease` in the request).
#[derive(Clone, Default)]
pub struct LongHandler {
    runs: Arc<Mutex<HashMap<String, usize>>>,
    commits: Arc<Mutex<HashMap<String, usize>>>,
    started: Arc<Notify>,
}

impl LongHandler {
    /// How many times the handler ran for `id`.
    pub fn runs(&self, id: &str) -> usize {
        self.runs.lock().unwrap().get(id).copied().unwrap_or(0)
    }

    /// How many runs for `id` committed their effects.
    pub fn commits(&self, id: &str) -> usize {
        self.commits.lock().unwrap().get(id).copied().unwrap_or(0)
    }

    /// Waits until a run has started.
    pub async fn started(&self) {
        self.started.notified().await;
    }

    async fn handle(&self, request: Request<VerifiedBody>) -> Result<Response<String>, io::Error> {
        let lease = request.extensions().get::<Lease>().cloned();
        let body = request.into_body().collect().await.unwrap().to_bytes();
        let fields: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let id = fields["id"].as_str().unwrap().to_owned();
        let run = {
            let mut runs = self.runs.lock().unwrap();
            let run = runs.entry(id.clone()).or_default();
            *run += 1;
            *run
        };
        self.started.notify_one();
        let answer = |status: StatusCode, lease: &str, extra: String| {
            let mut response = Response::new(format!(
                r#"{{"id":"{id}","run":{run},"lease":"{lease}"{extra}}}"#
            ));
            *response.status_mut() = status;
            Ok(response)
        };
        if fields["until_lost"].as_bool() == Some(true) {
            let lease = lease.expect("a lease while the heartbeat is on");
            let start = Instant::now();
            let give_up = Duration::from_millis(fields["give_up_ms"].as_u64().unwrap_or(10_000));
            tokio::select! {
                () = lease.lost() => {}
                () = tokio::time::sleep(give_up) => panic!("the lease was never lost"),
            }
            assert!(!lease.is_held());
            let waited = start.elapsed().as_millis();
            return answer(
                StatusCode::SERVICE_UNAVAILABLE,
                "lost",
                format!(r#","waited_ms":{waited}"#),
            );
        }
        let work = Duration::from_millis(fields["work_ms"].as_u64().unwrap_or(0));
        tokio::time::sleep(work).await;
        match lease {
            Some(lease) if !lease.is_held() => {
                answer(StatusCode::SERVICE_UNAVAILABLE, "lost", String::new())
            }
            lease => {
                *self.commits.lock().unwrap().entry(id.clone()).or_default() += 1;
                let seen = if lease.is_some() { "held" } else { "none" };
                answer(StatusCode::OK, seen, String::new())
            }
        }
    }
}

/// Signature layer, then `layer`, then the handler; bodies collected to bytes.
pub fn long_stack<St: Store>(layer: IdempotencyLayer<St>, handler: &LongHandler) -> Stack {
    let verifier = Verifier::builder(HopNow)
        .secret("k1", SECRET)
        .build()
        .unwrap();
    let handler = handler.clone();
    let service = ServiceBuilder::new()
        .layer(VerifySignatureLayer::new(verifier))
        .layer(layer)
        .service(service_fn(move |request| {
            let handler = handler.clone();
            async move { handler.handle(request).await }
        }));
    let service = ServiceExt::<Request<String>>::and_then(
        service,
        |response: Response<ResponseBody<ResponseBody<String>>>| async move {
            let (parts, body) = response.into_parts();
            let bytes: Bytes = body.collect().await.unwrap().to_bytes();
            Ok(Response::from_parts(parts, bytes))
        },
    );
    BoxCloneSyncService::new(service)
}

/// What the senders saw: the first copy's answer, and those of the duplicates sent
/// while it ran.
pub struct Storm {
    pub first: Answer,
    pub duplicates: Vec<Answer>,
}

/// Sends `body`, then, while its handler runs, `per_tick` concurrent duplicates every
/// `tick`; waits for every answer.
pub async fn duplicates_while_running(
    service: &Stack,
    handler: &LongHandler,
    body: &str,
    tick: Duration,
    per_tick: usize,
) -> Storm {
    let first = tokio::spawn({
        let (service, body) = (service.clone(), body.to_owned());
        async move { send_ok(&service, &body).await }
    });
    handler.started().await;
    let mut duplicates = Vec::new();
    while !first.is_finished() {
        for _ in 0..per_tick {
            let (service, body) = (service.clone(), body.to_owned());
            duplicates.push(tokio::spawn(async move { send_ok(&service, &body).await }));
        }
        tokio::time::sleep(tick).await;
    }
    let first = first.await.unwrap();
    let mut answers = Vec::new();
    for duplicate in duplicates {
        answers.push(duplicate.await.unwrap());
    }
    Storm {
        first,
        duplicates: answers,
    }
}

/// A handler three times longer than the lease, with the heartbeat on: it runs once,
/// every duplicate sent meanwhile gets 409 `in_flight`, and one sent after it gets
/// its response replayed.
pub async fn long_handler_runs_once(
    service: &Stack,
    handler: &LongHandler,
    id: &str,
    work: Duration,
) {
    let body = format!(r#"{{"id":"{id}","work_ms":{}}}"#, work.as_millis());
    let storm = duplicates_while_running(service, handler, &body, work / 18, 3).await;
    assert_eq!(storm.first.status, StatusCode::OK, "{}", storm.first.text());
    assert_eq!(
        storm.first.text(),
        format!(r#"{{"id":"{id}","run":1,"lease":"held"}}"#)
    );
    let mut conflicts = 0;
    for duplicate in &storm.duplicates {
        if duplicate.status == StatusCode::CONFLICT {
            assert_eq!(duplicate.code().as_deref(), Some("in_flight"));
            conflicts += 1;
        } else {
            // Sent as the first answered: the record was written before its claim.
            assert!(duplicate.replayed, "{}", duplicate.text());
            assert_eq!(duplicate.body, storm.first.body);
        }
    }
    assert!(conflicts >= 3 * 15, "{conflicts} answered 409");
    let after = send_ok(service, &body).await;
    assert!(after.replayed);
    assert_eq!(after.body, storm.first.body);
    assert_eq!(handler.runs(id), 1);
    assert_eq!(handler.commits(id), 1);
    println!(
        "{id}: 1 run over {work:?}, {conflicts} of {} duplicates answered 409 meanwhile",
        storm.duplicates.len()
    );
}

/// The same without the heartbeat: the lease ends while the handler runs, and a
/// duplicate runs it a second time (the handler sees no `Lease`).
pub async fn long_handler_runs_again(
    service: &Stack,
    handler: &LongHandler,
    id: &str,
    work: Duration,
) {
    let body = format!(r#"{{"id":"{id}","work_ms":{}}}"#, work.as_millis());
    let storm = duplicates_while_running(service, handler, &body, work / 18, 3).await;
    assert_eq!(
        storm.first.text(),
        format!(r#"{{"id":"{id}","run":1,"lease":"none"}}"#)
    );
    let fresh = storm
        .duplicates
        .iter()
        .filter(|answer| answer.status == StatusCode::OK && !answer.replayed)
        .count();
    assert!(fresh >= 1, "no duplicate ran the handler again");
    assert!(handler.runs(id) >= 2, "{} runs", handler.runs(id));
    assert_eq!(handler.commits(id), handler.runs(id));
    println!(
        "{id} without heartbeat: {} runs over {work:?}, {fresh} duplicates processed again",
        handler.runs(id)
    );
}
