//! The PowerDNS driver: one name in a zone of a PowerDNS Authoritative server, changed through
//! its HTTP API. Between 0 and 100 % the name is a LUA record
//! `A "pickwrandom({{95,'10.0.0.2'},{5,'10.0.0.3'}})"` (each answer picks one address with
//! those odds); at 0 and 100 % it is plain A (or AAAA) records of one side.

use std::net::IpAddr;

use serde_json::{Value, json};

use super::{Driver, Residual, Weights};
use crate::Error;
use crate::plan::PowerDnsConfig;

/// PowerDNS Authoritative through its HTTP API.
pub struct PowerDns {
    config: PowerDnsConfig,
    key: String,
    client: reqwest::blocking::Client,
    /// `A` or `AAAA`, from the addresses' family.
    rtype: &'static str,
    /// The TTL records are written with; read from the server by [`Driver::check`].
    ttl: u32,
}

impl PowerDns {
    /// A driver for the name `config` names; reads the API key.
    pub fn new(config: &PowerDnsConfig) -> Result<PowerDns, Error> {
        // The plan's validation made sure that both sides are of one family.
        let rtype = if config.old.iter().chain(&config.new).all(IpAddr::is_ipv4) { "A" } else { "AAAA" };
        let client = crate::http_client(reqwest::blocking::Client::builder().timeout(std::time::Duration::from_secs(10)))?;
        Ok(PowerDns { config: config.clone(), key: config.api_key.read()?, client, rtype, ttl: config.ttl })
    }

    fn zone_url(&self) -> String {
        format!("{}/api/v1/servers/{}/zones/{}", self.config.api.trim_end_matches('/'), self.config.server, self.config.zone)
    }

    fn failed(&self, what: &str) -> impl Fn(reqwest::Error) -> Error {
        let what = format!("PowerDNS API {}: {what}", self.config.api);
        move |e| Error::Driver(format!("{what}: {}", crate::error_chain(&e)))
    }

    /// The rrset of the name (LUA or A/AAAA), from the zone.
    fn rrset(&self) -> Result<Value, Error> {
        let response = self.client.get(self.zone_url()).header("X-API-Key", &self.key).send().map_err(self.failed("reading the zone"))?;
        let zone: Value = checked(response, &self.config.zone)?.json().map_err(self.failed("reading the zone"))?;
        let rrsets = zone["rrsets"].as_array().cloned().unwrap_or_default();
        rrsets
            .into_iter()
            .find(|r| r["name"] == self.config.name.as_str() && (r["type"] == "LUA" || r["type"] == self.rtype))
            .ok_or_else(|| Error::Driver(format!("PowerDNS: zone {} has no {} or LUA record named {}", self.config.zone, self.rtype, self.config.name)))
    }

    /// Replaces the name's record by `records` of type `rtype` and deletes the other type.
    fn replace(&self, rtype: &str, records: Vec<String>) -> Result<(), Error> {
        let other = if rtype == "LUA" { self.rtype } else { "LUA" };
        let records: Vec<Value> = records.into_iter().map(|content| json!({"content": content, "disabled": false})).collect();
        let body = json!({"rrsets": [
            {"name": self.config.name, "type": other, "changetype": "DELETE"},
            {"name": self.config.name, "type": rtype, "ttl": self.ttl, "changetype": "REPLACE", "records": records},
        ]});
        let response = self.client.patch(self.zone_url()).header("X-API-Key", &self.key).json(&body).send().map_err(self.failed("changing the record"))?;
        checked(response, &self.config.zone).map(drop)
    }

    /// The records that put `weights` in force.
    fn records(&self, weights: Weights) -> (&'static str, Vec<String>) {
        let plain = |side: &[IpAddr]| (self.rtype, side.iter().map(IpAddr::to_string).collect());
        match weights {
            Weights { new: 0, .. } => plain(&self.config.old),
            Weights { old: 0, .. } => plain(&self.config.new),
            Weights { old, new } => {
                // Each address gets its side's weight times the other side's size, so that the
                // sides' sums keep the ratio old:new whatever the number of addresses.
                let (n_old, n_new) = (self.config.old.len() as u32, self.config.new.len() as u32);
                let entries: Vec<String> = (self.config.old.iter().map(|a| (old * n_new, a)))
                    .chain(self.config.new.iter().map(|a| (new * n_old, a)))
                    .map(|(w, a)| format!("{{{w},'{a}'}}"))
                    .collect();
                ("LUA", vec![format!("{} \"pickwrandom({{{}}})\"", self.rtype, entries.join(","))])
            }
        }
    }

