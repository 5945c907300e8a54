//! The cut-over plan (`cutover.yaml`, documented in docs/cutover.md): which driver moves the
//! traffic, the steps, how long each bakes, and the gates that must hold. Parsing and
//! validation only; nothing here touches the network.

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use crate::Error;

/// A whole plan, parsed and validated.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// What moves the traffic.
    pub driver: DriverConfig,
    /// Percent of the traffic on the new side, one entry per step, strictly increasing, 0–100.
    pub steps: Vec<u8>,
    /// How long each step bakes with its gates holding before the next one.
    pub bake: Span,
    /// How often the gates are evaluated while a step bakes.
    pub gate_interval: Span,
    /// Consecutive failed gate evaluations tolerated; one more rolls back.
    #[serde(default)]
    pub failures_allowed: u32,
    /// After 100 %: how long the old side is watched for residual traffic before it is declared idle.
    #[serde(default)]
    pub watch_old: Span,
    /// The health gates.
    #[serde(default)]
    pub gates: Gates,
    /// What must hold before the first step (a ready `ferry verify` report, passed evidence).
    #[serde(default)]
    pub requires: crate::requires::Requires,
}

/// The driver and its settings; one key names it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum DriverConfig {
    /// PowerDNS Authoritative HTTP API: a weighted LUA record, plain A records at 0 and 100 %.
    Powerdns(PowerDnsConfig),
    /// HAProxy runtime API: the weights of two servers of one backend.
    Haproxy(HaproxyConfig),
    /// RFC 2136 dynamic DNS update signed with TSIG (BIND and most DNS servers): a switch of
    /// the name's A/AAAA records from one side to the other, no weights in between.
    Rfc2136(Rfc2136Config),
}

/// Where a key (an API key, a TSIG secret) comes from; the key itself never appears in a plan,
/// a log or the journal.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum KeySource {
    /// A file holding the key (surrounding white space is ignored).
    File(PathBuf),
    /// The name of an environment variable holding the key.
    Env(String),
}

impl KeySource {
    /// Reads the key.
    pub fn read(&self) -> Result<String, Error> {
        let key = match self {
            KeySource::File(path) => std::fs::read_to_string(path).map_err(|e| Error::Plan(format!("key file {}: {e}", path.display())))?,
            KeySource::Env(name) => std::env::var(name).map_err(|_| Error::Plan(format!("key variable `{name}` is not set")))?,
        };
        let key = key.trim().to_owned();
        if key.is_empty() {
            return Err(Error::Plan("the key is empty".into()));
        }
        Ok(key)
    }
}

/// Settings of the PowerDNS driver.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PowerDnsConfig {
    /// The API's base URL, e.g. `http://127.0.0.1:8081`.
    pub api: String,
    /// The API key.
    pub api_key: KeySource,
    /// The server id in the API path.
    #[serde(default = "localhost")]
    pub server: String,
    /// The zone, e.g. `example.com.`.
    pub zone: String,
    /// The name whose traffic moves, e.g. `shop.example.com.`.
    pub name: String,
    /// Addresses of the old side.
    pub old: Vec<IpAddr>,
    /// Addresses of the new side.
    pub new: Vec<IpAddr>,
    /// The TTL during the cut-over (seconds); the original is restored at the end.
    pub ttl: u32,
}

fn localhost() -> String {
    "localhost".into()
}

/// Settings of the RFC 2136 driver.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rfc2136Config {
    /// The zone's primary server, `HOST:PORT` (DNS over TCP).
    pub server: String,
    /// The zone, e.g. `example.com.`.
    pub zone: String,
    /// The name whose traffic moves, e.g. `shop.example.com.`.
    pub name: String,
    /// The TSIG key's name, as the server knows it (BIND: `key "NAME" { ... }`).
    pub key_name: String,
    /// The TSIG algorithm (default `hmac-sha256`).
    #[serde(default)]
    pub algorithm: TsigAlgorithm,
    /// The TSIG secret, base64: a file holding only the secret or a BIND key file (as written
    /// by `tsig-keygen`), or an environment variable.
    pub secret: KeySource,
    /// Addresses of the old side.
    pub old: Vec<IpAddr>,
    /// Addresses of the new side.
    pub new: Vec<IpAddr>,
    /// The TTL during the cut-over (seconds); the original is restored at the end.
    pub ttl: u32,
}

/// The HMAC of a TSIG key (RFC 8945); the truncated and older ones are not supported.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TsigAlgorithm {
    /// `hmac-sha256`, BIND's default.
    #[default]
    HmacSha256,
    /// `hmac-sha384`.
    HmacSha384,
    /// `hmac-sha512`.
    HmacSha512,
}

