//! The migration record (`ferry report`): the files ferry's later steps leave behind — saved
//! verifications (`ferry verify -o json`), the evidence of `ferry volumes`, `ferry images
//! copy` and `ferry smoke`, and cut-over timelines (`ferry cutover -o json`) — read back,
//! judged one by one, and rendered as one report (terminal table, JSON, Markdown, and HTML
//! with the cut-over drawn). Each file is named with the SHA-256 of its bytes, so the record
//! says which version of the evidence it shows.

mod html;
mod text;

use ferry_verify::{Check, EvidenceError, Saved, State, Verdict};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use html::write as write_html;
pub use text::{write_markdown, write_table};

/// The `format` of the record's JSON form.
pub const FORMAT: &str = "ferry.migration-record/v1";

/// The `format` of a saved cut-over timeline (docs/cutover.md), the one document read here
/// whose writer (`ferry-cutover`) this crate does not depend on.
pub const TIMELINE_FORMAT: &str = "ferry.cutover.timeline/v1";

/// The files of a migration, read and judged.
#[derive(Debug, Clone, Serialize)]
pub struct Record {
    /// Always [`FORMAT`].
    pub format: &'static str,
    /// Whether every step the files record passed.
    pub passed: bool,
    /// One entry per file, in the order given.
    pub entries: Vec<Entry>,
}

/// One file of the record.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// The file's name as given.
    pub file: String,
    /// SHA-256 of the file's bytes.
    pub sha256: String,
    /// The step it records (`verify`, `volumes`, `images`, `smoke`, `cutover`, ...).
    pub step: String,
    /// How the step ended.
    pub status: Status,
    /// One line for people.
    pub summary: String,
    /// What the file holds.
    #[serde(skip)]
    pub document: Document,
}

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Everything it checked held.
    Passed,
    /// Something it checked did not hold, or it was rolled back.
    Failed,
    /// It changed nothing and judged nothing (a cut-over's dry run).
    Info,
}

/// What a file holds.
#[derive(Debug, Clone)]
pub enum Document {
    /// A saved `ferry verify -o json`.
    Verify(Box<Saved>),
    /// Checks of an evidence file (volumes, images, smoke tests, or any step's own).
    Checks(Vec<Check>),
    /// A saved cut-over timeline.
    Timeline(Timeline),
}

/// A saved cut-over timeline (`ferry.cutover.timeline/v1`).
#[derive(Debug, Clone, Deserialize)]
pub struct Timeline {
    /// `completed`, `rolled_back`, `restored` or `dry_run`.
    pub outcome: String,
    /// The longest a failing gate can take to bring the last good weights back, in milliseconds.
    pub worst_case_rollback_ms: u64,
    /// The timeline's events, in order.
    pub events: Vec<TimelineEvent>,
}

/// One event of a cut-over timeline.
#[derive(Debug, Clone, Deserialize)]
pub struct TimelineEvent {
    /// Milliseconds since the run began.
    pub at_ms: u64,
    /// The step's percent to the new side, if the event belongs to a step.
    pub percent: Option<u8>,
    /// What happened (`plan`, `set`, `gate`, `passed`, `rollback`, ...).
    pub action: String,
    /// Details for people.
    pub detail: String,
    /// The weights in force after the event (`plan`, `set`, `rollback`).
    #[serde(default)]
    pub weights: Option<Weights>,
    /// The gates' verdicts (`gate` events).
    #[serde(default)]
    pub verdicts: Vec<GateVerdict>,
}

/// Relative weights of the old and the new side.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct Weights {
    /// Weight of the old side.
    pub old: u32,
    /// Weight of the new side.
    pub new: u32,
}

impl Weights {
    /// The share of the traffic on the new side, in percent.
    pub fn percent_new(self) -> f64 {
        let total = self.old + self.new;
        if total == 0 { 0.0 } else { f64::from(self.new) * 100.0 / f64::from(total) }
    }
}

/// One gate's verdict in one evaluation.
#[derive(Debug, Clone, Deserialize)]
pub struct GateVerdict {
    /// The gate's name.
    pub gate: String,
    /// The side it checks (`old`, `new`, or `query`).
    pub side: String,
    /// Whether it held.
    pub passed: bool,
    /// Why it failed.
    #[serde(default)]
    pub reason: Option<String>,
}

