//! Opening, reading and writing archives for the commands.

use ferry_archive::{ArchiveError, Batch, Destination, Encoder, Entry, Header, Keys, Manifest, Writer};
use ferry_cluster::Resource;
use ferry_model::{ObjectId, RawObject};
use serde::Serialize;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::args::{ArchiveSettings, KeyArgs};
use crate::error::CliError;

/// Where an archive is (or goes), parsed.
pub fn destination(text: &str, settings: &ArchiveSettings) -> Result<Destination, CliError> {
    Destination::parse(text, &settings.s3).map_err(|e| archive_error(&e))
}

/// The encryption keys given (`None` when none are: nothing is encrypted).
pub fn keys(args: &KeyArgs) -> Result<Option<Keys>, CliError> {
    let failed = |e: ArchiveError| CliError::failure("cannot use the encryption keys", &e);
    let mut keys = Keys::new();
    if let Some(path) = &args.encryption_key_file {
        keys.add_passphrase_file(path).map_err(failed)?;
    }
    if let Some(var) = &args.passphrase_env {
        let text = std::env::var(var)
            .map_err(|_| CliError::usage(format!("the environment variable `{var}` named by --passphrase-env is not set (or not text)"), None))?;
        keys.add_passphrase(text, &format!("${var}")).map_err(failed)?;
    }
    for recipient in &args.recipients {
        keys.add_recipient(recipient).map_err(failed)?;
    }
    for path in &args.recipients_files {
        keys.add_recipients_file(path).map_err(failed)?;
    }
    for path in &args.identities {
        keys.add_identity_file(path).map_err(failed)?;
    }
    Ok(Some(keys).filter(|keys| !keys.is_empty()))
}

/// An archive error for the user (its message names the archive and says what to do).
fn archive_error(error: &ArchiveError) -> CliError {
    CliError::failure("cannot use the archive", error)
}

/// Reads and verifies a whole archive.
pub async fn read(text: &str, settings: &ArchiveSettings) -> Result<(Manifest, Vec<Entry>), CliError> {
    let destination = destination(text, settings)?;
    let keys = keys(&settings.keys)?;
    let read = ferry_archive::read(&destination, keys.as_ref()).await.map_err(|e| archive_error(&e))?;
    if keys.is_some_and(|keys| keys.legacy_reads() > 0) {
        eprintln!(
            "note: `{}` is encrypted in ferry's old format (FERRYENC), which this release still reads and the next will not; write it again with age (for example `ferry transform --from OLD --to NEW` with the same key) to keep it readable",
            crate::terminal::printable(text)
        );
    }
    Ok(read)
}

/// An archive entry's object, or an error that names it (nothing has been applied or written yet).
pub fn parsed(entry: &Entry) -> Result<serde_json::Value, CliError> {
    parsed_by(entry, |text| serde_json::from_slice(text))
}

/// [`parsed`], with `parse` reading the entry's text.
pub fn parsed_by(entry: &Entry, parse: impl FnOnce(&[u8]) -> Result<serde_json::Value, serde_json::Error>) -> Result<serde_json::Value, CliError> {
    parse(&entry.text).map_err(|e| CliError::failure(format!("cannot read {} from the archive; nothing was applied or written", entry.id), &e))
}

/// Writes objects (owned or borrowed) as an archive; a failure aborts the
/// archive so that nothing partial is left.
pub async fn write<'a, V: Serialize + Send + Sync>(
    text: &str,
    settings: &ArchiveSettings,
    header: Header,
    objects: impl IntoIterator<Item = (ObjectId, &'a str, V)>,
) -> Result<Manifest, CliError> {
    let mut writer = create(text, settings, header).await?;
    let added = writer.add_all(objects).await;
    complete(writer, added).await
}

/// An archive written by a task of its own, batch after batch, while the caller reads on.
pub struct Streamed {
    encoder: Encoder,
    batches: mpsc::UnboundedSender<Batch>,
    writing: JoinHandle<Result<Manifest, CliError>>,
}