/// Settings of the HAProxy driver.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HaproxyConfig {
    /// The runtime API: a unix socket path, or `HOST:PORT` for a TCP stats socket.
    pub socket: String,
    /// The backend.
    pub backend: String,
    /// The old side's server in that backend.
    pub old: String,
    /// The new side's server.
    pub new: String,
}

/// The health gates.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gates {
    /// HTTP probes.
    #[serde(default)]
    pub http: Vec<HttpGate>,
    /// Prometheus instant queries with a bound.
    #[serde(default)]
    pub prometheus: Vec<PrometheusGate>,
}

/// A Prometheus instant query whose every sample must stay within `min`/`max`; no sample fails.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrometheusGate {
    /// A name for the timeline.
    pub name: String,
    /// Prometheus's base URL, e.g. `http://prometheus:9090`.
    pub url: String,
    /// The PromQL expression.
    pub query: String,
    /// Highest allowed value.
    #[serde(default)]
    pub max: Option<f64>,
    /// Lowest allowed value.
    #[serde(default)]
    pub min: Option<f64>,
    /// Request timeout.
    #[serde(default = "two_seconds")]
    pub timeout: Span,
    /// Extra CA certificates (PEM) to trust.
    #[serde(default)]
    pub ca_bundle: Option<PathBuf>,
}

/// Which side a probe checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// The old cluster.
    Old,
    /// The new cluster.
    New,
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::Old => "old",
            Side::New => "new",
        })
    }
}

/// An HTTP probe: each evaluation sends `requests` requests and checks success rate and latency.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpGate {
    /// A name for the timeline.
    pub name: String,
    /// The side it checks (for the timeline).
    pub side: Side,
    /// The URL; its host name is the TLS SNI and `Host` header.
    pub url: String,
    /// Connect to this address instead of resolving the host name (the URL's port is kept).
    #[serde(default)]
    pub address: Option<IpAddr>,
    /// Extra CA certificates (PEM) to trust.
    #[serde(default)]
    pub ca_bundle: Option<PathBuf>,
    /// The status a healthy answer has.
    #[serde(default = "ok_status")]
    pub expect_status: u16,
    /// A substring a healthy answer's body contains.
    #[serde(default)]
    pub expect_body: Option<String>,
    /// Requests per evaluation.
    #[serde(default = "five")]
    pub requests: u32,
    /// Per-request timeout.
    #[serde(default = "two_seconds")]
    pub timeout: Span,
    /// Lowest share of healthy answers, 0–1.
    #[serde(default = "all")]
    pub min_success_rate: f64,
    /// Latency bound, if any.
    #[serde(default)]
    pub latency: Option<LatencyBound>,
}

/// A latency percentile and its bound.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatencyBound {
    /// The percentile, 1–100.
    pub percentile: u8,
    /// Its highest allowed value.
    pub max: Span,
}

fn ok_status() -> u16 {
    200
}
fn five() -> u32 {
    5
}
fn two_seconds() -> Span {
    Span(Duration::from_secs(2))
}
fn all() -> f64 {
    1.0
}

/// A duration written `500ms`, `30s`, `5m` or `1h`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Span(pub Duration);

