//! What a transformation of many objects did: per rule, how many objects it matched,
//! changed and failed on; per object, its outcome and (when kept) its notes; and the
//! counts, each object counted once. A rule that matched nothing is usually a typo in a
//! registry prefix, a class or a namespace name: [`Report::unmatched`] names them.

use serde::Serialize;

use crate::note::Note;
use crate::{Rules, Transformed};

/// What became of one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// It goes to the target.
    Transformed,
    /// Left out on purpose: made by Kubernetes, or replaced by a mapped class.
    LeftOut,
    /// Left out by an `exclude` rule or by `--exclude`/`--include`.
    Excluded,
    /// It cannot go to the target: a rule failed, no successor API, ... (error notes).
    Failed,
}

/// One rule's counts over all objects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleCount {
    /// The rule, as [`Rules::rule_names`] names it.
    pub rule: String,
    /// Objects it matched.
    pub matched: usize,
    /// Objects it changed (or left out).
    pub changed: usize,
    /// Objects it failed on.
    pub failed: usize,
}

/// One object's outcome and notes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObjectReport {
    /// `apiVersion/kind namespace/name` as the input names it.
    pub object: String,
    /// What became of it.
    pub outcome: Outcome,
    /// Everything the transformation said about it.
    pub notes: Vec<Note>,
}

/// Objects by outcome; every object is counted exactly once.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Objects read.
    pub read: usize,
    /// Objects for the target.
    pub transformed: usize,
    /// Objects left out on purpose.
    pub left_out: usize,
    /// Objects excluded.
    pub excluded: usize,
    /// Objects that cannot go to the target.
    pub failed: usize,
}

/// The transformation report of a set of objects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// Objects by outcome.
    pub counts: Counts,
    /// Every rule of the rules file, in the order they apply.
    pub rules: Vec<RuleCount>,
    /// Every object with its notes (only when asked for: [`Report::new`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub objects: Vec<ObjectReport>,
    #[serde(skip)]
    keep_objects: bool,
}

impl Report {
    /// An empty report for these rules; `keep_objects` keeps every object's notes.
    pub fn new(rules: &Rules, keep_objects: bool) -> Report {
        let rules = rules.rule_names().into_iter().map(|rule| RuleCount { rule, matched: 0, changed: 0, failed: 0 }).collect();
        Report { counts: Counts::default(), rules, objects: Vec::new(), keep_objects }
    }

    /// Counts one transformed object (`object` names it) and returns its outcome.
    pub fn add(&mut self, object: &str, transformed: &Transformed) -> Outcome {
        let outcome = if transformed.failed() {
            Outcome::Failed
        } else if transformed.excluded() {
            Outcome::Excluded
        } else if transformed.object.is_none() {
            Outcome::LeftOut
        } else {
            Outcome::Transformed
        };
        for hit in &transformed.rules {
            if let Some(count) = self.rules.iter_mut().find(|c| c.rule == hit.rule) {
                count.matched += 1;
                count.changed += usize::from(hit.changed);
                count.failed += usize::from(hit.failed);
            }
        }
        self.count(object, outcome, &transformed.notes);
        outcome
    }

    /// Counts an object left out before the transformation (`--exclude`), with why.
    pub fn exclude(&mut self, object: &str, note: Note) {
        self.count(object, Outcome::Excluded, &[note]);
    }

    /// Counts an object refused before it could be transformed (its metadata is not what any
    /// API server accepts, ...), with why.
    pub fn refuse(&mut self, object: &str, note: Note) {
        self.count(object, Outcome::Failed, &[note]);
    }

    /// Counts an object that went to the target and then failed there after all (it has no
    /// name once transformed, ...): it moves from transformed to failed.
    pub fn fail(&mut self, object: &str, note: Note) {
        self.counts.failed += 1;
        self.take_back(object, Outcome::Failed, note);
    }

    /// Counts a transformed object left out after all (another object became the same one by
    /// conversion, and one copy is kept): it moves from transformed to left out.
    pub fn left_out_after(&mut self, object: &str, note: Note) {
        self.counts.left_out += 1;
        self.take_back(object, Outcome::LeftOut, note);
    }

