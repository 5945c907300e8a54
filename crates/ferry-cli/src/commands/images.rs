//! `ferry images push-ferry`: pack a ferry binary into an image and push it to a registry.

use ferry_images::{Credentials, Pushed};

use crate::args::{PushFerrySettings, PushOutput};
use crate::commands::cluster;
use crate::error::{CliError, ExitStatus};

/// Builds ferry's image from the binary and pushes it; prints the pinned reference. The reference
/// is checked (and its credentials read) before the image is built.
pub fn run(settings: PushFerrySettings) -> Result<ExitStatus, CliError> {
    let credentials = Credentials::for_reference(&settings.reference).map_err(|e| push_error(&settings.reference, &e))?;
    let image =
        ferry_images::ferry_image(&settings.binary).map_err(|e| CliError::failure(format!("cannot build the image of `{}`", settings.binary.display()), &e))?;
    let pushed =
        cluster::runtime()?.block_on(ferry_images::push(&image, &settings.reference, &credentials)).map_err(|e| push_error(&settings.reference, &e))?;
    match settings.output {
        PushOutput::Table => print_table(&pushed),
        PushOutput::Json => println!("{}", json(&pushed)),
    }
    Ok(ExitStatus::Success)
}

fn push_error(reference: &str, error: &ferry_images::Error) -> CliError {
    let failure = CliError::failure(format!("cannot push to `{reference}`"), error);
    match error {
        ferry_images::Error::Reference { .. } => failure.with_hint("give REGISTRY/REPOSITORY[:TAG], e.g. `registry.example.com/tools/ferry:1`"),
        ferry_images::Error::Registry { .. } => {
            failure.with_hint("check that the registry is reachable and that `docker login` holds credentials for it if it needs some")
        }
        _ => failure,
    }
}

fn print_table(pushed: &Pushed) {
    println!("{}", pushed.pinned());
    println!("bytes sent: {}", pushed.bytes_sent);
    println!("blobs sent: {}", pushed.blobs_sent);
    println!("blobs skipped (already present): {}", pushed.blobs_skipped);
}

fn json(pushed: &Pushed) -> serde_json::Value {
    serde_json::json!({
        "reference": pushed.reference,
        "digest": pushed.digest.as_str(),
        "pinned": pushed.pinned(),
        "bytesSent": pushed.bytes_sent,
        "blobsSent": pushed.blobs_sent,
        "blobsSkipped": pushed.blobs_skipped,
    })
}
