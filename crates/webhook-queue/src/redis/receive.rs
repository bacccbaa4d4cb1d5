//! The reading side: new entries, due retries, entries another consumer left pending.

use std::sync::atomic::Ordering;
use std::time::SystemTime;

use redis::aio::MultiplexedConnection;
use redis::streams::{StreamAutoClaimReply, StreamId, StreamPendingCountReply, StreamReadReply};

use super::{PROMOTE_BATCH, RedisQueue, SCRIPTS, lock, millis, queue_error};
use crate::job::unix_millis;
use crate::{Job, QueueError, QueueErrorKind, Received};

impl RedisQueue {
    pub(super) async fn ensure_group(&self) -> Result<(), QueueError> {
        let mut cmd = redis::cmd("XGROUP");
        cmd.arg("CREATE")
            .arg(&self.inner.stream)
            .arg(&self.inner.group)
            .arg("0")
            .arg("MKSTREAM");
        match self.query::<()>("XGROUP CREATE", &cmd).await {
            Ok(()) => Ok(()),
            Err(error) if error.to_string().contains("BUSYGROUP") => Ok(()),
            Err(error) => Err(error),
        }
    }

    /// Moves due retries back to the stream, at most once per poll interval.
    pub(super) async fn promote_if_due(&self) -> Result<(), QueueError> {
        let now = self.elapsed_ms();
        let due = self.inner.next_promote.load(Ordering::Relaxed);
        if now < due {
            return Ok(());
        }
        let next = now + millis(self.inner.poll_interval);
        if self
            .inner
            .next_promote
            .compare_exchange(due, next, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
        {
            return Ok(()); // another consumer of this handle does it
        }
        let mut invocation = SCRIPTS.promote.key(&self.inner.stream);
        invocation.key(&self.inner.delayed).arg(PROMOTE_BATCH);
        let moved: usize = self.invoke("the promotion script", &invocation).await?;
        if moved == PROMOTE_BATCH {
            // More may be due: promote again on the next receive.
            self.inner.next_promote.store(now, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Takes over one entry another consumer has held past the claim idle time.
    pub(super) async fn reclaim_if_due(
        &self,
        consumer: &str,
    ) -> Result<Option<Received>, QueueError> {
        let now = self.elapsed_ms();
        if now < self.inner.next_reclaim.load(Ordering::Relaxed) {
            return Ok(None);
        }
        let cursor = lock(&self.inner.reclaim_cursor).clone();
        let mut cmd = redis::cmd("XAUTOCLAIM");
        cmd.arg(&self.inner.stream)
            .arg(&self.inner.group)
            .arg(consumer)
            .arg(millis(self.inner.claim_idle))
            .arg(&cursor)
            .arg("COUNT")
            .arg(1);
        let reply: StreamAutoClaimReply = match self.query("XAUTOCLAIM", &cmd).await {
            Ok(reply) => reply,
            Err(error) => return self.missing_group(error).await.map(|()| None),
        };
        let finished = reply.next_stream_id == "0-0";
        *lock(&self.inner.reclaim_cursor) = reply.next_stream_id;
        if finished && reply.claimed.is_empty() {
            self.inner
                .next_reclaim
                .store(now + millis(self.inner.reclaim_interval), Ordering::Relaxed);
        }
        let Some(entry) = reply.claimed.into_iter().next() else {
            return Ok(None);
        };
        let mut pending = redis::cmd("XPENDING");
        pending
            .arg(&self.inner.stream)
            .arg(&self.inner.group)
            .arg(&entry.id)
            .arg(&entry.id)
            .arg(1);
        let pending: StreamPendingCountReply = self.query("XPENDING", &pending).await?;
        let deliveries = pending
            .ids
            .first()
            .map_or(1, |p| u32::try_from(p.times_delivered).unwrap_or(u32::MAX));
        tracing::info!(
            entry = entry.id,
            consumer,
            deliveries,
            "reclaimed an entry another consumer left pending"
        );
        Ok(self
            .received(entry, consumer)
            .await?
            .map(|received| received.with_deliveries(deliveries)))
    }

    /// Reads the next new entry, waiting up to the poll interval.
    pub(super) async fn read(&self, consumer: &str) -> Result<Option<Received>, QueueError> {
        let mut connection = self.blocking_connection().await?;
        let mut cmd = redis::cmd("XREADGROUP");
        cmd.arg("GROUP")
            .arg(&self.inner.group)
            .arg(consumer)
            .arg("COUNT")
            .arg(1)
            .arg("BLOCK")
            .arg(millis(self.inner.poll_interval))
            .arg("STREAMS")
            .arg(&self.inner.stream)
            .arg(">");
        let limit = self.inner.poll_interval + self.inner.timeout;
        let reply = match tokio::time::timeout(
            limit,
            cmd.query_async::<Option<StreamReadReply>>(&mut connection),
        )
        .await
        {
            Ok(Ok(reply)) => reply,
            Ok(Err(error)) => {
                let error = queue_error(error.into());
                if !error.is_transient() {
                    // The connection is fine: keep it.
                    lock(&self.inner.blocking).push(connection);
                }
                return self.missing_group(error).await.map(|()| None);
            }
            Err(_elapsed) => {
                return Err(QueueError::new(
                    QueueErrorKind::Timeout,
                    format!("no answer from Redis to XREADGROUP within {limit:?}"),
                ));
            }
        };
        lock(&self.inner.blocking).push(connection);
        let Some(entry) = reply.and_then(|r| r.keys.into_iter().next()?.ids.into_iter().next())
        else {
            return Ok(None);
        };
        self.received(entry, consumer).await
    }

    /// Recreates the group if `error` says it is gone (Redis restarted without
    /// persistence, or the key was deleted); else returns the error.
    async fn missing_group(&self, error: QueueError) -> Result<(), QueueError> {
        if error.to_string().contains("NOGROUP") {
            tracing::warn!("the consumer group is gone: creating it again");
            self.ensure_group().await
        } else {
            Err(error)
        }
    }

    async fn blocking_connection(&self) -> Result<MultiplexedConnection, QueueError> {
        if let Some(connection) = lock(&self.inner.blocking).pop() {
            return Ok(connection);
        }
        self.inner
            .connection
            .open_dedicated(self.inner.poll_interval + self.inner.timeout)
            .await
            .map_err(queue_error)
    }

    /// Turns a stream entry into a job; an entry this crate cannot read is moved to the
    /// dead stream as it is (logged), and `None` is returned.
    async fn received(
        &self,
        entry: StreamId,
        consumer: &str,
    ) -> Result<Option<Received>, QueueError> {
        let raw = entry.get::<Vec<u8>>("job").unwrap_or_default();
        match Job::from_bytes(&raw) {
            Ok(job) => Ok(Some(Received::new(job, entry.id, consumer))),
            Err(error) => {
                tracing::error!(entry = entry.id, %error, "an unreadable stream entry: moving it to the dead letters");
                let mut invocation = SCRIPTS.dead_letter.key(&self.inner.stream);
                invocation
                    .key(&self.inner.dead)
                    .arg(&self.inner.group)
                    .arg(&entry.id)
                    .arg(consumer)
                    .arg(raw)
                    .arg("unreadable")
                    .arg(error.to_string())
                    .arg(unix_millis(SystemTime::now()))
                    .arg(self.inner.dead_max_len.unwrap_or(0));
                let _: i64 = self.invoke("the dead-letter script", &invocation).await?;
                Ok(None)
            }
        }
    }
}
