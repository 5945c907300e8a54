//! The verification report and its verdict.

use ferry_model::ObjectId;
use serde::Serialize;

use crate::compare::{Compared, Difference};
use crate::evidence::Check;
use crate::readiness::{Readiness, State};

/// Something found about one object.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding<T> {
    /// The object, as the target holds it (after the transformation).
    #[serde(flatten)]
    pub object: ObjectId,
    /// What was found.
    #[serde(flatten)]
    pub found: T,
}

/// What a verification found.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// Objects compared between the transformation and the target.
    pub compared: usize,
    /// Compared objects without unexpected differences.
    pub at_parity: usize,
    /// Objects at parity that the transformation changed (explained differences from the source).
    pub transformed: usize,
    /// Objects at parity with fields the target's server filled in (explained).
    pub defaulted: usize,
    /// Source objects the transformation leaves out on purpose (made by Kubernetes, mapped classes).
    pub left_out: usize,
    /// Unexpected differences, object by object.
    pub differences: Vec<Finding<Difference>>,
    /// Objects that cannot go to the target or could not be read there, with why.
    pub problems: Vec<Finding<String>>,
    /// Runtime readiness on the target of the objects that run.
    pub readiness: Vec<Finding<Readiness>>,
    /// Checks other steps recorded in evidence files.
    pub evidence: Vec<Check>,
    /// Objects the target holds in the kinds and namespaces verified that the source did not
    /// send and that ferry would migrate (not made by Kubernetes): reported, not blocking.
    pub extra: Vec<ObjectId>,
}

/// Whether the cut-over may go ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// At parity (differences explained) and everything ready.
    Ready,
    /// Unexpected differences, objects that could not be compared, or failed evidence.
    Differences,
    /// At parity, but something on the target is not ready.
    NotReady,
}

impl Report {
    /// Records the comparison of one object.
    pub fn add(&mut self, object: &ObjectId, compared: Compared) {
        self.compared += 1;
        if compared.differences.is_empty() {
            self.at_parity += 1;
            self.transformed += usize::from(compared.transformed);
            self.defaulted += usize::from(compared.defaulted);
        }
        self.differences.extend(compared.differences.into_iter().map(|found| Finding { object: object.clone(), found }));
    }

    /// Notes the target's `others` (objects beside the planned ones in the collections read)
    /// that ferry would migrate as [`Report::extra`], sorted.
    pub fn add_extra(&mut self, others: Vec<serde_json::Value>) {
        let mut extra: Vec<ObjectId> = others
            .into_iter()
            .filter_map(|mut object| ferry_transform::sanitise(&mut object).is_none().then(|| ObjectId::from_json(&object)).flatten())
            .collect();
        extra.sort();
        self.extra.extend(extra);
    }

    /// Objects not ready on the target.
    pub fn not_ready(&self) -> usize {
        self.readiness.iter().filter(|r| r.found.state == State::NotReady).count()
    }

    /// The verdict: differences and problems first, then readiness.
    pub fn verdict(&self) -> Verdict {
        if !self.differences.is_empty() || !self.problems.is_empty() || self.evidence.iter().any(|c| !c.passed) {
            Verdict::Differences
        } else if self.not_ready() > 0 {
            Verdict::NotReady
        } else {
            Verdict::Ready
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(name: &str) -> ObjectId {
        ObjectId { api_version: "v1".into(), kind: "ConfigMap".into(), namespace: Some("shop".into()), name: name.into() }
    }

    #[test]
    fn differences_outrank_readiness_and_unknown_readiness_passes() {
        let mut report = Report::default();
        report.add(&id("a"), Compared { differences: vec![], transformed: true, defaulted: true });
        report.readiness.push(Finding { object: id("i"), found: Readiness { state: State::Unknown, detail: String::new() } });
        assert_eq!((report.verdict(), report.at_parity, report.transformed), (Verdict::Ready, 1, 1));
        report.readiness.push(Finding { object: id("w"), found: Readiness { state: State::NotReady, detail: String::new() } });
        assert_eq!(report.verdict(), Verdict::NotReady);
        report.add(&id("b"), Compared { differences: vec![Difference::Missing], ..Default::default() });
        assert_eq!((report.verdict(), report.compared, report.at_parity), (Verdict::Differences, 2, 1));
        let mut failed = Report::default();
        failed.evidence.push(Check { step: "volumes".into(), object: None, passed: false, detail: String::new() });
        assert_eq!(failed.verdict(), Verdict::Differences);
    }
}
