//! Health gates. HTTP probes against each side: an evaluation sends a gate's requests one
//! after another (TLS with the URL's host as SNI, the host pinned to the side's address) and
//! compares the success rate and a latency percentile with the plan's bounds. Prometheus
//! instant queries: every sample of the result must lie within the plan's bounds.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::Error;
use crate::plan::{HttpGate, PrometheusGate, Side};

/// A gate ready to be evaluated.
pub trait Gate {
    /// Evaluates the gate once.
    fn evaluate(&self) -> Verdict;
    /// The longest one evaluation can take (its requests' timeouts).
    fn longest(&self) -> Duration;
}

/// The gates of a plan, ready to be evaluated.
pub fn from_plan(gates: &crate::plan::Gates) -> Result<Vec<Box<dyn Gate>>, Error> {
    let http = gates.http.iter().map(|g| Probe::new(g).map(|p| Box::new(p) as Box<dyn Gate>));
    let prometheus = gates.prometheus.iter().map(|g| Query::new(g).map(|q| Box::new(q) as Box<dyn Gate>));
    http.chain(prometheus).collect()
}

/// An HTTP probe ready to be evaluated.
pub struct Probe {
    gate: HttpGate,
    client: reqwest::blocking::Client,
}

/// The result of one evaluation of one gate.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    /// The gate's name.
    pub gate: String,
    /// The side it checks (`old`, `new`), or `query` for a Prometheus gate.
    pub side: String,
    /// Whether it held.
    pub passed: bool,
    /// HTTP gates: healthy answers / requests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub success_rate: Option<f64>,
    /// HTTP gates: the plan's latency percentile (or the highest latency when the plan sets none), in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    /// Prometheus gates: the sample furthest out of bounds (or the first one when all hold).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// Why it failed, e.g. the first unhealthy answer.
    pub reason: Option<String>,
}

impl Probe {
    /// Builds the HTTP client of a gate (pinned address, CA bundle, timeout).
    pub fn new(gate: &HttpGate) -> Result<Probe, Error> {
        let mut builder = reqwest::blocking::Client::builder().timeout(gate.timeout.0).redirect(reqwest::redirect::Policy::none());
        if let Some(address) = gate.address {
            let url = reqwest::Url::parse(&gate.url).map_err(|e| Error::Plan(format!("gate `{}`: {e}", gate.name)))?;
            let host = url.host_str().ok_or_else(|| Error::Plan(format!("gate `{}`: the URL has no host", gate.name)))?;
            builder = builder.resolve(host, SocketAddr::new(address, 0));
        }
        builder = trust(builder, &gate.name, gate.ca_bundle.as_deref())?;
        Ok(Probe { gate: gate.clone(), client: crate::http_client(builder)? })
    }

    /// The side the gate checks.
    pub fn side(&self) -> Side {
        self.gate.side
    }
}

impl Gate for Probe {
    /// Sends the gate's requests and judges them.
    fn evaluate(&self) -> Verdict {
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

    fn longest(&self) -> Duration {
        self.gate.timeout.0 * self.gate.requests
    }
}

impl Probe {
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
            success_rate: Some(success_rate),
            latency_ms: Some(latency.as_millis() as u64),
            value: None,
            reason: None,
        };
        if success_rate < self.gate.min_success_rate {
            verdict.passed = false;
            verdict.reason = Some(format!("success rate {:.2} < {} ({})", success_rate, self.gate.min_success_rate, reason.unwrap_or_default()));
        } else if let Some(bound) = self.gate.latency.as_ref().filter(|b| latency > b.max.0) {
            verdict.passed = false;
            verdict.reason = Some(format!("p{} latency {latency:?} > {}", bound.percentile, bound.max));
        }
        verdict
    }
}

/// A client builder that also trusts the certificates of `bundle`.
fn trust(builder: reqwest::blocking::ClientBuilder, gate: &str, bundle: Option<&std::path::Path>) -> Result<reqwest::blocking::ClientBuilder, Error> {
    let Some(bundle) = bundle else { return Ok(builder) };
    let refused = |e: &dyn std::fmt::Display| Error::Plan(format!("gate `{gate}`: CA bundle {}: {e}", bundle.display()));
    let pem = std::fs::read(bundle).map_err(|e| refused(&e))?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| refused(&e))?;
    Ok(builder.tls_certs_merge(certs))
}

