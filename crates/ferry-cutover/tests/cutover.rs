//! Cut-overs against real servers on loopback: HAProxy, PowerDNS and BIND started by the tests,
//! two HTTP backends on 127.0.0.2 (old) and 127.0.0.3 (new) whose health can be flipped.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ferry_cutover::driver::{Driver, Rfc2136};
use ferry_cutover::plan::DriverConfig;
use ferry_cutover::{Cutover, Event, Mode, Outcome, Record, Weights};
use ferry_testcluster::{BIND_TSIG_KEY, BIND_TSIG_SECRET, LoadResult, POWERDNS_API_KEY, TestBackend, TestBind, TestHaproxy, TestLoad, TestPowerDns};

const OLD_IP: [u8; 4] = [127, 0, 0, 2];
const NEW_IP: [u8; 4] = [127, 0, 0, 3];

fn backends() -> (TestBackend, TestBackend) {
    (TestBackend::start("old", OLD_IP.into()).unwrap(), TestBackend::start("new", NEW_IP.into()).unwrap())
}

/// HTTP gates on both sides, the host pinned to each backend's address.
fn gates(old: &TestBackend, new: &TestBackend) -> String {
    let gate = |name: &str, b: &TestBackend| {
        format!(
            "  - {{name: {name}, side: {name}, url: 'http://{name}.cutover.test:{}/', address: {}, expect_body: ok, requests: 2, timeout: 1s}}\n",
            b.address().port(),
            b.address().ip()
        )
    };
    format!("gates:\n  http:\n{}{}", gate("old", old), gate("new", new))
}

fn haproxy_plan(haproxy: &TestHaproxy, steps: &str, bake: &str, interval: &str, gates: &str) -> String {
    format!(
        "driver:\n  haproxy: {{socket: '{}', backend: be, old: old, new: new}}\nsteps: {steps}\nbake: {bake}\ngate_interval: {interval}\nwatch_old: 500ms\n{gates}",
        haproxy.admin_socket().display()
    )
}

fn run(plan: &str, mode: Mode, journal: &Path, observer: &mut dyn FnMut(&Event)) -> Result<ferry_cutover::Report, ferry_cutover::Error> {
    Cutover::new(plan, observer)?.run(mode, journal)
}

