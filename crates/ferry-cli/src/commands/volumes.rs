//! `ferry volumes`: plan, sync, cutover and verify through mover Jobs on both clusters, and
//! the mover itself (`ferry volumes mover`, run inside those Jobs), and `add-key` for an
//! encrypted repository. Outcomes are printed as a table or JSON; evidence goes to a file;
//! mismatches and refusals exit with code 3.

use std::path::PathBuf;

use ferry_archive::S3Settings;
use ferry_volumes::cluster::{self, CutoverReport, Error, Evidence, Mover, SyncReport, Via, VolumePlan};
use ferry_volumes::{MoverReport, Repository, RepositoryKey, Unlock, VolumeError, open_store, run_mover};

use crate::args::{AddKeySettings, MoverSettings, RunSettings, Verb, VolumesOutput, VolumesSettings};
use crate::commands::cluster::{connect, runtime};
use crate::commands::columns::write_columns;
use crate::commands::{archive, out_file, pipeline};
use crate::error::{CliError, ExitStatus};

/// Runs a `ferry volumes` command.
pub fn run(settings: VolumesSettings) -> Result<ExitStatus, CliError> {
    match settings {
        VolumesSettings::Mover(mover) => Ok(mover_run(&mover)),
        VolumesSettings::AddKey(settings) => add_key(&settings),
        VolumesSettings::Run(settings) => runtime()?.block_on(cluster_run(*settings)),
    }
}

/// The mover: runs its task, prints the report and writes it to `--result`; exit 1 on failure.
fn mover_run(settings: &MoverSettings) -> ExitStatus {
    let s3 = S3Settings { retry_window: settings.store_retry, ..S3Settings::from_env() };
    let run = repository_key(settings).and_then(|unlock| run_mover(&settings.repository, &s3, unlock.as_ref(), &settings.path, &settings.task));
    let (report, status) = match run {
        Ok(report) => (report, ExitStatus::Success),
        Err(err) => {
            CliError::failure(format!("the mover failed on `{}`", settings.path.display()), &err).print();
            (MoverReport::failed(&err), ExitStatus::Failure)
        }
    };
    let text = serde_json::to_string(&report).unwrap_or_default();
    println!("{text}");
    if let Some(path) = &settings.result
        && let Err(err) = std::fs::write(path, &text)
    {
        CliError::failure(format!("cannot write the result to `{}`", path.display()), &err).print();
        return ExitStatus::Failure;
    }
    status
}

/// What `add-key` did, for `-o json`.
#[derive(serde::Serialize)]
struct KeyAdded<'a> {
    /// The repository.
    repository: &'a str,
    /// The new object under `keys/`.
    added: String,
    /// How many stored keys open it now.
    keys: usize,
}

/// `add-key`: opens the repository with the keys given, stores its key again for the added ones.
fn add_key(settings: &AddKeySettings) -> Result<ExitStatus, CliError> {
    let keys = archive::keys(&settings.keys)?
        .ok_or_else(|| CliError::usage("give the keys that open the repository now", Some("--identity, --encryption-key-file or --passphrase-env".into())))?;
    let add = archive::keys(&settings.add)?.ok_or_else(|| {
        CliError::usage(
            "give the keys to add",
            Some("--add-recipient, --add-recipients-file, --add-identity, --add-passphrase-file or --add-passphrase-env".into()),
        )
    })?;
    let failed = |e: VolumeError| CliError::failure("ferry volumes add-key failed", &e);
    let store = open_store(&settings.via, &S3Settings::from_env()).map_err(failed)?;
    let repository = Repository::open(store, Some(&Unlock::Keys(keys))).map_err(failed)?;
    let added = repository.add_key(&add).map_err(failed)?;
    let report = KeyAdded { repository: &settings.via, added, keys: repository.key_names().map_err(failed)?.len() };
    print(settings.output, &report, &|r: &KeyAdded| format!("added {} to {}: {} stored keys open it\n", r.added, r.repository, r.keys));
    Ok(ExitStatus::Success)
}

/// The repository key the mover was given, if any.
fn repository_key(settings: &MoverSettings) -> Result<Option<Unlock>, VolumeError> {
    settings.repository_key.as_deref().map(|path| RepositoryKey::from_file(path).map(Unlock::Key)).transpose()
}

