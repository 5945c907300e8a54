//! Cloud findings of objects the input refers to but does not hold: a workload mounting a CSI
//! secret volume whose SecretProviderClass is absent reads an external secret store whose
//! provider the input does not say. Which kinds count is the cloud table's (`missing_object`
//! rules); only dangling edges are looked at.

use crate::assessment::{CloudFinding, Dependency, Resolution};
use crate::knowledge::{Knowledge, Subject};
use crate::{ServiceTexts, Text};

/// A finding for each dangling edge to a kind a `missing_object` rule names, used by the referrer.
pub(crate) fn absent_findings(dependencies: &[Dependency], profile: &str, kb: &Knowledge) -> Vec<CloudFinding> {
    let mut out = Vec::new();
    for d in dependencies.iter().filter(|d| d.resolution == Resolution::Dangling) {
        let Some(hit) = kb.cloud.find(Subject::MissingObject, &d.to.kind, None) else { continue };
        let texts = ServiceTexts::new(hit.service, profile);
        out.push(CloudFinding {
            provider: texts.provider,
            service_id: texts.id,
            service: texts.name,
            category: texts.category,
            subject: Subject::MissingObject,
            matched: format!("{} `{}` (not in the input)", d.to.kind, d.to.name),
            object: d.from.clone(),
            evidence: d.evidence.clone(),
            used_by: vec![d.from.clone()],
            counterpart: texts.counterpart,
            rule_source: Text::from(hit.rule.source.as_str()),
        });
    }
    out
}
