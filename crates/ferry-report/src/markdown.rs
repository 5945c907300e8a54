//! The Markdown report (`-o markdown`), for pull requests and wikis: the
//! summary, a Mermaid chart of the waves, the tables and the checklist.

use std::io::{self, Write};

use ferry_analysis::Assessment;

use crate::checklist::checklist;
use crate::mermaid;
use crate::sanitize::markdown as md;
use crate::summary::{headline, sections};

/// Rows per table before "... N more".
const LIMIT: usize = 500;

/// Writes the report.
pub fn write(a: &Assessment, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "# ferry assessment\n\n{}", md(&headline(a)))?;
    let mut chart = String::new();
    mermaid::write(a, &mut chart);
    if !chart.is_empty() {
        writeln!(out, "\n## Wave graph\n\n{chart}")?;
    }
    for section in sections(a, LIMIT) {
        writeln!(out, "\n## {}\n", md(&section.title))?;
        if !section.rows.is_empty() {
            writeln!(out, "| {} |", section.headers.join(" | "))?;
            writeln!(out, "|{}", "---|".repeat(section.headers.len()))?;
            for row in &section.rows {
                let cells: Vec<String> = row.iter().map(|c| md(c)).collect();
                writeln!(out, "| {} |", cells.join(" | "))?;
            }
        }
        if section.omitted > 0 {
            writeln!(out, "\n… {} more rows (the JSON output has everything).", section.omitted)?;
        }
        if !section.lines.is_empty() {
            writeln!(out)?;
        }
        for line in &section.lines {
            let bullet = if line.starts_with("  - ") { line.clone() } else { format!("- {line}") };
            writeln!(out, "{}", md(&bullet))?;
        }
    }
    writeln!(out, "\n## Migration checklist\n")?;
    for item in checklist(a) {
        let flag = if item.blocking { " **(blocking)**" } else { "" };
        writeln!(out, "- [ ] {}{flag}: {}", md(&item.title), md(&item.detail))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use ferry_analysis::{Assessment, Options, assess_paths};

    use crate::mermaid::{self, MAX_EDGES, MAX_NODES};

    fn shop() -> Assessment {
        let path = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/aks-shop"));
        assess_paths(&[path], &Options::default()).expect("example loads")
    }

    fn chart(a: &Assessment) -> String {
        let mut s = String::new();
        mermaid::write(a, &mut s);
        s
    }

    /// Nodes and edges of the Mermaid block.
    fn size(chart: &str) -> (usize, usize) {
        let block = &chart[chart.find("```mermaid").expect("mermaid block")..];
        (block.lines().filter(|l| l.trim_start().starts_with('g') && l.contains("[\"")).count(), block.matches("-->").count())
    }

    #[test]
    fn small_plan_is_drawn_per_application() {
        insta::assert_snapshot!(chart(&shop()));
    }

    #[test]
    fn report_carries_the_chart() {
        let mut out = Vec::new();
        super::write(&shop(), &mut out).expect("render");
        let text = String::from_utf8(out).expect("utf-8");
        assert!(text.contains("## Wave graph\n\nArrows point to what an application needs"));
        assert!(text.contains("```mermaid\nflowchart LR\n"));
    }

    /// The example with `extra` more applications in `namespaces` namespaces spread over its waves, each needing the next.
    fn large(extra: usize, namespaces: usize) -> Assessment {
        let mut a = shop();
        let template = a.waves.waves[0].applications[0].clone();
        let waves = a.waves.waves.len();
        for i in 0..extra {
            let mut app = template.clone();
            app.name = format!("bulk-{i}").into();
            app.namespace = Some(format!("team-{}", i % namespaces).into());
            app.depends_on = vec![format!("team-{}/bulk-{}", (i + 1) % namespaces, i + 1).into()].into();
            a.waves.waves[i % waves].applications.push(app);
        }
        a
    }

    #[test]
    fn large_plans_are_summarised_per_namespace_then_per_wave() {
        let per_namespace = chart(&large(300, 10));
        assert!(per_namespace.starts_with("Summarised per namespace of each wave: "), "{per_namespace}");
        let (nodes, edges) = size(&per_namespace);
        assert!(nodes <= MAX_NODES && edges <= MAX_EDGES, "{nodes} nodes, {edges} edges");
        assert!(per_namespace.contains(" applications)\"]"), "{per_namespace}");

        let per_wave = chart(&large(300, 100));
        assert!(per_wave.starts_with("Summarised per wave: "), "{per_wave}");
        let (nodes, edges) = size(&per_wave);
        assert_eq!(nodes, shop().waves.waves.len());
        assert!(edges <= MAX_EDGES);
        assert!(per_wave.contains("-->|"), "edges carry counts");
    }

    #[test]
    fn hostile_names_cannot_escape_the_chart() {
        let mut a = shop();
        let app = &mut a.waves.waves[0].applications[0];
        app.name = "x\"]; click g0 call alert(1) %% --> </script> ```\nend".into();
        let text = chart(&a);
        let block = &text[text.find("```mermaid").unwrap() + 3..];
        assert_eq!(block.matches("```").count(), 1, "only the closing fence: {text}");
        assert!(!text.contains("</script>") && !text.contains("x\"]"), "{text}");
        assert!(text.contains("x#34;]; click g0 call alert(1) %% --#62; #60;/script#62; #96;#96;#96; end"), "{text}");
        assert_eq!(mermaid::label("a.b-c#d"), "a.b-c#35;d");
    }
}
