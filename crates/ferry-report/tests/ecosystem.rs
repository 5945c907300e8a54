//! A removed API of an ecosystem project is shown with the project's release that stopped
//! serving it (`external-secrets 0.17`), never as a Kubernetes version, in every format.

use std::path::PathBuf;

use ferry_analysis::{Assessment, Options, assess_paths};
use ferry_report::{Format, render};

fn external_secrets() -> Assessment {
    let path = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../ferry-analysis/tests/data/ecosystem/external-secrets.yaml"));
    assess_paths(&[path], &Options::default()).expect("fixture loads")
}

fn rendered(format: Format) -> String {
    let mut out = Vec::new();
    render(&external_secrets(), format, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn the_table_and_markdown_name_the_operator_release_and_the_replacement() {
    for format in [Format::Table, Format::Markdown] {
        let text = rendered(format);
        let row = text.lines().find(|l| l.contains("ExternalSecret shop/db-credentials")).unwrap_or_else(|| panic!("{format:?}: {text}"));
        assert!(row.contains("external-secrets 0.17") && row.contains("external-secrets.io/v1"), "{format:?}: {row}");
        let row = text.lines().find(|l| l.contains("SecretStore shop/vault")).unwrap_or_else(|| panic!("{format:?}: {text}"));
        assert!(row.contains("external-secrets 0.16"), "{format:?}: {row}");
    }
}

#[test]
fn the_json_names_the_component_and_its_release() {
    let json: serde_json::Value = serde_json::from_str(&rendered(Format::Json)).unwrap();
    let finding = json["deprecations"].as_array().unwrap().iter().find(|d| d["kind"] == "ExternalSecret").expect("ExternalSecret finding");
    assert_eq!(finding["status"], "removed");
    assert_eq!((finding["component"].as_str(), finding["removed_in"].as_str()), (Some("external-secrets"), Some("0.17")));
    assert_eq!(finding["replacement"], "external-secrets.io/v1");
}

#[test]
fn the_html_report_names_the_operator_release() {
    let html = rendered(Format::Html);
    assert!(html.contains("external-secrets 0.17"), "no operator release in the HTML report");
}
