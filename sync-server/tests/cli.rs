#![allow(clippy::unwrap_used)]
//! The operator CLI, run as a real process on real files.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn cdht(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cdht-server"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        pipe.write_all(text.as_bytes()).unwrap();
    }
    drop(pipe);
    child.wait_with_output().unwrap()
}

fn score_file(json: &str) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("đánh-giá.json");
    std::fs::write(&path, json).unwrap();
    cdht(&["score", path.to_str().unwrap()], None)
}

fn assessment(area: &str, points: [i64; 10]) -> String {
    let ids = [
        "1.1", "1.2", "1.3", "1.4", "2.1", "2.2", "2.3", "2.4", "3.1", "3.2",
    ];
    let answers: Vec<String> = ids
        .iter()
        .zip(points)
        .map(|(i, p)| format!("\"{i}\":{p}"))
        .collect();
    format!(
        "{{\"catalog\":\"244-2022\",\"group\":\"farmers\",\"area\":\"{area}\",\"answers\":{{{}}}}}",
        answers.join(",")
    )
}

fn verdict(out: &Output) -> (u64, bool) {
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    (v["total"].as_u64().unwrap(), v["passed"].as_bool().unwrap())
}

/// A bad input: non-zero exit, one line on stderr naming the problem, no panic.
fn assert_clear_error(out: &Output, code: &str) {
    assert!(!out.status.success());
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr.clone()).unwrap();
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.starts_with(&format!("error [{code}]: ")), "{err}");
    cdht_test_support::assert_bilingual_error_line(err.trim_end());
    assert!(
        !err.contains("panicked") && !err.contains("backtrace"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn boundary_verdicts() {
    assert_eq!(
        verdict(&score_file(&assessment(
            "normal",
            [8, 8, 8, 8, 8, 8, 8, 8, 8, 7]
        ))),
        (79, false)
    );
    assert_eq!(
        verdict(&score_file(&assessment("normal", [8; 10]))),
        (80, true)
    );
    assert_eq!(
        verdict(&score_file(&assessment(
            "difficult",
            [7, 7, 7, 7, 7, 7, 7, 7, 7, 6]
        ))),
        (69, false)
    );
    assert_eq!(
        verdict(&score_file(&assessment("difficult", [7; 10]))),
        (70, true)
    );
    assert_eq!(
        verdict(&score_file(&assessment(
            "normal",
            [10, 10, 10, 10, 10, 10, 10, 10, 10, 4]
        ))),
        (94, false)
    );
}

#[test]
fn result_carries_reasons_and_improvements() {
    let out = cdht(
        &["score", "-"],
        Some(&assessment(
            "normal",
            [10, 10, 10, 10, 10, 10, 10, 10, 10, 4],
        )),
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["reasons"][0]["kind"], "indicator_below_minimum");
    assert_eq!(v["reasons"][0]["indicator"], "3.2");
    assert!(v["reasons"][0]["message"]["vi"]
        .as_str()
        .unwrap()
        .contains("Chỉ số 3.2"));
    assert_eq!(v["improvements"][0]["to"], 5);
    // A suggestion is a code with its params, and a sentence for the operator.
    assert_eq!(v["improvements"][0]["code"], "raise_indicator_to_level");
    assert_eq!(v["improvements"][0]["gain"], 1);
    assert_eq!(
        v["improvements"][0]["message"]["vi"],
        "Nâng chỉ số 3.2 từ 4 lên 5 điểm (mức c, thêm 1 điểm)."
    );
    assert_eq!(
        v["improvements"][0]["message"]["en"],
        "Raise indicator 3.2 from 4 to 5 points (level c, 1 point more)."
    );
    assert_eq!(v["competencies"].as_array().unwrap().len(), 3);
}

#[test]
fn answers_may_be_level_ids() {
    let json = r#"{"catalog":"324-2023","group":"students","area":"normal",
      "answers":{"1.1":"a","1.2":"a","1.3":"a","1.4":"a","2.1":"a","2.2":"a","2.3":"a","2.4":"a","3.1":"a","3.2":"a"}}"#;
    assert_eq!(verdict(&score_file(json)), (100, true));
}

#[test]
fn bad_inputs_get_a_clear_one_line_error() {
    assert_clear_error(&score_file("{\"catalog\": "), "malformed_assessment");
    assert_clear_error(&score_file("not json at all"), "malformed_assessment");
    assert_clear_error(
        &score_file(&assessment("normal", [8; 10]).replace("farmers", "pilots")),
        "unknown_group",
    );
    assert_clear_error(
        &score_file(&assessment("normal", [8; 10]).replace("244-2022", "1-1999")),
        "unknown_catalog",
    );
    assert_clear_error(
        &score_file(&assessment("normal", [8, 8, 8, 8, 8, 8, 8, 8, 8, 11])),
        "points_out_of_range",
    );
    assert_clear_error(
        &score_file(&assessment("normal", [8, 8, 8, 8, -3, 8, 8, 8, 8, 8])),
        "points_out_of_range",
    );
    assert_clear_error(
        &score_file(&assessment("mountain", [8; 10])),
        "malformed_assessment",
    );
    assert_clear_error(
        &score_file(&assessment("normal", [8; 10]).replace("\"1.1\":8,", "")),
        "missing_indicators",
    );
    assert_clear_error(
        &cdht(&["score", "/no/such/file.json"], None),
        "unreadable_input",
    );

    let err = String::from_utf8(
        score_file(&assessment("normal", [8, 8, 8, 8, 8, 8, 8, 8, 8, 11])).stderr,
    )
    .unwrap();
    assert!(
        err.contains("Chỉ số 3.2"),
        "the message is also in Vietnamese: {err}"
    );
}

#[test]
fn draft_flag_scores_partial_assessments() {
    let partial = assessment("normal", [8; 10]).replace("\"1.1\":8,", "");
    let out = cdht(&["score", "--draft", "-"], Some(&partial));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["total"], 72);
    assert_eq!(v["passed"], false);
    assert_eq!(v["unanswered"][0], "1.1");
}

