//! `ferry export`: read a cluster, leave out what Kubernetes made itself, write an archive.

use ferry_archive::{Filters, Header, Source};

use crate::args::{ExportSettings, SourceSettings};
use crate::commands::{archive, cluster};
use crate::error::{CliError, ExitStatus};

/// Exports the source cluster to the archive.
pub fn run(settings: ExportSettings) -> Result<ExitStatus, CliError> {
    cluster::runtime()?.block_on(async {
        let source = cluster::read_source(&settings.source).await?;
        let header = header(&settings.source, &source.connection);
        let manifest = archive::write_selection(&settings.to, &settings.archive, header, &source.selection).await?;
        eprintln!(
            "exported {} objects from context `{}` to {} ({} made by Kubernetes and {} filtered out were left out)",
            manifest.objects.len(),
            source.connection.context,
            settings.to,
            source.selection.generated,
            source.selection.filtered
        );
        let status = incomplete_if_unreadable(&source.unreadable);
        super::leave_to_exit(source);
        Ok(status)
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
        eprintln!("error: not exported: {line}");
    }
    if unreadable.is_empty() { ExitStatus::Success } else { ExitStatus::IncompleteInput }
}

/// The current time as RFC 3339 UTC, to the second, e.g. `2026-11-21T10:00:00Z`.
fn now_rfc3339() -> String {
    jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}
