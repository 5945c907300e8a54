//! The same object given twice: found before anything is resolved, so that one copy is
//! assessed and the other named in a warning, never merged into the first.
//!
//! Two objects are the same when their API group, kind, namespace and name are (the API
//! server stores one object under every version of its group). Copies with the same content
//! ([`Facts::digest`]) are harmless and reported as warnings; copies that differ make the
//! input ambiguous and are errors unless the user said which copy to keep. The deprecated APIs
//! written in a copy left out are still reported: its file needs the same fix.

use std::hash::BuildHasher as _;

use ferry_model::load::Location;
use hashbrown::HashTable;
use hashbrown::hash_table::Entry;

use crate::assessment::{Warning, WarningLevel};
use crate::facts::Facts;
use crate::strings::FastHash;

/// What to do with an object given more than once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnDuplicate {
    /// Assess the first copy and report conflicting copies as errors (exit code 4).
    #[default]
    Error,
    /// Assess the first copy; the others are noted.
    First,
    /// Assess the last copy; the others are noted.
    Last,
}

/// The warning codes of duplicates.
pub const DUPLICATE_OBJECT: &str = "duplicate-object";

type Key<'a> = (&'a str, &'a str, Option<&'a str>, &'a str);

fn key_of(f: &Facts) -> Key<'_> {
    (f.id.group(), &f.id.kind, f.id.namespace.as_deref(), &f.id.name)
}

/// The copies left out of the assessment, and a warning for each.
pub(crate) struct LeftOut {
    /// Their facts: what is written in their files (deprecated APIs) is still reported.
    pub facts: Vec<Facts>,
    /// One warning per copy, naming where it and the kept copy are.
    pub warnings: Vec<Warning>,
}

/// Keeps one copy of each object in `facts` (the first, or the last with [`OnDuplicate::Last`])
/// and returns the others.
///
/// The table of kept copies holds only object indices (4 bytes a slot) and reads the names from the facts.
pub(crate) fn keep_one(facts: &mut Vec<Facts>, on_duplicate: OnDuplicate) -> LeftOut {
    let all: &[Facts] = facts;
    let hasher = FastHash::default();
    let hash = |i: u32| hasher.hash_one(key_of(&all[i as usize]));
    let same = |i: u32| move |&j: &u32| key_of(&all[j as usize]) == key_of(&all[i as usize]);
    let mut kept: HashTable<u32> = HashTable::with_capacity(all.len());
    let mut left_out: Vec<u32> = Vec::new();
    for i in 0..all.len() as u32 {
        match kept.entry(hash(i), same(i), |&j| hash(j)) {
            Entry::Vacant(slot) => {
                slot.insert(i);
            }
            Entry::Occupied(mut slot) if on_duplicate == OnDuplicate::Last => left_out.push(std::mem::replace(slot.get_mut(), i)),
            Entry::Occupied(_) => left_out.push(i),
        }
    }
    if left_out.is_empty() {
        return LeftOut { facts: Vec::new(), warnings: Vec::new() };
    }
    left_out.sort_unstable();
    let kept_copy = |out: u32| *kept.find(hash(out), same(out)).expect("every key has a kept copy");
    let warnings = left_out.iter().map(|&out| warning(all, out as usize, kept_copy(out) as usize, on_duplicate)).collect();
    drop(kept);
    let mut next = left_out.iter().map(|&i| i as usize).peekable();
    let mut index = 0;
    let facts = facts
        .extract_if(.., |_| {
            let out = next.next_if_eq(&index).is_some();
            index += 1;
            out
        })
        .collect();
    LeftOut { facts, warnings }
}

/// `file:line`, or the object's address when it was read from a cluster (no lines).
fn place(f: &Facts) -> String {
    if f.origin.line == 0 { f.origin.file.to_string() } else { f.origin.to_string() }
}

/// The warning for copy `out` of the object kept at `kept` (indices in input order).
fn warning(facts: &[Facts], out: usize, kept: usize, on_duplicate: OnDuplicate) -> Warning {
    let (left_out, copy) = (&facts[out], &facts[kept]);
    let identical = left_out.digest == copy.digest;
    let severity = match (on_duplicate, identical) {
        (OnDuplicate::Error, false) => WarningLevel::Error,
        (OnDuplicate::Error, true) => WarningLevel::Warning,
        (OnDuplicate::First | OnDuplicate::Last, _) => WarningLevel::Note,
    };
    let (first, second, which) = if kept < out { (copy, left_out, "first") } else { (left_out, copy, "last") };
    let content = if identical { "the same content" } else { "different content" };
    let advice = match (on_duplicate, identical) {
        (OnDuplicate::Error, false) => "; remove one, or choose with `--on-duplicate=first|last`",
        (OnDuplicate::Error, true) => "; remove one of them",
        _ => "",
    };
    let message =
        format!("{} is given twice, with {content}: at {} and at {}; the {which} is assessed{advice}", left_out.id.obj_ref(), place(first), place(second));
    let origin = &left_out.origin;
    Warning {
        severity,
        code: DUPLICATE_OBJECT.into(),
        message,
        object: Some(left_out.id.obj_ref()),
        location: Some(Location::at(origin.file.clone(), origin.document, origin.line, None)),
    }
}
