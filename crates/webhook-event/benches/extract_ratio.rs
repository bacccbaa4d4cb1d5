//! The same comparison as the `extract` bench, made robust to a busy machine, and a
//! mode for counting instructions.
//!
//! `cargo bench -p webhook-event --bench extract_ratio` runs each case and the bare
//! `serde_json::from_slice` floor in alternating batches (400 rounds) and prints the
//! median ratio `case / floor`, so drift from other load hits both alike.
//!
//! With `MODE` set (`bare`, `struct`, `enum`, `bare-type-last`, `struct-type-last`,
//! `enum-type-last`, or `none` for the setup alone), it runs only that case `ITERS`
//! times on the payload with `ITEMS` line items, for an instruction count that does not
//! depend on load:
//!
//! ```text
//! cargo bench -p webhook-event --bench extract_ratio --no-run
//! MODE=struct ITEMS=12 ITERS=2000 valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!     target/release/deps/extract_ratio-<hash>
//! ```

use std::collections::HashMap;
use std::hint::black_box;
use std::time::Instant;

use bytes::Bytes;
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
    metadata: HashMap<String, String>,
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

struct Payloads {
    body: Bytes,
    type_last: Bytes,
    delivery: VerifiedDelivery,
    delivery_type_last: VerifiedDelivery,
}

fn payloads(items: usize) -> Payloads {
    let items: Vec<String> = (0..items)
        .map(|n| {
            format!(
                r#"{{"sku":"SKU-{n:05}","name":"Widget {n}","qty":{},"unit_price":1299}}"#,
                n % 7 + 1
            )
        })
        .collect();
    let data = format!(
        r#"{{"id":"ord_9Hq2LxT7","amount":129900,"currency":"usd","customer":{{"id":"cus_1","email":"ada@example.com","name":"Ada Lovelace"}},"items":[{}],"metadata":{{"channel":"web","campaign":"autumn"}}}}"#,
        items.join(",")
    );
    let body = Bytes::from(format!(
        r#"{{"id":"evt_1NG8Du2eZvKYlo2CUI2bh4Mf","type":"order.paid","created":1762077900,"data":{data}}}"#
    ));
    let type_last = Bytes::from(format!(
        r#"{{"id":"evt_1NG8Du2eZvKYlo2CUI2bh4Mf","created":1762077900,"data":{data},"type":"order.paid"}}"#
    ));
    Payloads {
        delivery: VerifiedDelivery::new("hopnow", KeyId::from("k1"), body.clone()),
        delivery_type_last: VerifiedDelivery::new("hopnow", KeyId::from("k1"), type_last.clone()),
        body,
        type_last,
    }
}

const MODES: [&str; 6] = [
    "bare",
    "struct",
    "enum",
    "bare-type-last",
    "struct-type-last",
    "enum-type-last",
];

fn run(mode: &str, p: &Payloads) {
    match mode {
        "none" => {
            black_box(&p.body);
        }
        "bare" => {
            black_box(serde_json::from_slice::<Bare>(black_box(&p.body)).unwrap());
        }
        "struct" => {
            black_box(WebhookEvent::<Order>::from_delivery(black_box(p.delivery.clone())).unwrap());
        }
        "enum" => {
            black_box(
                WebhookEvent::<OrderEvent>::from_delivery(black_box(p.delivery.clone())).unwrap(),
            );
        }
        "bare-type-last" => {
            black_box(serde_json::from_slice::<Bare>(black_box(&p.type_last)).unwrap());
        }
        "struct-type-last" => {
            let delivery = black_box(p.delivery_type_last.clone());
            black_box(WebhookEvent::<Order>::from_delivery(delivery).unwrap());
        }
        "enum-type-last" => {
            let delivery = black_box(p.delivery_type_last.clone());
            black_box(WebhookEvent::<OrderEvent>::from_delivery(delivery).unwrap());
        }
        other => panic!("unknown MODE `{other}`"),
    }
}

fn batch(mode: &str, p: &Payloads, n: usize) -> f64 {
    let start = Instant::now();
    for _ in 0..n {
        run(mode, p);
    }
    start.elapsed().as_secs_f64()
}

fn main() {
    if let Ok(mode) = std::env::var("MODE") {
        let items = std::env::var("ITEMS").map_or(12, |v| v.parse().expect("ITEMS"));
        let iters = std::env::var("ITERS").map_or(2000, |v| v.parse().expect("ITERS"));
        let p = payloads(items);
        for _ in 0..iters {
            run(&mode, &p);
        }
        return;
    }
    if std::env::args().any(|arg| arg == "--test" || arg == "--list") {
        return; // `cargo test --benches` runs nothing here.
    }
    for (items, n) in [(12, 400), (260, 20)] {
        let p = payloads(items);
        for mode in &MODES[1..] {
            let floor = if mode.ends_with("type-last") {
                "bare-type-last"
            } else {
                "bare"
            };
            if *mode == floor {
                continue;
            }
            let mut ratios: Vec<f64> = (0..400)
                .map(|round| {
                    if round % 2 == 0 {
                        let base = batch(floor, &p, n);
                        batch(mode, &p, n) / base
                    } else {
                        let case = batch(mode, &p, n);
                        case / batch(floor, &p, n)
                    }
                })
                .collect();
            ratios.sort_by(f64::total_cmp);
            println!(
                "{} bytes, {mode} / {floor}: median {:.3} (quartiles {:.3} .. {:.3})",
                p.body.len(),
                ratios[200],
                ratios[100],
                ratios[300]
            );
        }
    }
}