/// A file that cannot be part of the record.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// Not JSON.
    #[error("{file}: not JSON: {source}")]
    NotJson {
        /// The file.
        file: String,
        /// What the parser said (with line and column).
        source: serde_json::Error,
    },
    /// A known format whose fields do not fit it.
    #[error("{file}: not a valid `{format}` document: {source}")]
    Invalid {
        /// The file.
        file: String,
        /// The format it claims.
        format: String,
        /// The field that does not fit.
        source: serde_json::Error,
    },
    /// A document of another kind.
    #[error(
        "{file}: {source}; `ferry report` also reads `{}` (ferry verify -o json) and `{TIMELINE_FORMAT}` (ferry cutover -o json)",
        ferry_verify::report::FORMAT
    )]
    Foreign {
        /// The file.
        file: String,
        /// What the evidence reader said of it.
        source: EvidenceError,
    },
}

impl Record {
    /// Reads `files` (name, bytes) in order and judges each.
    pub fn read(files: &[(String, Vec<u8>)]) -> Result<Record, RecordError> {
        let entries = files.iter().map(|(file, bytes)| entry(file, bytes)).collect::<Result<Vec<_>, _>>()?;
        let passed = !entries.is_empty() && entries.iter().all(|e| e.status != Status::Failed);
        Ok(Record { format: FORMAT, passed, entries })
    }

    /// The entries whose step failed.
    pub fn failed(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(|e| e.status == Status::Failed)
    }

    /// The record's verdict in one line.
    pub fn verdict(&self) -> String {
        let failed: Vec<String> = self.failed().map(|e| format!("{} ({})", e.step, e.file)).collect();
        match (self.entries.len(), failed.len()) {
            (0, _) => "no evidence given".to_owned(),
            (n, 0) => format!("every step passed ({n} files of evidence)"),
            (n, f) => format!("{f} of {n} steps FAILED: {}", failed.join(", ")),
        }
    }
}

fn entry(file: &str, bytes: &[u8]) -> Result<Entry, RecordError> {
    let sha256 = Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect();
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|source| RecordError::NotJson { file: file.to_owned(), source })?;
    let invalid = |format: &str| {
        let file = file.to_owned();
        let format = format.to_owned();
        move |source| RecordError::Invalid { file, format, source }
    };
    let format = value.get("format").and_then(serde_json::Value::as_str).map(str::to_owned);
    let document = match format.as_deref() {
        Some(format @ ferry_verify::report::FORMAT) => Document::Verify(Box::new(serde_json::from_value(value).map_err(invalid(format))?)),
        Some(format @ TIMELINE_FORMAT) => Document::Timeline(serde_json::from_value(value).map_err(invalid(format))?),
        _ => {
            let text = String::from_utf8_lossy(bytes);
            Document::Checks(ferry_verify::evidence::parse(&text).map_err(|source| RecordError::Foreign { file: file.to_owned(), source })?)
        }
    };
    let (step, status, summary) = judge(&document);
    Ok(Entry { file: file.to_owned(), sha256, step, status, summary, document })
}

/// The step, status and summary line of a document.
fn judge(document: &Document) -> (String, Status, String) {
    match document {
        Document::Verify(saved) => judge_verify(saved),
        Document::Checks(checks) => judge_checks(checks),
        Document::Timeline(timeline) => judge_timeline(timeline),
    }
}

fn judge_verify(saved: &Saved) -> (String, Status, String) {
    let report = &saved.report;
    let parity = format!("parity {}/{} objects", report.at_parity, report.compared);
    let verdict = match saved.verdict_of_findings() {
        Ok(verdict) => verdict,
        Err(mismatch) => return ("verify".to_owned(), Status::Failed, format!("not trusted: {mismatch}")),
    };
    let (status, summary) = match verdict {
        Verdict::Ready => (Status::Passed, format!("ready: {parity}, everything ready")),
        Verdict::Differences => (
            Status::Failed,
            format!(
                "differences: {parity}, {} unexpected differences, {} problems, {} failed checks",
                report.differences.len(),
                report.problems.len(),
                report.evidence.iter().filter(|c| !c.passed).count()
            ),
        ),
        Verdict::NotReady => (Status::Failed, format!("not ready: {parity}, {} objects not ready", report.not_ready())),
    };
    ("verify".to_owned(), status, summary)
}

fn judge_checks(checks: &[Check]) -> (String, Status, String) {
    let step = checks.first().map_or_else(|| "evidence".to_owned(), |c| c.step.clone());
    let failed: Vec<&Check> = checks.iter().filter(|c| !c.passed).collect();
    match (checks.len(), failed.first()) {
        (0, _) => (step, Status::Failed, "holds no check".to_owned()),
        (n, None) => (step, Status::Passed, format!("{n} of {n} checks passed")),
        (n, Some(first)) => (step, Status::Failed, format!("{} of {n} checks failed; first: {}", failed.len(), first.detail)),
    }
}

