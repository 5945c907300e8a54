//! What the tests of `tests/corpora` share: an assessment of some folders of a corpus as JSON,
//! its edges, cloud findings and external endpoints as one line each, and a comparison that names what is
//! missing (recall) and what is extra (precision).

#![allow(dead_code, reason = "each test binary that includes this module uses a part of it")]

use std::collections::BTreeSet;
use std::path::PathBuf;

use ferry_analysis::{Options, assess_paths};
use serde_json::Value;

/// The assessment of some folders of a corpus, as JSON (relation names as the report writes them).
pub fn assess(corpus: &str, folders: &[&str]) -> Value {
    let root = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpora")).join(corpus);
    let paths: Vec<PathBuf> = folders.iter().map(|f| root.join(f)).collect();
    serde_json::to_value(assess_paths(&paths, &Options::default()).expect("corpus is readable")).unwrap()
}

/// `KIND/NAMESPACE/NAME` (or `KIND/NAME`) of an object reference.
pub fn name(r: &Value) -> String {
    match r["namespace"].as_str() {
        Some(ns) => format!("{}/{ns}/{}", r["kind"].as_str().unwrap(), r["name"].as_str().unwrap()),
        None => format!("{}/{}", r["kind"].as_str().unwrap(), r["name"].as_str().unwrap()),
    }
}

/// The file name of an evidence or location.
pub fn file(evidence: &Value) -> &str {
    evidence["file"].as_str().unwrap().rsplit('/').next().unwrap()
}

/// Edges of `relations` as `FROM -> TO [relation] resolution file:line`.
pub fn edges(a: &Value, relations: &[&str]) -> BTreeSet<String> {
    a["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| relations.contains(&d["kind"].as_str().unwrap()))
        .map(|d| {
            let (from, to, kind) = (name(&d["from"]), name(&d["to"]), d["kind"].as_str().unwrap());
            format!("{from} -> {to} [{kind}] {} {}:{}", d["resolution"].as_str().unwrap(), file(&d["evidence"]), d["evidence"]["line"])
        })
        .collect()
}

/// Cloud findings as `SERVICE OBJECT file:line used by USERS`.
pub fn cloud(a: &Value) -> BTreeSet<String> {
    a["cloud"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let users: Vec<String> = c["used_by"].as_array().unwrap().iter().map(name).collect();
            let (service, object) = (c["service_id"].as_str().unwrap(), name(&c["object"]));
            format!("{service} {object} {}:{} used by [{}]", file(&c["evidence"]), c["evidence"]["line"], users.join(", "))
        })
        .collect()
}

/// External endpoints as `ADDRESS NETWORK PROTOCOL file:line used by [USERS]`.
pub fn endpoints(a: &Value) -> BTreeSet<String> {
    a["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let users: Vec<String> = e["used_by"].as_array().unwrap().iter().map(name).collect();
            let (address, network, protocol) = (e["address"].as_str().unwrap(), e["network"].as_str().unwrap(), e["protocol"].as_str().unwrap_or("-"));
            format!("{address} {network} {protocol} {}:{} used by [{}]", file(&e["evidence"]), e["evidence"]["line"], users.join(", "))
        })
        .collect()
}

/// Compares found with expected, naming what is missing (recall) and what is extra (precision).
pub fn assert_exactly(found: BTreeSet<String>, expected: &[String]) {
    let expected: BTreeSet<String> = expected.iter().cloned().collect();
    let missing: Vec<&String> = expected.difference(&found).collect();
    let extra: Vec<&String> = found.difference(&expected).collect();
    assert!(missing.is_empty() && extra.is_empty(), "missing (recall): {missing:#?}\nextra (precision): {extra:#?}");
}

/// Owned copies of string literals.
pub fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}
