//! `ferry cutover` as a user runs it: the real binary against a real HAProxy on loopback
//! (backends on 127.0.0.2 and 127.0.0.3), killed mid-step and resumed, rolled back, refused.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use ferry_testcluster::{TestBackend, TestHaproxy};
use serde_json::Value;

struct Setup {
    old: TestBackend,
    new: TestBackend,
    haproxy: TestHaproxy,
    dir: tempfile::TempDir,
}

impl Setup {
    fn start() -> Setup {
        let old = TestBackend::start("old", [127, 0, 0, 2].into()).unwrap();
        let new = TestBackend::start("new", [127, 0, 0, 3].into()).unwrap();
        let haproxy = TestHaproxy::start(old.address(), new.address()).unwrap();
        Setup { old, new, haproxy, dir: tempfile::tempdir().unwrap() }
    }

    /// Writes a plan with these steps and timings and gates on both sides; returns its path.
    fn plan(&self, steps: &str, bake: &str, interval: &str) -> PathBuf {
        let gate = |name: &str, b: &TestBackend| {
            format!(
                "  - {{name: {name}, side: {name}, url: 'http://{name}.cutover.test:{}/', address: {}, requests: 2}}\n",
                b.address().port(),
                b.address().ip()
            )
        };
        let text = format!(
            "driver:\n  haproxy: {{socket: '{}', backend: be, old: old, new: new}}\nsteps: {steps}\nbake: {bake}\ngate_interval: {interval}\ngates:\n  http:\n{}{}",
            self.haproxy.admin_socket().display(),
            gate("old", &self.old),
            gate("new", &self.new)
        );
        let path = self.dir.path().join("cutover.yaml");
        std::fs::write(&path, text).unwrap();
        path
    }

    fn weights(&self) -> (u32, u32) {
        (self.haproxy.weight("old").unwrap(), self.haproxy.weight("new").unwrap())
    }
}

fn ferry(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ferry"));
    command.args(args).stdin(Stdio::null());
    command
}

