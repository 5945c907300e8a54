//! `ferry-bench cutover [TRIALS]`: the cut-over's two promises, measured against real servers
//! on loopback (ferry-testcluster's HAProxy, PowerDNS, BIND and HTTP backends):
//! - rollback time per driver: the new side starts answering 500 at a random moment of the
//!   50 % step (100 % for the switch-only RFC 2136 driver); measured from that moment, and from
//!   the failing gate verdict, until the old weights are in force as the switch answers them
//!   (HAProxy `get weight`; PowerDNS and BIND: 30 DNS answers in a row all for the old address);
//! - requests lost during a healthy 0 → 100 % shift through HAProxy under closed-loop load.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ferry_cutover::{Cutover, Event, Mode, Outcome};
use ferry_testcluster::{BIND_TSIG_KEY, POWERDNS_API_KEY, TestBackend, TestBind, TestHaproxy, TestLoad, TestPowerDns};

const OLD_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);
const NEW_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 3);
const INTERVAL_MS: u64 = 500;

/// Runs both measurements and prints Markdown tables.
pub fn bench_cutover(args: &[String]) {
    let trials: usize = args.first().map_or(5, |t| t.parse().expect("trials"));
    println!("machine: {} cores, {}", crate::cores(), crate::cpu_model());
    println!(
        "| driver | gate interval ms | trials | failure → old weights in force ms (min / median / max) | max / interval | failing verdict → in force ms (median) |"
    );
    println!("|---|---|---|---|---|---|");
    for driver in [Driver::Haproxy, Driver::PowerDns, Driver::Rfc2136] {
        let mut samples: Vec<(Duration, Duration)> = (0..trials).map(|trial| rollback_trial(driver, trial)).collect();
        samples.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let (first, median, last) = (samples[0].0, samples[samples.len() / 2].0, samples[samples.len() - 1].0);
        let mut verdicts: Vec<Duration> = samples.iter().map(|s| s.1).collect();
        verdicts.sort();
        println!(
            "| {} | {INTERVAL_MS} | {trials} | {:.0} / {:.0} / {:.0} | {:.2} | {:.1} |",
            driver.name(),
            ms(first),
            ms(median),
            ms(last),
            ms(last) / INTERVAL_MS as f64,
            ms(verdicts[verdicts.len() / 2])
        );
    }
    healthy_shift();
}

#[derive(Debug, Clone, Copy)]
enum Driver {
    Haproxy,
    PowerDns,
    Rfc2136,
}

impl Driver {
    fn name(self) -> &'static str {
        match self {
            Driver::Haproxy => "HAProxy runtime API (unix socket)",
            Driver::PowerDns => "PowerDNS HTTP API (LUA → A record)",
            Driver::Rfc2136 => "RFC 2136 update with TSIG (BIND 9, A record switch)",
        }
    }

    /// The steps of its plan and the one during which the new side fails.
    fn steps(self) -> (&'static str, u8) {
        match self {
            Driver::Haproxy | Driver::PowerDns => ("[0, 50, 100]", 50),
            Driver::Rfc2136 => ("[0, 100]", 100),
        }
    }
}

/// The servers of one trial and how to tell that the old weights are in force again.
struct Switch {
    plan: String,
    in_force: Box<dyn Fn() -> bool + Send + Sync>,
    _dir: tempfile::TempDir,
}

fn switch(driver: Driver, old: &TestBackend, new: &TestBackend) -> Switch {
    let dir = tempfile::tempdir().expect("temp dir");
    let gate = format!(
        "gates:\n  http:\n  - {{name: new, side: new, url: 'http://new.cutover.test:{}/', address: {NEW_IP}, requests: 1, timeout: 1s}}\n",
        new.address().port()
    );
    let timing = format!("steps: {}\nbake: 5s\ngate_interval: {INTERVAL_MS}ms\n{gate}", driver.steps().0);
    match driver {
        Driver::Haproxy => {
            let haproxy = Arc::new(TestHaproxy::start(old.address(), new.address()).expect("haproxy"));
            let plan = format!("driver:\n  haproxy: {{socket: '{}', backend: be, old: old, new: new}}\n{timing}", haproxy.admin_socket().display());
            let in_force = move || haproxy.weight("new").ok() == Some(0) && haproxy.weight("old").ok() == Some(100);
            Switch { plan, in_force: Box::new(in_force), _dir: dir }
        }
        Driver::PowerDns => {
            let pdns = Arc::new(TestPowerDns::start().expect("pdns"));
            pdns.create_zone("cutover.test.", "shop.cutover.test.", &[OLD_IP], 1).expect("zone");
            let key = dir.path().join("key");
            std::fs::write(&key, POWERDNS_API_KEY).expect("key file");
            let plan = format!(
                "driver:\n  powerdns: {{api: '{}', api_key: {{file: '{}'}}, zone: cutover.test., name: shop.cutover.test., old: [{OLD_IP}], new: [{NEW_IP}], ttl: 1}}\n{timing}",
                pdns.api_url(),
                key.display()
            );
            let in_force = move || (0..30).all(|_| pdns.query_a("shop.cutover.test.").is_ok_and(|(a, _)| a == [OLD_IP]));
            Switch { plan, in_force: Box::new(in_force), _dir: dir }
        }
        Driver::Rfc2136 => {
            let bind = Arc::new(TestBind::start("cutover.test.", "shop.cutover.test.", &[OLD_IP], 1).expect("named"));
            let plan = format!(
                "driver:\n  rfc2136: {{server: '{}', zone: cutover.test., name: shop.cutover.test., key_name: {BIND_TSIG_KEY}, secret: {{file: '{}'}}, old: [{OLD_IP}], new: [{NEW_IP}], ttl: 1}}\n{timing}",
                bind.server(),
                bind.key_file().display()
            );
            let in_force = move || (0..30).all(|_| bind.query_a("shop.cutover.test.").is_ok_and(|(a, _)| a == [OLD_IP]));
            Switch { plan, in_force: Box::new(in_force), _dir: dir }
        }
    }
}

