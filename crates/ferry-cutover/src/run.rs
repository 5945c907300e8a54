//! The cut-over run: validate, lower the TTL, then step by step set the weights, bake with the
//! gates evaluated every interval, roll back to the last good weights when a gate fails, watch
//! the old side after 100 % and restore the TTL. Every weight change is journalled before and
//! after, so that a killed run resumes (`Mode::Resume`) or is undone (`Mode::Rollback`).

use std::path::Path;
use std::time::{Duration, Instant};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::Error;
use crate::driver::{Driver, Weights};
use crate::gate::{Gate, Verdict};
use crate::journal::{Journal, Progress, Record};
use crate::plan::Plan;

/// What the run does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A new cut-over (the journal must be empty).
    Fresh,
    /// Go on with the run the journal records, from the first step whose gates did not hold (or
    /// finish the rollback it was making).
    Resume,
    /// Restore the weights and TTL the journal recorded before the first change.
    Rollback,
    /// Check the plan and the driver, print what would happen, change nothing.
    DryRun,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Every step passed.
    Completed,
    /// A gate failed and the last good weights were restored.
    RolledBack,
    /// `--rollback` restored the original weights.
    Restored,
    /// `--dry-run`: nothing changed.
    DryRun,
}

/// One line of the timeline.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    /// Milliseconds since the run began.
    pub at_ms: u64,
    /// The step's index, if the event belongs to one.
    pub step: Option<usize>,
    /// The step's percent to the new side.
    pub percent: Option<u8>,
    /// What happened (`set`, `gate`, `passed`, `rollback`, ...).
    pub action: &'static str,
    /// Details for people.
    pub detail: String,
    /// The weights in force after the event, for the events that read or change them
    /// (`plan`, `set`, `rollback`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weights: Option<Weights>,
    /// The gates' verdicts, for `gate` events.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub verdicts: Vec<Verdict>,
}

/// The `format` of a saved timeline (`ferry cutover -o json`), read back by `ferry report`.
pub const TIMELINE_FORMAT: &str = "ferry.cutover.timeline/v1";

/// What a run did.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Always [`TIMELINE_FORMAT`].
    pub format: &'static str,
    /// How it ended.
    pub outcome: Outcome,
    /// The longest a failing gate can take to bring the last good weights back into force, in milliseconds.
    pub worst_case_rollback_ms: u64,
    /// The timeline.
    pub events: Vec<Event>,
}

/// A cut-over about to run: plan, driver, gates, journal and an observer of the timeline.
pub struct Cutover<'a> {
    plan: Plan,
    plan_sha256: String,
    driver: Box<dyn Driver>,
    gates: Vec<Box<dyn Gate>>,
    observer: &'a mut dyn FnMut(&Event),
    started: Instant,
    events: Vec<Event>,
}

