//! Opening, reading and writing archives for the commands.

use ferry_archive::{ArchiveError, Destination, EncryptionKey, Entry, Header, Manifest, Writer};
use ferry_cluster::export::Selection;
use ferry_model::{ObjectId, RawObject};
use serde::Serialize;

use crate::args::ArchiveSettings;
use crate::error::CliError;

/// Where an archive is (or goes), parsed.
pub fn destination(text: &str, settings: &ArchiveSettings) -> Result<Destination, CliError> {
    Destination::parse(text, &settings.s3).map_err(|e| archive_error(&e))
}

/// The encryption key, if a key file was given.
pub fn key(settings: &ArchiveSettings) -> Result<Option<EncryptionKey>, CliError> {
    settings
        .key_file
        .as_deref()
        .map(|path| EncryptionKey::from_file(path).map_err(|e| CliError::failure("cannot use the encryption key", &e)))
        .transpose()
}

/// An archive error for the user (its message names the archive and says what to do).
fn archive_error(error: &ArchiveError) -> CliError {
    CliError::failure("cannot use the archive", error)
}

/// Reads and verifies a whole archive.
pub async fn read(text: &str, settings: &ArchiveSettings) -> Result<(Manifest, Vec<Entry>), CliError> {
    let destination = destination(text, settings)?;
    let key = key(settings)?;
    ferry_archive::read(&destination, key.as_ref()).await.map_err(|e| archive_error(&e))
}

/// An archive entry's object, or an error that names it (nothing has been applied or written yet).
pub fn parsed(entry: &Entry) -> Result<serde_json::Value, CliError> {
    entry.object().map_err(|e| CliError::failure(format!("cannot read {} from the archive; nothing was applied or written", entry.id), &e))
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

/// Writes the objects selected from a cluster as an archive, each as the server sent it and
/// under the resource it was read from.
pub async fn write_selection(text: &str, settings: &ArchiveSettings, header: Header, selection: &Selection<RawObject>) -> Result<Manifest, CliError> {
    let mut writer = create(text, settings, header).await?;
    let added = writer.add_raw_all(selection.objects.iter().map(|s| (&s.object, s.resource.as_str()))).await;
    complete(writer, added).await
}

/// Starts writing an archive.
async fn create(text: &str, settings: &ArchiveSettings, header: Header) -> Result<Writer, CliError> {
    let destination = destination(text, settings)?;
    let key = key(settings)?;
    Writer::create(&destination, header, key.as_ref()).await.map_err(|e| archive_error(&e))
}

/// Completes the archive, or aborts it (leaving nothing partial) after an error in adding objects.
async fn complete(writer: Writer, added: Result<(), ArchiveError>) -> Result<Manifest, CliError> {
    if let Err(error) = added {
        writer.abort().await;
        return Err(archive_error(&error));
    }
    writer.finish().await.map_err(|e| archive_error(&e))
}
