#![allow(clippy::unwrap_used)]
//! Every shipped catalog validates, has the structure the programme defines,
//! and the validator catches what an officer editing the JSON could break.

use cdht_core::catalog::{Catalog, CatalogError, EMBEDDED_CATALOG_FILES};
use cdht_core::embedded_catalogs;

#[test]
fn every_embedded_catalog_validates() {
    let catalogs = embedded_catalogs().unwrap();
    assert_eq!(catalogs.len(), EMBEDDED_CATALOG_FILES.len());
    for (file, json) in EMBEDDED_CATALOG_FILES {
        let c = Catalog::from_json(file, json).unwrap();
        assert_eq!(format!("{}.json", c.id), *file);
    }
}

#[test]
fn catalogs_have_the_groups_and_ten_indicators_of_the_decisions() {
    let catalogs = embedded_catalogs().unwrap();
    let find = |id: &str| catalogs.iter().find(|c| c.id.as_str() == id).unwrap();
    let groups = |c: &Catalog| {
        c.groups
            .iter()
            .map(|g| g.id.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        groups(find("244-2022")),
        ["farmers", "workers", "officials"]
    );
    assert_eq!(
        groups(find("324-2023")),
        ["residents", "workers", "officials", "students"]
    );
    for c in catalogs {
        assert_eq!(
            (c.rules.pass_threshold, c.rules.difficult_area_threshold),
            (80, 70)
        );
        assert_eq!(c.rules.min_indicator_points, 5);
        assert_eq!(c.rules.exemplary_consecutive_years, 5);
        for g in &c.groups {
            let shape: Vec<usize> = g.competencies.iter().map(|k| k.indicators.len()).collect();
            assert_eq!(shape, [4, 4, 2], "{}/{}", c.id, g.id);
            let ids: Vec<&str> = g.indicators().map(|i| i.id.as_str()).collect();
            assert_eq!(
                ids,
                ["1.1", "1.2", "1.3", "1.4", "2.1", "2.2", "2.3", "2.4", "3.1", "3.2"]
            );
            assert_eq!(g.max_total(), 100);
            for i in g.indicators() {
                assert_eq!(i.max_points, 10);
                // Vietnamese text is stored precomposed with its diacritics.
                assert!(
                    !i.question.vi.is_ascii(),
                    "{}/{}/{}: Vietnamese question",
                    c.id,
                    g.id,
                    i.id
                );
            }
        }
    }
}

/// A change an officer might make to a catalog by mistake.
type Breakage = Box<dyn FnOnce(&mut serde_json::Value)>;

fn mutate(f: impl FnOnce(&mut serde_json::Value)) -> Result<Catalog, CatalogError> {
    let (file, json) = EMBEDDED_CATALOG_FILES[0];
    let mut v: serde_json::Value = serde_json::from_str(json).unwrap();
    f(&mut v);
    Catalog::from_json(file, &v.to_string())
}

#[test]
fn validator_rejects_broken_catalogs_with_a_place() {
    let level0 = "/groups/0/competencies/0/indicators/0/levels";
    let cases: Vec<(&str, Breakage)> = vec![
        ("unknown field", Box::new(|v| v["colour"] = "red".into())),
        (
            "empty vi",
            Box::new(|v| v["groups"][0]["name"]["vi"] = "".into()),
        ),
        (
            "threshold order",
            Box::new(|v| v["rules"]["difficult_area_threshold"] = 90.into()),
        ),
        (
            "impossible threshold",
            Box::new(|v| v["rules"]["pass_threshold"] = 101.into()),
        ),
        (
            "duplicate group",
            Box::new(|v| {
                let g = v["groups"][0].clone();
                v["groups"].as_array_mut().unwrap().push(g);
            }),
        ),
        (
            "indicator id",
            Box::new(|v| v["groups"][0]["competencies"][0]["indicators"][1]["id"] = "1.7".into()),
        ),
        (
            "level order",
            Box::new(move |v| {
                v.pointer_mut(level0)
                    .unwrap()
                    .as_array_mut()
                    .unwrap()
                    .reverse()
            }),
        ),
        (
            "level above max",
            Box::new(move |v| v.pointer_mut(level0).unwrap()[0]["points"] = 11.into()),
        ),
        (
            "no zero level",
            Box::new(move |v| {
                v.pointer_mut(level0).unwrap().as_array_mut().unwrap().pop();
            }),
        ),
        (
            "bad level id",
            Box::new(move |v| v.pointer_mut(level0).unwrap()[0]["id"] = "A B".into()),
        ),
    ];
    for (name, f) in cases {
        let e = mutate(f).unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("244-2022") || text.contains(".json"),
            "{name}: {text}"
        );
    }
}

#[test]
fn a_higher_revision_replaces_the_embedded_catalog_and_a_lower_one_does_not() {
    let embedded = cdht_core::embedded_catalogs().expect("embedded catalogs");
    let mut corrected = embedded[0].clone();
    assert!(
        corrected.revision >= 2,
        "shipped catalogs are corrected ones"
    );
    corrected.revision += 1;
    corrected.notes.vi = "Đã sửa mức điểm chỉ số 2.1".into();
    let mut older = embedded[0].clone();
    older.notes.vi = "bản cũ".into();
    let mut new_one = embedded[0].clone();
    new_one.id = "999-2026".into();

    let merged = cdht_core::merge_catalogs(embedded, &[corrected.clone(), older, new_one]);
    assert_eq!(merged.len(), embedded.len() + 1);
    let got = merged
        .iter()
        .find(|c| c.id == corrected.id)
        .expect("corrected id present");
    assert_eq!(got, &corrected.for_devices());
    assert!(merged.iter().any(|c| c.id.as_str() == "999-2026"));

    let mut zero = embedded[0].clone();
    zero.revision = 0;
    assert!(zero.validate().is_err());
}

