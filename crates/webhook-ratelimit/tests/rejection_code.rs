//! Every answer of the layer carries its `RejectionCode` for outer layers (metrics,
//! tracing): the 429, the gRPC answer and a custom response.

use std::convert::Infallible;
use std::num::NonZeroU32;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use tower::{Service, ServiceBuilder, ServiceExt};
use webhook_core::RejectionCode;
use webhook_ratelimit::{Global, Quota, RateLimitLayer};

fn layer() -> webhook_ratelimit::RateLimitLayerBuilder<Global> {
    RateLimitLayer::builder(Quota::per_hour(NonZeroU32::new(1).unwrap())).key(Global)
}

async fn second_answer(
    layer: RateLimitLayer<Global>,
    grpc: bool,
) -> Response<webhook_core::ResponseBody<String>> {
    let mut service = ServiceBuilder::new()
        .layer(layer)
        .service_fn(|_: Request<()>| async { Ok::<_, Infallible>(Response::new(String::new())) });
    let request = || {
        let mut builder = Request::post("/");
        if grpc {
            builder = builder.header("content-type", "application/grpc");
        }
        builder.body(()).unwrap()
    };
    let first = service
        .ready()
        .await
        .unwrap()
        .call(request())
        .await
        .unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    assert!(first.extensions().get::<RejectionCode>().is_none());
    service.oneshot(request()).await.unwrap()
}

#[tokio::test]
async fn the_429_the_grpc_answer_and_a_custom_answer_carry_the_code() {
    let limited = second_answer(layer().build().unwrap(), false).await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        limited.extensions().get(),
        Some(&RejectionCode("rate_limited"))
    );

    let grpc = second_answer(layer().build().unwrap(), true).await;
    assert_eq!(grpc.headers()["grpc-status"], "8");
    assert_eq!(
        grpc.extensions().get(),
        Some(&RejectionCode("rate_limited"))
    );

    let custom = layer()
        .on_rejection(|_| {
            let mut response = Response::new(Bytes::from_static(b"slow down"));
            *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
            response
        })
        .build()
        .unwrap();
    let custom = second_answer(custom, false).await;
    assert_eq!(custom.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        custom.extensions().get(),
        Some(&RejectionCode("rate_limited"))
    );
}
