//! Extractor cost against a bare `serde_json::from_slice` of the same payload.
//!
//! Run with `cargo bench -p webhook-event --bench extract`.
//!
//! Per payload size (about 1 KiB and 16 KiB: a payout event with line items), one
//! criterion group holds:
//! - `bare`: `serde_json::from_slice::<Bare>` where `Bare` is a derived
//!   `{ id: String, type: String, created: i64, data: Order }`, the floor;
//! - `event/struct`: `WebhookEvent::<Order>::from_delivery` on a marker holding the
//!   same bytes (envelope visitor, `created` into a date, `data` through the
//!   tagged-enum detection);
//! - `event/enum`: `WebhookEvent::<OrderEvent>` with an enum tagged by `type`;
//! - `event/type-last`: `WebhookEvent::<Order>` on the same event with `type` after
//!   `data` (Stripe's order), where `data` is scanned once more;
//! - `bare/type-last`: the derived floor on that body.
//!
//! The target is `event/struct` within 5% of `bare`.

use std::hint::black_box;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde::Deserialize;
use webhook_core::{KeyId, VerifiedDelivery};
use webhook_event::WebhookEvent;

#[derive(Deserialize)]
#[allow(dead_code)]
struct Bare {
    id: String,
    #[serde(rename = "type")]
    event_type: String,
    created: i64,
    data: Order,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct Order {
    id: String,
    amount: u64,
    currency: String,
    customer: Customer,
    items: Vec<Item>,
    metadata: std::collections::HashMap<String, String>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct Customer {
    id: String,
    email: String,
    name: String,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct Item {
    sku: String,
    name: String,
    qty: u32,
    unit_price: u64,
}

#[derive(Deserialize)]
#[serde(tag = "type", content = "data")]
#[allow(dead_code)]
enum OrderEvent {
    #[serde(rename = "order.created")]
    Created(Order),
    #[serde(rename = "order.paid")]
    Paid(Order),
}

fn data(items: usize) -> String {
    let items: Vec<String> = (0..items)
        .map(|n| {
            format!(
                r#"{{"sku":"SKU-{n:05}","name":"Widget {n}","qty":{},"unit_price":1299}}"#,
                n % 7 + 1
            )
        })
        .collect();
    format!(
        r#"{{"id":"ord_9Hq2LxT7","amount":129900,"currency":"usd","customer":{{"id":"cus_1","email":"ada@example.com","name":"Ada Lovelace"}},"items":[{}],"metadata":{{"channel":"web","campaign":"autumn"}}}}"#,
        items.join(",")
    )
}

fn bench(c: &mut Criterion) {
    for (label, items) in [("1KiB", 12), ("16KiB", 260)] {
        let data = data(items);
        let body = Bytes::from(format!(
            r#"{{"id":"evt_1NG8Du2eZvKYlo2CUI2bh4Mf","type":"order.paid","created":1762077900,"data":{data}}}"#
        ));
        let type_last = Bytes::from(format!(
            r#"{{"id":"evt_1NG8Du2eZvKYlo2CUI2bh4Mf","created":1762077900,"data":{data},"type":"order.paid"}}"#
        ));
        let delivery = VerifiedDelivery::new("hopnow", KeyId::from("k1"), body.clone());
        let delivery_type_last =
            VerifiedDelivery::new("hopnow", KeyId::from("k1"), type_last.clone());

        let mut group = c.benchmark_group(format!("extract/{label}"));
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_function("bare", |b| {
            b.iter(|| serde_json::from_slice::<Bare>(black_box(&body)).unwrap())
        });
        group.bench_function("event/struct", |b| {
            b.iter(|| WebhookEvent::<Order>::from_delivery(black_box(delivery.clone())).unwrap())
        });
        group.bench_function("event/enum", |b| {
            b.iter(|| {
                WebhookEvent::<OrderEvent>::from_delivery(black_box(delivery.clone())).unwrap()
            })
        });
        group.bench_function("bare/type-last", |b| {
            b.iter(|| serde_json::from_slice::<Bare>(black_box(&type_last)).unwrap())
        });
        group.bench_function("event/type-last", |b| {
            b.iter(|| {
                WebhookEvent::<Order>::from_delivery(black_box(delivery_type_last.clone())).unwrap()
            })
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