fn run(args: &[&str]) -> Output {
    ferry(args).output().unwrap()
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn journal(plan: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(plan.with_extension("journal")).unwrap_or_default();
    text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
}

fn events_of(journal: &[Value], event: &str) -> Vec<u64> {
    journal.iter().filter(|r| r["event"] == event).map(|r| r["step"].as_u64().unwrap()).collect()
}

#[test]
fn a_killed_cutover_resumes_without_skipping_or_ungated_repeats_and_rolls_back_on_request() {
    let setup = Setup::start();
    let plan = setup.plan("[0, 25, 50, 75, 100]", "1200ms", "300ms");
    let mut child = ferry(&["cutover", "--plan", path(&plan)]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    // Killed while step 2 (50 %) bakes: its weights are set, its gates have not held yet.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !events_of(&journal(&plan), "set").contains(&2) {
        assert!(Instant::now() < deadline, "step 2 was never set: {:?}", journal(&plan));
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(400));
    let second = run(&["cutover", "--plan", path(&plan)]);
    assert_eq!(second.status.code(), Some(1), "a second run must not share the journal");
    assert!(String::from_utf8_lossy(&second.stderr).contains("another ferry cutover holds"), "{}", String::from_utf8_lossy(&second.stderr));
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(events_of(&journal(&plan), "passed"), [0, 1]);
    assert_eq!(setup.weights(), (50, 50));

    let fresh = run(&["cutover", "--plan", path(&plan)]);
    assert_eq!(fresh.status.code(), Some(1), "a fresh run refuses a journal with a run in it");
    assert!(String::from_utf8_lossy(&fresh.stderr).contains("--resume"));

    let resumed = run(&["cutover", "--plan", path(&plan), "--resume", "-o", "json"]);
    assert_eq!(resumed.status.code(), Some(0), "{}", String::from_utf8_lossy(&resumed.stderr));
    let report: Value = serde_json::from_slice(&resumed.stdout).unwrap();
    assert_eq!(report["outcome"], "completed");
    let events = report["events"].as_array().unwrap();
    let steps_of = |action: &str| -> Vec<u64> { events.iter().filter(|e| e["action"] == action).map(|e| e["step"].as_u64().unwrap()).collect() };
    // Step 2 is set again and gated again; 0 and 1 are not touched; 3 and 4 follow.
    assert_eq!(steps_of("set"), [2, 3, 4]);
    assert_eq!(steps_of("passed"), [2, 3, 4]);
    for step in [2, 3, 4] {
        assert!(steps_of("gate").contains(&step), "step {step} passed without its gate");
    }
    assert_eq!(events_of(&journal(&plan), "passed"), [0, 1, 2, 3, 4], "each step passed exactly once");
    assert_eq!(setup.weights(), (0, 100));
    let saved = setup.dir.path().join("timeline.json");
    std::fs::write(&saved, &resumed.stdout).unwrap();
    let dry_run_yaml = run(&["cutover", "--plan", path(&plan), "--dry-run", "-o", "yaml"]);
    let dry: Value = serde_saphyr::from_slice(&dry_run_yaml.stdout).unwrap();
    assert_eq!((&dry["format"], &dry["outcome"]), (&Value::from("ferry.cutover.timeline/v1"), &Value::from("dry_run")), "-o yaml: the JSON document as YAML");
    let record = run(&["report", path(&saved)]);
    assert_eq!(record.status.code(), Some(0), "{}", String::from_utf8_lossy(&record.stderr));
    assert!(String::from_utf8_lossy(&record.stdout).contains("completed: all traffic on the new side; 3 steps set"));

    let rolled = run(&["cutover", "--plan", path(&plan), "--rollback"]);
    assert_eq!(rolled.status.code(), Some(0), "{}", String::from_utf8_lossy(&rolled.stderr));
    assert_eq!(setup.weights(), (100, 0), "the original weights are back");
    assert!(String::from_utf8_lossy(&rolled.stdout).contains("restored"));
}

#[test]
fn a_failing_gate_exits_5_with_the_original_weights_restored() {
    let setup = Setup::start();
    setup.new.set_status(500);
    let plan = setup.plan("[0, 50, 100]", "600ms", "200ms");
    let output = run(&["cutover", "--plan", path(&plan), "-o", "json"]);
    assert_eq!(output.status.code(), Some(5), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(setup.weights(), (100, 0));
    let timeline: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!((&timeline["format"], &timeline["outcome"]), (&Value::from("ferry.cutover.timeline/v1"), &Value::from("rolled_back")));
    let rollback = timeline["events"].as_array().unwrap().iter().find(|e| e["action"] == "rollback").expect("a rollback event");
    assert!(rollback["detail"].as_str().unwrap().contains("status 500"), "{rollback}");
    assert_eq!(rollback["weights"], serde_json::json!({"old": 100, "new": 0}));

    // The saved timeline in the migration record: the step failed, and the page draws it.
    let saved = setup.dir.path().join("timeline.json");
    std::fs::write(&saved, &output.stdout).unwrap();
    let page = setup.dir.path().join("record.html");
    let record = run(&["report", path(&saved), "-o", "html", "--out", path(&page)]);
    assert_eq!(record.status.code(), Some(3), "{}", String::from_utf8_lossy(&record.stderr));
    assert!(String::from_utf8_lossy(&record.stderr).contains("record: 1 of 1 steps FAILED: cutover ("));
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("rolled back: old 100 / new 0 restored: ") && html.contains(r#"stroke-dasharray="4 3""#), "{html}");
    assert!(html.contains(r##"fill="#b42318""##), "a failed gate evaluation is drawn red: {html}");
}

#[test]
fn dry_runs_change_nothing_and_bad_plans_and_command_lines_are_refused() {
    let setup = Setup::start();
    let plan = setup.plan("[0, 50, 100]", "1s", "500ms");
    let dry = run(&["cutover", "--plan", path(&plan), "--dry-run"]);
    assert_eq!(dry.status.code(), Some(0), "{}", String::from_utf8_lossy(&dry.stderr));
    let stderr = String::from_utf8_lossy(&dry.stderr);
    assert!(stderr.contains("worst-case time to roll back"), "{stderr}");
    assert!(String::from_utf8_lossy(&dry.stdout).contains("would_set"));
    assert_eq!(setup.weights(), (100, 0));
    assert!(!plan.with_extension("journal").exists());

    std::fs::write(&plan, std::fs::read_to_string(&plan).unwrap().replace("[0, 50, 100]", "[0, 150]")).unwrap();
    let bad = run(&["cutover", "--plan", path(&plan)]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("0–100"));
    assert_eq!(run(&["cutover", "--plan", path(&plan), "--resume", "--rollback"]).status.code(), Some(2));
    assert_eq!(run(&["cutover"]).status.code(), Some(2));
    assert_eq!(setup.weights(), (100, 0));
}

/// A saved `ferry verify -o json` report read at `now` with `readiness`; `claimed` overwrites the
/// verdict the findings give, as an edited file would.
fn saved_report(now: &jiff::Timestamp, readiness: Vec<ferry_verify::Finding<ferry_verify::Readiness>>, claimed: Option<ferry_verify::Verdict>) -> String {
    let report = ferry_verify::Report { compared: 1, at_parity: 1, readiness, ..ferry_verify::Report::default() };
    let mut saved = ferry_verify::Saved::new("context `old`".into(), "context `new`".into(), now.to_string(), report);
    saved.verdict = claimed.unwrap_or(saved.verdict);
    serde_json::to_string(&saved).unwrap()
}

#[test]
fn a_cutover_that_requires_a_ready_verify_report_starts_only_with_one() {
    let setup = Setup::start();
    let plan = setup.plan("[0, 100]", "300ms", "100ms");
    let report = setup.dir.path().join("verify.json");
    let with_requires = format!("{}requires: {{verify_report: '{}', max_age: 10m}}\n", std::fs::read_to_string(&plan).unwrap(), path(&report));
    std::fs::write(&plan, with_requires).unwrap();
    let now = jiff::Timestamp::now();

    let not_ready = ferry_verify::Finding {
        object: ferry_model::ObjectId { api_version: "apps/v1".into(), kind: "Deployment".into(), namespace: Some("shop".into()), name: "web".into() },
        found: ferry_verify::Readiness { state: ferry_verify::State::NotReady, detail: "0/1 replicas ready".into() },
    };
    std::fs::write(&report, saved_report(&now, vec![not_ready.clone()], None)).unwrap();
    let refused = run(&["cutover", "--plan", path(&plan)]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("cutover refused") && stderr.contains("the verdict is `not-ready`, not `ready`"), "{stderr}");
    assert_eq!(setup.weights(), (100, 0), "nothing moved");
    assert!(journal(&plan).is_empty(), "nothing journalled");

    std::fs::write(&report, saved_report(&now, vec![not_ready], Some(ferry_verify::Verdict::Ready))).unwrap();
    let claimed = run(&["cutover", "--plan", path(&plan)]);
    let stderr = String::from_utf8_lossy(&claimed.stderr);
    assert_eq!(claimed.status.code(), Some(3), "a written `ready` over not-ready findings is not trusted: {stderr}");
    assert!(stderr.contains("not trusted: its `verdict` is ready, but its findings give not-ready"), "{stderr}");
    assert_eq!(setup.weights(), (100, 0), "nothing moved");

    std::fs::write(&report, saved_report(&now, Vec::new(), None)).unwrap();
    let output = run(&["cutover", "--plan", path(&plan)]);
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stderr).contains("required: verify report"), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(setup.weights(), (0, 100));
}
