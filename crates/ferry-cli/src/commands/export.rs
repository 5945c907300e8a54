//! `ferry export`: read a cluster, leave out what Kubernetes made itself, write an archive,
//! each page of objects encoded as it arrives and written while the next lists are read.

use ferry_archive::{Filters, Header, Source};

use crate::args::{ExportSettings, SourceSettings};
use crate::commands::{archive, cluster};
use crate::error::{CliError, ExitStatus};
use crate::terminal::diag;

/// Exports the source cluster to the archive.
pub fn run(settings: ExportSettings) -> Result<ExitStatus, CliError> {
    cluster::runtime()?.block_on(async {
        let source = cluster::open_source(&settings.source).await?;
        let header = header(&settings.source, &source.connection);
        let archive = archive::Streamed::create(&settings.to, &settings.archive, header).await?;
        let read = cluster::read_source(&source, &settings.source, &|chosen| archive.encode(&chosen), |batch| archive.add(batch)).await;
        let manifest = archive.finish().await?;
        diag!(
            "exported {} objects from context `{}` to {} ({} made by Kubernetes and {} filtered out were left out)",
            manifest.objects.len(),
            source.connection.context,
            settings.to,
            read.generated,
            read.filtered
        );
        super::leave_to_exit(manifest);
        Ok(incomplete_if_unreadable(&read.unreadable))
    })
}

/// The archive header for objects read from `connection` with these settings.
pub fn header(source: &SourceSettings, connection: &ferry_cluster::Connection) -> Header {
    Header {
        source: Source { context: connection.context.clone(), server_version: connection.server_version.clone() },
        created: now_rfc3339(),
        filters: Filters {
            namespaces: source.filter.namespaces.clone(),
            selector: source.read.selector.clone(),
            include: source.filter.include.clone(),
            exclude: source.filter.exclude.clone(),
            include_generated: source.filter.include_generated,
        },
    }
}

/// Exit 4 with each unreadable resource named, or 0.
pub fn incomplete_if_unreadable(unreadable: &[String]) -> ExitStatus {
    for line in unreadable {
        diag!("error: not exported: {line}");
    }
    if unreadable.is_empty() { ExitStatus::Success } else { ExitStatus::IncompleteInput }
}

/// The current time as RFC 3339 UTC, to the second, e.g. `2026-11-21T10:00:00Z`.
pub fn now_rfc3339() -> String {
    jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}