#[test]
fn catalogs_lists_both_decisions_with_their_groups() {
    let out = cdht(&["catalogs"], None);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["244-2022", "324-2023"]);
    assert_eq!(v[0]["groups"].as_array().unwrap().len(), 3);
    assert_eq!(v[1]["groups"].as_array().unwrap().len(), 4);
    assert_eq!(v[0]["groups"][0]["id"], "farmers");
    assert!(v[0]["groups"][0]["name"]["vi"].is_string());
    assert_eq!(v[0]["rules"]["pass_threshold"], 80);
    // Revision 2's corrected names, and each rule's provenance.
    assert!(v[0]["revision"].as_u64().unwrap() >= 2);
    assert_eq!(
        v[0]["groups"][1]["name"]["vi"],
        "Công nhân, lao động tiểu thủ công, thợ sửa chữa thiết bị gia dụng"
    );
    assert_eq!(
        v[1]["title"]["vi"],
        "Bộ tiêu chí đánh giá, công nhận danh hiệu “Công dân học tập” giai đoạn 2021–2030"
    );
    let provenance = v[0]["rule_provenance"].as_array().unwrap();
    let status = |rule: &str| {
        provenance
            .iter()
            .find(|p| p["rule"] == rule)
            .map(|p| p["status"].as_str().unwrap().to_owned())
            .unwrap()
    };
    assert_eq!(status("pass_threshold"), "confirmed");
    assert_eq!(status("min_indicator_points"), "confirmed");
    assert_eq!(status("difficult_area_threshold"), "provisional");
    assert_eq!(status("exemplary_consecutive_years"), "provisional");

    let full = cdht(&["catalogs", "--full"], None);
    let v: serde_json::Value = serde_json::from_slice(&full.stdout).unwrap();
    assert_eq!(
        v[1]["groups"][3]["competencies"][2]["indicators"][1]["id"],
        "3.2"
    );
}

/// A pass that rests only on the provisional 70-point rule says so in the
/// score output; a pass at 80 or more, or a fail, does not.
#[test]
fn a_pass_by_the_provisional_difficult_area_rule_is_marked() {
    let parse = |out: &Output| -> serde_json::Value {
        assert!(out.status.success());
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let by_70 = parse(&score_file(&assessment("difficult", [7; 10])));
    assert_eq!(by_70["passed"], true);
    let marks = by_70["provisional"].as_array().unwrap();
    assert_eq!(marks.len(), 1, "{by_70}");
    assert_eq!(marks[0]["rule"], "difficult_area_threshold");
    assert_eq!(
        marks[0]["message"]["vi"],
        "Đạt theo ngưỡng 70 điểm vùng khó khăn — quy định đang chờ xác nhận."
    );
    for settled in [
        assessment("difficult", [8; 10]),
        assessment("normal", [8; 10]),
        assessment("difficult", [7, 7, 7, 7, 7, 7, 7, 7, 7, 6]),
    ] {
        let v = parse(&score_file(&settled));
        assert_eq!(v["provisional"], serde_json::json!([]), "{v}");
    }
}

/// Every error reads `error [code]: English (Vietnamese)`, a mistyped
/// command included; `--help` still prints the help.
#[test]
fn every_error_is_coded_and_bilingual() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    assert!(cdht(&["init", "--data", data, "--demo"], None)
        .status
        .success());
    let cases: [(&[&str], &str); 6] = [
        (
            &[
                "officer",
                "add",
                "--data",
                data,
                "--username",
                "x",
                "--role",
                "boss:DEMO-X1",
            ],
            "bad_role",
        ),
        (
            &[
                "officer",
                "add",
                "--data",
                data,
                "--username",
                "x",
                "--role",
                "reviewer",
            ],
            "bad_role",
        ),
        (
            &["units", "rotate-key", "NOPE", "--data", data],
            "unknown_unit",
        ),
        (
            &["serve", "--data", data, "--listen", "nonsense"],
            "bad_listen",
        ),
        (&["init", "--data", data, "--demo"], "unit_exists"),
        (&["score", "/no/such/file.json"], "unreadable_input"),
    ];
    for (args, code) in cases {
        assert_clear_error(&cdht(args, None), code);
    }
    let typo = cdht(&["scroe"], None);
    assert_eq!(typo.status.code(), Some(2));
    let err = String::from_utf8(typo.stderr).unwrap();
    assert!(err.starts_with("error [usage]: "), "{err}");
    cdht_test_support::assert_bilingual_error_line(err.trim_end());
    let help = cdht(&["--help"], None);
    assert!(help.status.success());
    assert!(String::from_utf8(help.stdout)
        .unwrap()
        .contains("Usage: cdht-server"));
}
