//! HTTP gates over TLS against a real server (`openssl s_server`) on 127.0.0.3: the URL's host
//! is the SNI and the name checked, the address pins the host, a CA bundle is trusted.

use std::path::PathBuf;
use std::time::Duration;

use ferry_cutover::gate::{Gate as _, Probe};
use ferry_cutover::plan::{HttpGate, Side, Span};
use ferry_testcluster::TestTlsServer;

fn gate(host: &str, server: &TestTlsServer, ca_bundle: Option<PathBuf>) -> HttpGate {
    HttpGate {
        name: "new".into(),
        side: Side::New,
        url: format!("https://{host}:{}/", server.address().port()),
        address: Some(server.address().ip()),
        ca_bundle,
        expect_status: 200,
        expect_body: Some("s_server".into()),
        requests: 2,
        timeout: Span(Duration::from_secs(5)),
        min_success_rate: 1.0,
        latency: None,
    }
}

#[test]
fn tls_gates_check_the_host_name_against_the_given_ca() {
    let server = TestTlsServer::start("new.cutover.test", [127, 0, 0, 3].into()).unwrap();
    let trusted = Probe::new(&gate("new.cutover.test", &server, Some(server.ca_bundle()))).unwrap().evaluate();
    assert!(trusted.passed, "{trusted:?}");
    let untrusted = Probe::new(&gate("new.cutover.test", &server, None)).unwrap().evaluate();
    assert!(!untrusted.passed && untrusted.reason.as_deref().unwrap_or_default().contains("certificate"), "{untrusted:?}");
    let wrong_name = Probe::new(&gate("old.cutover.test", &server, Some(server.ca_bundle()))).unwrap().evaluate();
    assert!(!wrong_name.passed, "a certificate for another name must not pass: {wrong_name:?}");
}
