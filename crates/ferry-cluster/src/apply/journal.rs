//! The apply journal: one line per object applied, so that an interrupted run
//! can be finished with `--resume` without applying anything twice.
//!
//! The file is JSON lines: a header naming the run (archive and target), one
//! line per finished object, and a `complete` line at the end. Each line is
//! written with one `write` call, so a killed ferry leaves at most a partial
//! last line, which is ignored on resume (that object is applied again, which
//! server-side apply makes harmless). The file is synced at the end of every
//! step, so a machine crash loses at most the current step's records.
//!
//! A run holds an exclusive lock (`flock`) on `PATH.lock`, which records its process ID, from
//! opening the journal until it is dropped, so a second apply with the same journal is refused
//! instead of interleaving its records with the first's.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Why the journal cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// An earlier run of the same apply stopped before the end.
    #[error("an interrupted apply was found in {path} ({done} objects applied)")]
    Interrupted {
        /// The journal file.
        path: PathBuf,
        /// Objects the earlier run recorded as done.
        done: usize,
    },
    /// `--resume` was given but there is nothing to resume.
    #[error("nothing to resume: {0}")]
    NothingToResume(String),
    /// The journal belongs to another archive or another target.
    #[error("{path} records an apply of another archive or to another cluster ({recorded}); this run is {wanted}")]
    OtherRun {
        /// The journal file.
        path: PathBuf,
        /// The run the journal records.
        recorded: String,
        /// The run asked for.
        wanted: String,
    },
    /// Another ferry is applying with the same journal.
    #[error("{} is in use by another ferry apply (process {}); wait for it to finish", path.display(), pid.as_deref().unwrap_or("unknown"))]
    Busy {
        /// The journal file.
        path: PathBuf,
        /// The process ID the other run recorded in the lock file, if it could be read.
        pid: Option<String>,
    },
    /// The file could not be read or written.
    #[error("journal {path}: {error}")]
    Io {
        /// The journal file.
        path: PathBuf,
        /// The I/O error.
        error: std::io::Error,
    },
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Line {
    Header { ferry_journal: u32, run: String },
    Done { object: String, outcome: String },
    Complete,
}

/// An open journal (or none, for dry runs).
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: Option<File>,
    done: HashSet<String>,
    /// The locked `PATH.lock`, held while the journal is open.
    _lock: Option<File>,
}

impl Journal {
    /// A journal that records nothing (dry runs).
    pub fn disabled() -> Journal {
        Journal { path: PathBuf::new(), file: None, done: HashSet::new(), _lock: None }
    }

