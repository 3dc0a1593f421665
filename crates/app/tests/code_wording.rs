//! Every error and refusal code is worded in every UI catalog: the app shows
//! no sentence from Rust, so a code without wording would show its key.
//! (`npm run check` checks the same from the generated CODES list.)

#![allow(clippy::unwrap_used)]

use cdht_core::Code;

#[test]
fn every_code_is_worded_in_vietnamese_and_english() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../ui/shared/src/i18n");
    for lang in ["vi", "en"] {
        let text = std::fs::read_to_string(format!("{dir}/{lang}.json")).expect("read a catalog");
        let catalog: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&text).expect("a catalog is a JSON object");
        let mut missing = Vec::new();
        for code in Code::ALL {
            let wording = catalog.get(&format!("code.{}", code.name));
            match wording.and_then(|w| w.as_str()) {
                Some(w) if !w.trim().is_empty() => {
                    // Every placeholder is one of the code's params (or the
                    // field's name, which describe() adds for `field`, or the
                    // indicator's title, which the score panel adds).
                    for part in w.split('{').skip(1) {
                        let name = part.split('}').next().unwrap_or_default();
                        let known = code.params.contains(&name)
                            || (name == "field_name" && code.params.contains(&"field"))
                            || (name == "indicator_title" && code.params.contains(&"indicator"));
                        assert!(known, "{lang}: code.{} uses {{{name}}}", code.name);
                    }
                }
                _ => missing.push(code.name),
            }
        }
        assert!(missing.is_empty(), "{lang}.json lacks code.{missing:?}");
    }
    assert!(Code::ALL.len() > 100);
}

/// Each kind of score suggestion (`ImprovementCode`) is a code, worded in
/// both languages with every one of its own params and nothing else.
#[test]
fn every_suggestion_kind_is_worded_with_its_own_params() {
    use cdht_core::score::ImprovementCode;
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../ui/shared/src/i18n");
    let kinds = [
        ImprovementCode::RaiseIndicator,
        ImprovementCode::RaiseIndicatorToLevel,
    ];
    for lang in ["vi", "en"] {
        let text = std::fs::read_to_string(format!("{dir}/{lang}.json")).unwrap();
        let catalog: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&text).unwrap();
        for kind in kinds {
            let name = serde_json::to_value(kind).unwrap();
            let name = name.as_str().unwrap();
            let info = Code::info(name).unwrap_or_else(|| panic!("{name} is not a code"));
            let wording = catalog[&format!("code.{name}")].as_str().unwrap();
            let mut used: Vec<&str> = wording
                .split('{')
                .skip(1)
                .map(|p| p.split('}').next().unwrap())
                .collect();
            used.sort_unstable();
            let mut want: Vec<&str> = info.params.to_vec();
            want.push("indicator_title");
            want.sort_unstable();
            assert_eq!(used, want, "{lang}: code.{name} = {wording}");
        }
    }
}