impl Streamed {
    /// Starts writing an archive.
    pub async fn create(text: &str, settings: &ArchiveSettings, header: Header) -> Result<Streamed, CliError> {
        let mut writer = create(text, settings, header).await?;
        let encoder = writer.encoder();
        let (batches, mut received) = mpsc::unbounded_channel();
        let writing = tokio::spawn(async move {
            let mut added = Ok(());
            while added.is_ok()
                && let Some(batch) = received.recv().await
            {
                added = writer.add_batch(batch).await;
            }
            drop(received);
            complete(writer, added).await
        });
        Ok(Streamed { encoder, batches, writing })
    }

    /// Encodes objects chosen from a cluster (digests, tar, compression) on the calling thread,
    /// each as the server sent it, under the resource it was read from.
    pub fn encode(&self, objects: &[(RawObject, &Resource)]) -> Batch {
        let mut names: Vec<(&Resource, String)> = Vec::new();
        for &(_, resource) in objects {
            if !names.iter().any(|&(named, _)| named == resource) {
                names.push((resource, resource.qualified()));
            }
        }
        let name = |resource: &Resource| names.iter().find(|&&(named, _)| named == resource).map_or("", |(_, name)| name.as_str());
        self.encoder.raw(objects.iter().map(|(object, resource)| (object, name(resource))))
    }

    /// Hands a batch to the writing task, after the batches before it; `false` once writing failed.
    pub fn add(&self, batch: Batch) -> bool {
        self.batches.send(batch).is_ok()
    }

    /// Waits for every batch to be written and completes the archive; after a failure, the
    /// archive was aborted (nothing partial is left) and the error is returned.
    pub async fn finish(self) -> Result<Manifest, CliError> {
        drop(self.batches);
        self.writing.await.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
    }
}

/// Starts writing an archive.
async fn create(text: &str, settings: &ArchiveSettings, header: Header) -> Result<Writer, CliError> {
    let destination = destination(text, settings)?;
    let keys = keys(&settings.keys)?;
    Writer::create(&destination, header, keys.as_ref()).await.map_err(|e| archive_error(&e))
}

/// Completes the archive, or aborts it (leaving nothing partial) after an error in adding objects.
async fn complete(writer: Writer, added: Result<(), ArchiveError>) -> Result<Manifest, CliError> {
    if let Err(error) = added {
        writer.abort().await;
        return Err(archive_error(&error));
    }
    writer.finish().await.map_err(|e| archive_error(&e))
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use ferry_archive::S3Settings;

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_batch_that_cannot_be_written_stops_the_writing_and_leaves_no_archive() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shop.ferry");
        let settings = ArchiveSettings { keys: KeyArgs::default(), s3: S3Settings::default() };
        let archive = Streamed::create(path.to_str().unwrap(), &settings, Header::default()).await.unwrap();
        let config_maps = Resource { group: String::new(), version: "v1".into(), plural: "configmaps".into(), kind: "ConfigMap".into(), namespaced: true };
        let object = RawObject::from_list_item(r#"{"metadata":{"name":"settings","namespace":"shop"}}"#, "v1", "ConfigMap").unwrap();
        let batch = || archive.encode(&[(object.clone(), &config_maps)]);
        assert!(archive.add(batch()));
        // The second copy is taken (the writer has not refused anything yet); the writer refuses it when it comes to it.
        archive.add(batch());
        // The writer refuses the same object twice, gives up the archive and takes nothing more.
        let deadline = Instant::now() + Duration::from_secs(10);
        while archive.add(batch()) {
            assert!(Instant::now() < deadline, "the writer still takes batches");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let error = archive.finish().await.expect_err("the archive is aborted");
        assert!(format!("{error:?}").contains("already holds an object"), "{error:?}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "nothing partial is left");
    }
}
