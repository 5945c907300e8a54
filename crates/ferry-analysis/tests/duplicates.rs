//! Objects given more than once: one copy assessed, the others reported with both places.

use std::fs;

use ferry_analysis::{Assessment, DUPLICATE_OBJECT, OnDuplicate, Options, WarningLevel, assess_paths};

fn config_map(api_version: &str, name: &str, value: &str) -> String {
    format!("apiVersion: {api_version}\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: shop\ndata:\n  key: {value}\n---\n")
}

fn assess(documents: &[String], on_duplicate: OnDuplicate) -> Assessment {
    let dir = tempfile::tempdir().unwrap();
    for (i, document) in documents.iter().enumerate() {
        fs::write(dir.path().join(format!("{i}.yaml")), document).unwrap();
    }
    assess_paths(&[dir.path().to_path_buf()], &Options { on_duplicate, ..Options::default() }).unwrap()
}

fn duplicates(a: &Assessment) -> Vec<(WarningLevel, String)> {
    a.warnings.iter().filter(|w| w.code == DUPLICATE_OBJECT).map(|w| (w.severity, w.message.clone())).collect()
}

#[test]
fn versions_of_one_group_are_one_object_and_other_groups_are_not() {
    let a = assess(&[config_map("v1", "a", "1"), config_map("v2", "a", "1"), config_map("example.com/v1", "a", "1")], OnDuplicate::Error);
    let found = duplicates(&a);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, WarningLevel::Error, "v1 and v2 differ in their apiVersion: not identical");
    assert_eq!(a.inventory.total, 2);
}

#[test]
fn identical_copies_warn_and_key_order_does_not_matter() {
    let reordered = "kind: ConfigMap\napiVersion: v1\ndata:\n  key: \"1\"\nmetadata:\n  namespace: shop\n  name: a\n".to_owned();
    let a = assess(&[config_map("v1", "a", "1"), reordered], OnDuplicate::Error);
    assert_eq!(duplicates(&a).iter().map(|d| d.0).collect::<Vec<_>>(), [WarningLevel::Warning]);
    assert!(!a.has_input_errors());
}

#[test]
fn three_copies_keep_the_chosen_one_and_name_it() {
    let copies = [config_map("v1", "a", "1"), config_map("v1", "a", "2"), config_map("v1", "a", "3")];
    let first = assess(&copies, OnDuplicate::First);
    let last = assess(&copies, OnDuplicate::Last);
    for (a, kept) in [(&first, "0.yaml:1"), (&last, "2.yaml:1")] {
        let found = duplicates(a);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found.iter().all(|(level, message)| *level == WarningLevel::Note && message.contains(kept)), "{found:?}");
        assert_eq!(a.inventory.total, 1);
    }
    assert!(duplicates(&last).iter().all(|(_, m)| m.contains("the last is kept")));
}