fn judge_timeline(timeline: &Timeline) -> (String, Status, String) {
    let evaluations = timeline.events.iter().filter(|e| e.action == "gate").count();
    let failed = timeline.events.iter().filter(|e| e.action == "gate" && e.verdicts.iter().any(|v| !v.passed)).count();
    let steps = timeline.events.iter().filter(|e| e.action == "set").count();
    let took = timeline.events.last().map_or(0.0, |e| e.at_ms as f64 / 1000.0);
    let gates = format!("{steps} steps set, {evaluations} gate evaluations ({failed} failed), {took:.1} s");
    let (status, summary) = match timeline.outcome.as_str() {
        "completed" => (Status::Passed, format!("completed: all traffic on the new side; {gates}")),
        "rolled_back" => {
            let reason = timeline.events.iter().rev().find(|e| e.action == "rollback").map_or("", |e| e.detail.as_str());
            (Status::Failed, format!("rolled back: {reason}; {gates}"))
        }
        "restored" => (Status::Failed, "restored: the original weights are in force (--rollback)".to_owned()),
        "dry_run" => (Status::Info, "dry run: nothing changed".to_owned()),
        other => (Status::Failed, format!("unknown outcome `{other}`")),
    };
    ("cutover".to_owned(), status, summary)
}

/// The rows of a verification's findings: object, what was found, detail.
fn verify_rows(saved: &Saved) -> Vec<[String; 3]> {
    let report = &saved.report;
    let differences = report.differences.iter().map(|d| [d.object.to_string(), "difference".to_owned(), serde_json::to_string(&d.found).unwrap_or_default()]);
    let problems = report.problems.iter().map(|p| [p.object.to_string(), "problem".to_owned(), p.found.reason.clone()]);
    let not_ready =
        report.readiness.iter().filter(|r| r.found.state == State::NotReady).map(|r| [r.object.to_string(), "not ready".to_owned(), r.found.detail.clone()]);
    differences.chain(problems).chain(not_ready).collect()
}

/// The rows of checks: object, result, detail.
fn check_rows(checks: &[Check]) -> Vec<[String; 3]> {
    let row =
        |c: &Check| [c.object.as_ref().map(ToString::to_string).unwrap_or_default(), if c.passed { "passed" } else { "FAILED" }.to_owned(), c.detail.clone()];
    checks.iter().map(row).collect()
}

/// The rows of a timeline: time, step, action, detail.
fn timeline_rows(timeline: &Timeline) -> Vec<[String; 4]> {
    let row = |e: &TimelineEvent| {
        [format!("{:.1} s", e.at_ms as f64 / 1000.0), e.percent.map(|p| format!("{p} %")).unwrap_or_default(), e.action.clone(), e.detail.clone()]
    };
    timeline.events.iter().map(row).collect()
}

