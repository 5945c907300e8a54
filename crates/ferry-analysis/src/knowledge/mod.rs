//! Knowledge tables, compiled into the binary from `data/*.yaml`.
//!
//! The tables are reviewed data files, each row with its source; this module
//! only parses them and answers look-ups. `tests` validates every row.

pub mod cloud;
pub mod deprecations;

use std::sync::OnceLock;

pub use cloud::{CloudRules, Subject};
pub use deprecations::{Deprecations, KubeVersion};

/// Everything ferry knows, loaded once.
pub struct Knowledge {
    /// Deprecated and removed API versions.
    pub deprecations: Deprecations,
    /// Managed-cloud markers and counterparts.
    pub cloud: CloudRules,
}

impl Knowledge {
    /// The tables built into this binary.
    ///
    /// # Panics
    /// Never in a released build: the embedded tables are validated by the test suite.
    pub fn builtin() -> &'static Knowledge {
        static KNOWLEDGE: OnceLock<Knowledge> = OnceLock::new();
        KNOWLEDGE.get_or_init(|| Knowledge {
            deprecations: Deprecations::parse(include_str!("../../data/deprecations.yaml"))
                .expect("embedded data/deprecations.yaml is valid"),
            cloud: CloudRules::parse(include_str!("../../data/cloud.yaml")).expect("embedded data/cloud.yaml is valid"),
        })
    }
}