fn journal_records(path: &Path) -> Vec<Record> {
    std::fs::read_to_string(path).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// Removes the journal's `rolled_back` record, as if ferry had been killed just before writing it.
fn forget_rolled_back(journal: &Path) {
    let text = std::fs::read_to_string(journal).unwrap();
    let kept: Vec<&str> = text.lines().filter(|l| !l.contains("\"rolled_back\"")).collect();
    std::fs::write(journal, kept.join("\n") + "\n").unwrap();
}

/// Runs `plan` and, once the step to `percent` is set, lets `arm` check the switch there and
/// then makes the new side fail; asserts that the run rolled back and that `restored` held
/// within one gate `interval` (plus a margin for a loaded machine) of the failure.
fn assert_rolled_back_within_one_interval(
    plan: &str,
    journal: &Path,
    interval: Duration,
    percent: u8,
    new: Arc<TestBackend>,
    arm: impl Fn() + Send + Sync + 'static,
    restored: impl Fn() -> bool + Send + Sync + 'static,
) {
    let (arm, restored) = (Arc::new(arm), Arc::new(restored));
    let restored_after: Arc<Mutex<Option<Duration>>> = Arc::default();
    let mut watcher = None;
    let mut observer = |event: &Event| {
        if event.action == "set" && event.percent == Some(percent) {
            let (new, arm, restored, restored_after) = (Arc::clone(&new), Arc::clone(&arm), Arc::clone(&restored), Arc::clone(&restored_after));
            watcher = Some(std::thread::spawn(move || {
                arm();
                new.set_status(500);
                let failed = Instant::now();
                while failed.elapsed() < Duration::from_secs(10) {
                    if restored() {
                        *restored_after.lock().unwrap() = Some(failed.elapsed());
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
            }));
        }
    };
    let report = run(plan, Mode::Fresh, journal, &mut observer).unwrap();
    watcher.expect("the failing step was reached").join().unwrap();
    assert_eq!(report.outcome, Outcome::RolledBack);
    let restored_after = restored_after.lock().unwrap().expect("the last good state was restored");
    assert!(restored_after <= interval + Duration::from_millis(300), "rolled back {restored_after:?} after the failure (interval {interval:?})");
    eprintln!("rolled back {restored_after:?} after the new side began failing (gate interval {interval:?})");
}

#[test]
fn a_healthy_shift_through_haproxy_loses_no_request() {
    let (old, new) = backends();
    let haproxy = TestHaproxy::start(old.address(), new.address()).unwrap();
    let plan = haproxy_plan(&haproxy, "[0, 1, 5, 25, 50, 100]", "600ms", "200ms", &gates(&old, &new));
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("cutover.journal");
    let load = TestLoad::start(haproxy.frontend(), 4, Duration::from_millis(2));
    let report = run(&plan, Mode::Fresh, &journal, &mut |_| {}).unwrap();
    let LoadResult { ok, failed, .. } = load.finish();
    assert_eq!(report.outcome, Outcome::Completed);
    assert_eq!(failed, 0, "{ok} answered, {failed} failed");
    assert!(ok > 500 && new.served() > 100 && old.served() > 100, "ok {ok}, old {}, new {}", old.served(), new.served());
    assert_eq!((haproxy.weight("old").unwrap(), haproxy.weight("new").unwrap()), (0, 100));
    let watch = report.events.iter().find(|e| e.action == "watch_old").expect("the old side was watched");
    assert!(watch.detail.contains("old side idle"), "{}", watch.detail);
    let passed: Vec<usize> = journal_records(&journal).iter().filter_map(|r| if let Record::Passed { step } = r { Some(*step) } else { None }).collect();
    assert_eq!(passed, [0, 1, 2, 3, 4, 5]);
    assert_eq!(journal_records(&journal).last(), Some(&Record::Completed));
}

#[test]
fn a_failing_gate_rolls_back_to_the_last_good_weights_within_one_interval() {
    let (old, new) = backends();
    let new = Arc::new(new);
    let haproxy = Arc::new(TestHaproxy::start(old.address(), new.address()).unwrap());
    let interval = Duration::from_millis(400);
    let plan = haproxy_plan(&haproxy, "[0, 5, 25, 50, 100]", "1600ms", "400ms", &gates(&old, &new));
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("cutover.journal");
    // At the 25 % step the new side starts failing; a watcher measures how long until 95/5 is back.
    let back = Arc::clone(&haproxy);
    let restored = move || back.weight("new").unwrap() == 5 && back.weight("old").unwrap() == 95;
    assert_rolled_back_within_one_interval(&plan, &journal, interval, 25, new, || std::thread::sleep(Duration::from_millis(150)), restored);
    let records = journal_records(&journal);
    assert_eq!(records.last(), Some(&Record::RolledBack { to: Weights { old: 95, new: 5 } }));
    assert!(!records.contains(&Record::Passed { step: 2 }));
}

#[test]
fn powerdns_answers_follow_the_weights_of_each_step_and_rollback_restores_the_old_record() {
    let (old, new) = backends();
    let pdns = TestPowerDns::start().unwrap();
    pdns.create_zone("cutover.test.", "shop.cutover.test.", &[Ipv4Addr::from(OLD_IP)], 2).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("pdns.key");
    std::fs::write(&key_file, format!("{POWERDNS_API_KEY}\n")).unwrap();
    let plan = powerdns_plan(&pdns, &key_file, &gates(&old, &new));
    let journal = dir.path().join("cutover.journal");
    const QUERIES: u32 = 400;
    let mut observed: Vec<(u8, u32, u32)> = Vec::new();
    let mut observer = |event: &Event| {
        if event.action == "set" {
            let answers: Vec<(Vec<Ipv4Addr>, u32)> = (0..QUERIES).map(|_| pdns.query_a("shop.cutover.test.").unwrap()).collect();
            let to_new = answers.iter().filter(|(a, _)| a == &[Ipv4Addr::from(NEW_IP)]).count() as u32;
            assert!(answers.iter().all(|(a, ttl)| a.len() == 1 && *ttl == 1), "one address with the cut-over TTL: {:?}", answers[0]);
            observed.push((event.percent.unwrap(), to_new, QUERIES));
        }
    };
    let report = run(&plan, Mode::Fresh, &journal, &mut observer).unwrap();
    assert_eq!(report.outcome, Outcome::Completed);
    for &(percent, to_new, n) in &observed {
        let share = f64::from(to_new) / f64::from(n);
        let expected = f64::from(percent) / 100.0;
        // Four standard deviations of a binomial share at p = 0.5 over 400 answers is 0.1.
        assert!((share - expected).abs() <= 0.1, "{percent} %: {to_new}/{n} answers to the new side");
        if percent == 0 || percent == 100 {
            assert_eq!(share, expected, "{percent} %: plain A records of one side");
        }
    }
    assert_eq!(observed.iter().map(|o| o.0).collect::<Vec<_>>(), [0, 10, 50, 90, 100]);
    assert_eq!(pdns.query_a("shop.cutover.test.").unwrap(), (vec![Ipv4Addr::from(NEW_IP)], 2), "all on the new side, TTL restored");
    eprintln!("answers to the new side per step: {observed:?}");
    let restored = run(&plan, Mode::Rollback, &journal, &mut |_| {}).unwrap();
    assert_eq!(restored.outcome, Outcome::Restored);
    assert_eq!(pdns.query_a("shop.cutover.test.").unwrap(), (vec![Ipv4Addr::from(OLD_IP)], 2), "--rollback: the old A record with its TTL");
}

fn powerdns_plan(pdns: &TestPowerDns, key_file: &Path, gates: &str) -> String {
    format!(
        "driver:\n  powerdns:\n    api: {}\n    api_key: {{file: '{}'}}\n    zone: cutover.test.\n    name: shop.cutover.test.\n    old: [127.0.0.2]\n    new: [127.0.0.3]\n    ttl: 1\nsteps: [0, 10, 50, 90, 100]\nbake: 400ms\ngate_interval: 200ms\n{gates}",
        pdns.api_url(),
        key_file.display()
    )
}

#[test]
fn bad_plans_are_refused_before_any_change() {
    let (old, new) = backends();
    let pdns = TestPowerDns::start().unwrap();
    pdns.create_zone("cutover.test.", "shop.cutover.test.", &[Ipv4Addr::from(OLD_IP)], 2).unwrap();
    let haproxy = TestHaproxy::start(old.address(), new.address()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("cutover.journal");
    let wrong_key = dir.path().join("wrong.key");
    std::fs::write(&wrong_key, "not-the-key").unwrap();
    let good_key = dir.path().join("good.key");
    std::fs::write(&good_key, POWERDNS_API_KEY).unwrap();
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let cases = [
        (powerdns_plan(&pdns, &wrong_key, ""), "refused the API key"),
        (powerdns_plan(&pdns, &good_key, "").replace(&pdns.api_url(), &format!("http://127.0.0.1:{closed_port}")), "PowerDNS API"),
        (powerdns_plan(&pdns, &good_key, "").replace("name: shop.", "name: nothing."), "has no A or LUA record"),
        (haproxy_plan(&haproxy, "[0, 100]", "1s", "1s", "").replace("backend: be", "backend: nope"), "No such"),
        (haproxy_plan(&haproxy, "[0, 100]", "1s", "1s", "").replace("admin.sock", "missing.sock"), "runtime API"),
        (haproxy_plan(&haproxy, "[50, 10]", "1s", "1s", ""), "must increase"),
        (haproxy_plan(&haproxy, "[0, 100]", "1s", "1s", "").replace("haproxy:", "route53:"), "route53"),
    ];
    for (plan, expected) in cases {
        let err = run(&plan, Mode::Fresh, &journal, &mut |_| {}).unwrap_err().to_string();
        assert!(err.contains(expected), "expected `{expected}` in: {err}");
        assert!(!err.contains(POWERDNS_API_KEY) && !err.contains("not-the-key"), "a key leaked: {err}");
        assert!(!journal.exists(), "nothing may be journalled for a refused plan");
    }
    assert_eq!(pdns.query_a("shop.cutover.test.").unwrap().0, [Ipv4Addr::from(OLD_IP)]);
    assert_eq!((haproxy.weight("old").unwrap(), haproxy.weight("new").unwrap()), (100, 0));
}

#[test]
fn resuming_a_run_killed_while_rolling_back_finishes_the_rollback() {
    let (old, new) = backends();
    new.set_status(500);
    let haproxy = TestHaproxy::start(old.address(), new.address()).unwrap();
    let plan = haproxy_plan(&haproxy, "[0, 50, 100]", "400ms", "200ms", &gates(&old, &new));
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("cutover.journal");
    assert_eq!(run(&plan, Mode::Fresh, &journal, &mut |_| {}).unwrap().outcome, Outcome::RolledBack);
    // As if ferry had been killed between `rolling_back` and `rolled_back`, the weights half changed.
    forget_rolled_back(&journal);
    haproxy.command("set weight be/new 50").unwrap();
    haproxy.command("set weight be/old 50").unwrap();
    let report = run(&plan, Mode::Resume, &journal, &mut |_| {}).unwrap();
    assert_eq!(report.outcome, Outcome::RolledBack);
    assert_eq!((haproxy.weight("old").unwrap(), haproxy.weight("new").unwrap()), (100, 0));
    assert!(report.events.iter().all(|e| e.action != "set"), "no step may be set while a rollback is unfinished");
    let err = run(&plan, Mode::Resume, &journal, &mut |_| {}).unwrap_err().to_string();
    assert!(err.contains("has ended"), "{err}");
}

#[test]
fn traffic_reaching_the_old_side_after_100_percent_is_reported_and_tcp_admin_sockets_work() {
    let (old, new) = backends();
    let haproxy = Arc::new(TestHaproxy::start(old.address(), new.address()).unwrap());
    // The runtime API over TCP this time.
    let plan =
        haproxy_plan(&haproxy, "[0, 100]", "400ms", "200ms", "").replace(&haproxy.admin_socket().display().to_string(), &haproxy.admin_address().to_string());
    let dir = tempfile::tempdir().unwrap();
    let mut sender = None;
    // Once 100 % passed, someone puts the old server back and requests arrive there while it is watched.
    let mut observer = |event: &Event| {
        if event.action == "passed" && event.percent == Some(100) {
            let haproxy = Arc::clone(&haproxy);
            sender = Some(std::thread::spawn(move || {
                haproxy.command("set weight be/old 100").unwrap();
                let load = TestLoad::start(haproxy.frontend(), 1, Duration::from_millis(20));
                std::thread::sleep(Duration::from_millis(200));
                load.finish()
            }));
        }
    };
    let report = run(&plan, Mode::Fresh, &dir.path().join("journal"), &mut observer).unwrap();
    let load = sender.expect("100 % passed").join().unwrap();
    assert_eq!(report.outcome, Outcome::Completed);
    let watch = report.events.iter().find(|e| e.action == "watch_old").unwrap();
    assert!(load.ok > 2 && watch.detail.contains("NOT idle"), "{} ({load:?})", watch.detail);
}

/// BIND serving `shop.cutover.test.` as the old side's address with TTL 2.
fn bind() -> TestBind {
    TestBind::start("cutover.test.", "shop.cutover.test.", &[Ipv4Addr::from(OLD_IP)], 2).unwrap()
}

fn rfc2136_plan(server: &str, secret_file: &Path, steps: &str, gates: &str) -> String {
    format!(
        "driver:\n  rfc2136:\n    server: '{server}'\n    zone: cutover.test.\n    name: shop.cutover.test.\n    key_name: {BIND_TSIG_KEY}\n    algorithm: hmac-sha256\n    secret: {{file: '{}'}}\n    old: [127.0.0.2]\n    new: [127.0.0.3]\n    ttl: 1\nsteps: {steps}\nbake: 400ms\ngate_interval: 200ms\n{gates}",
        secret_file.display()
    )
}

#[test]
fn bind_switches_the_record_to_the_new_side_with_the_ttl_lowered_and_rollback_switches_it_back() {
    let (old, new) = backends();
    let bind = bind();
    let plan = rfc2136_plan(&bind.server(), &bind.key_file(), "[0, 100]", &gates(&old, &new));
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("cutover.journal");
    // A dry run reaches the server with a signed update that changes nothing.
    assert_eq!(run(&plan, Mode::DryRun, &journal, &mut |_| {}).unwrap().outcome, Outcome::DryRun);
    assert_eq!(bind.serial().unwrap(), 1, "the dry run's check changed the zone");
    let mut answered = Vec::new();
    let mut observer = |event: &Event| {
        if event.action == "set" {
            answered.push((event.percent.unwrap(), bind.query_a("shop.cutover.test.").unwrap()));
        }
    };
    let report = run(&plan, Mode::Fresh, &journal, &mut observer).unwrap();
    assert_eq!(report.outcome, Outcome::Completed);
    assert_eq!(answered, [(0, (vec![Ipv4Addr::from(OLD_IP)], 1)), (100, (vec![Ipv4Addr::from(NEW_IP)], 1))], "what BIND answered at each step");
    assert!(report.events.iter().any(|e| e.action == "ttl" && e.detail.contains("2s → 1s")));
    assert_eq!(bind.query_a("shop.cutover.test.").unwrap(), (vec![Ipv4Addr::from(NEW_IP)], 2), "all on the new side, TTL restored");
    assert_eq!(report.worst_case_rollback_ms, 200 + 2 * 2000 + 1000, "interval + both gates' probes + the cut-over TTL");
    let restored = run(&plan, Mode::Rollback, &journal, &mut |_| {}).unwrap();
    assert_eq!(restored.outcome, Outcome::Restored);
    assert_eq!(bind.query_a("shop.cutover.test.").unwrap(), (vec![Ipv4Addr::from(OLD_IP)], 2), "--rollback: the old address with its TTL");
}

#[test]
fn bind_switches_aaaa_records_and_rollback_switches_them_back() {
    // IPv6 addresses of the documentation range are DNS data only here: nothing is sent to them.
    let (old_v6, new_v6): (Ipv6Addr, Ipv6Addr) = ("2001:db8::2".parse().unwrap(), "2001:db8::3".parse().unwrap());
    let bind = TestBind::start("cutover.test.", "shop.cutover.test.", &[old_v6], 2).unwrap();
    let plan =
        rfc2136_plan(&bind.server(), &bind.key_file(), "[0, 100]", "").replace("[127.0.0.2]", "['2001:db8::2']").replace("[127.0.0.3]", "['2001:db8::3']");
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("cutover.journal");
    let report = run(&plan, Mode::Fresh, &journal, &mut |_| {}).unwrap();
    assert_eq!(report.outcome, Outcome::Completed);
    assert_eq!(bind.query_aaaa("shop.cutover.test.").unwrap(), (vec![new_v6], 2), "the new side's AAAA record, TTL restored");
    assert!(bind.query_a("shop.cutover.test.").unwrap().0.is_empty(), "no A record appeared");
    assert_eq!(run(&plan, Mode::Rollback, &journal, &mut |_| {}).unwrap().outcome, Outcome::Restored);
    assert_eq!(bind.query_aaaa("shop.cutover.test.").unwrap(), (vec![old_v6], 2));
}

#[test]
fn a_failing_gate_switches_bind_back_to_the_old_address_within_one_interval() {
    let (old, new) = backends();
    let new = Arc::new(new);
    let bind = Arc::new(bind());
    let plan = rfc2136_plan(&bind.server(), &bind.key_file(), "[0, 100]", &gates(&old, &new)).replace("bake: 400ms", "bake: 1600ms").replace("200ms", "400ms");
    let interval = Duration::from_millis(400);
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("cutover.journal");
    let (at_new, back) = (Arc::clone(&bind), Arc::clone(&bind));
    let switched = move || assert_eq!(at_new.query_a("shop.cutover.test.").unwrap().0, [Ipv4Addr::from(NEW_IP)]);
    let restored = move || back.query_a("shop.cutover.test.").unwrap().0 == [Ipv4Addr::from(OLD_IP)];
    assert_rolled_back_within_one_interval(&plan, &journal, interval, 100, new, switched, restored);
    assert_eq!(bind.query_a("shop.cutover.test.").unwrap(), (vec![Ipv4Addr::from(OLD_IP)], 2), "old address, TTL restored");
    assert_eq!(journal_records(&journal).last(), Some(&Record::RolledBack { to: Weights { old: 100, new: 0 } }));
}

#[test]
fn bad_rfc2136_plans_are_refused_before_any_change() {
    let bind = bind();
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("cutover.journal");
    let wrong_secret = "d3Jvbmctc2VjcmV0LWZvci10aGUtdGVzdC1rZXkhIQ==";
    let wrong_file = dir.path().join("wrong.key");
    std::fs::write(&wrong_file, format!("key \"{BIND_TSIG_KEY}\" {{ algorithm hmac-sha256; secret \"{wrong_secret}\"; }};\n")).unwrap();
    let not_base64 = dir.path().join("garbled.key");
    std::fs::write(&not_base64, "not*base64").unwrap();
    let good = rfc2136_plan(&bind.server(), &bind.key_file(), "[0, 100]", "");
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let cases = [
        (rfc2136_plan(&bind.server(), &wrong_file, "[0, 100]", ""), "refused the TSIG signature of key ferry-cutover."),
        (good.replace("key_name: ferry-cutover.", "key_name: someone-else."), "does not know TSIG key someone-else."),
        (good.replace("algorithm: hmac-sha256", "algorithm: hmac-sha512"), "does not know TSIG key ferry-cutover. with algorithm hmac-sha512"),
        (rfc2136_plan(&bind.server(), &not_base64, "[0, 100]", ""), "the TSIG secret is not base64"),
        (rfc2136_plan(&bind.server(), &bind.key_file(), "[0, 25, 100]", ""), "`steps`: 25 % cannot be expressed by the rfc2136 driver"),
        // The key may not change ns1's records (update-policy): refused by the no-op check.
        (
            good.replace("name: shop.", "name: ns1.").replace("old: [127.0.0.2]", "old: [127.0.0.1]"),
            "does the server's policy let it change the A records of ns1.cutover.test.",
        ),
        (good.replace("name: shop.", "name: nothing."), "has no A record named nothing.cutover.test."),
        (good.replace("old: [127.0.0.2]", "old: [127.0.0.9]"), "neither the plan's `old` nor its `new` side"),
        (good.replace(&bind.server(), &format!("127.0.0.1:{closed_port}")), "Connection refused"),
        (good.replace("zone: cutover.test.", "zone: other.test."), "is not in `zone` other.test."),
    ];
    for (plan, expected) in cases {
        let err = run(&plan, Mode::Fresh, &journal, &mut |_| {}).unwrap_err().to_string();
        assert!(err.contains(expected), "expected `{expected}` in: {err}");
        assert!(!err.contains(BIND_TSIG_SECRET) && !err.contains(wrong_secret) && !err.contains("not*base64"), "a secret leaked: {err}");
        assert!(!journal.exists(), "nothing may be journalled for a refused plan");
    }
    assert_eq!(bind.serial().unwrap(), 1, "no refused plan changed the zone");
    assert_eq!(bind.query_a("shop.cutover.test.").unwrap(), (vec![Ipv4Addr::from(OLD_IP)], 2));
}

#[test]
fn resuming_an_rfc2136_run_killed_while_rolling_back_finishes_the_rollback() {
    let (old, new) = backends();
    new.set_status(500);
    let bind = bind();
    let plan = rfc2136_plan(&bind.server(), &bind.key_file(), "[0, 100]", &gates(&old, &new));
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("cutover.journal");
    assert_eq!(run(&plan, Mode::Fresh, &journal, &mut |_| {}).unwrap().outcome, Outcome::RolledBack);
    // As if ferry had been killed between `rolling_back` and `rolled_back`, before its update
    // reached the server: the new address is still in force.
    forget_rolled_back(&journal);
    let DriverConfig::Rfc2136(config) = ferry_cutover::Plan::parse(&plan).unwrap().driver else { unreachable!("an rfc2136 plan") };
    let mut driver = Rfc2136::new(&config).unwrap();
    driver.set_weights(Weights { old: 0, new: 100 }).unwrap();
    assert_eq!(driver.weights().unwrap(), Weights { old: 0, new: 100 }, "the driver reads back what it set");
    assert_eq!(bind.query_a("shop.cutover.test.").unwrap().0, [Ipv4Addr::from(NEW_IP)]);
    let report = run(&plan, Mode::Resume, &journal, &mut |_| {}).unwrap();
    assert_eq!(report.outcome, Outcome::RolledBack);
    assert!(report.events.iter().all(|e| e.action != "set"), "no step may be set while a rollback is unfinished");
    assert_eq!(bind.query_a("shop.cutover.test.").unwrap(), (vec![Ipv4Addr::from(OLD_IP)], 2));
}

#[test]
fn powerdns_takes_the_rfc2136_drivers_updates_too() {
    let (old, new) = backends();
    let pdns = TestPowerDns::start().unwrap();
    pdns.create_zone("cutover.test.", "shop.cutover.test.", &[Ipv4Addr::from(OLD_IP)], 2).unwrap();
    pdns.allow_tsig_updates("cutover.test.", BIND_TSIG_KEY, BIND_TSIG_SECRET).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("tsig.secret");
    std::fs::write(&secret, BIND_TSIG_SECRET).unwrap();
    let server = format!("127.0.0.1:{}", pdns.dns_port());
    let wrong = dir.path().join("wrong.secret");
    std::fs::write(&wrong, "d3Jvbmctc2VjcmV0LWZvci10aGUtdGVzdC1rZXkhIQ==").unwrap();
    let journal = dir.path().join("cutover.journal");
    let err = run(&rfc2136_plan(&server, &wrong, "[0, 100]", ""), Mode::Fresh, &journal, &mut |_| {}).unwrap_err().to_string();
    // PowerDNS answers a wrong signature with REFUSED, without BIND's TSIG error BADSIG.
    assert!(err.contains("the server refused the update: is the secret of key ferry-cutover. right"), "{err}");
    assert!(!journal.exists());
    let plan = rfc2136_plan(&server, &secret, "[0, 100]", &gates(&old, &new));
    let mut answered = Vec::new();
    let report = run(&plan, Mode::Fresh, &journal, &mut |e: &Event| {
        if e.action == "set" {
            answered.push(pdns.query_a("shop.cutover.test.").unwrap());
        }
    })
    .unwrap();
    assert_eq!(report.outcome, Outcome::Completed);
    assert_eq!(answered, [(vec![Ipv4Addr::from(OLD_IP)], 1), (vec![Ipv4Addr::from(NEW_IP)], 1)]);
    assert_eq!(pdns.query_a("shop.cutover.test.").unwrap(), (vec![Ipv4Addr::from(NEW_IP)], 2));
    assert_eq!(run(&plan, Mode::Rollback, &journal, &mut |_| {}).unwrap().outcome, Outcome::Restored);
    assert_eq!(pdns.query_a("shop.cutover.test.").unwrap(), (vec![Ipv4Addr::from(OLD_IP)], 2));
}
