//! A tower service as the processing function: each job goes in as the request a live
//! delivery would have been, and the answer's status decides the job's fate.

use std::future::poll_fn;
use std::pin::pin;

use bytes::Buf;
use http::{Request, Response, StatusCode};
use http_body::Body;
use tower_service::Service;
use webhook_core::VerifiedBody;

use crate::{BoxError, Job, ProcessError};

/// How much of a failed answer's body goes into the error (and the dead letter).
const MAX_REPORTED_BODY: usize = 512;

/// Runs `service` on `job` (see [`Workers::serve`](crate::Workers::serve)).
pub(crate) async fn process<S, B>(mut service: S, job: Job) -> Result<(), ProcessError>
where
    S: Service<Request<VerifiedBody>, Response = Response<B>> + Send,
    S::Error: Into<BoxError>,
    S::Future: Send,
    B: Body + Send,
    B::Data: Send,
{
    poll_fn(|cx| service.poll_ready(cx))
        .await
        .map_err(|error| ProcessError::Transient(error.into()))?;
    let response = service
        .call(job.to_request())
        .await
        .map_err(|error| ProcessError::Transient(error.into()))?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let detail = read_start(response.into_body()).await;
    let message = if detail.is_empty() {
        format!("the service answered {status}")
    } else {
        format!("the service answered {status}: {detail}")
    };
    Err(if is_transient(status) {
        ProcessError::transient(message)
    } else {
        ProcessError::permanent(message)
    })
}

/// Whether a failed answer is worth retrying: a server error, a timeout, a rate limit.
fn is_transient(status: StatusCode) -> bool {
    status.is_server_error()
        || status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
}

/// The start of `body` as text, for the error message; empty if it cannot be read.
async fn read_start<B: Body>(body: B) -> String {
    let mut body = pin!(body);
    let mut bytes = Vec::new();
    while bytes.len() < MAX_REPORTED_BODY {
        match poll_fn(|cx| body.as_mut().poll_frame(cx)).await {
            Some(Ok(frame)) => {
                if let Ok(mut data) = frame.into_data() {
                    while data.has_remaining() && bytes.len() < MAX_REPORTED_BODY {
                        let chunk = data.chunk();
                        let take = chunk.len().min(MAX_REPORTED_BODY - bytes.len());
                        bytes.extend_from_slice(&chunk[..take]);
                        data.advance(take);
                    }
                }
            }
            Some(Err(_)) | None => break,
        }
    }
    String::from_utf8_lossy(&bytes).trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_errors_timeouts_and_rate_limits_are_transient_and_other_failures_permanent() {
        for code in [500, 502, 503, 504, 408, 429] {
            let status = StatusCode::from_u16(code).unwrap();
            assert!(is_transient(status), "{status}");
        }
        for code in [300, 304, 400, 401, 404, 409, 410, 422] {
            let status = StatusCode::from_u16(code).unwrap();
            assert!(!is_transient(status), "{status}");
        }
    }
}
