//! A dudect-style timing test of signature comparison (Reparaz, Balasch and
//! Verbauwhede, "Dude, is my code constant time?", 2017).
//!
//! Two classes of presented signatures go through [`Verifier::verify`], both the same
//! length and both wrong:
//!
//! - class A matches the expected tag in its first 31 of 32 bytes (only the last
//!   byte differs);
//! - class B differs from it in the first byte (the other 31 bytes match).
//!
//! A comparison that stops at the first differing byte takes longer on class A.
//! Each sample is a pair: a batch of calls of each class, timed with [`Instant`] back
//! to back in a random order. Two statistics compare the classes, each uncropped and
//! cropped at several percentiles as dudect does (slow outliers are interrupts,
//! frequency changes and the other processes on the machine, not the code):
//!
//! - dudect's own, Welch's t between the samples of class A and those of class B;
//! - a paired t on the difference within each pair, which cancels the machine's slow
//!   drifts (they hit both halves of a pair alike) and so sees smaller leaks on a
//!   busy machine.
//!
//! The test asserts `|t| < 4.5` for every one of them (dudect's threshold).
//!
//! Both classes are presented from the same memory: before each batch, untimed, the
//! class's signature is written into one header slot (see `measure_verify`), so the
//! place a value happens to sit at is not a difference between the classes.
//!
//! The changed byte keeps the shape of the encoding (a hex digit stays a digit, a
//! letter stays a letter of the same case), so that the two classes cost the same to
//! decode: the decoding of the presented signature depends only on what the sender
//! sent, which it knows anyway; the question here is whether the time depends on how
//! much of the secret tag it guessed.
//!
//! What this can show: the absence of a leak measurable at this resolution, with this
//! many samples, in this build, on this machine. Each statistic prints the smallest
//! difference it would flag (4.5 standard errors), beside the time of one
//! verification. It cannot prove constant time (a difference of a cycle or two hides
//! in the noise of a debug build on a shared machine); the design does that (`subtle`,
//! branch-free word comparison, see `verifier.rs`). To show that the method can see a
//! leak at all, the same statistic runs on a deliberately leaky verifier that does the
//! same work but compares byte by byte with an early exit: its |t| must be far above
//! the threshold.
//!
//! Run: `cargo test -p webhook-signature --test timing -- --nocapture` (prints the t
//! statistics).

use std::hint::black_box;
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue};
use webhook_signature::scheme::{HopNow, Shopify, Tag, encode_base64, hmac_tag};
use webhook_signature::{SignatureRejection, Verifier};

/// dudect's threshold. Under the null hypothesis (no timing difference) each t is
/// close to a standard normal variable, so `|t| >= 4.5` happens with a probability of
/// about 7e-6 per statistic; with 12 statistics per run (2 tests x 6 crops), a false
/// alarm is below 1e-4 per run, and a run that reaches the threshold is repeated
/// (see [`assert_no_leak`]). A real leak is not subtle: the early-exit comparison
/// below gives t from 14 to over 400 in a debug build.
const THRESHOLD: f64 = 4.5;

/// Pairs of batches per experiment, and calls per batch: 2 x 10,000 batches of 8 calls
/// is 160,000 verifications, about three seconds in a debug build.
const PAIRS: usize = 10_000;
const BATCH: usize = 8;
/// Batches run first and thrown away.
const WARM_UP: usize = 200;

/// Percentiles of the pooled measurements at which the samples are cropped (only the
/// samples below are kept), besides the uncropped test.
const CROPS: [f64; 5] = [0.50, 0.75, 0.90, 0.95, 0.99];

const SECRET: &str = "timing-test-secret-do-not-log";
const BODY: &[u8] = br#"{"id":"evt_timing","type":"payout.completed","created":1700000000,"data":{"payout_id":"po_1","amount":1200}}"#;

/// The tests of this file run one at a time: two measurements at once on a small
/// machine would each time the other's load.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn alone() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// SplitMix64: a small, fast PRNG for the class order (no dependency needed).
struct SplitMix64(u64);

impl SplitMix64 {
    fn seeded() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0x9E37_79B9, |since| since.as_nanos() as u64);
        Self(nanos)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// Welch's t statistic of two samples.
