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
        let objects = source.selection.objects.iter().map(|s| (s.object.id.clone(), s.resource.as_str(), s.object.root.to_json()));
        let manifest = archive::write(&settings.to, &settings.archive, header, objects).await?;
        eprintln!(
            "exported {} objects from context `{}` to {} ({} made by Kubernetes and {} filtered out were left out)",
            manifest.objects.len(),
            source.connection.context,
            settings.to,
            source.selection.generated,
            source.selection.filtered
        );
        Ok(incomplete_if_unreadable(&source.unreadable))
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

/// The current time as RFC 3339 UTC, e.g. `2026-11-21T10:00:00Z`.
fn now_rfc3339() -> String {
    let seconds = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default();
    let days = (seconds / 86_400) as i64;
    let (year, month, day) = civil_from_days(days);
    let rest = seconds % 86_400;
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rest / 3600, rest % 3600 / 60, rest % 60)
}

/// Days since 1970-01-01 to (year, month, day), Howard Hinnant's algorithm.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

#[cfg(test)]
mod tests {
    #[test]
    fn civil_dates() {
        assert_eq!(super::civil_from_days(0), (1970, 1, 1));
        assert_eq!(super::civil_from_days(20_778), (2026, 11, 21));
        assert_eq!(super::civil_from_days(11_016), (2000, 2, 29));
    }
}