impl Span {
    /// Parses `500ms`, `30s`, `5m`, `1h`.
    pub fn parse(text: &str) -> Result<Span, String> {
        let text = text.trim();
        let split = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(|| format!("`{text}` has no unit (ms, s, m or h)"))?;
        let (number, unit) = text.split_at(split);
        let number: u64 = number.parse().map_err(|_| format!("`{text}` is not a duration"))?;
        let millis = match unit {
            "ms" => Some(number),
            "s" => number.checked_mul(1000),
            "m" => number.checked_mul(60_000),
            "h" => number.checked_mul(3_600_000),
            _ => return Err(format!("`{text}`: unknown unit `{unit}` (use ms, s, m or h)")),
        };
        millis.map(|ms| Span(Duration::from_millis(ms))).ok_or_else(|| format!("`{text}` is too long"))
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl<'de> Deserialize<'de> for Span {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Span::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl Plan {
    /// Parses and validates a plan's text.
    pub fn parse(text: &str) -> Result<Plan, Error> {
        let plan: Plan = serde_saphyr::from_str(text).map_err(|e| Error::Plan(e.to_string()))?;
        plan.validate()?;
        Ok(plan)
    }

    /// Checks what parsing cannot: steps, intervals, gates, driver settings.
    fn validate(&self) -> Result<(), Error> {
        let bad = |msg: String| Err(Error::Plan(msg));
        if self.steps.is_empty() {
            return bad("`steps` is empty".into());
        }
        if let Some(step) = self.steps.iter().find(|&&s| s > 100) {
            return bad(format!("step {step} is not within 0–100 %"));
        }
        if let Some(pair) = self.steps.windows(2).find(|w| w[0] >= w[1]) {
            return bad(format!("steps must increase: {} is followed by {}", pair[0], pair[1]));
        }
        if self.gate_interval.0.is_zero() {
            return bad("`gate_interval` must be above zero".into());
        }
        if self.bake < self.gate_interval {
            return bad(format!("`bake` ({}) is shorter than `gate_interval` ({}): no gate would run", self.bake, self.gate_interval));
        }
        self.gates.http.iter().try_for_each(HttpGate::validate)?;
        self.gates.prometheus.iter().try_for_each(PrometheusGate::validate)?;
        self.driver.validate()?;
        self.driver_expresses_steps()
    }

    /// A switch-only driver (RFC 2136) cannot hold a step between 0 and 100 %.
    fn driver_expresses_steps(&self) -> Result<(), Error> {
        let DriverConfig::Rfc2136(_) = self.driver else { return Ok(()) };
        match self.steps.iter().find(|&&s| s != 0 && s != 100) {
            Some(step) => Err(Error::Plan(format!(
                "`steps`: {step} % cannot be expressed by the rfc2136 driver: a DNS UPDATE sets the name's A/AAAA records, \
                 which cannot weight one address over another, so it only switches between 0 and 100 % (use steps [0, 100], \
                 or the powerdns or haproxy driver for weighted steps)"
            ))),
            None => Ok(()),
        }
    }
}

impl HttpGate {
    fn validate(&self) -> Result<(), Error> {
        let bad = |what: &str| Err(Error::Plan(format!("gate `{}`: {what}", self.name)));
        if !(self.url.starts_with("http://") || self.url.starts_with("https://")) {
            return bad("`url` must start with http:// or https://");
        }
        if self.requests == 0 {
            return bad("`requests` must be at least 1");
        }
        if !(0.0..=1.0).contains(&self.min_success_rate) {
            return bad("`min_success_rate` must be within 0–1");
        }
        if self.latency.as_ref().is_some_and(|l| !(1..=100).contains(&l.percentile)) {
            return bad("`latency.percentile` must be within 1–100");
        }
        Ok(())
    }
}

impl PrometheusGate {
    fn validate(&self) -> Result<(), Error> {
        let bad = |what: &str| Err(Error::Plan(format!("gate `{}`: {what}", self.name)));
        if !(self.url.starts_with("http://") || self.url.starts_with("https://")) {
            return bad("`url` must start with http:// or https://");
        }
        if self.max.is_none() && self.min.is_none() {
            return bad("needs `max`, `min` or both");
        }
        Ok(())
    }
}

impl DriverConfig {
    fn validate(&self) -> Result<(), Error> {
        match self {
            DriverConfig::Powerdns(p) => validate_dns("powerdns", &p.zone, &p.name, &p.old, &p.new),
            DriverConfig::Rfc2136(r) if !r.key_name.ends_with('.') => Err(Error::Plan("rfc2136: `key_name` must be fully qualified (end with a dot)".into())),
            DriverConfig::Rfc2136(r) => validate_dns("rfc2136", &r.zone, &r.name, &r.old, &r.new),
            DriverConfig::Haproxy(h) if h.old == h.new => Err(Error::Plan("haproxy: `old` and `new` are the same server".into())),
            DriverConfig::Haproxy(_) => Ok(()),
        }
    }
}

/// The name and addresses of a DNS driver: fully qualified, the name in the zone, each side
/// with addresses of one family and no address on both sides.
fn validate_dns(driver: &str, zone: &str, name: &str, old: &[IpAddr], new: &[IpAddr]) -> Result<(), Error> {
    let bad = |what: String| Err(Error::Plan(format!("{driver}: {what}")));
    if old.is_empty() || new.is_empty() {
        return bad("`old` and `new` need at least one address each".into());
    }
    if !name.ends_with('.') || !zone.ends_with('.') {
        return bad("`zone` and `name` must be fully qualified (end with a dot)".into());
    }
    if !(name.eq_ignore_ascii_case(zone) || name.to_ascii_lowercase().ends_with(&format!(".{}", zone.to_ascii_lowercase()))) {
        return bad(format!("`name` {name} is not in `zone` {zone}"));
    }
    if let Some(both) = old.iter().find(|a| new.contains(a)) {
        return bad(format!("{both} is in both `old` and `new`"));
    }
    for (field, side) in [("old", old), ("new", new)] {
        if let Some(twice) = side.iter().enumerate().find_map(|(i, a)| side[..i].contains(a).then_some(a)) {
            return bad(format!("`{field}` lists {twice} twice"));
        }
    }
    if old.iter().chain(new).any(IpAddr::is_ipv4) && old.iter().chain(new).any(IpAddr::is_ipv6) {
        return bad("`old` and `new` mix IPv4 and IPv6 addresses".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "driver:\n  haproxy: {socket: /run/admin.sock, backend: be, old: old, new: new}\nsteps: [0, 1, 5, 25, 50, 100]\nbake: 30s\ngate_interval: 5s\nfailures_allowed: 1\ngates:\n  http:\n  - {name: new, side: new, url: 'https://shop.example.com/healthz', address: 10.0.0.3, expect_body: ok, latency: {percentile: 95, max: 300ms}}\n";

    #[test]
    fn a_good_plan_parses() {
        let plan = Plan::parse(GOOD).unwrap();
        assert_eq!(plan.steps, [0, 1, 5, 25, 50, 100]);
        assert_eq!(plan.bake.0, Duration::from_secs(30));
        assert_eq!(plan.gates.http[0].latency.as_ref().unwrap().max.0, Duration::from_millis(300));
        assert_eq!(plan.gates.http[0].requests, 5);
    }

    /// Each plan text is refused with an error that contains its expected words.
    fn assert_refused(cases: &[(String, &str)]) {
        for (text, expected) in cases {
            let err = Plan::parse(text).unwrap_err().to_string();
            assert!(err.contains(expected), "{expected}: {err}");
        }
    }

    #[test]
    fn bad_plans_are_refused_with_the_reason() {
        let cases = [
            (GOOD.replace("haproxy:", "route53:"), "route53"),
            (GOOD.replace("[0, 1, 5, 25, 50, 100]", "[0, 5, 5, 100]"), "must increase"),
            (GOOD.replace("[0, 1, 5, 25, 50, 100]", "[0, 50, 101]"), "0–100"),
            (GOOD.replace("[0, 1, 5, 25, 50, 100]", "[]"), "empty"),
            (GOOD.replace("bake: 30s", "bake: 30"), "no unit"),
            (GOOD.replace("bake: 30s", "bake: 1s"), "shorter"),
            (GOOD.replace("https://", "ftp://"), "http://"),
            (GOOD.replace("old: old", "old: new"), "same server"),
            (GOOD.replace("failures_allowed", "failures"), "unknown field"),
        ];
        assert_refused(&cases);
    }

    #[test]
    fn dns_drivers_need_disjoint_sides_of_one_family_and_rfc2136_only_switches() {
        let rfc2136 = "driver:\n  rfc2136: {server: '127.0.0.1:53', zone: example.com., name: shop.example.com., key_name: k., secret: {env: K}, old: [10.0.0.2], new: [10.0.0.3], ttl: 30}\nsteps: [0, 100]\nbake: 1s\ngate_interval: 1s\n";
        assert!(matches!(Plan::parse(rfc2136).unwrap().driver, DriverConfig::Rfc2136(Rfc2136Config { algorithm: TsigAlgorithm::HmacSha256, .. })));
        let cases = [
            (rfc2136.replace("[0, 100]", "[0, 50, 100]"), "`steps`: 50 %"),
            (rfc2136.replace("new: [10.0.0.3]", "new: [10.0.0.2]"), "10.0.0.2 is in both `old` and `new`"),
            (rfc2136.replace("new: [10.0.0.3]", "new: ['::1']"), "mix IPv4 and IPv6"),
            (rfc2136.replace("new: [10.0.0.3]", "new: [10.0.0.3, 10.0.0.4, 10.0.0.3]"), "`new` lists 10.0.0.3 twice"),
            (rfc2136.replace("name: shop.example.com.", "name: shop.example.org."), "not in `zone`"),
            (rfc2136.replace("name: shop.example.com.", "name: shopexample.com."), "not in `zone`"),
            (rfc2136.replace("key_name: k.", "key_name: k"), "`key_name` must be fully qualified"),
            (rfc2136.replace("key_name: k.", "key_name: k., algorithm: hmac-md5"), "hmac-md5"),
        ];
        assert_refused(&cases);
    }

    #[test]
    fn spans_parse() {
        assert_eq!(Span::parse("250ms").unwrap().0, Duration::from_millis(250));
        assert_eq!(Span::parse("2m").unwrap().0, Duration::from_secs(120));
        assert!(Span::parse("2d").is_err());
        assert!(Span::parse("").is_err());
        assert!(Span::parse("99999999999999999h").is_err());
    }
}

#[cfg(test)]
mod documented {
    use super::Plan;

    /// Every plan in docs/cutover.md parses and validates.
    #[test]
    fn the_documented_plans_are_valid() {
        let doc = include_str!("../../../docs/cutover.md");
        let plans: Vec<&str> = doc.split("```yaml\n").skip(1).filter_map(|block| block.split("```").next()).collect();
        assert_eq!(plans.len(), 3);
        for plan in plans {
            Plan::parse(plan).unwrap_or_else(|e| panic!("{e}\n{plan}"));
        }
    }
}
