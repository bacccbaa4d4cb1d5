//! Metric handles registered once and reused, when that is safe.
//!
//! A `metrics::counter!` call registers the metric with the recorder every time: it
//! builds the key and its labels, looks it up, and (with the Prometheus exporter)
//! allocates a new handle. Per delivery that is five registrations. The layer keeps the
//! handles instead, but only for a recorder that lives as long as the process: the
//! global one (or the no-op one before any is installed), known by its address. A local
//! recorder (`metrics::with_local_recorder`, as tests use) could be dropped and another
//! one made at the same address, so under a local recorder every call registers the
//! metric again.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, OnceLock};

use metrics::{Counter, Histogram, Recorder};
use webhook_core::KeyId;

use crate::outcome::{OTHER, UNKNOWN};

/// At most this many `(scheme, key_id)` pairs keep a cached `verified` counter; more
/// (a keyring rotated many times in one process) register per delivery.
const MAX_VERIFIED_SERIES: usize = 64;

/// The handles of one recorder, each registered on first use.
pub(crate) struct Handles {
    pub(crate) received: OnceLock<Counter>,
    pub(crate) duplicates: OnceLock<Counter>,
    pub(crate) rate_limited: OnceLock<Counter>,
    pub(crate) clock_skew: OnceLock<Histogram>,
    /// By `event_type` label: every allowed type, `other` and `unknown`.
    by_type: HashMap<Arc<str>, TypeHandles>,
    /// By `reason` label: every kept code and `other`.
    by_reason: HashMap<&'static str, OnceLock<Counter>>,
    /// Filled in order and never emptied, so a reader stops at the first empty slot:
    /// reading takes no lock, and the workers of a multi-threaded runtime do not take
    /// turns writing one lock's word on every delivery.
    verified: [OnceLock<(Box<str>, KeyId, Counter)>; MAX_VERIFIED_SERIES],
}

/// The handles labelled with one event type.
#[derive(Default)]
pub(crate) struct TypeHandles {
    pub(crate) processed: OnceLock<Counter>,
    pub(crate) failed: OnceLock<Counter>,
    pub(crate) processing: OnceLock<Histogram>,
}

impl Handles {
    pub(crate) fn new(event_types: &HashSet<Arc<str>>, reasons: &HashSet<&'static str>) -> Self {
        let by_type = event_types
            .iter()
            .cloned()
            .chain([Arc::from(OTHER), Arc::from(UNKNOWN)])
            .map(|label| (label, TypeHandles::default()))
            .collect();
        let by_reason = reasons
            .iter()
            .copied()
            .chain([OTHER])
            .map(|reason| (reason, OnceLock::new()))
            .collect();
        Self {
            received: OnceLock::new(),
            duplicates: OnceLock::new(),
            rate_limited: OnceLock::new(),
            clock_skew: OnceLock::new(),
            by_type,
            by_reason,
            verified: std::array::from_fn(|_| OnceLock::new()),
        }
    }

    /// The handles for an `event_type` label value the layer produced.
    pub(crate) fn by_type(&self, label: &str) -> Option<&TypeHandles> {
        self.by_type.get(label)
    }

    /// The `rejected` counter for a `reason` label value the layer produced.
    pub(crate) fn by_reason(&self, label: &str) -> Option<&OnceLock<Counter>> {
        self.by_reason.get(label)
    }

    /// Increments the `verified` counter of `(scheme, key_id)`, registering it with
    /// `register` the first time.
    pub(crate) fn verified(
        &self,
        scheme: &str,
        key_id: &KeyId,
        register: impl FnOnce() -> Counter,
    ) {
        let mut from = 0;
        if let Some(counter) = self.find_verified(&mut from, scheme, key_id) {
            return counter.increment(1);
        }
        let counter = register();
        counter.increment(1);
        let mut entry = Some((scheme.into(), key_id.clone(), counter));
        // Into the first empty slot; when another thread fills it first, the next one,
        // unless that thread kept this very series.
        while let Some(slot) = self.verified.get(from) {
            match slot.set(entry.take().expect("kept until set")) {
                Ok(()) => return,
                Err(back) => entry = Some(back),
            }
            if self.find_verified(&mut from, scheme, key_id).is_some() {
                return;
            }
        }
    }

    /// The kept `verified` counter of `(scheme, key_id)`, looking from slot `from` on;
    /// `from` is left at the first empty slot.
    fn find_verified(&self, from: &mut usize, scheme: &str, key_id: &KeyId) -> Option<&Counter> {
        while let Some((kept_scheme, kept_key, counter)) =
            self.verified.get(*from).and_then(OnceLock::get)
        {
            if **kept_scheme == *scheme && kept_key == key_id {
                return Some(counter);
            }
            *from += 1;
        }
        None
    }
}

