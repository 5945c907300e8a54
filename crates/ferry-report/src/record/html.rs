//! The migration record as one self-contained HTML page (no script): the steps with their
//! results and digests, what each file found, and each cut-over drawn as an SVG chart of the
//! new side's share of the traffic over time, with every gate evaluation and rollback on it.

use std::fmt::{self, Write as _};
use std::io::{self, Write};

use ferry_verify::{Check, Saved};

use super::{Document, Entry, Record, Status, Timeline, TimelineEvent};
use crate::html::{LIMIT, e, end_table, end_table_pointing, page_start, row, section_start, table, write_page};

/// Writes the record as one HTML page.
pub fn write(record: &Record, out: &mut dyn Write) -> io::Result<()> {
    write_page(out, 16 * 1024, |s| page(record, s))
}

fn page(record: &Record, s: &mut String) -> fmt::Result {
    page_start(s, "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'", "ferry migration record", CHART_STYLE)?;
    let class = if record.passed { "" } else { " bad" };
    write!(
        s,
        r#"<header class="top"><h1>Migration record</h1><p class="subtitle"><span class="badge{class}"><b>{}</b></span></p></header>"#,
        e(&record.verdict())
    )?;
    s.push_str("<main>\n");
    steps(record, s)?;
    for (index, entry) in record.entries.iter().enumerate() {
        section_start(s, &format!("file-{index}"), &format!("{}: <code>{}</code>", e(&entry.step), e(&entry.file)))?;
        write!(s, r#"<p>{} {}</p>"#, badge(entry.status), e(&entry.summary))?;
        match &entry.document {
            Document::Verify(saved) => verify(saved, s)?,
            Document::Checks(checks) => self::checks(checks, s)?,
            Document::Timeline(timeline) => self::timeline(timeline, s)?,
        }
        s.push_str("</section>\n");
    }
    s.push_str("</main>\n</body>\n</html>\n");
    Ok(())
}

const CHART_STYLE: &str = ".chart{max-width:100%;height:auto;border:1px solid var(--border);border-radius:6px}\
.chart text{font:11px system-ui,sans-serif;fill:var(--muted)}.ok{color:#2b7a3d}";

fn badge(status: Status) -> &'static str {
    match status {
        Status::Passed => r#"<span class="badge ok"><b>passed</b></span>"#,
        Status::Failed => r#"<span class="badge bad"><b>FAILED</b></span>"#,
        Status::Info => r#"<span class="badge"><b>info</b></span>"#,
    }
}

fn steps(record: &Record, s: &mut String) -> fmt::Result {
    section_start(s, "steps", "Steps")?;
    table(s, &["step", "result", "file", "SHA-256", "summary"])?;
    for (index, entry) in record.entries.iter().enumerate() {
        row(s, &step_cells(index, entry));
    }
    end_table(s, 0, "steps")?;
    s.push_str("</section>\n");
    Ok(())
}

