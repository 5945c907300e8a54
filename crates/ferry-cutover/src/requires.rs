//! What must hold before the first step of a fresh run: a recent `ferry verify` report whose
//! findings give the verdict `ready` (a written verdict they contradict is not trusted), and evidence files (volumes, images, smoke tests) whose every check
//! passed. Nothing moves while any of it is missing, stale or failed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use ferry_verify::{Saved, Verdict};
use serde::Deserialize;

use crate::Error;
use crate::plan::Span;

/// The plan's `requires` section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requires {
    /// A `ferry verify -o json` report, saved; its findings must give the verdict `ready`.
    #[serde(default)]
    pub verify_report: Option<PathBuf>,
    /// How old the report may be (default 1h), from its `checkedAt`.
    #[serde(default)]
    pub max_age: Option<Span>,
    /// Evidence files of other steps (`ferry volumes`, `ferry images copy`, `ferry smoke`); every check must have passed.
    #[serde(default)]
    pub evidence: Vec<PathBuf>,
}

/// The age a verify report may have when the plan sets none.
const DEFAULT_MAX_AGE: Duration = Duration::from_secs(3600);

impl Requires {
    /// Checks every precondition at `now`; returns one line per precondition met, or why the
    /// cut-over may not start.
    pub fn check(&self, now: jiff::Timestamp) -> Result<Vec<String>, Error> {
        let mut met = Vec::new();
        if let Some(path) = &self.verify_report {
            met.push(self.verify(path, now)?);
        }
        for path in &self.evidence {
            met.push(evidence(path)?);
        }
        Ok(met)
    }

    fn verify(&self, path: &Path, now: jiff::Timestamp) -> Result<String, Error> {
        let refuse = |why: String| Error::Precondition(format!("verify report {}: {why}", path.display()));
        let text = std::fs::read_to_string(path).map_err(|e| refuse(e.to_string()))?;
        let saved: Saved = serde_json::from_str(&text).map_err(|e| refuse(format!("not a `ferry verify -o json` report: {e}")))?;
        if saved.format != ferry_verify::report::FORMAT {
            return Err(refuse(format!("its `format` is `{}`, not `{}`", saved.format, ferry_verify::report::FORMAT)));
        }
        let verdict = saved.verdict_of_findings().map_err(|mismatch| refuse(format!("not trusted: {mismatch}")))?;
        let checked_at = saved.checked_at;
        let at: jiff::Timestamp = checked_at.parse().map_err(|e| refuse(format!("`checkedAt` {checked_at}: {e}")))?;
        let age = Duration::try_from(now.duration_since(at)).unwrap_or_default();
        let max_age = self.max_age.map_or(DEFAULT_MAX_AGE, |span| span.0);
        if age > max_age {
            return Err(refuse(format!(
                "checked at {checked_at}, {}s ago, more than `max_age` ({}s): run `ferry verify` again",
                age.as_secs(),
                max_age.as_secs()
            )));
        }
        if verdict != Verdict::Ready {
            return Err(refuse(format!("the verdict is `{}`, not `ready`", ferry_verify::report::verdict_name(verdict))));
        }
        Ok(format!("verify report {}: ready, checked at {checked_at}", path.display()))
    }
}

fn evidence(path: &Path) -> Result<String, Error> {
    let refuse = |why: String| Error::Precondition(format!("evidence {}: {why}", path.display()));
    let text = std::fs::read_to_string(path).map_err(|e| refuse(e.to_string()))?;
    let checks = ferry_verify::evidence::parse(&text).map_err(|e| refuse(e.to_string()))?;
    if checks.is_empty() {
        return Err(refuse("holds no check".into()));
    }
    let failed: Vec<String> = checks.iter().filter(|c| !c.passed).map(|c| format!("{}: {}", c.step, c.detail)).collect();
    if !failed.is_empty() {
        return Err(refuse(format!("{} of {} checks failed: {}", failed.len(), checks.len(), failed.join("; "))));
    }
    Ok(format!("evidence {}: {} checks passed", path.display(), checks.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// A readiness row of a Deployment that is not ready.
    const NOT_READY: &str =
        r#"{"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "shop", "name": "web", "state": "not-ready", "detail": "0/1 ready"}"#;

    /// A saved verify report with `verdict`, read at `checked_at`, whose readiness holds `row` (if any).
    fn verify_report(verdict: &str, checked_at: &str, row: &str) -> String {
        format!(
            r#"{{"format": "ferry.verify/v1", "verdict": "{verdict}", "source": "s", "target": "t", "checkedAt": "{checked_at}",
            "compared": 1, "atParity": 1, "transformed": 0, "defaulted": 0, "leftOut": 0, "problems": [], "readiness": [{row}],
            "evidence": [], "extra": [], "differences": []}}"#
        )
    }

    fn refusal(requires: &Requires, now: jiff::Timestamp) -> String {
        match requires.check(now) {
            Err(Error::Precondition(why)) => why,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn a_recent_ready_report_and_passed_evidence_let_the_cut_over_start() {
        let dir = tempfile::tempdir().unwrap();
        let now: jiff::Timestamp = "2026-12-07T03:00:00Z".parse().unwrap();
        let ready = write(dir.path(), "ready.json", &verify_report("ready", "2026-12-07T02:30:00Z", ""));
        let passed =
            write(dir.path(), "smoke.json", r#"{"apiVersion": "ferry.dev/v1alpha1", "kind": "Evidence", "step": "smoke", "checks": [{"passed": true}]}"#);
        let requires = Requires { verify_report: Some(ready.clone()), max_age: None, evidence: vec![passed.clone()] };
        assert_eq!(requires.check(now).unwrap().len(), 2);

        let stale = Requires { max_age: Some(Span(Duration::from_secs(600))), ..requires.clone() };
        assert!(refusal(&stale, now).contains("1800s ago, more than `max_age` (600s)"));
        let not_ready = write(dir.path(), "not-ready.json", &verify_report("not-ready", "2026-12-07T02:59:00Z", NOT_READY));
        assert!(refusal(&Requires { verify_report: Some(not_ready), ..requires.clone() }, now).contains("the verdict is `not-ready`"));
        let claimed = write(dir.path(), "claimed.json", &verify_report("ready", "2026-12-07T02:59:00Z", NOT_READY));
        let claimed = refusal(&Requires { verify_report: Some(claimed), ..requires.clone() }, now);
        assert!(claimed.contains("not trusted: its `verdict` is ready, but its findings give not-ready"), "{claimed}");
        let undated = write(dir.path(), "undated.json", r#"{"verdict": "ready"}"#);
        assert!(refusal(&Requires { verify_report: Some(undated), ..requires.clone() }, now).contains("not a `ferry verify -o json` report"));
        let foreign = write(dir.path(), "foreign.json", &verify_report("ready", "2026-12-07T02:59:00Z", "").replace("ferry.verify/v1", "other/v1"));
        assert!(refusal(&Requires { verify_report: Some(foreign), ..requires.clone() }, now).contains("its `format` is `other/v1`"));
        let failed = write(
            dir.path(),
            "failed.json",
            r#"{"apiVersion": "ferry.dev/v1alpha1", "kind": "Evidence", "step": "volumes", "checks": [{"passed": true}, {"passed": false, "detail": "2 paths differ"}]}"#,
        );
        assert!(refusal(&Requires { evidence: vec![passed, failed], ..requires.clone() }, now).contains("1 of 2 checks failed: volumes: 2 paths differ"));
        let missing = Requires { verify_report: Some(dir.path().join("absent.json")), ..requires };
        assert!(refusal(&missing, now).starts_with("verify report "));
    }
}
