#![allow(clippy::unwrap_used)]

use super::*;
use crate::qr::QrError;
use crate::score::{ReasonKind, ScoreError};
use serde_json::json;

#[test]
fn every_code_has_one_snake_case_name_and_a_meaning() {
    let mut names: Vec<&str> = Code::ALL.iter().map(|c| c.name).collect();
    for c in Code::ALL {
        assert!(
            c.name
                .chars()
                .all(|ch| ch.is_ascii_lowercase() || ch == '_'),
            "{}",
            c.name
        );
        assert!(
            !c.meaning.trim().is_empty(),
            "{} has no doc comment",
            c.name
        );
    }
    let count = names.len();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), count, "a code name is used twice");
    assert!(count > 100, "{count}");
}

#[test]
fn a_code_is_its_name_and_its_params_in_one_object() {
    let code = Code::IndicatorBelowMinimum {
        indicator: "2.2".into(),
        points: 3,
        min: 5,
    };
    let value = serde_json::to_value(&code).unwrap();
    assert_eq!(
        value,
        json!({"code": "indicator_below_minimum", "indicator": "2.2", "points": 3, "min": 5})
    );
    assert_eq!(code.as_str(), "indicator_below_minimum");
    assert_eq!(
        serde_json::Value::Object(code.params()),
        json!({"indicator": "2.2", "points": 3, "min": 5})
    );
    assert_eq!(serde_json::from_value::<Code>(value).unwrap(), code);
    assert_eq!(
        serde_json::to_value(Code::Busy).unwrap(),
        json!({"code": "busy"})
    );
    assert!(Code::Busy.params().is_empty());
}

#[test]
fn a_code_from_the_wire_is_typed_or_kept_with_its_message() {
    let params = json!({"max": 200});
    let known = Code::from_wire("batch_too_large", params.as_object(), "x");
    assert_eq!(known, Code::BatchTooLarge { max: 200 });
    // An optional parameter may be absent (an older server).
    assert_eq!(
        Code::from_wire("bad_query", None, "x"),
        Code::BadQuery { param: None }
    );
    let newer = Code::from_wire("some_new_code", None, "Câu của máy chủ.");
    assert_eq!(
        newer,
        Code::Unrecognised {
            name: "some_new_code".into(),
            message: "Câu của máy chủ.".into()
        }
    );
    assert_eq!(newer.fallback_vi(), "Câu của máy chủ.");
}

#[test]
fn the_cores_errors_keep_their_codes() {
    let score = ScoreError::MissingIndicators {
        indicators: vec!["1.1".into(), "2.2".into()],
    };
    let code = Code::from(&score);
    assert_eq!(code.as_str(), score.code());
    assert_eq!(
        code.fallback_vi(),
        "Còn thiếu câu trả lời cho chỉ số 1.1, 2.2."
    );
    for qr in [
        QrError::NotCdht,
        QrError::NewerVersion(9),
        QrError::BadUnitCode("x".into()),
        QrError::BadJoinKey,
        QrError::BadServer("y".into()),
    ] {
        assert_eq!(Code::from(&qr).as_str(), qr.code());
    }
}

/// A score's reasons are keyed `kind` (the wire since version 1); the same
/// object keyed `code` is the reason's code, which the UI words.
#[test]
fn every_score_reason_is_a_code_with_the_same_params() {
    let kinds = [
        ReasonKind::BelowThreshold {
            total: 60,
            threshold: 70,
            short_by: 10,
        },
        ReasonKind::IndicatorBelowMinimum {
            indicator: "2.2".into(),
            points: 3,
            min: 5,
        },
        ReasonKind::Unanswered {
            indicators: vec!["1.1".into()],
        },
    ];
    for kind in &kinds {
        let mut object = serde_json::to_value(kind).unwrap();
        let map = object.as_object_mut().unwrap();
        let name = map.remove("kind").unwrap();
        map.insert("code".into(), name);
        let code: Code = serde_json::from_value(object).unwrap();
        assert_eq!(code, Code::from(kind));
        assert_eq!(Code::info(code.as_str()).unwrap().origin, Origin::Score);
    }
}

#[test]
fn every_server_code_has_its_own_vietnamese_fallback() {
    // Only app codes share the generic sentence; a server code's names what happened.
    let generic = Code::OfficerOffline.fallback_vi();
    assert!(generic.starts_with("Có lỗi"), "{generic}");
    let samples = [
        Code::Busy,
        Code::InvalidBody { place: None },
        Code::BadQuery {
            param: Some("year".into()),
        },
        Code::InvalidText {
            field: "full_name".into(),
        },
        Code::WrongState {
            state: "draft".into(),
            to: Some("approved".into()),
        },
    ];
    for code in samples {
        let text = code.fallback_vi();
        assert!(!text.starts_with("Có lỗi") && !text.is_ascii(), "{text}");
    }
    assert_eq!(
        Code::InvalidText {
            field: "full_name".into()
        }
        .fallback_vi(),
        "Họ tên có ký tự điều khiển hoặc ký tự đảo chiều chữ (không nhìn thấy được). \
         Hãy xoá và gõ lại."
    );
}

/// An improvement's JSON holds its code and every one of the code's params
/// with the same values, so the UI words the improvement as it is.
#[test]
fn every_improvement_is_a_code_with_the_same_params() {
    use crate::assessment::{Answer, AreaType, AssessmentInput};
    use crate::ids::{IndicatorId, LevelId};
    let ids = [
        "1.1", "1.2", "1.3", "1.4", "2.1", "2.2", "2.3", "2.4", "3.1", "3.2",
    ];
    let mut input = AssessmentInput {
        catalog: "244-2022".into(),
        group: "farmers".into(),
        area: AreaType::Normal,
        answers: crate::Answers(
            ids.iter()
                .map(|i| (IndicatorId::new(*i), Answer::Points(7)))
                .collect(),
        ),
    };
    // One by points under the minimum, one by level at the lowest level.
    input
        .answers
        .set(IndicatorId::new("3.2"), Answer::Points(3));
    input
        .answers
        .set(IndicatorId::new("2.2"), Answer::Level(LevelId::new("d")));
    let r = crate::score(&input, crate::Completeness::Complete).unwrap();
    assert!(!r.passed);
    let mut seen = std::collections::HashSet::new();
    for imp in &r.improvements {
        let code = Code::from(imp);
        let info = Code::info(code.as_str()).unwrap();
        assert_eq!(info.origin, Origin::Score);
        seen.insert(code.as_str());
        let shown = serde_json::to_value(imp).unwrap();
        assert_eq!(shown["code"], code.as_str(), "{imp:?}");
        for (name, value) in code.params() {
            assert_eq!(shown[&name], value, "{name} of {imp:?}");
        }
        assert_eq!(imp.gain, imp.to - imp.from);
    }
    assert!(seen.contains("raise_indicator_to_level"), "{seen:?}");
    let by_points = Code::from(&crate::score::Improvement {
        code: crate::score::ImprovementCode::RaiseIndicator,
        indicator: IndicatorId::new("3.2"),
        from: 3,
        to: 6,
        gain: 3,
        level: None,
    });
    assert_eq!(
        serde_json::to_value(&by_points).unwrap(),
        json!({"code": "raise_indicator", "indicator": "3.2", "from": 3, "to": 6, "gain": 3})
    );
}
