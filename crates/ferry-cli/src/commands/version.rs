//! `ferry version`: ferry's version, the git commit and target it was built for, and with a
//! context the API server's version (read through the same connection every command opens).

use serde::Serialize;

use crate::args::{VersionOutput, VersionSettings};
use crate::commands::cluster;
use crate::error::{CliError, ExitStatus};

/// What `ferry version` reports (JSON/YAML keys in kubectl's camelCase).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Versions {
    client_version: ClientVersion,
    #[serde(skip_serializing_if = "Option::is_none")]
    server_version: Option<ServerVersion>,
}

/// This binary.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ClientVersion {
    version: &'static str,
    git_commit: Option<&'static str>,
    target: &'static str,
    rustc_version: Option<&'static str>,
}

/// The API server of the context asked for.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ServerVersion {
    git_version: String,
    context: String,
    server: String,
}

/// The version of this binary, as built (`build.rs` leaves out what it could not learn).
fn client() -> ClientVersion {
    ClientVersion {
        version: env!("CARGO_PKG_VERSION"),
        git_commit: option_env!("FERRY_GIT_COMMIT"),
        target: env!("FERRY_TARGET"),
        rustc_version: option_env!("FERRY_RUSTC_VERSION"),
    }
}

/// Prints the versions; connects to the cluster first when one was asked for.
pub fn run(settings: VersionSettings) -> Result<ExitStatus, CliError> {
    let server_version = match &settings.server {
        Some(connect) => {
            let connection = cluster::runtime()?.block_on(cluster::connect(connect))?;
            Some(ServerVersion { git_version: connection.server_version, context: connection.context, server: connection.server })
        }
        None => None,
    };
    let versions = Versions { client_version: client(), server_version };
    let text = match settings.output {
        None => text(&versions),
        Some(VersionOutput::Json) => serde_json::to_string_pretty(&versions).map_err(|e| CliError::failure("cannot write the versions", &e))? + "\n",
        Some(VersionOutput::Yaml) => {
            let value = serde_json::to_value(&versions).map_err(|e| CliError::failure("cannot write the versions", &e))?;
            ferry_transform::gitops::to_yaml(&value)
        }
    };
    super::print_stdout(crate::terminal::printable(&text).as_bytes())?;
    Ok(ExitStatus::Success)
}

/// The versions as `Name: value` lines, as `kubectl version` prints them.
fn text(versions: &Versions) -> String {
    let client = &versions.client_version;
    let mut lines = vec![format!("Client Version: {}", client.version)];
    lines.extend(client.git_commit.map(|c| format!("Git Commit: {c}")));
    lines.push(format!("Target: {}", client.target));
    lines.extend(client.rustc_version.map(|r| format!("Rustc Version: {r}")));
    if let Some(server) = &versions.server_version {
        lines.push(format!("Server Version: {} (context `{}`, {})", server.git_version, server.context, server.server));
    }
    lines.join("\n") + "\n"
}
