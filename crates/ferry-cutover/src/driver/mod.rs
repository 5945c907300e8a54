//! Drivers move traffic between the old and the new side. A driver knows one kind of traffic
//! switch (a DNS API, a load balancer's runtime API); the cut-over itself ([`crate::run`]) only
//! speaks [`Driver`]. A Route 53 or Cloudflare driver would be a further implementation.

mod haproxy;
mod powerdns;
mod rfc2136;

use std::fmt;

pub use haproxy::Haproxy;
pub use powerdns::PowerDns;
pub use rfc2136::Rfc2136;
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::plan::DriverConfig;

/// Relative weights of the two sides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Weights {
    /// Weight of the old side.
    pub old: u32,
    /// Weight of the new side.
    pub new: u32,
}

impl Weights {
    /// The weights of a step: `percent` of the traffic to the new side.
    pub fn percent_new(percent: u8) -> Weights {
        let new = u32::from(percent.min(100));
        Weights { old: 100 - new, new }
    }
}

impl fmt::Display for Weights {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "old {} / new {}", self.old, self.new)
    }
}

/// Traffic the old side still served, when the driver can count it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Residual {
    /// Sessions (connections) the old side has served in total so far.
    pub total_sessions: u64,
    /// Sessions open on the old side now.
    pub current_sessions: u64,
}

/// A traffic switch between the old and the new side.
pub trait Driver {
    /// What the driver controls, for messages (never a secret).
    fn describe(&self) -> String;
    /// Checks that the switch is reachable, the credentials are accepted and the records or
    /// servers exist, without changing anything.
    fn check(&mut self) -> Result<(), Error>;
    /// The weights in force now.
    fn weights(&mut self) -> Result<Weights, Error>;
    /// Puts `weights` in force.
    fn set_weights(&mut self, weights: Weights) -> Result<(), Error>;
    /// The TTL clients cache the switch's answers for (seconds), if it has one.
    fn ttl(&mut self) -> Result<Option<u32>, Error>;
    /// Sets that TTL (no-op for switches without one).
    fn set_ttl(&mut self, ttl: u32) -> Result<(), Error>;
    /// The old side's traffic counters, if the switch counts.
    fn residual(&mut self) -> Result<Option<Residual>, Error>;
    /// The TTL the plan asks for during the cut-over, if the switch has one.
    fn cutover_ttl(&self) -> Option<u32>;
}

/// The driver a plan names.
pub fn from_config(config: &DriverConfig) -> Result<Box<dyn Driver>, Error> {
    Ok(match config {
        DriverConfig::Powerdns(c) => Box::new(PowerDns::new(c)?),
        DriverConfig::Haproxy(c) => Box::new(Haproxy::new(c)),
        DriverConfig::Rfc2136(c) => Box::new(Rfc2136::new(c)?),
    })
}