fn welch_t(a: &[f64], b: &[f64]) -> f64 {
    fn mean_var(xs: &[f64]) -> (f64, f64) {
        let n = xs.len() as f64;
        let mean = xs.iter().sum::<f64>() / n;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
        (mean, var)
    }
    let (mean_a, var_a) = mean_var(a);
    let (mean_b, var_b) = mean_var(b);
    let se = (var_a / a.len() as f64 + var_b / b.len() as f64).sqrt();
    if se == 0.0 {
        return 0.0;
    }
    (mean_a - mean_b) / se
}

/// The paired t statistic: the mean of the differences over its standard error.
fn paired_t(differences: &[f64]) -> f64 {
    let n = differences.len() as f64;
    let mean = differences.iter().sum::<f64>() / n;
    let var = differences.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / (n - 1.0);
    if var == 0.0 {
        return 0.0;
    }
    mean / (var / n).sqrt()
}

/// One sample: a batch of class A and a batch of class B, timed back to back in a
/// random order, in nanoseconds per call.
#[derive(Debug, Clone, Copy)]
struct Pair {
    a: f64,
    b: f64,
}

/// Which test a [`Statistic`] comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Test {
    /// dudect's: Welch's t between the two classes of samples.
    Welch,
    /// The same question, on the difference within each pair: the machine's slow
    /// drifts (frequency, other processes) hit both batches of a pair alike and
    /// cancel out, so it sees smaller leaks than Welch's on a busy machine.
    Paired,
}

/// One statistic: the test, the crop it was computed on, and its t.
#[derive(Debug, Clone, Copy)]
struct Statistic {
    test: Test,
    /// `None`: uncropped; else the percentile of the samples that were kept.
    percentile: Option<f64>,
    t: f64,
    /// Mean of class A minus mean of class B, in nanoseconds per call (cropped).
    difference_ns: f64,
}

impl Statistic {
    /// The smallest difference between the classes this statistic would flag:
    /// [`THRESHOLD`] standard errors.
    fn resolution_ns(&self) -> f64 {
        if self.t == 0.0 {
            return 0.0;
        }
        THRESHOLD * (self.difference_ns / self.t).abs()
    }
}

/// The measurements of one experiment.
struct Measurements {
    pairs: Vec<Pair>,
}

impl Measurements {
    /// Times `run(class_a)` in batches of [`BATCH`] calls, [`PAIRS`] pairs of batches,
    /// the order within each pair random; `setup(class_a)` runs before each batch,
    /// untimed.
    fn take(mut setup: impl FnMut(bool), mut run: impl FnMut(bool)) -> Self {
        let mut rng = SplitMix64::seeded();
        let mut batch = |class_a: bool| {
            setup(class_a);
            let start = Instant::now();
            for _ in 0..BATCH {
                run(class_a);
            }
            start.elapsed().as_nanos() as f64 / BATCH as f64
        };
        // Warm up caches, the branch predictor and the CPU frequency.
        for _ in 0..WARM_UP {
            batch(rng.next() & 1 == 0);
        }
        let pairs: Vec<Pair> = (0..PAIRS)
            .map(|_| {
                if rng.next() & 1 == 0 {
                    let a = batch(true);
                    Pair { a, b: batch(false) }
                } else {
                    let b = batch(false);
                    Pair { a: batch(true), b }
                }
            })
            .collect();
        let median = |mut xs: Vec<f64>| {
            xs.sort_by(f64::total_cmp);
            xs[xs.len() / 2]
        };
        eprintln!(
            "    {PAIRS} pairs of batches of {BATCH} calls; median {:.0} / {:.0} ns per call (A / B)",
            median(pairs.iter().map(|p| p.a).collect()),
            median(pairs.iter().map(|p| p.b).collect()),
        );
        Self { pairs }
    }

    /// Both tests, uncropped and at each crop of [`CROPS`]: Welch's keeps the samples
    /// below the percentile of all samples (as dudect does), the paired test the pairs
    /// whose slower batch is below the percentile of the pairs' slower batches.
    fn statistics(&self) -> Vec<Statistic> {
        let percentile_of = |mut xs: Vec<f64>, p: f64| {
            xs.sort_by(f64::total_cmp);
            xs[((xs.len() - 1) as f64 * p) as usize]
        };
        let mut out = Vec::new();
        for percentile in std::iter::once(None).chain(CROPS.map(Some)) {
            let p = percentile.unwrap_or(1.0);
            let pooled = self
                .pairs
                .iter()
                .flat_map(|pair| [pair.a, pair.b])
                .collect();
            let limit = percentile_of(pooled, p);
            let a: Vec<f64> = self
                .pairs
                .iter()
                .map(|pair| pair.a)
                .filter(|&x| x <= limit)
                .collect();
            let b: Vec<f64> = self
                .pairs
                .iter()
                .map(|pair| pair.b)
                .filter(|&x| x <= limit)
                .collect();
            out.push(Statistic {
                test: Test::Welch,
                percentile,
                t: welch_t(&a, &b),
                difference_ns: mean(&a) - mean(&b),
            });
            let slower = self.pairs.iter().map(|pair| pair.a.max(pair.b)).collect();
            let limit = percentile_of(slower, p);
            let differences: Vec<f64> = self
                .pairs
                .iter()
                .filter(|pair| pair.a.max(pair.b) <= limit)
                .map(|pair| pair.a - pair.b)
                .collect();
            out.push(Statistic {
                test: Test::Paired,
                percentile,
                t: paired_t(&differences),
                difference_ns: mean(&differences),
            });
        }
        out
    }