/// Plan, sync, cutover or verify.
async fn cluster_run(mut settings: RunSettings) -> Result<ExitStatus, CliError> {
    settings.scope.storage_classes = pipeline::read_rules(settings.rules.as_deref())?.storage_classes;
    let source = connect(&settings.source).await?;
    let target = connect(&settings.target).await?;
    let plan = cluster::plan(&source.client, &target.client, &settings.scope).await.map_err(|e| failure(&e))?;
    if settings.verb == Verb::Plan {
        print(settings.output, &plan, &plan_table);
        return Ok(if plan.blocking().is_empty() { ExitStatus::Success } else { ExitStatus::Blockers });
    }
    let mover = mover(&settings).await?;
    let (source, target) = (&source.client, &target.client);
    let outcome = match settings.verb {
        Verb::Sync => cluster::sync(source, target, &plan, &mover).await.map(|report| {
            print(settings.output, &report, &sync_table);
            ExitStatus::Success
        }),
        Verb::Verify => match cluster::verify(source, target, &plan, &mover).await {
            Ok(evidence) => return conclude(&settings, &mover, &evidence, &evidence),
            Err(err) => Err(err),
        },
        Verb::Cutover => match cluster::cutover(source, target, &plan, &mover, settings.quiesce_timeout).await {
            Ok(report) => return conclude(&settings, &mover, &report.evidence, &report),
            Err(err) => Err(err),
        },
        Verb::Plan => Ok(ExitStatus::Success),
    };
    outcome.or_else(|err| refused_or_failed(&err, settings.verb))
}

/// The mover settings of a run; with keys, the encrypted repository is opened (or created)
/// first, for the key its movers are given.
async fn mover(settings: &RunSettings) -> Result<Mover, CliError> {
    let text = settings.via.as_deref().unwrap_or_default();
    let via = Via::parse(text, &S3Settings::from_env()).map_err(|e| CliError::usage(e.to_string(), None))?;
    let key = match archive::keys(&settings.keys)? {
        Some(keys) => {
            let opening = via.clone();
            let prepared = tokio::task::spawn_blocking(move || opening.prepare(Some(&Unlock::Keys(keys))))
                .await
                .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
            prepared.map_err(|e| failure(&e))?
        }
        None => None,
    };
    Ok(Mover {
        image: settings.image.clone(),
        via,
        host_network: settings.host_network,
        run: run_id(),
        key,
        timeout: settings.timeout,
        parallel: settings.parallel,
        store_retry: settings.store_retry,
        requests: settings.requests.clone(),
    })
}

/// A run id that names Jobs and manifests: the time and the process id.
fn run_id() -> String {
    format!("{}-{:x}", jiff::Timestamp::now().strftime("%Y%m%d%H%M%S"), std::process::id())
}

/// Writes the evidence file (as every `--out` file is written), prints the report, and exits 3
/// when a claim differs.
fn conclude<T: serde::Serialize + Printable>(settings: &RunSettings, mover: &Mover, evidence: &Evidence, report: &T) -> Result<ExitStatus, CliError> {
    let path = settings.evidence.clone().unwrap_or_else(|| PathBuf::from(format!("ferry-volumes-{}.json", mover.run)));
    out_file::write(&path, |out| pipeline::write_structured(out, evidence, false))?;
    print(settings.output, report, &|report: &T| report.table(settings.output == VolumesOutput::Wide));
    eprintln!("evidence written to {}", path.display());
    for claim in evidence.claims.iter().filter(|c| !c.equal) {
        eprintln!("error: `{}/{}` differs on the target in {} paths:", claim.namespace, claim.name, claim.mismatch_count);
        for mismatch in &claim.mismatches {
            eprintln!("  {}: {}", mismatch.path, mismatch.problem);
        }
    }
    Ok(if evidence.equal() { ExitStatus::Success } else { ExitStatus::Blockers })
}

/// Refusals exit 3 with each reason; other errors are failures, with how to resume.
fn refused_or_failed(err: &Error, verb: Verb) -> Result<ExitStatus, CliError> {
    if let Error::Refused(reasons) = err {
        for reason in reasons {
            eprintln!("error: refused: {reason}");
        }
        eprintln!("hint: nothing was moved; `ferry volumes plan` shows every claim and finding");
        return Ok(ExitStatus::Blockers);
    }
    Err(failure(err).with_hint(resume_hint(verb)))
}

/// How to continue after a failed or interrupted run.
fn resume_hint(verb: Verb) -> &'static str {
    match verb {
        Verb::Cutover => {
            "fix the cause and run the same `ferry volumes cutover` again: the workloads stay at zero (their replicas are remembered), \
             chunks already in the repository are not sent again, and mover Jobs left behind are removed first"
        }
        Verb::Sync => {
            "fix the cause and run the same `ferry volumes sync` again: chunks already in the repository are not sent again, \
             and mover Jobs left behind are removed first"
        }
        Verb::Verify | Verb::Plan => "fix the cause and run the same command again; mover Jobs left behind are removed first",
    }
}

/// A failure for the user.
fn failure(err: &Error) -> CliError {
    CliError::failure("ferry volumes failed", err)
}

/// Prints a report as JSON or as its table.
fn print<T: serde::Serialize>(output: VolumesOutput, value: &T, table: &dyn Fn(&T) -> String) {
    if output == VolumesOutput::Json {
        println!("{}", serde_json::to_string_pretty(value).unwrap_or_default());
    } else {
        print!("{}", table(value));
    }
}

/// Reports that have a table.
trait Printable {
    /// The table; `wide`: digests whole.
    fn table(&self, wide: bool) -> String;
}

impl Printable for Evidence {
    fn table(&self, wide: bool) -> String {
        evidence_table(self, wide)
    }
}

