//! The `score` command's sentences (a module of the binary, `main.rs`): the
//! operator reads the JSON, so each reason, improvement and provisional rule
//! gets a `message` in Vietnamese and English. Apps word the same codes from
//! their own catalogs; these sentences reach no app.

use cdht_core::catalog::Text;
use cdht_core::score::ScoreResult;
use cdht_core::Code;
use serde_json::Value;

/// The score as JSON, with a `message` beside each reason, improvement and
/// provisional rule.
pub(crate) fn with_messages(result: &ScoreResult) -> Result<Value, serde_json::Error> {
    let mut json = serde_json::to_value(result)?;
    let reasons = result.reasons.iter().map(|r| Code::from(&r.kind));
    add_messages(&mut json["reasons"], reasons)?;
    let improvements = result.improvements.iter().map(Code::from);
    add_messages(&mut json["improvements"], improvements)?;
    for rule in json["provisional"].as_array_mut().into_iter().flatten() {
        let text = provisional_text(rule["rule"].as_str().unwrap_or_default(), result.threshold);
        rule["message"] = serde_json::to_value(text)?;
    }
    Ok(json)
}

fn add_messages(
    list: &mut Value,
    codes: impl Iterator<Item = Code>,
) -> Result<(), serde_json::Error> {
    for (item, code) in list.as_array_mut().into_iter().flatten().zip(codes) {
        item["message"] = serde_json::to_value(text(&code))?;
    }
    Ok(())
}

/// A score code in Vietnamese (the code's own fallback) and English.
fn text(code: &Code) -> Text {
    let en = match code {
        Code::BelowThreshold {
            total,
            threshold,
            short_by,
        } => format!(
            "Total {total} is {} short of {threshold}.",
            points(*short_by)
        ),
        Code::IndicatorBelowMinimum {
            indicator,
            points: has,
            min,
        } => format!(
            "Indicator {indicator} has {}; at least {min} are needed.",
            points(*has)
        ),
        Code::Unanswered { indicators } => {
            format!("Indicators {} are not answered yet.", indicators.join(", "))
        }
        Code::RaiseIndicator {
            indicator,
            from,
            to,
            gain,
        } => format!(
            "Raise indicator {indicator} from {from} to {} ({} more).",
            points(*to),
            points(*gain)
        ),
        Code::RaiseIndicatorToLevel {
            indicator,
            from,
            to,
            gain,
            level,
        } => format!(
            "Raise indicator {indicator} from {from} to {} (level {level}, {} more).",
            points(*to),
            points(*gain)
        ),
        other => other.as_str().to_owned(),
    };
    Text {
        vi: code.fallback_vi(),
        en,
    }
}

fn provisional_text(rule: &str, threshold: u32) -> Text {
    match rule {
        "difficult_area_threshold" => Text {
            vi: format!(
                "Đạt theo ngưỡng {threshold} điểm vùng khó khăn — quy định đang chờ xác nhận."
            ),
            en: format!(
                "Passed by the {threshold}-point threshold for difficult areas — a rule awaiting confirmation."
            ),
        },
        other => Text {
            vi: format!("Quy định “{other}” đang chờ xác nhận."),
            en: format!("The rule {other} awaits confirmation."),
        },
    }
}

/// "1 point", "0 points", "7 points": English wording of a count of points.
fn points(n: u32) -> String {
    if n == 1 {
        "1 point".to_owned()
    } else {
        format!("{n} points")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_counts_agree_with_their_number() {
        let below = text(&Code::IndicatorBelowMinimum {
            indicator: "3.2".into(),
            points: 1,
            min: 5,
        });
        assert_eq!(
            below.en,
            "Indicator 3.2 has 1 point; at least 5 are needed."
        );
        assert_eq!(below.vi, "Chỉ số 3.2 chỉ có 1 điểm, cần ít nhất 5.");
        let raise = text(&Code::RaiseIndicatorToLevel {
            indicator: "2.2".into(),
            from: 0,
            to: 10,
            gain: 10,
            level: "a".into(),
        });
        assert_eq!(
            raise.en,
            "Raise indicator 2.2 from 0 to 10 points (level a, 10 points more)."
        );
        assert!(raise.vi.starts_with("Nâng chỉ số 2.2 từ 0 lên 10 điểm"));
    }
}