    /// The statistic with the largest |t|: dudect's verdict. Prints them all.
    fn worst(&self) -> Statistic {
        let all = self.statistics();
        for s in &all {
            eprintln!(
                "    {:<6} crop {:>4}: t = {:>8.2}, mean(A) - mean(B) = {:>8.1} ns per call (flags {:>6.1} ns)",
                format!("{:?}", s.test),
                s.percentile
                    .map_or("none".to_owned(), |p| format!("p{:.0}", p * 100.0)),
                s.t,
                s.difference_ns,
                s.resolution_ns()
            );
        }
        all.into_iter()
            .max_by(|x, y| x.t.abs().total_cmp(&y.t.abs()))
            .expect("at least the uncropped statistics")
    }
}

fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

/// The two classes of presented tags for `expected`: A differs only in its last
/// byte, B only in its first.
fn classes(expected: &Tag, change: impl Fn(u8) -> u8) -> (Tag, Tag) {
    let mut a = *expected;
    a[31] = change(a[31]);
    let mut b = *expected;
    b[0] = change(b[0]);
    assert_ne!(&a, expected);
    assert_ne!(&b, expected);
    assert_eq!(a[..31], expected[..31]);
    assert_eq!(b[1..], expected[1..]);
    (a, b)
}

/// Another byte whose two hex digits are of the same kind as `byte`'s (digit or
/// letter), so its hex encoding decodes along the same path.
fn same_hex_shape(byte: u8) -> u8 {
    let nibble = |n: u8| {
        if n < 10 {
            (n + 1) % 10
        } else {
            10 + (n - 9) % 6
        }
    };
    (nibble(byte >> 4) << 4) | nibble(byte & 0x0F)
}

/// The kind of a base64 character: upper case, lower case, digit or symbol.
fn base64_kind(c: u8) -> u8 {
    match c {
        b'A'..=b'Z' => 0,
        b'a'..=b'z' => 1,
        b'0'..=b'9' => 2,
        _ => 3,
    }
}

/// The two classes of [`classes`] for base64: the first XOR mask that changes the
/// encoding only within each character's kind, so both classes decode alike.
fn base64_classes(expected: &Tag) -> (Tag, Tag) {
    let good = encode_base64(expected);
    let same_shape = |tag: &Tag| {
        encode_base64(tag)
            .bytes()
            .zip(good.bytes())
            .all(|(x, y)| base64_kind(x) == base64_kind(y))
    };
    (1..=u8::MAX)
        .map(|mask| classes(expected, |byte| byte ^ mask))
        .find(|(a, b)| same_shape(a) && same_shape(b))
        .expect("some mask keeps the shape")
}

fn headers(name: &'static str, value: String) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        HeaderName::from_static(name),
        HeaderValue::from_str(&value).expect("hex and base64 are valid header values"),
    );
    headers
}

