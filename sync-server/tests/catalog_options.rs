#![allow(clippy::unwrap_used)]
//! An operator turns off a catalog option (`catalogs add` with a higher
//! revision): `catalogs list` says so, and every device pulls the catalog
//! with the choice applied, in the shape every released build reads.

mod support;

use cdht_core::sync::Change;
use support::*;

#[tokio::test]
async fn an_operator_turns_off_other_languages_for_indicator_2_2() {
    let server = start().await;
    let phone = server.device("DEMO-X1-C1").await;
    let shipped = cdht_core::embedded_catalog("244-2022").unwrap().unwrap();
    let mut file = serde_json::to_value(shipped).unwrap();
    file["revision"] = (shipped.revision + 1).into();
    file["options"] = serde_json::json!({ "other_languages_count": false });

    let storage = std::sync::Arc::clone(&server.state.storage);
    let listed = tokio::task::spawn_blocking(move || {
        cdht_server::catalogs::add(storage.as_ref(), "244-2022.json", &file.to_string()).unwrap();
        cdht_server::catalogs::list(storage.as_ref()).unwrap()
    })
    .await
    .unwrap();
    let c244 = listed.iter().find(|c| c.id == "244-2022").unwrap();
    assert_eq!(c244.source, "installed");
    assert!(!c244.options.other_languages_count);
    let c324 = listed.iter().find(|c| c.id == "324-2023").unwrap();
    assert!(
        c324.options.other_languages_count,
        "untouched catalogs keep it on"
    );

    let (changes, _) = phone.pull_all(0).await.unwrap();
    let pulled: Vec<_> = changes
        .iter()
        .filter_map(|c| match &c.change {
            Change::Catalog { catalog } => Some(catalog),
            _ => None,
        })
        .collect();
    assert_eq!(pulled.len(), 1, "{changes:?}");
    let catalog = pulled[0];
    assert_eq!(catalog.revision, shipped.revision + 1);
    // Applied on the server: no option, no alternative wording on the wire.
    assert!(catalog.options.is_default());
    for group in &catalog.groups {
        assert!(group.indicators().all(|i| i.foreign_only.is_none()));
    }
    let farmers = catalog.group("farmers").unwrap().indicator("2.2").unwrap();
    assert_eq!(farmers.title.vi, "Biết ngoại ngữ khi cần");
    for level in &farmers.levels {
        assert!(
            !level.label.vi.contains("tiếng dân tộc"),
            "{}",
            level.label.vi
        );
    }
    assert_eq!(
        catalog,
        &cdht_core::Catalog::from_json("x", &serde_json::to_string(catalog).unwrap()).unwrap()
    );
}
