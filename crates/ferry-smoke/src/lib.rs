//! `ferry smoke`: the new cluster tested over real TLS before DNS moves (docs/smoke.md).
//!
//! Every host and path the target's Ingresses serve over TLS ([`targets::discover`]) and the
//! checks of a checks file ([`checks::parse`]) are sent to the new side's address with the
//! real host name as TLS SNI and Host header, never as an IP-only handshake; the certificate
//! is checked against the host name and the trust roots; the status, latency and the body's
//! SHA-256 are judged ([`report::judge`]), optionally against the same request sent to the
//! old side. Sending is behind [`Transport`] ([`probe::Https`]: reqwest and rustls); the rest
//! is pure.
//!
//! ```
//! use ferry_smoke::{Plan, Routes, checks};
//!
//! let requests = checks::parse("checks:\n  - {host: shop.example.com, path: /healthz, expect_status: 200}\n", "checks.yaml").unwrap();
//! let new = Routes::new(Some(ferry_smoke::address::parse_address("--address", "198.51.100.20").unwrap()), []);
//! let plan = Plan { requests, new, old: None, skipped: Vec::new(), notes: Vec::new() };
//! assert_eq!(plan.requests[0].url(), "https://shop.example.com/healthz");
//! assert_eq!(plan.new.address("shop.example.com").unwrap().to_string(), "198.51.100.20:443");
//! ```

pub mod address;
mod certificate;
pub mod checks;
pub mod probe;
pub mod report;
pub mod targets;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

pub use address::Routes;
pub use certificate::Presented;
pub use probe::Transport;
pub use report::{Code, Outcome, Problem, Report};
pub use targets::{Origin, Request, Skipped};

/// What a smoke test sends, and where.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The requests, in the order they are reported.
    pub requests: Vec<Request>,
    /// Where the new side's requests go.
    pub new: Routes,
    /// Where the old side's go, when answers are compared.
    pub old: Option<Routes>,
    /// Ingress hosts and paths left out, and why.
    pub skipped: Vec<Skipped>,
    /// Notes on how addresses were chosen.
    pub notes: Vec<String>,
}

/// Sends every request of `plan` (and, when there is an old side, the same request there),
/// `concurrency` requests at a time, and judges the answers; outcomes in the plan's order.
pub fn run(plan: &Plan, transport: &dyn Transport, concurrency: usize) -> Report {
    let next = AtomicUsize::new(0);
    let outcomes: Mutex<Vec<Option<Outcome>>> = Mutex::new(vec![None; plan.requests.len()]);
    std::thread::scope(|scope| {
        for _ in 0..concurrency.clamp(1, plan.requests.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::SeqCst);
                    let Some(request) = plan.requests.get(index) else { break };
                    let outcome = check(plan, transport, request);
                    outcomes.lock().unwrap_or_else(PoisonError::into_inner)[index] = Some(outcome);
                }
            });
        }
    });
    let outcomes = outcomes.into_inner().unwrap_or_else(PoisonError::into_inner).into_iter().flatten().collect();
    Report { outcomes, skipped: plan.skipped.clone(), notes: plan.notes.clone() }
}

/// One request to the new side (and the old), judged.
fn check(plan: &Plan, transport: &dyn Transport, request: &Request) -> Outcome {
    let new = plan.new.address(&request.host).map(|to| transport.send(request, to));
    let old = plan.old.as_ref().and_then(|old| old.address(&request.host)).map(|to| transport.send(request, to));
    report::judge(request, new, old)
}