/// Runs `verify` on the two classes of presented signatures in the header `name` and
/// returns the worst statistic.
///
/// Both classes are presented from the same place: before each batch, untimed, the
/// class's text is copied into a fresh header value of one header map (the allocator
/// hands the freed block back, so both classes land at the same address). Where a value
/// sits in memory (its alignment, the cache lines it spans, how it aliases the decoded
/// tag) changes the time to read it by a few nanoseconds in a debug build, the same for
/// every call; with a value of its own per class, that placement would be a difference
/// between the classes that has nothing to do with the secret, and fine enough for the
/// paired test to flag.
fn measure_verify(
    verifier: &Verifier,
    name: &'static str,
    text_a: &str,
    text_b: &str,
) -> Statistic {
    let body = Bytes::from_static(BODY);
    for text in [text_a, text_b] {
        assert!(matches!(
            verifier.verify(&headers(name, text.to_owned()), &body),
            Err(SignatureRejection::SignatureMismatch { .. })
        ));
    }
    let header = HeaderName::from_static(name);
    // Written by the untimed setup, read by the timed calls.
    let presented = std::cell::RefCell::new(headers(name, text_a.to_owned()));
    Measurements::take(
        |a| {
            let text = if a { text_a } else { text_b };
            let value =
                HeaderValue::from_str(text).expect("hex and base64 are valid header values");
            presented.borrow_mut().insert(&header, value);
        },
        |_| {
            let presented = presented.borrow();
            let _ = black_box(verifier.verify(black_box(&presented), black_box(&body)));
        },
    )
    .worst()
}

/// Asserts no leak, running again (at most twice) only if a run reaches the
/// threshold: a real leak reaches it every time, a burst of machine noise does not.
fn assert_no_leak(what: &str, mut run: impl FnMut() -> Statistic) {
    let mut seen = Vec::new();
    for attempt in 1..=3 {
        eprintln!("{what}, run {attempt}:");
        let worst = run();
        eprintln!("  worst |t| = {:.2}", worst.t.abs());
        if worst.t.abs() < THRESHOLD {
            return;
        }
        seen.push(worst);
    }
    panic!("{what}: |t| >= {THRESHOLD} in every run, a timing leak: {seen:?}");
}

#[test]
fn hopnow_verify_time_does_not_depend_on_how_much_of_the_tag_matches() {
    let _alone = alone();
    let verifier = Verifier::builder(HopNow)
        .secret("current", SECRET)
        .build()
        .unwrap();
    let expected = hmac_tag(SECRET.as_bytes(), &[], BODY);
    let (a, b) = classes(&expected, same_hex_shape);
    let (text_a, text_b) = (hex::encode(a), hex::encode(b));
    assert_no_leak("HopNow (hex)", || {
        measure_verify(&verifier, "x-webhook-signature", &text_a, &text_b)
    });
}

#[test]
fn shopify_verify_time_does_not_depend_on_how_much_of_the_tag_matches() {
    let _alone = alone();
    let verifier = Verifier::builder(Shopify)
        .secret("current", SECRET)
        .build()
        .unwrap();
    let expected = hmac_tag(SECRET.as_bytes(), &[], BODY);
    let (a, b) = base64_classes(&expected);
    let (text_a, text_b) = (encode_base64(&a), encode_base64(&b));
    assert_no_leak("Shopify (base64)", || {
        measure_verify(&verifier, "x-shopify-hmac-sha256", &text_a, &text_b)
    });
}

/// What the method must catch: the same work as `verify` (decode the presented hex,
/// compute the HMAC of the body), then a byte-by-byte comparison that returns at the
/// first difference.
fn leaky_verify(presented: &str) -> bool {
    let Ok(tag) = webhook_signature::scheme::decode_hex_tag(presented) else {
        return false;
    };
    let expected = hmac_tag(SECRET.as_bytes(), &[], BODY);
    for i in 0..32 {
        if black_box(tag[i]) != black_box(expected[i]) {
            return false;
        }
    }
    true
}

#[test]
fn the_method_detects_an_early_exit_comparison() {
    let _alone = alone();
    let expected = hmac_tag(SECRET.as_bytes(), &[], BODY);
    let (a, b) = classes(&expected, same_hex_shape);
    let (text_a, text_b) = (hex::encode(a), hex::encode(b));
    assert!(!leaky_verify(&text_a) && !leaky_verify(&text_b));
    assert!(leaky_verify(&hex::encode(expected)));
    // A leak shows in every quiet run; a burst of machine noise can hide it in one, so
    // the control gets up to three runs, as the no-leak checks do.
    let mut seen = Vec::new();
    for attempt in 1..=3 {
        eprintln!("leaky early-exit comparison, run {attempt}:");
        let worst = Measurements::take(
            |_| {},
            |class_a| {
                let text = if class_a { &text_a } else { &text_b };
                black_box(leaky_verify(black_box(text)));
            },
        )
        .worst();
        eprintln!("  worst |t| = {:.2}", worst.t.abs());
        if worst.t > THRESHOLD {
            return;
        }
        seen.push(worst);
    }
    panic!("the leak went unseen in every run (class A should be slower): {seen:?}");
}
