//! A background worker for the Redis queue: receivers answer 202 once a verified
//! delivery is queued, and any number of these processes work through the queue
//! with an `EventRouter`, the same service a receiver runs inline, retrying
//! transient failures with backoff and keeping dead letters.
//!
//! ```text
//! # the receiver only queues (no workers of its own)
//! REDIS_URL=redis://127.0.0.1:6379 WEBHOOK_QUEUE=redis WEBHOOK_WORKERS=0 WEBHOOK_SECRET=my-secret cargo run --example receiver
//! # one or more workers
//! REDIS_URL=redis://127.0.0.1:6379 cargo run --example worker
//! # list the dead letters, or replay one
//! REDIS_URL=redis://127.0.0.1:6379 cargo run --example worker -- dead-letters
//! REDIS_URL=redis://127.0.0.1:6379 cargo run --example worker -- replay <dead-letter id>
//! ```
//!
//! Settings: `REDIS_URL` (required), `WORKER_CONCURRENCY` (default 4). Run Redis with
//! `appendonly yes` and `appendfsync always` so nothing answered 202 is lost.

use tower_webhook::core::redis::RedisConnection;
use tower_webhook::event::{EventRouter, Handled, WebhookEvent};
use tower_webhook::queue::{Queue, RedisQueue, Workers};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("REDIS_URL").map_err(|_| "set REDIS_URL")?;
    let queue = RedisQueue::new(RedisConnection::connect(url).await?).await?;
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["dead-letters"] => {
            for letter in queue.dead_letters(100).await? {
                println!(
                    "{} event {} ({:?}): {}",
                    letter.id(),
                    letter.job().event_id().unwrap_or("-"),
                    letter.kind(),
                    letter.error()
                );
            }
            return Ok(());
        }
        ["replay", id] => {
            let replayed = queue.replay(id).await?;
            println!(
                "{}",
                if replayed {
                    "replayed"
                } else {
                    "no such dead letter"
                }
            );
            return Ok(());
        }
        [] => {}
        _ => return Err("usage: worker [dead-letters | replay <id>]".into()),
    }

    let concurrency: usize = std::env::var("WORKER_CONCURRENCY")
        .unwrap_or_else(|_| "4".to_owned())
        .parse()?;
    let workers = Workers::serve(queue, events())
        // Jobs read back from Redis are read with their provider's envelope.
        .envelopes(|name| Some(tower_webhook::signature::scheme::by_name(name)?.envelope()))
        .concurrency(concurrency)
        .spawn()?;
    println!("worker started: {concurrency} at once; Ctrl-C drains and stops");
    tokio::signal::ctrl_c().await?;
    workers.shutdown().await?;
    Ok(())
}

/// The event handlers: here one for every event type, which prints the event; add
/// `.on(event_type, handler)` routes as the receiver does. A job is delivered at
/// least once, so a handler must be idempotent (key side effects on the event id). A 5xx answer is retried with backoff; an event that does not parse is
/// answered 4xx, which no retry fixes: it goes straight to the dead letters.
fn events() -> EventRouter {
    EventRouter::new().fallback(|event: WebhookEvent| async move {
        println!("processed {} ({})", event.id, event.event_type);
        Handled::Processed
    })
}