/// One rollback: (failure → in force, failing verdict → in force).
fn rollback_trial(driver: Driver, trial: usize) -> (Duration, Duration) {
    let old = TestBackend::start("old", IpAddr::V4(OLD_IP)).expect("old backend");
    let new = Arc::new(TestBackend::start("new", IpAddr::V4(NEW_IP)).expect("new backend"));
    let switch = switch(driver, &old, &new);
    let in_force = Arc::new(switch.in_force);
    let times: Arc<Mutex<(Option<Instant>, Option<Instant>)>> = Arc::default();
    let verdict = Arc::new(Mutex::new(None));
    let mut watcher = None;
    // The failure starts at a different moment of the gate interval in each trial.
    let offset = Duration::from_millis(100 + (trial as u64 * 7919) % INTERVAL_MS);
    let mut observer = |event: &Event| {
        if event.action == "set" && event.percent == Some(driver.steps().1) {
            let (new, in_force, times) = (Arc::clone(&new), Arc::clone(&in_force), Arc::clone(&times));
            watcher = Some(std::thread::spawn(move || {
                std::thread::sleep(offset);
                new.set_status(500);
                times.lock().expect("times").0 = Some(Instant::now());
                while !in_force() {
                    std::thread::sleep(Duration::from_millis(2));
                }
                times.lock().expect("times").1 = Some(Instant::now());
            }));
        }
        if event.action == "gate" && event.detail.starts_with("failure") {
            *verdict.lock().expect("verdict") = Some(Instant::now());
        }
    };
    let report = Cutover::new(&switch.plan, &mut observer).expect("plan").run(Mode::Fresh, &switch._dir.path().join("journal")).expect("run");
    watcher.expect("the failing step was reached").join().expect("watcher");
    assert_eq!(report.outcome, Outcome::RolledBack);
    let (failed, restored) = *times.lock().expect("times");
    let (failed, restored) = (failed.expect("flipped"), restored.expect("restored"));
    let verdict = verdict.lock().expect("verdict").expect("a failing verdict");
    (restored - failed, restored.saturating_duration_since(verdict))
}

/// Requests lost while HAProxy shifts 0 → 100 % under closed-loop load.
fn healthy_shift() {
    let old = TestBackend::start("old", IpAddr::V4(OLD_IP)).expect("old backend");
    let new = TestBackend::start("new", IpAddr::V4(NEW_IP)).expect("new backend");
    let haproxy = TestHaproxy::start(old.address(), new.address()).expect("haproxy");
    let dir = tempfile::tempdir().expect("temp dir");
    let gate = |name: &str, b: &TestBackend| {
        format!("  - {{name: {name}, side: {name}, url: 'http://{name}.cutover.test:{}/', address: {}, requests: 2}}\n", b.address().port(), b.address().ip())
    };
    let plan = format!(
        "driver:\n  haproxy: {{socket: '{}', backend: be, old: old, new: new}}\nsteps: [0, 1, 5, 25, 50, 100]\nbake: 2s\ngate_interval: {INTERVAL_MS}ms\ngates:\n  http:\n{}{}",
        haproxy.admin_socket().display(),
        gate("old", &old),
        gate("new", &new)
    );
    let load = TestLoad::start(haproxy.frontend(), 8, Duration::ZERO);
    let report = Cutover::new(&plan, &mut |_| {}).expect("plan").run(Mode::Fresh, &dir.path().join("journal")).expect("run");
    let result = load.finish();
    assert_eq!(report.outcome, Outcome::Completed);
    let total = result.ok + result.failed;
    println!();
    println!("| shift | steps | requests | req/s | failed | served old / new |");
    println!("|---|---|---|---|---|---|");
    println!(
        "| HAProxy 0 → 100 %, 8 closed-loop clients, one connection per request | 0, 1, 5, 25, 50, 100 (2 s each) | {total} | {:.0} | {} | {} / {} |",
        total as f64 / result.elapsed.as_secs_f64(),
        result.failed,
        old.served(),
        new.served()
    );
}