/// Revision 2's corrections (issue: names checked against published sources).
#[test]
fn revision_2_carries_the_names_the_sources_give() {
    let catalogs = cdht_core::embedded_catalogs().expect("embedded catalogs");
    let get = |id: &str| catalogs.iter().find(|c| c.id.as_str() == id).unwrap();
    let c244 = get("244-2022");
    let c324 = get("324-2023");
    for c in [c244, c324] {
        assert!(c.revision >= 2, "{}", c.id);
        assert!(c.draft, "{} stays a draft", c.id);
        assert!(c.notes.vi.contains("Báo Tây Ninh, 02/03/2023"), "{}", c.id);
        assert!(c.notes.en.contains("Circular 24/2023/TT-BGDĐT"), "{}", c.id);
        for g in &c.groups {
            let competency = g
                .competencies
                .iter()
                .find(|k| k.id.as_str() == "2")
                .unwrap();
            assert_eq!(competency.name.vi, "Năng lực sử dụng các công cụ tương tác");
            assert_eq!(competency.name.en, "Using interactive tools");
            let i24 = competency
                .indicators
                .iter()
                .find(|i| i.id.as_str() == "2.4")
                .unwrap();
            if ["workers", "officials", "students"].contains(&g.id.as_str()) {
                assert!(
                    i24.title
                        .vi
                        .starts_with("Tư duy biện chứng, tư duy phản biện"),
                    "{} {}: {}",
                    c.id,
                    g.id,
                    i24.title.vi
                );
            }
        }
    }
    let group = |c: &cdht_core::Catalog, id: &str| {
        c.groups
            .iter()
            .find(|g| g.id.as_str() == id)
            .unwrap()
            .name
            .clone()
    };
    assert_eq!(
        group(c244, "workers").vi,
        "Công nhân, lao động tiểu thủ công, thợ sửa chữa thiết bị gia dụng"
    );
    assert_eq!(
        group(c244, "workers").en,
        "Industrial and handicraft workers, household-appliance repairers"
    );
    assert_eq!(
        group(c244, "officials").vi,
        "Cán bộ quản lý, công chức, viên chức, nhân viên từ cấp xã trở lên, doanh nhân, quản lý doanh nghiệp"
    );
    assert_eq!(
        c324.title.vi,
        "Bộ tiêu chí đánh giá, công nhận danh hiệu “Công dân học tập” giai đoạn 2021–2030"
    );
    assert!(!c244.notes.vi.contains("lao động tự do"));
}

/// Each rule says where it comes from: the pass mark and the minimum per
/// indicator are confirmed by three sources; the 70-point threshold for
/// difficult areas and the 5-year exemplary rule rest on one article.
#[test]
fn every_rule_has_its_provenance() {
    use cdht_core::provenance::{rule_provenance, RuleStatus, RULES};
    let names: Vec<&str> = RULES.iter().map(|r| r.rule).collect();
    // Every field of Rules, and no other.
    let rules = serde_json::to_value(cdht_core::embedded_catalogs().unwrap()[0].rules).unwrap();
    let mut fields: Vec<&str> = rules
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    fields.sort_unstable();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(fields, sorted);
    for confirmed in ["pass_threshold", "min_indicator_points"] {
        let p = rule_provenance(confirmed).unwrap();
        assert_eq!(p.status, RuleStatus::Confirmed, "{confirmed}");
        assert_eq!(p.sources.len(), 3, "{confirmed}");
        assert!(p.how_to_switch_off.is_empty());
    }
    for provisional in ["difficult_area_threshold", "exemplary_consecutive_years"] {
        let p = rule_provenance(provisional).unwrap();
        assert_eq!(p.status, RuleStatus::Provisional, "{provisional}");
        assert_eq!(
            p.sources,
            ["Báo Tây Ninh, 02/03/2023 (báo cáo tập huấn của tỉnh)"]
        );
        assert!(!p.how_to_switch_off.is_empty());
    }
}

/// Switched off as the provenance says (the threshold raised to the pass
/// mark, with `catalogs add`), the 70-point rule no longer decides anything.
#[test]
fn a_switched_off_difficult_area_rule_marks_nothing() {
    let mut catalog = cdht_core::embedded_catalog("244-2022")
        .unwrap()
        .unwrap()
        .clone();
    catalog.revision += 1;
    catalog.rules.difficult_area_threshold = catalog.rules.pass_threshold;
    catalog.validate().unwrap();
    let input = cdht_core::AssessmentInput {
        catalog: "244-2022".into(),
        group: "farmers".into(),
        area: cdht_core::AreaType::Difficult,
        answers: cdht_core::Answers(
            [
                "1.1", "1.2", "1.3", "1.4", "2.1", "2.2", "2.3", "2.4", "3.1", "3.2",
            ]
            .iter()
            .map(|i| {
                (
                    cdht_core::ids::IndicatorId::new(*i),
                    cdht_core::Answer::Points(7),
                )
            })
            .collect(),
        ),
    };
    let r = cdht_core::score_with(&[catalog], &input, cdht_core::Completeness::Complete).unwrap();
    assert!(!r.passed);
    assert!(r.provisional.is_empty());
}
