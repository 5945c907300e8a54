//! Progress on the terminal while a cluster is read (one bar over the lists,
//! with the resource being read and the objects so far) and while objects are
//! applied (one bar over the objects, with the step). Hidden when stderr is
//! not a terminal, so logs and CI output stay clean.

use std::sync::atomic::{AtomicU64, Ordering};

use ferry_cluster::apply::{ApplyProgress, Outcome};
use ferry_cluster::{Progress, Resource};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A bar on stderr, drawn only on a terminal: a spinner, `what`, the bar, the message, the time.
fn stderr_bar(what: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    let template = format!("{{spinner}} {what} [{{bar:30}}] {{msg}} ({{elapsed}})");
    bar.set_style(ProgressStyle::with_template(&template).expect("valid template").progress_chars("=> "));
    bar
}

/// A progress bar for [`ferry_cluster::read`].
pub struct ReadBar {
    bar: ProgressBar,
    objects: AtomicU64,
}

impl ReadBar {
    /// A bar on stderr (drawn only on a terminal).
    pub fn stderr() -> ReadBar {
        ReadBar { bar: stderr_bar("reading {pos}/{len} resource lists"), objects: AtomicU64::new(0) }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Progress for ReadBar {
    fn started(&self, lists: usize) {
        self.bar.set_length(lists as u64);
    }

    fn page(&self, resource: &Resource, objects: usize) {
        let total = self.objects.fetch_add(objects as u64, Ordering::Relaxed) + objects as u64;
        self.bar.set_message(format!("{total} objects, now {}", resource.qualified()));
    }

    fn list_done(&self, _resource: &Resource) {
        self.bar.inc(1);
    }
}

/// A progress bar for [`ferry_cluster::apply::apply`]: objects done of all, and the step.
pub struct ApplyBar {
    bar: ProgressBar,
}

impl ApplyBar {
    /// A bar on stderr (drawn only on a terminal).
    pub fn stderr() -> ApplyBar {
        ApplyBar { bar: stderr_bar("applying {pos}/{len} objects") }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl ApplyProgress for ApplyBar {
    fn started(&self, total: usize) {
        self.bar.set_length(total as u64);
    }

    fn step(&self, name: &str, _objects: usize) {
        self.bar.set_message(name.to_owned());
    }

    fn applied(&self, _id: &ferry_model::ObjectId, _outcome: &Outcome) {
        self.bar.inc(1);
    }
}

/// A bar over the images of `ferry images copy`, with the bytes sent so far.
pub struct CopyBar {
    bar: ProgressBar,
    bytes: AtomicU64,
}

impl CopyBar {
    /// A bar on stderr over `images` images (drawn only on a terminal).
    pub fn stderr(images: usize) -> CopyBar {
        let bar = stderr_bar("copying {pos}/{len} images");
        bar.set_length(images as u64);
        CopyBar { bar, bytes: AtomicU64::new(0) }
    }

    /// Clears the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl ferry_images::copy::CopyProgress for CopyBar {
    fn sent(&self, bytes: u64) {
        let total = self.bytes.fetch_add(bytes, Ordering::Relaxed) + bytes;
        self.bar.set_message(format!("{} sent", indicatif::HumanBytes(total)));
    }

    fn image_done(&self, _: &ferry_images::ImageEvidence) {
        self.bar.inc(1);
    }
}