/// Uses the handle in `slot`, registering it with `register` the first time; without
/// a slot (no cache for this recorder), registers it for this use only.
pub(crate) fn with_handle<H>(
    slot: Option<&OnceLock<H>>,
    register: impl FnOnce() -> H,
    use_it: impl FnOnce(&H),
) {
    match slot {
        Some(slot) => use_it(slot.get_or_init(register)),
        None => use_it(&register()),
    }
}

/// The handles of the recorder in use on this thread, when they can be kept: see the
/// module docs. The first call decides, for the recorder in use then.
pub(crate) fn cached(
    cache: &OnceLock<(usize, Option<Handles>)>,
    make: impl FnOnce() -> Handles,
) -> Option<&Handles> {
    let current = recorder_address();
    let (owner, handles) = cache.get_or_init(|| {
        let lives_forever = recorder_address_on_a_new_thread() == Some(current);
        (current, lives_forever.then(make))
    });
    if *owner == current {
        handles.as_ref()
    } else {
        None
    }
}

/// The address of the recorder that `metrics` macros use on this thread.
fn recorder_address() -> usize {
    metrics::with_recorder(|recorder| (recorder as *const dyn Recorder).cast::<()>().addr())
}

/// The address of the recorder a new thread uses: no local recorder is set there, so
/// it is the global one, or the no-op one. `None` if no thread could be started.
fn recorder_address_on_a_new_thread() -> Option<usize> {
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("webhook-observe-recorder-check".into())
            .spawn_scoped(scope, recorder_address)
            .ok()?
            .join()
            .ok()
    })
}

#[cfg(test)]
mod tests {
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};

    use super::*;

    #[test]
    fn verified_counters_are_kept_per_scheme_and_key_id() {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        metrics::with_local_recorder(&recorder, || {
            let handles = Handles::new(&HashSet::new(), &HashSet::new());
            for (scheme, key) in [
                ("standard", "a"),
                ("standard", "b"),
                ("standard", "a"),
                ("github", "a"),
            ] {
                handles.verified(
                    scheme,
                    &KeyId::new(key),
                    || metrics::counter!("verified", "scheme" => scheme, "key_id" => key),
                );
            }
            assert_eq!(
                handles
                    .verified
                    .iter()
                    .filter(|slot| slot.get().is_some())
                    .count(),
                3
            );
        });
        let mut counts: Vec<(String, u64)> = snapshotter
            .snapshot()
            .into_vec()
            .into_iter()
            .map(|(key, _, _, value)| {
                let labels: Vec<String> =
                    key.key().labels().map(|l| l.value().to_owned()).collect();
                let DebugValue::Counter(count) = value else {
                    panic!("not a counter")
                };
                (labels.join("/"), count)
            })
            .collect();
        counts.sort();
        assert_eq!(
            counts,
            [
                ("github/a".to_owned(), 1),
                ("standard/a".to_owned(), 2),
                ("standard/b".to_owned(), 1)
            ]
        );
    }

    #[test]
    fn threads_racing_to_keep_series_count_every_delivery_once_and_keep_each_series_once() {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        let handles = Handles::new(&HashSet::new(), &HashSet::new());
        // 80 series, more than there are slots, each hit 50 times by each of 4 threads.
        let series = MAX_VERIFIED_SERIES + 16;
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    metrics::with_local_recorder(&recorder, || {
                        for round in 0..50 {
                            for n in 0..series {
                                let key = format!("k{}", (n + round) % series);
                                handles.verified(
                                    "standard",
                                    &KeyId::new(key.as_str()),
                                    || metrics::counter!("verified", "key_id" => key.clone()),
                                );
                            }
                        }
                    });
                });
            }
        });
        let kept: Vec<&str> = handles
            .verified
            .iter()
            .filter_map(OnceLock::get)
            .map(|(_, key, _)| key.as_str())
            .collect();
        assert_eq!(kept.len(), MAX_VERIFIED_SERIES);
        let distinct: HashSet<&str> = kept.iter().copied().collect();
        assert_eq!(distinct.len(), MAX_VERIFIED_SERIES, "a series kept twice");
        let snapshot = snapshotter.snapshot().into_vec();
        assert_eq!(snapshot.len(), series);
        for (key, _, _, value) in snapshot {
            assert_eq!(value, DebugValue::Counter(200), "{key:?}");
        }
    }
}
