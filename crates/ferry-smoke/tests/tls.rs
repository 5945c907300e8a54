//! `ferry_smoke::run` over real TLS: HAProxy (Debian) terminates TLS on 127.0.0.2 (the old
//! side) and 127.0.0.3 (the new side) with certificates from `ferry_testcluster::TestPki` and
//! forwards to real HTTP backends. A correct site passes; a wrong, self-signed or expired
//! certificate, a 502 on one path, a different body and a closed port are each reported with
//! their precise reason;
//! HAProxy's log shows that every request carried the host name as TLS SNI and Host.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use ferry_smoke::probe::{Https, Roots};
use ferry_smoke::{Code, Outcome, Plan, Routes, checks};
use ferry_testcluster::{TestBackend, TestHaproxy, TestPki, TlsSite, free_port};

const HOST: &str = "shop.smoke.test";
const OLD: [u8; 4] = [127, 0, 0, 2];
const NEW: [u8; 4] = [127, 0, 0, 3];

/// A site serving `pem` only to clients that send the SNI `shop.smoke.test` (others get a
/// certificate for `no-sni.invalid`, which every expected reason below would then name).
fn site(ip: [u8; 4], pem: String, backend: &TestBackend, routes: Vec<(String, SocketAddr)>) -> TlsSite {
    TlsSite { bind: SocketAddr::new(IpAddr::from(ip), free_port().unwrap()), pem, sni: Some(HOST.into()), routes, backend: backend.address() }
}

/// The checks every scenario sends: `/` and `/broken`, both expected to answer 200.
fn requests() -> Vec<ferry_smoke::Request> {
    let text = format!("checks:\n  - {{name: home, host: {HOST}, path: /}}\n  - {{name: broken, host: {HOST}, path: /broken/x, expect_status: 200}}\n");
    checks::parse(&text, "checks.yaml").unwrap()
}

fn smoke(new: SocketAddr, old: Option<SocketAddr>, roots: &Roots) -> Vec<Outcome> {
    let plan =
        Plan { requests: requests(), new: Routes::new(Some(new), []), old: old.map(|old| Routes::new(Some(old), [])), skipped: Vec::new(), notes: Vec::new() };
    let transport = Https::new(roots, Duration::from_secs(5)).unwrap();
    ferry_smoke::run(&plan, &transport, 4).outcomes
}

fn codes(outcome: &Outcome) -> Vec<Code> {
    outcome.problems.iter().map(|p| p.code).collect()
}

#[test]
fn each_broken_target_is_reported_with_its_reason_and_sni_is_always_the_host() {
    let pki = TestPki::new().unwrap();
    let bundle = Roots::Bundle(pki.root_pem());
    let old_backend = TestBackend::start("shop", OLD.into()).unwrap();
    let new_backend = TestBackend::start("shop", NEW.into()).unwrap();
    let changed_backend = TestBackend::start("shop-v2", NEW.into()).unwrap();
    let failing_backend = TestBackend::start("api", NEW.into()).unwrap();
    failing_backend.set_status(502);
    let broken = vec![("/broken".to_owned(), failing_backend.address())];
    let old = site(OLD, pki.leaf(HOST, false).unwrap(), &old_backend, Vec::new());
    let sites = [
        site(NEW, pki.leaf(HOST, false).unwrap(), &new_backend, broken.clone()),
        site(NEW, pki.leaf("other.smoke.test", false).unwrap(), &new_backend, Vec::new()),
        site(NEW, TestPki::self_signed(HOST).unwrap(), &new_backend, Vec::new()),
        site(NEW, pki.leaf(HOST, true).unwrap(), &new_backend, Vec::new()),
        site(NEW, pki.leaf(HOST, false).unwrap(), &changed_backend, Vec::new()),
    ];
    let old_haproxy = TestHaproxy::start_tls(std::slice::from_ref(&old)).unwrap();
    let new_haproxy = TestHaproxy::start_tls(&sites).unwrap();
    let [good, wrong, self_signed, expired, changed] = sites.map(|s| s.bind);

    // The correct target: `/` passes with the same body as the old side; `/broken` answers 502.
    let outcomes = smoke(good, Some(old.bind), &bundle);
    assert!(outcomes[0].passed, "{:?}", outcomes[0]);
    let new = outcomes[0].new.as_ref().unwrap();
    assert_eq!((new.address, new.status), (good, Some(200)));
    assert_eq!(new.certificate.as_ref().unwrap().names, [HOST]);
    assert_eq!(new.body.as_ref().unwrap().sha256, outcomes[0].old.as_ref().unwrap().body.as_ref().unwrap().sha256);
    assert_eq!(codes(&outcomes[1]), [Code::Status]);
    assert_eq!(outcomes[1].problems[0].message, "status 502, expected 200");

    let wrong = smoke(wrong, None, &bundle);
    assert_eq!(codes(&wrong[0]), [Code::WrongCertificate]);
    assert_eq!(wrong[0].problems[0].message, format!("wrong certificate: it is for [other.smoke.test], not `{HOST}`"));

    let self_signed = smoke(self_signed, None, &bundle);
    assert_eq!(codes(&self_signed[0]), [Code::SelfSigned], "{:?}", self_signed[0].problems);
    assert_eq!(self_signed[0].problems[0].message, format!("self-signed certificate (CN={HOST}), not trusted by the CA bundle"));

    let expired = smoke(expired, None, &bundle);
    assert_eq!(codes(&expired[0]), [Code::Expired], "{:?}", expired[0].problems);
    assert_eq!(expired[0].problems[0].message, "the certificate expired at 2020-01-01T00:00:00Z");

    let changed = smoke(changed, Some(old.bind), &bundle);
    assert_eq!(codes(&changed[0]), [Code::BodyDiffers], "{:?}", changed[0].problems);

    let untrusted = smoke(good, None, &Roots::System);
    assert_eq!(codes(&untrusted[0]), [Code::Untrusted], "{:?}", untrusted[0].problems);
    assert!(untrusted[0].problems[0].message.contains("issued by `CN=ferry test root`"), "{}", untrusted[0].problems[0].message);

    let closed = SocketAddr::new(NEW.into(), free_port().unwrap());
    let refused = smoke(closed, Some(old.bind), &bundle);
    assert_eq!(codes(&refused[0]), [Code::Refused]);
    assert_eq!(refused[0].problems[0].message, format!("connection refused by {closed}"));

    // Every connection that got past the handshake, on either side, carried the host name as
    // SNI (the failed handshakes above name the certificates HAProxy serves only for that SNI),
    // and every request the host name as Host: home and broken on the good, changed and (old
    // side only) refused runs, on both sides where compared.
    let log = format!("{}{}", new_haproxy.log(), old_haproxy.log());
    let connections: Vec<&str> = log.lines().filter(|line| line.contains(" sni=")).collect();
    assert!(connections.iter().all(|line| line.contains(&format!(" sni={HOST} "))), "{log}");
    let requests = connections.iter().filter(|line| line.contains(" GET ")).count();
    assert_eq!(requests, 10, "{log}");
    assert!(connections.iter().filter(|line| line.contains(" GET ")).all(|line| line.contains(&format!(" host={HOST} "))), "{log}");
}