fn step_cells(index: usize, entry: &Entry) -> [String; 5] {
    [
        format!(r##"<a href="#file-{index}">{}</a>"##, e(&entry.step)),
        badge(entry.status).to_owned(),
        format!("<code>{}</code>", e(&entry.file)),
        format!(r#"<code title="{0}">{1}…</code>"#, e(&entry.sha256), e(&entry.sha256[..16])),
        e(&entry.summary),
    ]
}

fn verify(saved: &Saved, s: &mut String) -> fmt::Result {
    write!(s, "<p>Source {} against target {}, checked at {}.</p>", e(&saved.source), e(&saved.target), e(&saved.checked_at))?;
    write!(s, "<p>{}</p>", e(&super::parity(saved)))?;
    let rows = super::verify_rows(saved);
    if !rows.is_empty() {
        bounded_table(s, &["object", "found", "detail"], rows, "findings")?;
    }
    if !saved.report.evidence.is_empty() {
        checks(&saved.report.evidence, s)?;
    }
    Ok(())
}

fn checks(checks: &[Check], s: &mut String) -> fmt::Result {
    bounded_table(s, &["object", "result", "detail"], super::check_rows(checks), "checks")
}

/// A table of escaped text, cut at [`LIMIT`] rows.
fn bounded_table<const N: usize>(s: &mut String, headers: &[&str], rows: Vec<[String; N]>, what: &str) -> fmt::Result {
    table(s, headers)?;
    for cells in rows.iter().take(LIMIT) {
        row(s, &cells.each_ref().map(|c| e(c)));
    }
    end_table_pointing(s, rows.len().saturating_sub(LIMIT), what, "the file itself")
}

fn timeline(timeline: &Timeline, s: &mut String) -> fmt::Result {
    write!(s, "<p>Outcome: <b>{}</b>; worst-case time to roll back {:.1} s.</p>", e(&timeline.outcome), timeline.worst_case_rollback_ms as f64 / 1000.0)?;
    chart(&timeline.events, s)?;
    bounded_table(s, &["time", "step", "action", "detail"], super::timeline_rows(timeline), "events")
}

/// The chart's size and plot area, in SVG units.
const WIDTH: f64 = 880.0;
const HEIGHT: f64 = 220.0;
const LEFT: f64 = 48.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 14.0;
const BOTTOM: f64 = 34.0;

/// Maps the run's time and the new side's percent into the plot area.
struct Scale {
    end_ms: f64,
}

impl Scale {
    fn x(&self, at_ms: u64) -> f64 {
        LEFT + (WIDTH - LEFT - RIGHT) * at_ms as f64 / self.end_ms
    }

    fn y(&self, percent: f64) -> f64 {
        TOP + (HEIGHT - TOP - BOTTOM) * (100.0 - percent.clamp(0.0, 100.0)) / 100.0
    }
}

/// The new side's share over time (a step line), a dot per gate evaluation (green when every
/// gate held, red otherwise, details on hover) and a dashed line at each rollback.
fn chart(events: &[TimelineEvent], s: &mut String) -> fmt::Result {
    let scale = Scale { end_ms: events.last().map_or(1, |e| e.at_ms.max(1)) as f64 };
    write!(
        s,
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="share of the traffic on the new side over time">"#
    )?;
    axes(&scale, s)?;
    let mut percent = events.iter().find_map(|e| e.weights).map_or(0.0, |w| w.percent_new());
    let mut path = format!("M{:.1},{:.1}", scale.x(0), scale.y(percent));
    let mut marks = String::new();
    for event in events {
        if let Some(weights) = event.weights {
            percent = weights.percent_new();
            write!(path, " H{:.1} V{:.1}", scale.x(event.at_ms), scale.y(percent))?;
        }
        mark(&scale, event, percent, &mut marks)?;
    }
    write!(path, " H{:.1}", scale.x(scale.end_ms as u64))?;
    write!(s, r##"<path d="{path}" fill="none" stroke="#1c5fb8" stroke-width="2"/>{marks}</svg>"##)
}

fn axes(scale: &Scale, s: &mut String) -> fmt::Result {
    for percent in [0.0, 25.0, 50.0, 75.0, 100.0] {
        let y = scale.y(percent);
        write!(s, r##"<line x1="{LEFT}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}" stroke="#d9dfe7"/>"##, WIDTH - RIGHT)?;
        write!(s, r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{percent} %</text>"#, LEFT - 6.0, y + 4.0)?;
    }
    for tick in 0..=4u32 {
        let at_ms = (scale.end_ms * f64::from(tick) / 4.0) as u64;
        write!(s, r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{:.1} s</text>"#, scale.x(at_ms), HEIGHT - BOTTOM + 16.0, at_ms as f64 / 1000.0)?;
    }
    write!(s, r#"<text x="{LEFT}" y="{:.1}">new side's share of the traffic; dots: gate evaluations</text>"#, HEIGHT - 4.0)
}

fn mark(scale: &Scale, event: &TimelineEvent, percent: f64, s: &mut String) -> fmt::Result {
    let (x, title) = (scale.x(event.at_ms), format!("{:.1} s {}: {}", event.at_ms as f64 / 1000.0, event.action, event.detail));
    match event.action.as_str() {
        "gate" => {
            let colour = if event.verdicts.iter().all(|v| v.passed) { "#2b7a3d" } else { "#b42318" };
            write!(s, r#"<circle cx="{x:.1}" cy="{:.1}" r="3.5" fill="{colour}"><title>{}</title></circle>"#, scale.y(percent), e(&title))
        }
        "rollback" => write!(
            s,
            r##"<line x1="{x:.1}" x2="{x:.1}" y1="{TOP}" y2="{:.1}" stroke="#b42318" stroke-dasharray="4 3"><title>{}</title></line>"##,
            HEIGHT - BOTTOM,
            e(&title)
        ),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cut_over_is_drawn_with_its_gates_and_rollback_and_text_is_escaped() {
        let smoke =
            r#"{"apiVersion": "ferry.dev/v1alpha1", "kind": "Evidence", "step": "smoke", "checks": [{"passed": true, "detail": "<script>alert(1)</script>"}]}"#;
        let record = Record::read(&[("s.json".to_owned(), smoke.into()), ("t.json".to_owned(), super::super::tests::timeline("rolled_back"))]).unwrap();
        let mut out = Vec::new();
        write(&record, &mut out).unwrap();
        let html = String::from_utf8(out).unwrap();
        assert!(!html.contains("<script>") && html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        // 0 % until 10 ms, then 25 % (y = 14 + 172 × 0.75 = 143), back to 0 % at the rollback (2600 ms).
        let x = |ms: f64| 48.0 + 816.0 * ms / 2600.0;
        assert!(html.contains(&format!(r#"d="M48.0,186.0 H48.0 V186.0 H{:.1} V143.0 H{:.1} V186.0 H864.0""#, x(10.0), x(2600.0))), "{html}");
        assert_eq!(html.matches("<circle").count(), 2);
        assert_eq!(html.matches(r##"fill="#b42318""##).count(), 1, "one failed evaluation");
        assert!(html.contains(r#"stroke-dasharray="4 3"><title>2.6 s rollback: old 100 / new 0 restored"#));
        assert!(html.contains(r#"<span class="badge bad"><b>1 of 2 steps FAILED: cutover (t.json)</b></span>"#));
    }
}
