//! The checks of `ferry verify`, pure: objects in, findings out.
//!
//! A migration is verified three ways. For every object the source held,
//! an [`Expectation`] takes the source's copy, what the transformation makes of it
//! (the same transform `ferry apply` runs) and what the target holds, all in
//! the transform crate's normal form with Secret values masked, and reports
//! every field where the target differs from the expectation: the object is
//! missing, a field was changed, or the target still holds the source's value
//! where the transformation changes it. What the target's API server fills in
//! itself (defaults, allocated IPs and ports, uids, status) is explained, not
//! flagged. [`readiness`] then tells whether each workload, Service, claim and
//! Ingress on the target actually runs, and [`evidence`] takes the results other
//! steps left in evidence files. A [`Report`] gathers all three into one
//! [`Verdict`] that gates the cut-over.
//!
//! Before a migration, [`preflight`] checks what the transformed objects need
//! from the target (served kinds, storage and ingress classes) and the version skew.
//!
//! ```
//! use ferry_verify::{Difference, Expectation};
//! use serde_json::json;
//!
//! let source = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "web", "namespace": "shop", "uid": "1"}, "data": {"mode": "fast"}});
//! let expected = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "web", "namespace": "shop", "labels": {"migrated-by": "ferry"}}, "data": {"mode": "fast"}});
//! let target = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "web", "namespace": "shop", "uid": "2"}, "data": {"mode": "slow"}});
//! let compared = Expectation::new(source, expected).compare(Some(target));
//! assert!(matches!(&compared.differences[0], Difference::NotTransformed { path, .. } if path == "/metadata/labels/migrated-by"));
//! assert!(matches!(&compared.differences[1], Difference::Changed { path, .. } if path == "/data/mode"));
//! ```

mod compare;
pub mod evidence;
pub mod preflight;
mod readiness;
pub mod report;

pub use compare::{Compared, Difference, Expectation};
pub use evidence::{Check, EvidenceError};
pub use readiness::{Readiness, State, endpoint_selector, readiness, ready_endpoints};
pub use report::{Finding, Problem, Report, Saved, Verdict};