/// The sentence saying what a verification compared and found at parity.
fn parity(saved: &Saved) -> String {
    let report = &saved.report;
    format!(
        "Parity: {}/{} objects ({} transformed as expected, {} with defaults the target filled in; {} left out on purpose).",
        report.at_parity, report.compared, report.transformed, report.defaulted, report.left_out
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn timeline(outcome: &str) -> Vec<u8> {
        let rollback = if outcome == "rolled_back" {
            r#",{"at_ms": 2600, "step": null, "percent": null, "action": "rollback", "detail": "old 100 / new 0 restored: new-shop (new): status 500", "weights": {"old": 100, "new": 0}}"#
        } else {
            ""
        };
        let second_gate = if outcome == "rolled_back" { "false" } else { "true" };
        format!(
            r#"{{"format": "ferry.cutover.timeline/v1", "outcome": "{outcome}", "worst_case_rollback_ms": 1500, "events": [
            {{"at_ms": 0, "step": null, "percent": null, "action": "plan", "detail": "haproxy: old 100 / new 0 now", "weights": {{"old": 100, "new": 0}}}},
            {{"at_ms": 10, "step": 0, "percent": 25, "action": "set", "detail": "old 75 / new 25", "weights": {{"old": 75, "new": 25}}}},
            {{"at_ms": 1010, "step": 0, "percent": 25, "action": "gate", "detail": "1 gate(s) held", "verdicts": [{{"gate": "new-shop", "side": "new", "passed": true, "reason": null, "success_rate": 1.0}}]}},
            {{"at_ms": 2010, "step": 0, "percent": 25, "action": "gate", "detail": "g", "verdicts": [{{"gate": "new-shop", "side": "new", "passed": {second_gate}, "reason": "status 500"}}]}}{rollback}]}}"#
        )
        .into_bytes()
    }

    fn file(name: &str, bytes: Vec<u8>) -> (String, Vec<u8>) {
        (name.to_owned(), bytes)
    }

    const SMOKE: &str =
        r#"{"apiVersion": "ferry.dev/v1alpha1", "kind": "Evidence", "step": "smoke", "checks": [{"passed": true, "detail": "GET https://shop.example/ 200"}]}"#;

    #[test]
    fn each_kind_of_file_is_judged_and_named_with_its_digest() {
        let record = Record::read(&[file("smoke.json", SMOKE.into()), file("timeline.json", timeline("completed"))]).unwrap();
        assert!(record.passed);
        let entries: Vec<(&str, Status, &str)> = record.entries.iter().map(|e| (e.step.as_str(), e.status, e.summary.as_str())).collect();
        assert_eq!(
            entries,
            [
                ("smoke", Status::Passed, "1 of 1 checks passed"),
                ("cutover", Status::Passed, "completed: all traffic on the new side; 1 steps set, 2 gate evaluations (0 failed), 2.0 s")
            ]
        );
        // `sha256sum` of SMOKE's bytes.
        assert_eq!(record.entries[0].sha256, "d7378e9efe8584b262aafdc87e4be922ac1c9558e40e4dcfd00bdfd2711f3dcb");
        assert_eq!(record.verdict(), "every step passed (2 files of evidence)");
    }

    #[test]
    fn a_rolled_back_cut_over_and_a_failed_check_fail_the_record() {
        let failed = r#"{"apiVersion": "ferry.dev/v1alpha1", "kind": "Evidence", "step": "volumes", "checks": [{"passed": true}, {"passed": false, "detail": "2 paths differ"}]}"#;
        let record = Record::read(&[file("v.json", failed.into()), file("t.json", timeline("rolled_back")), file("dry.json", timeline("dry_run"))]).unwrap();
        assert!(!record.passed);
        assert_eq!(record.entries.iter().map(|e| e.status).collect::<Vec<_>>(), [Status::Failed, Status::Failed, Status::Info]);
        assert_eq!(record.entries[0].summary, "1 of 2 checks failed; first: 2 paths differ");
        assert!(record.entries[1].summary.starts_with("rolled back: old 100 / new 0 restored: new-shop (new): status 500;"), "{}", record.entries[1].summary);
        assert_eq!(record.verdict(), "2 of 3 steps FAILED: volumes (v.json), cutover (t.json)");
        assert!(!Record::read(&[]).unwrap().passed, "no evidence is no proof");
        let claimed = r#"{"format": "ferry.verify/v1", "verdict": "ready", "source": "s", "target": "t", "checkedAt": "2026-12-07T08:00:00Z",
            "compared": 1, "atParity": 0, "transformed": 0, "defaulted": 0, "leftOut": 0, "problems": [], "readiness": [], "evidence": [], "extra": [],
            "differences": [{"apiVersion": "v1", "kind": "ConfigMap", "namespace": "shop", "name": "a", "difference": "missing"}]}"#;
        let record = Record::read(&[file("claimed.json", claimed.into())]).unwrap();
        assert_eq!(
            (record.entries[0].status, record.entries[0].summary.as_str()),
            (Status::Failed, "not trusted: its `verdict` is ready, but its findings give differences")
        );
    }

    #[test]
    fn bad_files_are_refused_with_the_file_and_the_field() {
        let error = |bytes: &[u8]| Record::read(&[file("x.json", bytes.to_vec())]).unwrap_err().to_string();
        assert!(error(b"{").starts_with("x.json: not JSON: EOF while parsing"), "{}", error(b"{"));
        let missing = error(br#"{"format": "ferry.cutover.timeline/v1", "outcome": "completed"}"#);
        assert!(missing.contains("x.json: not a valid `ferry.cutover.timeline/v1` document: missing field `worst_case_rollback_ms`"), "{missing}");
        let foreign = error(br#"{"apiVersion": "v1", "kind": "ConfigMap"}"#);
        assert!(foreign.starts_with("x.json: not a ferry evidence file") && foreign.contains("ferry.verify/v1"), "{foreign}");
    }
}
