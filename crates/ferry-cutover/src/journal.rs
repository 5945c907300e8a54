//! The cut-over journal: JSON lines, one record written (and fsync'd) before and one after each
//! weight change, so that a killed run can be resumed (`--resume`) or undone (`--rollback`).
//! The file is locked while a run holds it, so two runs can never share one journal.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::driver::Weights;

/// One line of the journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Record {
    /// The run began; what to restore on `--rollback`.
    Started {
        /// SHA-256 of the plan's text: `--resume` refuses another plan.
        plan_sha256: String,
        /// The weights before the first change.
        original: Weights,
        /// The TTL before the cut-over, if the driver has one.
        original_ttl: Option<u32>,
    },
    /// The TTL was lowered for the cut-over.
    TtlLowered {
        /// The new TTL.
        ttl: u32,
    },
    /// About to put a step's weights in force.
    Setting {
        /// Index in the plan's steps.
        step: usize,
        /// Percent to the new side.
        percent: u8,
    },
    /// The step's weights are in force; its gates are next.
    Set {
        /// Index in the plan's steps.
        step: usize,
    },
    /// The step baked with its gates holding.
    Passed {
        /// Index in the plan's steps.
        step: usize,
    },
    /// About to restore `to`.
    RollingBack {
        /// The weights being restored.
        to: Weights,
        /// Why.
        reason: String,
    },
    /// `to` is in force again; the run is over.
    RolledBack {
        /// The weights restored.
        to: Weights,
    },
    /// Every step passed; the run is over.
    Completed,
}

/// An open, locked journal.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
}

impl Journal {
    /// Opens (creating it if needed) and locks the journal; fails if another run holds it.
    pub fn open(path: &Path) -> Result<Journal, Error> {
        let file = OpenOptions::new().create(true).read(true).append(true).open(path).map_err(journal_err(path))?;
        file.try_lock().map_err(|_| Error::Journal { path: path.to_owned(), message: "another ferry cutover holds this journal".into() })?;
        // A line torn by a kill is cut off, so that the next record starts a line of its own.
        let text = std::fs::read(path).map_err(journal_err(path))?;
        if text.last().is_some_and(|&b| b != b'\n') {
            let keep = text.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
            file.set_len(keep as u64).map_err(journal_err(path))?;
        }
        Ok(Journal { path: path.to_owned(), file })
    }

    /// The records written so far; a last line torn by a kill is ignored.
    pub fn records(&self) -> Result<Vec<Record>, Error> {
        let text = std::fs::read_to_string(&self.path).map_err(journal_err(&self.path))?;
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        let mut records = Vec::with_capacity(lines.len());
        for (i, line) in lines.iter().enumerate() {
            match serde_json::from_str(line) {
                Ok(record) => records.push(record),
                Err(_) if i + 1 == lines.len() && !text.ends_with('\n') => {}
                Err(e) => {
                    return Err(Error::Journal { path: self.path.clone(), message: format!("line {}: {e}", i + 1) });
                }
            }
        }
        Ok(records)
    }

    /// Appends a record and waits until it is on disk.
    pub fn append(&mut self, record: &Record) -> Result<(), Error> {
        let mut line = serde_json::to_string(record).map_err(|e| Error::Journal { path: self.path.clone(), message: e.to_string() })?;
        line.push('\n');
        self.file.write_all(line.as_bytes()).map_err(journal_err(&self.path))?;
        self.file.sync_data().map_err(journal_err(&self.path))
    }

    /// The journal's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn journal_err(path: &Path) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.to_owned();
    move |e| Error::Journal { path, message: e.to_string() }
}

/// Where a journal's records leave a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    /// The plan's digest.
    pub plan_sha256: String,
    /// The weights before the run.
    pub original: Weights,
    /// The TTL before the run.
    pub original_ttl: Option<u32>,
    /// Whether the TTL was lowered.
    pub ttl_lowered: bool,
    /// The last step whose gates held.
    pub last_passed: Option<usize>,
    /// Whether any step's weights were touched.
    pub any_step_set: bool,
    /// Weights a rollback was restoring when the run stopped, if it did not finish.
    pub rolling_back: Option<Weights>,
    /// Whether the run ended (completed or rolled back).
    pub finished: bool,
}

impl Progress {
    /// Reads the progress from records; `None` for an empty journal.
    pub fn of(records: &[Record]) -> Option<Progress> {
        let Some(Record::Started { plan_sha256, original, original_ttl }) = records.first() else {
            return None;
        };
        let mut progress = Progress {
            plan_sha256: plan_sha256.clone(),
            original: *original,
            original_ttl: *original_ttl,
            ttl_lowered: false,
            last_passed: None,
            any_step_set: false,
            rolling_back: None,
            finished: false,
        };
        for record in &records[1..] {
            match record {
                Record::TtlLowered { .. } => progress.ttl_lowered = true,
                Record::Setting { .. } => progress.any_step_set = true,
                Record::Passed { step } => progress.last_passed = Some(*step),
                Record::RollingBack { to, .. } => progress.rolling_back = Some(*to),
                Record::RolledBack { .. } | Record::Completed => (progress.finished, progress.rolling_back) = (true, None),
                Record::Started { .. } | Record::Set { .. } => {}
            }
        }
        Some(progress)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_a_torn_last_line_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let mut journal = Journal::open(&path).unwrap();
        let started = Record::Started { plan_sha256: "ab".into(), original: Weights { old: 100, new: 0 }, original_ttl: Some(300) };
        journal.append(&started).unwrap();
        journal.append(&Record::Setting { step: 0, percent: 0 }).unwrap();
        journal.append(&Record::Passed { step: 0 }).unwrap();
        std::fs::OpenOptions::new().append(true).open(&path).unwrap().write_all(b"{\"event\":\"set").unwrap();
        let records = journal.records().unwrap();
        assert_eq!(records.len(), 3);
        drop(journal);
        let mut journal = Journal::open(&path).unwrap();
        journal.append(&Record::Completed).unwrap();
        assert_eq!(journal.records().unwrap().len(), 4);
        let progress = Progress::of(&records).unwrap();
        assert_eq!((progress.last_passed, progress.any_step_set, progress.finished), (Some(0), true, false));
    }

    #[test]
    fn a_second_run_cannot_open_a_held_journal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let held = Journal::open(&path).unwrap();
        assert!(Journal::open(&path).unwrap_err().to_string().contains("another ferry cutover"));
        drop(held);
        Journal::open(&path).unwrap();
    }
}