impl Printable for CutoverReport {
    fn table(&self, wide: bool) -> String {
        let scaled: Vec<String> = self.scaled.iter().map(|s| format!("{}/{} {} (was {} replicas)", s.namespace, s.kind, s.name, s.replicas)).collect();
        let scaled = if scaled.is_empty() { "nothing to stop".to_owned() } else { scaled.join(", ") };
        format!(
            "scaled to zero: {scaled}; their Pods were gone after {:.1} s\n\n{}\n{}",
            self.quiesce_seconds,
            sync_table(&self.sync),
            evidence_table(&self.evidence, wide)
        )
    }
}

/// The plan as a table, findings under their claim.
fn plan_table(plan: &VolumePlan) -> String {
    let mut rows = Vec::new();
    for claim in &plan.claims {
        let workloads: Vec<String> = claim.workloads.iter().map(|w| format!("{}/{}", w.kind, w.name)).collect();
        let target = [Some(claim.target.state.clone()), claim.target.size.clone(), claim.target.storage_class.clone()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        rows.push([
            format!("{}/{}", claim.namespace, claim.name),
            claim.size.clone(),
            claim.storage_class.clone().unwrap_or_else(|| "-".into()),
            claim.access_modes.join(","),
            claim.phase.clone(),
            if workloads.is_empty() { "(no Pod)".into() } else { workloads.join(",") },
            claim.node.clone().unwrap_or_else(|| "-".into()),
            target,
        ]);
    }
    let mut out = String::new();
    write_columns(&mut out, ["CLAIM", "SIZE", "CLASS", "ACCESS", "PHASE", "MOUNTED BY", "NODE", "TARGET"], &rows);
    for claim in &plan.claims {
        for finding in &claim.findings {
            let level = if finding.blocking { "blocking" } else { "warning" };
            out.push_str(&format!("{level}: {}/{}: {}\n", claim.namespace, claim.name, finding.message));
        }
    }
    if plan.claims.is_empty() {
        out.push_str("no claims in scope\n");
    }
    out
}

/// A sync pass as a table.
fn sync_table(report: &SyncReport) -> String {
    let mut rows = Vec::new();
    for c in &report.claims {
        rows.push([
            format!("{}/{}", c.namespace, c.name),
            c.files.to_string(),
            c.bytes.to_string(),
            c.changed_files.to_string(),
            c.changed_bytes.to_string(),
            c.sent_bytes.to_string(),
            c.written_files.to_string(),
            c.removed.to_string(),
            format!("{:.1}", c.seconds),
        ]);
    }
    let mut out = String::new();
    write_columns(&mut out, ["CLAIM", "FILES", "BYTES", "CHANGED FILES", "CHANGED BYTES", "SENT BYTES", "WRITTEN", "REMOVED", "SECONDS"], &rows);
    for c in report.claims.iter().filter(|c| !c.interrupted_jobs.is_empty()) {
        out.push_str(&format!("{}/{}: removed the mover Jobs of an interrupted run first: {}\n", c.namespace, c.name, c.interrupted_jobs.join(", ")));
    }
    out
}

/// The evidence as a table: the manifests' digests shortened to 16 digits, or `wide`, whole.
fn evidence_table(evidence: &Evidence, wide: bool) -> String {
    let mut rows = Vec::new();
    for c in &evidence.claims {
        let result = if c.equal { "equal".to_owned() } else { format!("{} differences", c.mismatch_count) };
        let short = |digest: &str| if wide { digest.to_owned() } else { digest.get(..16).unwrap_or(digest).to_owned() };
        rows.push([
            format!("{}/{}", c.namespace, c.name),
            result,
            c.source.files.to_string(),
            c.source.bytes.to_string(),
            short(&c.source.digest),
            short(&c.target.digest),
        ]);
    }
    let mut out = String::new();
    write_columns(&mut out, ["CLAIM", "RESULT", "FILES", "BYTES", "SOURCE DIGEST", "TARGET DIGEST"], &rows);
    out
}

#[cfg(test)]
mod tests {
    use ferry_volumes::cluster::ClaimEvidence;

    use super::*;

    #[test]
    fn the_evidence_table_shortens_digests_and_the_wide_one_shows_them_whole() {
        let digest = "0123456789abcdef".repeat(4);
        let mut claim = ClaimEvidence { namespace: "shop".into(), name: "data".into(), equal: true, ..Default::default() };
        claim.source.digest = digest.clone();
        claim.target.digest = digest.clone();
        let evidence = Evidence { claims: vec![claim], ..Default::default() };
        let table = evidence_table(&evidence, false);
        assert!(table.starts_with("CLAIM      RESULT  FILES  BYTES  SOURCE DIGEST     TARGET DIGEST\nshop/data  equal"), "{table}");
        assert!(table.contains("0123456789abcdef  0123456789abcdef\n") && !table.contains(&digest), "{table}");
        assert_eq!(evidence_table(&evidence, true).matches(&digest).count(), 2);
    }
}
