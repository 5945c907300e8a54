//! The same object given twice: found before anything is resolved, so that one copy is
//! assessed and the other named in a warning, never merged into the first.
//!
//! Two objects are the same when their API group, kind, namespace and name are (the API
//! server stores one object under every version of its group). Copies with the same content
//! ([`Facts::digest`]) are harmless and reported as warnings; copies that differ make the
//! input ambiguous and are errors unless the user said which copy to keep. The deprecated APIs
//! written in a copy left out are still reported: its file needs the same fix.

use std::hash::BuildHasher as _;

use ferry_model::Origin;
use ferry_model::load::Location;
use hashbrown::HashTable;
use hashbrown::hash_table::Entry;

use crate::assessment::{ObjRef, Warning, WarningLevel};
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

/// API group, kind, namespace and name: what makes two copies the same object.
pub type Key<'a> = (&'a str, &'a str, Option<&'a str>, &'a str);

/// An object as given in the input, as far as telling its copies apart needs: [`Facts`] for
/// the assessment, whole objects for `ferry transform` and `ferry apply` of manifests.
pub trait Given {
    /// API group, kind, namespace and name.
    fn key(&self) -> Key<'_>;
    /// Where it starts.
    fn origin(&self) -> &Origin;
    /// A digest of its whole content ([`crate::facts::content_digest`]).
    fn digest(&self) -> u64;
    /// Its name in warnings.
    fn obj_ref(&self) -> ObjRef;
}

impl Given for Facts {
    fn key(&self) -> Key<'_> {
        (self.id.group(), &self.id.kind, self.id.namespace.as_deref(), &self.id.name)
    }
    fn origin(&self) -> &Origin {
        &self.origin
    }
    fn digest(&self) -> u64 {
        self.digest
    }
    fn obj_ref(&self) -> ObjRef {
        self.id.obj_ref()
    }
}

/// The copies left out, and a warning for each.
pub struct LeftOut<T> {
    /// The copies left out (for the assessment: what is written in their files, deprecated APIs, is still reported).
    pub copies: Vec<T>,
    /// One warning per copy, naming where it and the kept copy are.
    pub warnings: Vec<Warning>,
}

/// Keeps one copy of each object in `given` (the first, or the last with [`OnDuplicate::Last`])
/// and returns the others, in input order.
///
/// The table of kept copies holds only object indices (4 bytes a slot) and reads the names from the objects.
pub fn keep_one<T: Given>(given: &mut Vec<T>, on_duplicate: OnDuplicate) -> LeftOut<T> {
    let all: &[T] = given;
    let hasher = FastHash::default();
    let hash = |i: u32| hasher.hash_one(all[i as usize].key());
    let same = |i: u32| move |&j: &u32| all[j as usize].key() == all[i as usize].key();
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
        return LeftOut { copies: Vec::new(), warnings: Vec::new() };
    }
    left_out.sort_unstable();
    let kept_copy = |out: u32| *kept.find(hash(out), same(out)).expect("every key has a kept copy");
    let warnings = left_out.iter().map(|&out| warning(all, out as usize, kept_copy(out) as usize, on_duplicate)).collect();
    drop(kept);
    let mut next = left_out.iter().map(|&i| i as usize).peekable();
    let mut index = 0;
    let copies = given
        .extract_if(.., |_| {
            let out = next.next_if_eq(&index).is_some();
            index += 1;
            out
        })
        .collect();
    LeftOut { copies, warnings }
}

/// `file:line`, or the object's address when it was read from a cluster (no lines).
fn place(origin: &Origin) -> String {
    if origin.line == 0 { origin.file.to_string() } else { origin.to_string() }
}

/// The warning for copy `out` of the object kept at `kept` (indices in input order).
fn warning<T: Given>(given: &[T], out: usize, kept: usize, on_duplicate: OnDuplicate) -> Warning {
    let (left_out, copy) = (&given[out], &given[kept]);
    let identical = left_out.digest() == copy.digest();
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
    let message = format!(
        "{} is given twice, with {content}: at {} and at {}; the {which} is kept{advice}",
        left_out.obj_ref(),
        place(first.origin()),
        place(second.origin())
    );
    let origin = left_out.origin();
    Warning {
        severity,
        code: DUPLICATE_OBJECT.into(),
        message,
        object: Some(left_out.obj_ref()),
        location: Some(Location::at(origin.file.clone(), origin.document, origin.line, None)),
    }
}