impl<'a> Cutover<'a> {
    /// Parses the plan text and builds its driver and gates (reads the API key; no network yet).
    pub fn new(plan_text: &str, observer: &'a mut dyn FnMut(&Event)) -> Result<Cutover<'a>, Error> {
        let plan = Plan::parse(plan_text)?;
        let driver = crate::driver::from_config(&plan.driver)?;
        let gates = crate::gate::from_plan(&plan.gates)?;
        let plan_sha256 = Sha256::digest(plan_text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
        Ok(Cutover { plan, plan_sha256, driver, gates, observer, started: Instant::now(), events: Vec::new() })
    }

    /// Runs in `mode` with the journal at `journal` (not opened for a dry run).
    pub fn run(mut self, mode: Mode, journal: &Path) -> Result<Report, Error> {
        self.driver.check()?;
        let outcome = match mode {
            Mode::DryRun => self.dry_run()?,
            Mode::Fresh => self.fresh(Journal::open(journal)?)?,
            Mode::Resume => self.resume(Journal::open(journal)?)?,
            Mode::Rollback => self.rollback(Journal::open(journal)?)?,
        };
        Ok(Report { format: TIMELINE_FORMAT, outcome, worst_case_rollback_ms: self.worst_case_rollback().as_millis() as u64, events: self.events })
    }

    /// Gate interval × (failures allowed + 1) + one evaluation's longest probe time + the DNS TTL.
    pub fn worst_case_rollback(&self) -> Duration {
        let evaluations = self.plan.gate_interval.0 * (self.plan.failures_allowed + 1);
        let probing = self.gates.iter().map(|g| g.longest()).sum::<Duration>();
        let ttl = Duration::from_secs(u64::from(self.driver.cutover_ttl().unwrap_or(0)));
        evaluations + probing + ttl
    }

    fn emit(&mut self, step: Option<usize>, action: &'static str, detail: String, verdicts: Vec<Verdict>) {
        self.emit_with(step, action, detail, None, verdicts);
    }

    /// [`Self::emit`] of an event that reads or changes the weights.
    fn emit_weights(&mut self, step: Option<usize>, action: &'static str, detail: String, weights: Weights) {
        self.emit_with(step, action, detail, Some(weights), Vec::new());
    }

    fn emit_with(&mut self, step: Option<usize>, action: &'static str, detail: String, weights: Option<Weights>, verdicts: Vec<Verdict>) {
        let percent = step.map(|s| self.plan.steps[s]);
        let event = Event { at_ms: self.started.elapsed().as_millis() as u64, step, percent, action, detail, weights, verdicts };
        (self.observer)(&event);
        self.events.push(event);
    }

    fn announce(&mut self) -> Result<Weights, Error> {
        let weights = self.driver.weights()?;
        let detail = format!("{}: {weights} now; worst-case time to roll back {:?}", self.driver.describe(), self.worst_case_rollback());
        self.emit_weights(None, "plan", detail, weights);
        Ok(weights)
    }

    /// The plan's preconditions, each met one in the timeline; the first that fails stops the run.
    fn check_requires(&mut self) -> Result<(), Error> {
        for met in self.plan.requires.check(jiff::Timestamp::now())? {
            self.emit(None, "required", met, Vec::new());
        }
        Ok(())
    }

    fn dry_run(&mut self) -> Result<Outcome, Error> {
        self.check_requires()?;
        self.announce()?;
        for step in 0..self.plan.steps.len() {
            let detail = format!("would set {} and bake {}", Weights::percent_new(self.plan.steps[step]), self.plan.bake);
            self.emit(Some(step), "would_set", detail, Vec::new());
        }
        Ok(Outcome::DryRun)
    }

    fn fresh(&mut self, mut journal: Journal) -> Result<Outcome, Error> {
        if !journal.records()?.is_empty() {
            return Err(Error::Journal {
                path: journal.path().to_owned(),
                message: "holds an earlier run: use --resume to go on with it, --rollback to undo it, or remove it".into(),
            });
        }
        self.check_requires()?;
        let original = self.announce()?;
        let original_ttl = self.driver.ttl()?;
        journal.append(&Record::Started { plan_sha256: self.plan_sha256.clone(), original, original_ttl })?;
        self.lower_ttl(&mut journal, original_ttl)?;
        self.steps(&mut journal, 0, original, original_ttl)
    }

    fn resume(&mut self, mut journal: Journal) -> Result<Outcome, Error> {
        let progress = self.progress(&journal)?;
        if progress.finished {
            return Err(Error::Journal { path: journal.path().to_owned(), message: "the run it records has ended; nothing to resume".into() });
        }
        self.announce()?;
        if let Some(to) = progress.rolling_back {
            self.restore(&mut journal, to, "finishing the rollback the interrupted run began".into())?;
            self.restore_ttl(progress.original_ttl)?;
            return Ok(Outcome::RolledBack);
        }
        if !progress.ttl_lowered || !progress.any_step_set {
            self.lower_ttl(&mut journal, progress.original_ttl)?;
        }
        let (next, last_good) = match progress.last_passed {
            Some(step) => (step + 1, Weights::percent_new(self.plan.steps[step])),
            None => (0, progress.original),
        };
        self.emit(next.checked_sub(1), "resume", format!("resuming after {} passed step(s)", next), Vec::new());
        self.steps(&mut journal, next, last_good, progress.original_ttl)
    }

    fn rollback(&mut self, mut journal: Journal) -> Result<Outcome, Error> {
        let progress = self.progress(&journal)?;
        self.announce()?;
        self.restore(&mut journal, progress.original, "asked for (--rollback)".into())?;
        self.restore_ttl(progress.original_ttl)?;
        Ok(Outcome::Restored)
    }

    /// The journal's progress, checked against this plan.
    fn progress(&self, journal: &Journal) -> Result<Progress, Error> {
        let records = journal.records()?;
        let progress = Progress::of(&records).ok_or_else(|| Error::Journal { path: journal.path().to_owned(), message: "records no run".into() })?;
        if progress.plan_sha256 != self.plan_sha256 {
            return Err(Error::Journal { path: journal.path().to_owned(), message: "was written for another plan (its SHA-256 differs)".into() });
        }
        Ok(progress)
    }

    /// Lowers the TTL to the plan's and waits until answers cached with the old one expired.
    fn lower_ttl(&mut self, journal: &mut Journal, original_ttl: Option<u32>) -> Result<(), Error> {
        let (Some(ttl), Some(original)) = (self.driver.cutover_ttl(), original_ttl) else {
            return Ok(());
        };
        if ttl >= original {
            return Ok(());
        }
        self.driver.set_ttl(ttl)?;
        journal.append(&Record::TtlLowered { ttl })?;
        self.emit(None, "ttl", format!("TTL {original}s → {ttl}s; waiting {original}s for cached answers to expire"), Vec::new());
        std::thread::sleep(Duration::from_secs(u64::from(original)));
        Ok(())
    }

    fn restore_ttl(&mut self, original_ttl: Option<u32>) -> Result<(), Error> {
        if let Some(ttl) = original_ttl.filter(|&t| self.driver.ttl().ok().flatten() != Some(t)) {
            self.driver.set_ttl(ttl)?;
            self.emit(None, "ttl", format!("TTL restored to {ttl}s"), Vec::new());
        }
        Ok(())
    }

    /// Runs the steps from `first`; `last_good` is what a failing gate restores.
    fn steps(&mut self, journal: &mut Journal, first: usize, mut last_good: Weights, original_ttl: Option<u32>) -> Result<Outcome, Error> {
        for step in first..self.plan.steps.len() {
            let weights = Weights::percent_new(self.plan.steps[step]);
            journal.append(&Record::Setting { step, percent: self.plan.steps[step] })?;
            self.driver.set_weights(weights)?;
            journal.append(&Record::Set { step })?;
            self.emit_weights(Some(step), "set", weights.to_string(), weights);
            if let Err(reason) = self.bake(step) {
                self.restore(journal, last_good, reason)?;
                self.restore_ttl(original_ttl)?;
                return Ok(Outcome::RolledBack);
            }
            journal.append(&Record::Passed { step })?;
            self.emit(Some(step), "passed", format!("gates held for {}", self.plan.bake), Vec::new());
            last_good = weights;
        }
        self.watch_old()?;
        self.restore_ttl(original_ttl)?;
        journal.append(&Record::Completed)?;
        self.emit(None, "completed", "all traffic on the new side".into(), Vec::new());
        Ok(Outcome::Completed)
    }

    /// Evaluates the gates every interval for the bake time; the reason of the failure that
    /// exceeded the failures allowed.
    fn bake(&mut self, step: usize) -> Result<(), String> {
        let start = Instant::now();
        let interval = self.plan.gate_interval.0;
        let evaluations = (self.plan.bake.0.as_millis() / interval.as_millis()).max(1) as u32;
        let mut failures = 0;
        for n in 1..=evaluations {
            std::thread::sleep((start + interval * n).saturating_duration_since(Instant::now()));
            let verdicts: Vec<Verdict> = self.gates.iter().map(|g| g.evaluate()).collect();
            let failed: Vec<String> =
                verdicts.iter().filter(|v| !v.passed).map(|v| format!("{} ({}): {}", v.gate, v.side, v.reason.clone().unwrap_or_default())).collect();
            failures = if failed.is_empty() { 0 } else { failures + 1 };
            let detail = if failed.is_empty() { format!("{} gate(s) held", verdicts.len()) } else { format!("failure {failures}: {}", failed.join("; ")) };
            self.emit(Some(step), "gate", detail, verdicts);
            if failures > self.plan.failures_allowed {
                return Err(failed.join("; "));
            }
        }
        Ok(())
    }

    /// Puts `to` back in force, journalled before and after.
    fn restore(&mut self, journal: &mut Journal, to: Weights, reason: String) -> Result<(), Error> {
        journal.append(&Record::RollingBack { to, reason: reason.clone() })?;
        self.driver.set_weights(to)?;
        journal.append(&Record::RolledBack { to })?;
        self.emit_weights(None, "rollback", format!("{to} restored: {reason}"), to);
        Ok(())
    }

    /// Watches the old side for the plan's time and reports the traffic it still served.
    fn watch_old(&mut self) -> Result<(), Error> {
        if self.plan.watch_old.0.is_zero() {
            return Ok(());
        }
        let before = self.driver.residual()?;
        std::thread::sleep(self.plan.watch_old.0);
        let detail = match (before, self.driver.residual()?) {
            (Some(b), Some(a)) if a.total_sessions == b.total_sessions && a.current_sessions == 0 => {
                format!("old side idle: no session in {}", self.plan.watch_old)
            }
            (Some(b), Some(a)) => format!(
                "old side NOT idle: {} new session(s) in {}, {} open",
                a.total_sessions.saturating_sub(b.total_sessions),
                self.plan.watch_old,
                a.current_sessions
            ),
            _ => format!("watched {}; the driver cannot count the old side's traffic", self.plan.watch_old),
        };
        self.emit(None, "watch_old", detail, Vec::new());
        Ok(())
    }
}
