//! `MemoryStore` against a model: random claims, completions, releases and pauses on
//! a few keys must answer as a plain map of key to (deadline, claim or record) does,
//! and the store never holds two entries for one key.

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use http::StatusCode;
use proptest::prelude::*;
use webhook_idempotency::store::{Claim, Completion, MemoryStore, Store, StoredResponse, Token};

const KEYS: [&str; 4] = ["k0", "k1", "k2", "k3"];

#[derive(Debug, Clone)]
enum Op {
    Claim {
        key: usize,
        lease: u64,
    },
    /// `worker` picks one of the tokens handed out so far (or a new one).
    Complete {
        key: usize,
        worker: usize,
        retention: u64,
        body: u8,
    },
    Release {
        key: usize,
        worker: usize,
    },
    Advance {
        seconds: u64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..KEYS.len(), 1..5u64).prop_map(|(key, lease)| Op::Claim { key, lease }),
        (0..KEYS.len(), 0..8usize, 1..10u64, any::<u8>()).prop_map(
            |(key, worker, retention, body)| Op::Complete {
                key,
                worker,
                retention,
                body
            }
        ),
        (0..KEYS.len(), 0..8usize).prop_map(|(key, worker)| Op::Release { key, worker }),
        (0..6u64).prop_map(|seconds| Op::Advance { seconds }),
    ]
}

#[derive(Debug, Clone, PartialEq)]
enum Value {
    Claimed(Token),
    Done(u8),
}

/// What the store should answer: a map, with time in whole seconds.
#[derive(Default)]
struct Model {
    now: u64,
    entries: HashMap<usize, (u64, Value)>,
}

impl Model {
    fn live(&self, key: usize) -> Option<&(u64, Value)> {
        self.entries
            .get(&key)
            .filter(|(deadline, _)| *deadline > self.now)
    }

    fn claim(&mut self, key: usize, token: Token, lease: u64) -> String {
        match self.live(key) {
            Some((deadline, Value::Claimed(_))) => format!("in flight {}s", deadline - self.now),
            Some((_, Value::Done(body))) => format!("done {body}"),
            None => {
                self.entries
                    .insert(key, (self.now + lease, Value::Claimed(token)));
                "acquired".to_owned()
            }
        }
    }

    fn complete(&mut self, key: usize, token: Token, retention: u64, body: u8) -> String {
        if let Some((_, value)) = self.live(key) {
            if *value != Value::Claimed(token) {
                return "fenced".to_owned();
            }
        }
        self.entries
            .insert(key, (self.now + retention, Value::Done(body)));
        "recorded".to_owned()
    }

    fn release(&mut self, key: usize, token: Token) -> bool {
        let held = matches!(self.live(key), Some((_, Value::Claimed(held))) if *held == token);
        if held {
            self.entries.remove(&key);
        }
        held
    }
}

fn describe(claim: Claim) -> String {
    match claim {
        Claim::Acquired => "acquired".to_owned(),
        Claim::InFlight { remaining } => format!("in flight {}s", remaining.as_secs()),
        Claim::Done(stored) => format!("done {}", stored.body()[0]),
        other => format!("{other:?}"),
    }
}

async fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let store = MemoryStore::with_capacity(1000);
    let mut model = Model::default();
    let mut tokens: Vec<Token> = Vec::new();
    let token = |tokens: &mut Vec<Token>, worker: usize| {
        tokens.get(worker).copied().unwrap_or_else(Token::generate)
    };
    for (step, op) in ops.into_iter().enumerate() {
        match op {
            Op::Claim { key, lease } => {
                let held = Token::generate();
                let got = describe(
                    store
                        .claim(KEYS[key], held, Duration::from_secs(lease))
                        .await
                        .unwrap(),
                );
                let want = model.claim(key, held, lease);
                if got == "acquired" {
                    tokens.push(held);
                }
                prop_assert_eq!(got, want, "step {}: {:?}", step, op);
            }
            Op::Complete {
                key,
                worker,
                retention,
                body,
            } => {
                let held = token(&mut tokens, worker);
                let response =
                    StoredResponse::new(StatusCode::OK).with_body(Bytes::from(vec![body]));
                let got = match store
                    .complete(KEYS[key], held, &response, Duration::from_secs(retention))
                    .await
                    .unwrap()
                {
                    Completion::Recorded => "recorded".to_owned(),
                    Completion::Fenced => "fenced".to_owned(),
                    other => format!("{other:?}"),
                };
                let want = model.complete(key, held, retention, body);
                prop_assert_eq!(got, want, "step {}: {:?}", step, op);
            }
            Op::Release { key, worker } => {
                let held = token(&mut tokens, worker);
                let got = store.release(KEYS[key], held).await.unwrap();
                prop_assert_eq!(got, model.release(key, held), "step {}: {:?}", step, op);
            }
            Op::Advance { seconds } => {
                tokio::time::advance(Duration::from_secs(seconds)).await;
                model.now += seconds;
            }
        }
        // One entry per key at most, expired ones included.
        prop_assert!(
            store.len() <= KEYS.len(),
            "step {}: {} entries",
            step,
            store.len()
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn the_store_answers_as_the_model_does(ops in prop::collection::vec(op(), 1..80)) {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap()
            .block_on(run(ops))?;
    }
}