    /// Opens the journal at `path` for the run named `run` (archive digest and target).
    /// Without `resume`, a finished or absent journal is started afresh and an
    /// interrupted one is an error; with `resume`, an interrupted journal of the
    /// same run is continued and anything else is an error.
    pub fn open(path: &Path, run: &str, resume: bool) -> Result<Journal, JournalError> {
        let io = |error| JournalError::Io { path: path.to_owned(), error };
        let lock = lock(path)?;
        let previous = match std::fs::read_to_string(path) {
            Ok(text) => Some(read_previous(&text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(io(e)),
        };
        // A run killed between creating the journal and writing its header recorded nothing.
        let headerless = previous.as_ref().is_some_and(|p| p.run.is_empty());
        let mut cut_off = false;
        let done = match (previous, resume) {
            (None, true) => return Err(JournalError::NothingToResume(format!("{} does not exist", path.display()))),
            (Some(_), _) if headerless => HashSet::new(),
            (Some(p), true) if p.complete => return Err(JournalError::NothingToResume(format!("the apply recorded in {} finished", path.display()))),
            (Some(p), true) if p.run != run => return Err(JournalError::OtherRun { path: path.to_owned(), recorded: p.run, wanted: run.to_owned() }),
            (Some(p), true) => {
                cut_off = p.cut_off;
                p.done
            }
            (Some(p), false) if !p.complete => return Err(JournalError::Interrupted { path: path.to_owned(), done: p.done.len() }),
            (_, false) => HashSet::new(),
        };
        let file = if resume && !headerless { append(path, cut_off) } else { start(path, run) }.map_err(io)?;
        Ok(Journal { path: path.to_owned(), file: Some(file), done, _lock: Some(lock) })
    }

    /// Whether an earlier run recorded `object` as applied.
    pub fn is_done(&self, object: &str) -> bool {
        self.done.contains(object)
    }

    /// Objects an earlier run recorded as applied.
    pub fn done_before(&self) -> usize {
        self.done.len()
    }

    /// Records `object` as finished with `outcome`.
    pub fn record(&mut self, object: &str, outcome: &str) -> Result<(), JournalError> {
        self.write(&Line::Done { object: object.to_owned(), outcome: outcome.to_owned() })
    }

    /// Flushes the records to disk (at the end of a step).
    pub fn sync(&mut self) -> Result<(), JournalError> {
        match &self.file {
            Some(file) => file.sync_data().map_err(|error| JournalError::Io { path: self.path.clone(), error }),
            None => Ok(()),
        }
    }

    /// Marks the run complete: a later run starts afresh.
    pub fn complete(mut self) -> Result<(), JournalError> {
        self.write(&Line::Complete)?;
        self.sync()
    }

    /// The journal file (empty for a disabled journal).
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn write(&mut self, line: &Line) -> Result<(), JournalError> {
        let Some(file) = &mut self.file else { return Ok(()) };
        let mut text = serde_json::to_string(line).expect("journal lines serialize");
        text.push('\n');
        file.write_all(text.as_bytes()).map_err(|error| JournalError::Io { path: self.path.clone(), error })
    }
}

struct Previous {
    run: String,
    done: HashSet<String>,
    complete: bool,
    /// The last line has no newline: a kill cut it off.
    cut_off: bool,
}

/// Reads an earlier journal; a line that does not parse (cut off by a kill) is skipped.
fn read_previous(text: &str) -> Previous {
    let cut_off = !text.is_empty() && !text.ends_with('\n');
    let mut previous = Previous { run: String::new(), done: HashSet::new(), complete: false, cut_off };
    for line in text.lines() {
        match serde_json::from_str::<Line>(line) {
            Ok(Line::Header { run, .. }) => previous.run = run,
            Ok(Line::Done { object, .. }) => {
                previous.done.insert(object);
            }
            Ok(Line::Complete) => previous.complete = true,
            Err(_) => continue,
        }
    }
    previous
}

/// Takes the exclusive lock of the journal at `path` (on `PATH.lock`, made if needed, without
/// following a link) and records this process's ID in it; refuses if another process holds it.
fn lock(path: &Path) -> Result<File, JournalError> {
    use std::io::Read as _;
    use std::os::fd::AsRawFd as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let io = |error| JournalError::Io { path: path.to_owned(), error };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    let mut file = OpenOptions::new().read(true).write(true).create(true).truncate(false).mode(0o600).custom_flags(libc::O_NOFOLLOW).open(&name).map_err(io)?;
    // SAFETY: flock on a file descriptor this function owns.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        let error = std::io::Error::last_os_error();
        if error.kind() != std::io::ErrorKind::WouldBlock {
            return Err(io(error));
        }
        let mut pid = String::new();
        let pid = file.read_to_string(&mut pid).ok().map(|_| pid.trim().to_owned()).filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
        return Err(JournalError::Busy { path: path.to_owned(), pid });
    }
    file.set_len(0).and_then(|()| write!(file, "{}", std::process::id())).map_err(io)?;
    Ok(file)
}

fn start(path: &Path, run: &str) -> std::io::Result<File> {
    let mut file = File::create(path)?;
    let mut header = serde_json::to_string(&Line::Header { ferry_journal: 1, run: run.to_owned() }).expect("journal lines serialize");
    header.push('\n');
    file.write_all(header.as_bytes())?;
    Ok(file)
}

/// Reopens for appending; a cut-off last line is first ended so that the next record starts cleanly.
fn append(path: &Path, cut_off: bool) -> std::io::Result<File> {
    let mut file = OpenOptions::new().append(true).open(path)?;
    if cut_off {
        file.write_all(b"\n")?;
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_interrupted_run_is_refused_without_resume_and_continued_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j/apply.journal");
        let mut journal = Journal::open(&path, "run-a", false).unwrap();
        journal.record("apps/Deployment/shop/cart", "created").unwrap();
        journal.record("Service/shop/cart", "created").unwrap();
        drop(journal);
        // A kill in the middle of a write leaves a partial line.
        OpenOptions::new().append(true).open(&path).unwrap().write_all(b"{\"done\":{\"obj").unwrap();

        assert!(matches!(Journal::open(&path, "run-a", false), Err(JournalError::Interrupted { done: 2, .. })));
        assert!(matches!(Journal::open(&path, "run-b", true), Err(JournalError::OtherRun { .. })));
        let mut resumed = Journal::open(&path, "run-a", true).unwrap();
        assert!(resumed.is_done("Service/shop/cart"));
        assert!(!resumed.is_done("ConfigMap/shop/x"));
        resumed.record("ConfigMap/shop/x", "created").unwrap();
        resumed.complete().unwrap();

        assert!(matches!(Journal::open(&path, "run-a", true), Err(JournalError::NothingToResume(_))));
        let fresh = Journal::open(&path, "run-a", false).unwrap();
        assert_eq!(fresh.done_before(), 0);
    }

    #[test]
    fn a_journal_cut_off_before_its_header_is_started_afresh_with_or_without_resume() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("apply.journal");
        for (cut, resume) in [("", true), ("{\"header\":{\"ferry_jou", true), ("", false)] {
            std::fs::write(&path, cut).unwrap();
            let mut journal = Journal::open(&path, "run-a", resume).unwrap();
            assert_eq!(journal.done_before(), 0);
            journal.record("ConfigMap/shop/x", "created").unwrap();
            drop(journal);
            let resumed = Journal::open(&path, "run-a", true).unwrap();
            assert!(resumed.is_done("ConfigMap/shop/x"), "{cut:?} resume {resume}: the new header and record were written");
        }
    }

    #[test]
    fn a_second_run_on_the_same_journal_is_refused_with_the_first_run_s_pid() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("apply.journal");
        let first = Journal::open(&path, "run-a", false).unwrap();
        let error = Journal::open(&path, "run-a", false).unwrap_err();
        assert!(matches!(&error, JournalError::Busy { pid: Some(pid), .. } if *pid == std::process::id().to_string()), "{error}");
        assert!(error.to_string().contains(&format!("in use by another ferry apply (process {})", std::process::id())), "{error}");
        first.complete().unwrap();
        Journal::open(&path, "run-a", false).expect("the lock goes with the first run");
    }

    #[test]
    fn resume_without_a_journal_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let error = Journal::open(&dir.path().join("none"), "run", true).unwrap_err();
        assert!(error.to_string().contains("does not exist"), "{error}");
    }
}