    /// Takes a transformed object back from the target's count, its last entry given `outcome`.
    fn take_back(&mut self, object: &str, outcome: Outcome, note: Note) {
        self.counts.transformed -= 1;
        if let Some(entry) = self.objects.iter_mut().rev().find(|o| o.object == object && o.outcome == Outcome::Transformed) {
            entry.outcome = outcome;
            entry.notes.push(note);
        }
    }

    fn count(&mut self, object: &str, outcome: Outcome, notes: &[Note]) {
        self.counts.read += 1;
        *match outcome {
            Outcome::Transformed => &mut self.counts.transformed,
            Outcome::LeftOut => &mut self.counts.left_out,
            Outcome::Excluded => &mut self.counts.excluded,
            Outcome::Failed => &mut self.counts.failed,
        } += 1;
        if self.keep_objects {
            self.objects.push(ObjectReport { object: object.to_owned(), outcome, notes: notes.to_vec() });
        }
    }

    /// The rules that matched no object.
    pub fn unmatched(&self) -> impl Iterator<Item = &RuleCount> {
        self.rules.iter().filter(|r| r.matched == 0)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::{Options, transform};

    fn rules(yaml: &str) -> Rules {
        Rules::parse(&format!("apiVersion: ferry.dev/v1alpha1\nkind: TransformRules\n{yaml}"), "ferry.yaml").unwrap()
    }

    fn deployment(name: &str) -> serde_json::Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "shop"},
               "spec": {"template": {"spec": {"containers": [{"name": "web", "image": "myacr.azurecr.io/web:1"}]}}}})
    }

    #[test]
    fn rules_that_match_nothing_are_named_and_each_object_is_counted_once() {
        let rules = rules(concat!(
            "images: [{from: myacr.azurecr.io/, to: harbor.example.com/}, {name: typo, from: myacr.azurecr.oi/, to: harbor.example.com/}]\n",
            "storageClasses: {managed-premuim: gp3}\n",
            "namespaces: {shop: store, shpo: store}\n",
            "patches:\n  - name: broken\n    match: {name: ^b$}\n    jsonPatch: [{op: remove, path: /spec/nothing}]\n",
            "exclude: [{name: aws-only, match: {kinds: [vpcresources.k8s.aws/SecurityGroupPolicy]}}]\n",
        ));
        let options = Options { target_version: "1.30".parse().unwrap(), rules };
        let mut report = Report::new(&options.rules, true);
        let policy = json!({"apiVersion": "vpcresources.k8s.aws/v1beta1", "kind": "SecurityGroupPolicy", "metadata": {"name": "p", "namespace": "shop"}});
        let outcomes: Vec<Outcome> = [deployment("a"), deployment("b"), policy]
            .into_iter()
            .map(|object| {
                let transformed = transform(object, &options);
                report.add("x", &transformed)
            })
            .collect();
        assert_eq!(outcomes, [Outcome::Transformed, Outcome::Failed, Outcome::Excluded]);
        assert_eq!(report.counts, Counts { read: 3, transformed: 1, left_out: 0, excluded: 1, failed: 1 });
        let unmatched: Vec<&str> = report.unmatched().map(|r| r.rule.as_str()).collect();
        assert_eq!(unmatched, ["namespaces.shpo", "typo", "storageClasses.managed-premuim"]);
        let count = |name: &str| report.rules.iter().find(|r| r.rule == name).cloned().unwrap();
        assert_eq!(count("images[0]"), RuleCount { rule: "images[0]".into(), matched: 2, changed: 2, failed: 0 });
        assert_eq!(count("broken"), RuleCount { rule: "broken".into(), matched: 1, changed: 0, failed: 1 });
        assert_eq!(count("aws-only"), RuleCount { rule: "aws-only".into(), matched: 1, changed: 1, failed: 0 });
        assert_eq!(report.objects[2].notes[0].code, "excluded");
    }
}