    /// The weights a record set stands for.
    fn weights_of(&self, rrset: &Value) -> Result<Weights, Error> {
        let contents: Vec<&str> = rrset["records"].as_array().into_iter().flatten().filter_map(|r| r["content"].as_str()).collect();
        let (n_old, n_new) = (self.config.old.len() as u32, self.config.new.len() as u32);
        let mut weights = Weights { old: 0, new: 0 };
        let entries: Vec<(u32, IpAddr)> = if rrset["type"] == "LUA" {
            contents.iter().flat_map(|c| pickwrandom_entries(c)).collect()
        } else {
            contents.iter().filter_map(|c| c.parse().ok()).map(|a| (n_old * n_new, a)).collect()
        };
        for (weight, address) in entries {
            if self.config.old.contains(&address) {
                weights.old += weight / n_new;
            } else if self.config.new.contains(&address) {
                weights.new += weight / n_old;
            } else {
                return Err(Error::Driver(format!("PowerDNS: {} answers {address}, which is on neither side of the plan", self.config.name)));
            }
        }
        if rrset["type"] != "LUA" {
            weights = Weights { old: if weights.old > 0 { 100 } else { 0 }, new: if weights.new > 0 { 100 } else { 0 } };
        }
        Ok(weights)
    }
}

/// `(weight, address)` pairs of a `pickwrandom({{w,'ip'},...})` record's content.
fn pickwrandom_entries(content: &str) -> Vec<(u32, IpAddr)> {
    let Some(start) = content.find("pickwrandom(") else { return Vec::new() };
    content[start..]
        .split('{')
        .filter_map(|part| {
            let (weight, rest) = part.split_once(',')?;
            let address = rest.split('\'').nth(1)?;
            Some((weight.trim().parse().ok()?, address.parse().ok()?))
        })
        .collect()
}

/// The response, or what its status means for the user.
fn checked(response: reqwest::blocking::Response, zone: &str) -> Result<reqwest::blocking::Response, Error> {
    match response.status().as_u16() {
        200..=299 => Ok(response),
        401 | 403 => Err(Error::Driver("PowerDNS API refused the API key".into())),
        404 | 422 => Err(Error::Driver(format!("PowerDNS: zone {zone} not found ({})", response.text().unwrap_or_default().trim()))),
        status => Err(Error::Driver(format!("PowerDNS API answered {status}: {}", response.text().unwrap_or_default().trim()))),
    }
}

impl Driver for PowerDns {
    fn describe(&self) -> String {
        format!("PowerDNS {} ({} in zone {})", self.config.api, self.config.name, self.config.zone)
    }

    fn check(&mut self) -> Result<(), Error> {
        let rrset = self.rrset()?;
        self.weights_of(&rrset)?;
        self.ttl = rrset["ttl"].as_u64().and_then(|t| u32::try_from(t).ok()).unwrap_or(self.ttl);
        Ok(())
    }

    fn weights(&mut self) -> Result<Weights, Error> {
        let rrset = self.rrset()?;
        self.weights_of(&rrset)
    }

    fn set_weights(&mut self, weights: Weights) -> Result<(), Error> {
        let (rtype, records) = self.records(weights);
        self.replace(rtype, records)
    }

    fn ttl(&mut self) -> Result<Option<u32>, Error> {
        Ok(self.rrset()?["ttl"].as_u64().and_then(|t| u32::try_from(t).ok()))
    }

    fn set_ttl(&mut self, ttl: u32) -> Result<(), Error> {
        let rrset = self.rrset()?;
        let weights = self.weights_of(&rrset)?;
        self.ttl = ttl;
        self.set_weights(weights)
    }

    fn residual(&mut self) -> Result<Option<Residual>, Error> {
        Ok(None)
    }

    fn cutover_ttl(&self) -> Option<u32> {
        Some(self.config.ttl)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pickwrandom_contents_give_weights_and_addresses() {
        let entries = pickwrandom_entries("A \"pickwrandom({{95,'127.0.0.2'},{5,'127.0.0.3'}})\"");
        assert_eq!(entries, [(95, "127.0.0.2".parse().unwrap()), (5, "127.0.0.3".parse().unwrap())]);
        assert!(pickwrandom_entries("A \"ifportup(443, {'1.2.3.4'})\"").is_empty());
    }
}
