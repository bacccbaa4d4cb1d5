//! What outer layers (metrics, tracing) learn from the response extensions.

use std::convert::Infallible;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use tower::{ServiceBuilder, ServiceExt};
use webhook_core::{RejectionCode, VerifiedBody, VerifiedDelivery};
use webhook_signature::scheme::GitHub;
use webhook_signature::{Signer, Verifier, VerifySignatureLayer};

fn service() -> impl tower::Service<
    Request<String>,
    Response = Response<webhook_core::ResponseBody<String>>,
    Error = Infallible,
> + Clone {
    let verifier = Verifier::builder(GitHub)
        .secret("primary", "s3cret")
        .build()
        .unwrap();
    ServiceBuilder::new()
        .layer(VerifySignatureLayer::new(verifier))
        .service_fn(|_: Request<VerifiedBody>| async {
            Ok::<_, Infallible>(Response::new(String::from("done")))
        })
}

#[tokio::test]
async fn a_verified_response_carries_the_marker() {
    let body = br#"{"id":"evt_1"}"#;
    let mut request = Request::post("/")
        .body(String::from_utf8_lossy(body).into_owned())
        .unwrap();
    let headers = Signer::new(GitHub, "s3cret")
        .unwrap()
        .sign(body, 0, "delivery-7")
        .unwrap();
    request.headers_mut().extend(headers);

    let response = service().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let delivery = response
        .extensions()
        .get::<VerifiedDelivery>()
        .expect("marker on the response");
    assert_eq!(delivery.scheme(), "github");
    assert_eq!(delivery.key_id().as_str(), "primary");
    assert_eq!(delivery.event_id(), Some("delivery-7"));
    assert_eq!(delivery.body(), &Bytes::from_static(body));
    assert!(response.extensions().get::<RejectionCode>().is_none());
}

#[tokio::test]
async fn a_rejection_carries_its_code_even_with_a_custom_response() {
    let request = || Request::post("/").body(String::from("{}")).unwrap();
    let response = service().oneshot(request()).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.extensions().get::<RejectionCode>(),
        Some(&RejectionCode("missing_signature"))
    );
    assert!(response.extensions().get::<VerifiedDelivery>().is_none());

    let verifier = Verifier::builder(GitHub)
        .secret("primary", "s3cret")
        .build()
        .unwrap();
    let custom = ServiceBuilder::new()
        .layer(VerifySignatureLayer::new(verifier).on_rejection(|_| {
            let mut response = Response::new(Bytes::from_static(b"nope"));
            *response.status_mut() = StatusCode::FORBIDDEN;
            response
        }))
        .service_fn(|_: Request<VerifiedBody>| async {
            Ok::<_, Infallible>(Response::new(String::new()))
        });
    let response = custom.oneshot(request()).await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        response.extensions().get::<RejectionCode>(),
        Some(&RejectionCode("missing_signature"))
    );
}
