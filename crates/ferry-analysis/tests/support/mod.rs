//! What the tests of ferry-analysis share: an assessment of objects written as JSON values, as
//! if they came from one manifest file.

use ferry_analysis::{Assessment, Options, assess_objects};
use ferry_model::load::LoadReport;
use ferry_model::{Node, Object, Origin};
use serde_json::Value;

/// Assesses `objects` with the default options, each as an object of `input.yaml`.
pub fn assess_values(objects: Vec<Value>) -> Assessment {
    let object = |value: Value| {
        let root: Node = serde_json::from_value(value).expect("a JSON object is a document tree");
        Object::from_root(root, Origin { file: "input.yaml".into(), document: 1, line: 0 })
    };
    assess_objects(objects.into_iter().map(object).collect(), &LoadReport::default(), &Options::default())
}