/// A Prometheus instant query ready to be evaluated.
pub struct Query {
    gate: PrometheusGate,
    client: reqwest::blocking::Client,
}

impl Query {
    /// Builds the query's HTTP client.
    pub fn new(gate: &PrometheusGate) -> Result<Query, Error> {
        let builder = trust(reqwest::blocking::Client::builder().timeout(gate.timeout.0), &gate.name, gate.ca_bundle.as_deref())?;
        Ok(Query { gate: gate.clone(), client: crate::http_client(builder)? })
    }

    /// The samples of the query's result.
    fn samples(&self) -> Result<Vec<f64>, String> {
        let url = format!("{}/api/v1/query", self.gate.url.trim_end_matches('/'));
        let response = self.client.get(url).query(&[("query", &self.gate.query)]).send().map_err(|e| crate::error_chain(&e))?;
        let status = response.status().as_u16();
        let body: serde_json::Value = response.json().map_err(|e| crate::error_chain(&e))?;
        if status != 200 || body["status"] != "success" {
            return Err(format!("Prometheus answered {status}: {}", body["error"].as_str().unwrap_or("no error text")));
        }
        samples_of(&body["data"]).ok_or_else(|| "the result is not a vector or scalar of numbers".into())
    }
}

/// The numbers of an instant query's `data` (a vector of series or a scalar).
fn samples_of(data: &serde_json::Value) -> Option<Vec<f64>> {
    let number = |value: &serde_json::Value| value.get(1)?.as_str()?.parse::<f64>().ok();
    match data["resultType"].as_str()? {
        "scalar" => Some(vec![number(&data["result"])?]),
        "vector" => data["result"].as_array()?.iter().map(|series| number(&series["value"])).collect(),
        _ => None,
    }
}

impl Gate for Query {
    fn evaluate(&self) -> Verdict {
        let mut verdict =
            Verdict { gate: self.gate.name.clone(), side: "query".into(), passed: false, success_rate: None, latency_ms: None, value: None, reason: None };
        let samples = match self.samples() {
            Ok(samples) if samples.is_empty() => Err("the query returned no sample".to_owned()),
            other => other,
        };
        match samples {
            Err(reason) => verdict.reason = Some(reason),
            Ok(samples) => {
                let out = |v: &f64| self.gate.max.is_some_and(|max| *v > max) || self.gate.min.is_some_and(|min| *v < min) || v.is_nan();
                let worst = samples.iter().find(|v| out(v)).or(samples.first()).copied();
                verdict.value = worst;
                verdict.passed = !worst.as_ref().is_some_and(out);
                if !verdict.passed {
                    verdict.reason = Some(format!("value {} outside [{}, {}]", worst.unwrap_or(f64::NAN), bound(self.gate.min), bound(self.gate.max)));
                }
            }
        }
        verdict
    }

    fn longest(&self) -> Duration {
        self.gate.timeout.0
    }
}

fn bound(value: Option<f64>) -> String {
    value.map_or("-".into(), |v| v.to_string())
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
    fn query_results_give_their_samples() {
        let vector =
            serde_json::json!({"resultType": "vector", "result": [{"metric": {}, "value": [1.0, "0.25"]}, {"metric": {"a": "b"}, "value": [1.0, "NaN"]}]});
        let samples = samples_of(&vector).unwrap();
        assert_eq!(samples[0], 0.25);
        assert!(samples[1].is_nan());
        assert_eq!(samples_of(&serde_json::json!({"resultType": "scalar", "result": [1.0, "3"]})), Some(vec![3.0]));
        assert_eq!(samples_of(&serde_json::json!({"resultType": "matrix", "result": []})), None);
    }

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let ms: Vec<Duration> = (1..=10).map(Duration::from_millis).collect();
        assert_eq!(percentile_of(&ms, 50), Duration::from_millis(5));
        assert_eq!(percentile_of(&ms, 95), Duration::from_millis(10));
        assert_eq!(percentile_of(&ms, 1), Duration::from_millis(1));
        assert_eq!(percentile_of(&[], 99), Duration::ZERO);
    }
}
