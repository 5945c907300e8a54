//! The verification report and its verdict.

use ferry_model::ObjectId;
use serde::{Deserialize, Serialize};

use crate::compare::{Compared, Difference};
use crate::evidence::Check;
use crate::readiness::{Readiness, State};

/// Something found about one object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding<T> {
    /// The object, as the target holds it (after the transformation).
    #[serde(flatten)]
    pub object: ObjectId,
    /// What was found.
    #[serde(flatten)]
    pub found: T,
}

/// Why an object could not be compared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// What went wrong, e.g. `cannot be read on the target: forbidden`.
    pub reason: String,
}

/// What a verification found.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
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
    pub problems: Vec<Finding<Problem>>,
    /// Runtime readiness on the target of the objects that run.
    pub readiness: Vec<Finding<Readiness>>,
    /// Checks other steps recorded in evidence files.
    pub evidence: Vec<Check>,
    /// Objects the target holds in the kinds and namespaces verified that the source did not
    /// send and that ferry would migrate (not made by Kubernetes): reported, not blocking.
    pub extra: Vec<ObjectId>,
}

/// The `format` of a saved verification (`ferry verify -o json`).
pub const FORMAT: &str = "ferry.verify/v1";

/// A verification as `ferry verify -o json` writes it, and `ferry report` and `ferry
/// cutover`'s preconditions read it back.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Saved {
    /// [`FORMAT`].
    pub format: String,
    /// The verdict when it was written.
    pub verdict: Verdict,
    /// What the source was (a context or an archive).
    pub source: String,
    /// The target cluster (context, server, version).
    pub target: String,
    /// When the target was read (RFC 3339, UTC), so that a saved report's age is known.
    pub checked_at: String,
    /// What was found.
    #[serde(flatten)]
    pub report: Report,
}

impl Saved {
    /// The report of a verification of `source` against `target`, read at `checked_at`.
    pub fn new(source: String, target: String, checked_at: String, report: Report) -> Saved {
        Saved { format: FORMAT.to_owned(), verdict: report.verdict(), source, target, checked_at, report }
    }

    /// The verdict the findings give, checked against the one written: a file whose `verdict`
    /// says more than its findings (edited, or written by another tool) is not taken at its word.
    pub fn verdict_of_findings(&self) -> Result<Verdict, String> {
        let found = self.report.verdict();
        if found == self.verdict {
            Ok(found)
        } else {
            Err(format!("its `verdict` is {}, but its findings give {}", verdict_name(self.verdict), verdict_name(found)))
        }
    }
}

/// A verdict as the JSON writes it (`ready`, `differences`, `not-ready`).
pub fn verdict_name(verdict: Verdict) -> String {
    serde_json::to_value(verdict).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

/// Whether the cut-over may go ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
    fn a_saved_report_reads_back_as_it_was_written() {
        let mut report = Report::default();
        report.add(
            &id("a"),
            Compared { differences: vec![Difference::Changed { path: "/data/k".into(), expected: Some("1".into()), actual: None }], ..Default::default() },
        );
        report.problems.push(Finding { object: id("p"), found: Problem { reason: "forbidden".into() } });
        report.readiness.push(Finding { object: id("w"), found: Readiness { state: State::NotReady, detail: "0/1 ready".into() } });
        report.evidence.push(Check { step: "volumes".into(), object: Some(id("c")), passed: true, detail: "3 files".into() });
        let saved = Saved::new("context `old`".into(), "context `new`".into(), "2026-12-07T08:00:00Z".into(), report);
        let text = serde_json::to_string(&saved).unwrap();
        let read: Saved = serde_json::from_str(&text).unwrap();
        assert_eq!((read.format.as_str(), read.verdict, read.checked_at.as_str()), (FORMAT, Verdict::Differences, "2026-12-07T08:00:00Z"));
        assert_eq!(read.report.differences, saved.report.differences);
        assert_eq!(read.report.problems, saved.report.problems);
        assert_eq!(read.report.readiness, saved.report.readiness);
        assert_eq!(read.report.evidence, saved.report.evidence);
        assert_eq!(serde_json::to_string(&read).unwrap(), text);
    }

    #[test]
    fn a_report_with_every_kind_of_finding_serializes() {
        let mut report = Report::default();
        report.problems.push(Finding { object: id("p"), found: Problem { reason: "cannot be read on the target: forbidden".into() } });
        report.add(&id("m"), Compared { differences: vec![Difference::Missing], ..Default::default() });
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["problems"][0]["name"], "p");
        assert_eq!(json["problems"][0]["reason"], "cannot be read on the target: forbidden");
        assert_eq!(json["differences"][0]["difference"], "missing");
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
