//! Shared copies of strings that repeat across objects (field paths, kinds,
//! keys, registries), the keys known to match no cloud rule, and a fast hash
//! for the analysis' in-memory indices.
//!
//! Facts of 100,000 objects name the same few hundred field paths over and
//! over; one shared copy of each keeps their memory proportional to the
//! variety of the input rather than to its size. The same label keys and env
//! names come back just as often, and remembering that one matches no cloud
//! rule saves running the rule set on it again.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};

/// Shared strings and remembered look-ups, safe to use from the loader's threads.
///
/// Each thread of the rayon pool has a set of its own, so that threads never
/// wait for one another nor pass the same memory back and forth; a string
/// therefore has at most one copy per thread.
pub struct Strings {
    /// One slot per pool thread, and one (the first) for any other thread.
    slots: Vec<Mutex<Slot>>,
}

#[derive(Default)]
struct Slot {
    strings: HashSet<Arc<str>, FastHash>,
    /// Keys, each with the subjects (as bits) of whose cloud rules none matches it.
    unmatched: HashMap<Box<str>, u32, FastHash>,
}

impl Default for Strings {
    fn default() -> Self {
        Strings { slots: (0..=rayon::current_num_threads()).map(|_| Mutex::default()).collect() }
    }
}

impl Strings {
    fn slot(&self) -> std::sync::MutexGuard<'_, Slot> {
        let slot = match rayon::current_thread_index() {
            Some(thread) => &self.slots[1 + thread % (self.slots.len() - 1)],
            None => &self.slots[0],
        };
        slot.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The shared copy of `s`.
    pub fn get(&self, s: &str) -> Arc<str> {
        let mut slot = self.slot();
        if let Some(shared) = slot.strings.get(s) {
            return shared.clone();
        }
        let shared: Arc<str> = Arc::from(s);
        slot.strings.insert(shared.clone());
        shared
    }

    /// Whether `key` may match a rule of the subject numbered `subject` (below 32), remembering
    /// the keys that match none, so that `may_match` is asked about such a key only once (a key
    /// that may match is asked about each time).
    pub(crate) fn may_match(&self, subject: u32, key: &str, may_match: impl FnOnce() -> bool) -> bool {
        let bit = 1u32 << subject;
        if self.slot().unmatched.get(key).is_some_and(|subjects| subjects & bit != 0) {
            return false;
        }
        let matches = may_match();
        if !matches {
            *self.slot().unmatched.entry(key.into()).or_default() |= bit;
        }
        matches
    }
}

impl std::fmt::Debug for Strings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Strings")
    }
}

/// The hash of rustc's own maps ("FxHash"): much faster than SipHash on short keys. The
/// analysis' maps are rebuilt for every run and keyed by the input's own names and indices,
/// so hash flooding is not a concern here.
pub(crate) type FastHash = rustc_hash::FxBuildHasher;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_strings_share_one_copy() {
        let strings = Strings::default();
        let a = strings.get("spec.template.spec.containers[0].env[1].value");
        let b = strings.get(&format!("spec.template.spec.containers[{}].env[1].value", 0));
        assert!(Arc::ptr_eq(&a, &b));
        // Pool threads have slots of their own; within one, equal strings share a copy too.
        let outside = strings.get("kind");
        let in_pool = rayon::scope(|_| (strings.get("kind"), strings.get("kind")));
        assert!(Arc::ptr_eq(&in_pool.0, &in_pool.1), "one copy per pool thread");
        assert!(!Arc::ptr_eq(&outside, &in_pool.0), "a pool thread does not share the slot of other threads");
    }
}
