//! `ferry cutover`: runs a cut-over plan, printing each event as it happens (stderr) and
//! the timeline at the end (stdout, a table or JSON).

use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use ferry_cutover::{Cutover, Event, Outcome, Report};

use crate::args::{CutoverSettings, SummaryFormat};
use crate::commands::pipeline;
use crate::error::{CliError, ExitStatus};

/// Runs the plan in the settings' mode.
pub fn run(settings: CutoverSettings) -> Result<ExitStatus, CliError> {
    let mut live = |event: &Event| eprintln!("{}", line(event));
    let cutover = Cutover::new(&settings.plan_text, &mut live).map_err(refused)?;
    let report = cutover.run(settings.mode, &settings.journal).map_err(refused)?;
    match settings.output {
        SummaryFormat::Table => println!("{}", table(&report)),
        format => pipeline::to_stdout(|out| pipeline::write_structured(out, &report, format == SummaryFormat::Yaml))?,
    }
    Ok(match report.outcome {
        Outcome::RolledBack => ExitStatus::RolledBack,
        Outcome::Completed | Outcome::Restored | Outcome::DryRun => ExitStatus::Success,
    })
}

fn refused(e: ferry_cutover::Error) -> CliError {
    let hint = match &e {
        ferry_cutover::Error::Journal { .. } => "`--resume` goes on with a journalled run, `--rollback` undoes it",
        ferry_cutover::Error::Plan(_) => "the plan's format is in docs/cutover.md",
        ferry_cutover::Error::Driver(_) => "nothing was changed unless the timeline above shows a step",
        ferry_cutover::Error::Precondition(_) => {
            return CliError::failure("cutover refused: a precondition of the plan's `requires` does not hold; nothing was changed", &e)
                .with_status(ExitStatus::Blockers)
                .with_hint("run `ferry verify -o json` (and the steps whose evidence is required) again, then start the cut-over");
        }
    };
    CliError::failure("cutover stopped", &e).with_hint(hint)
}

/// One event as a line for stderr.
fn line(event: &Event) -> String {
    let step = event.percent.map(|p| format!(" [{p:>3} %]")).unwrap_or_default();
    format!("cutover {:>8.1}s{step} {}: {}", event.at_ms as f64 / 1000.0, event.action, event.detail)
}

/// The timeline as a table, with the outcome and the worst-case time to roll back.
fn table(report: &Report) -> String {
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_header(["time", "step", "action", "detail"]);
    for event in &report.events {
        let step = event.percent.map(|p| format!("{p} %")).unwrap_or_default();
        table.add_row([format!("{:.1}s", event.at_ms as f64 / 1000.0), step, event.action.to_owned(), event.detail.clone()]);
    }
    let outcome = match report.outcome {
        Outcome::Completed => "completed: all traffic on the new side",
        Outcome::RolledBack => "rolled back: a gate failed, the last good weights are in force",
        Outcome::Restored => "restored: the original weights are in force",
        Outcome::DryRun => "dry run: nothing changed",
    };
    format!("{table}\n{outcome} (worst-case time to roll back: {:.1}s)", report.worst_case_rollback_ms as f64 / 1000.0)
}
