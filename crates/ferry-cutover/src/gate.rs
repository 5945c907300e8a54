//! Health gates: HTTP probes against each side. An evaluation sends a gate's requests one
//! after another (TLS with the URL's host as SNI, the host pinned to the side's address) and
//! compares the success rate and a latency percentile with the plan's bounds.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::Error;
use crate::plan::{HttpGate, Side};

/// A gate ready to be evaluated.
pub struct Probe {
    gate: HttpGate,
    client: reqwest::blocking::Client,
}

/// The result of one evaluation of one gate.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    /// The gate's name.
    pub gate: String,
    /// The side it checks.
    pub side: String,
    /// Whether it held.
    pub passed: bool,
    /// Healthy answers / requests.
    pub success_rate: f64,
    /// The plan's latency percentile (or the highest latency when the plan sets none), in milliseconds.
    pub latency_ms: u64,
    /// Why it failed, e.g. the first unhealthy answer.
    pub reason: Option<String>,
}

impl Probe {
    /// Builds the HTTP client of a gate (pinned address, CA bundle, timeout).
    pub fn new(gate: &HttpGate) -> Result<Probe, Error> {
        let mut builder = reqwest::blocking::Client::builder()
            .timeout(gate.timeout.0)
            .redirect(reqwest::redirect::Policy::none());
        if let Some(address) = gate.address {
            let url = reqwest::Url::parse(&gate.url).map_err(|e| Error::Plan(format!("gate `{}`: {e}", gate.name)))?;
            let host = url
                .host_str()
                .ok_or_else(|| Error::Plan(format!("gate `{}`: the URL has no host", gate.name)))?;
            builder = builder.resolve(host, SocketAddr::new(address, 0));
        }
        if let Some(bundle) = &gate.ca_bundle {
            let pem = std::fs::read(bundle).map_err(|e| Error::Plan(format!("gate `{}`: CA bundle {}: {e}", gate.name, bundle.display())))?;
            let certs =
                reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| Error::Plan(format!("gate `{}`: CA bundle {}: {e}", gate.name, bundle.display())))?;
            builder = builder.tls_certs_merge(certs);
        }
        Ok(Probe {
            gate: gate.clone(),
            client: crate::http_client(builder)?,
        })
    }

    /// The side the gate checks.
    pub fn side(&self) -> Side {
        self.gate.side
    }

    /// Sends the gate's requests and judges them.
    pub fn evaluate(&self) -> Verdict {
        let mut latencies = Vec::new();
        let mut healthy = 0u32;
        let mut reason = None;
        for _ in 0..self.gate.requests {
            let started = Instant::now();
            let outcome = self.request();
            latencies.push(started.elapsed());
            match outcome {
                Ok(()) => healthy += 1,
                Err(why) => reason = reason.or(Some(why)),
            }
        }
        self.judge(healthy, latencies, reason)
    }

    fn request(&self) -> Result<(), String> {
        let response = self.client.get(&self.gate.url).send().map_err(|e| crate::error_chain(&e))?;
        let status = response.status().as_u16();
        if status != self.gate.expect_status {
            return Err(format!("status {status}, expected {}", self.gate.expect_status));
        }
        if let Some(expected) = &self.gate.expect_body {
            let body = response.text().map_err(|e| crate::error_chain(&e))?;
            if !body.contains(expected.as_str()) {
                return Err(format!("body lacks `{expected}`"));
            }
        }
        Ok(())
    }

    fn judge(&self, healthy: u32, mut latencies: Vec<Duration>, reason: Option<String>) -> Verdict {
        latencies.sort();
        let success_rate = f64::from(healthy) / f64::from(self.gate.requests);
        let percentile = self.gate.latency.as_ref().map_or(100, |l| l.percentile);
        let latency = percentile_of(&latencies, percentile);
        let mut verdict = Verdict {
            gate: self.gate.name.clone(),
            side: self.gate.side.to_string(),
            passed: true,
            success_rate,
            latency_ms: latency.as_millis() as u64,
            reason: None,
        };
        if success_rate < self.gate.min_success_rate {
            verdict.passed = false;
            verdict.reason = Some(format!(
                "success rate {:.2} < {} ({})",
                success_rate,
                self.gate.min_success_rate,
                reason.unwrap_or_default()
            ));
        } else if let Some(bound) = self.gate.latency.as_ref().filter(|b| latency > b.max.0) {
            verdict.passed = false;
            verdict.reason = Some(format!("p{} latency {latency:?} > {}", bound.percentile, bound.max));
        }
        verdict
    }
}

/// The `p`th percentile (nearest rank) of sorted durations.
fn percentile_of(sorted: &[Duration], p: u8) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (usize::from(p) * sorted.len()).div_ceil(100).clamp(1, sorted.len());
    sorted[rank - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let ms: Vec<Duration> = (1..=10).map(Duration::from_millis).collect();
        assert_eq!(percentile_of(&ms, 50), Duration::from_millis(5));
        assert_eq!(percentile_of(&ms, 95), Duration::from_millis(10));
        assert_eq!(percentile_of(&ms, 1), Duration::from_millis(1));
        assert_eq!(percentile_of(&[], 99), Duration::ZERO);
    }
}
