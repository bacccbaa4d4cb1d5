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
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

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
    verified: RwLock<Vec<(Box<str>, KeyId, Counter)>>,
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
            verified: RwLock::new(Vec::new()),
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
        {
            let read = self.verified.read().unwrap_or_else(PoisonError::into_inner);
            if let Some(counter) = find(&read, scheme, key_id) {
                return counter.increment(1);
            }
        }
        let counter = register();
        counter.increment(1);
        let mut write = self
            .verified
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if write.len() < MAX_VERIFIED_SERIES && find(&write, scheme, key_id).is_none() {
            write.push((scheme.into(), key_id.clone(), counter));
        }
    }
}

/// The kept `verified` counter of `(scheme, key_id)`.
fn find<'a>(
    series: &'a [(Box<str>, KeyId, Counter)],
    scheme: &str,
    key_id: &KeyId,
) -> Option<&'a Counter> {
    series
        .iter()
        .find(|(s, k, _)| **s == *scheme && k == key_id)
        .map(|(_, _, counter)| counter)
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
            assert_eq!(handles.verified.read().unwrap().len(), 3);
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
}
