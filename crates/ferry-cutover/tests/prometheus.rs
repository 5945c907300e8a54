//! Prometheus query gates against a real Prometheus on 127.0.0.1, alone and in a cut-over
//! through a real HAProxy that the failing query rolls back.

use std::time::Duration;

use ferry_cutover::gate::{Gate as _, Query};
use ferry_cutover::plan::{PrometheusGate, Span};
use ferry_cutover::{Cutover, Mode, Outcome};
use ferry_testcluster::{TestBackend, TestHaproxy, TestPrometheus};

fn gate(prometheus: &TestPrometheus, query: &str, max: Option<f64>, min: Option<f64>) -> PrometheusGate {
    PrometheusGate { name: "errors".into(), url: prometheus.url(), query: query.into(), max, min, timeout: Span(Duration::from_secs(5)), ca_bundle: None }
}

#[test]
fn query_gates_compare_every_sample_with_their_bounds() {
    let prometheus = TestPrometheus::start().unwrap();
    let evaluate = |query: &str, max: Option<f64>, min: Option<f64>| Query::new(&gate(&prometheus, query, max, min)).unwrap().evaluate();
    let held = evaluate("vector(0.002)", Some(0.01), None);
    assert!(held.passed && held.value == Some(0.002), "{held:?}");
    let above = evaluate("vector(0.5)", Some(0.01), None);
    assert!(!above.passed && above.reason.as_deref().unwrap().contains("0.5"), "{above:?}");
    assert!(!evaluate("scalar(vector(3))", None, Some(5.0)).passed, "a scalar below `min` fails");
    let empty = evaluate("vector(1) == 2", Some(1.0), None);
    assert!(!empty.passed && empty.reason.as_deref().unwrap().contains("no sample"), "{empty:?}");
    let invalid = evaluate("sum(", Some(1.0), None);
    assert!(!invalid.passed && invalid.reason.as_deref().unwrap().contains("400"), "{invalid:?}");
}

#[test]
fn a_failing_query_rolls_a_cutover_back() {
    let prometheus = TestPrometheus::start().unwrap();
    let old = TestBackend::start("old", [127, 0, 0, 2].into()).unwrap();
    let new = TestBackend::start("new", [127, 0, 0, 3].into()).unwrap();
    let haproxy = TestHaproxy::start(old.address(), new.address()).unwrap();
    let plan = format!(
        "driver:\n  haproxy: {{socket: '{}', backend: be, old: old, new: new}}\nsteps: [0, 50, 100]\nbake: 400ms\ngate_interval: 200ms\ngates:\n  prometheus:\n  - {{name: errors, url: '{}', query: 'vector(0.5)', max: 0.01}}\n",
        haproxy.admin_socket().display(),
        prometheus.url()
    );
    let dir = tempfile::tempdir().unwrap();
    let report = Cutover::new(&plan, &mut |_| {}).unwrap().run(Mode::Fresh, &dir.path().join("journal")).unwrap();
    assert_eq!(report.outcome, Outcome::RolledBack);
    assert_eq!((haproxy.weight("old").unwrap(), haproxy.weight("new").unwrap()), (100, 0));
}
