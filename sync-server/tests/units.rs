#![allow(clippy::unwrap_used)]
//! `cdht-server units qr|import|list|rotate-key` and `catalogs add|list`, run
//! as a real process on real files.

use cdht_core::qr::JoinPayload;
use std::path::Path;
use std::process::{Command, Output};

fn cdht(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cdht-server"))
        .args(args)
        .output()
        .unwrap()
}

fn ok_json(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Non-zero exit, nothing on stdout, every stderr line `error [code]: …`, no panic.
fn error_lines(out: &Output) -> Vec<String> {
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(out.stdout.is_empty());
    let err = String::from_utf8(out.stderr.clone()).unwrap();
    assert!(!err.contains("panicked"), "{err}");
    let lines: Vec<String> = err.lines().map(str::to_owned).collect();
    assert!(!lines.is_empty());
    for line in &lines {
        cdht_test_support::assert_bilingual_error_line(line);
    }
    lines
}

fn demo(dir: &Path) -> String {
    let data = dir.join("data");
    let data = data.to_str().unwrap().to_owned();
    ok_json(&cdht(&[
        "init",
        "--data",
        &data,
        "--demo",
        "--public-url",
        "https://cdht.example.vn/hoi/",
    ]));
    data
}

fn list(data: &str) -> Vec<serde_json::Value> {
    ok_json(&cdht(&["units", "list", "--data", data]))
        .as_array()
        .unwrap()
        .clone()
}

fn unit<'a>(units: &'a [serde_json::Value], code: &str) -> &'a serde_json::Value {
    units.iter().find(|u| u["code"] == code).unwrap()
}

/// Decodes the one QR code in a PNG file.
fn decode_qr(path: &Path) -> String {
    let img = image::open(path).unwrap().to_luma8();
    assert_eq!((img.width(), img.height()), (2480, 3508), "A4 at 300 dpi");
    let mut prepared = rqrr::PreparedImage::prepare(img);
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code on the poster");
    grids[0].decode().unwrap().1
}

#[test]
fn the_png_poster_scans_back_to_the_unit_and_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let data = demo(dir.path());
    let out = dir.path().join("áp phích.png");
    let printed = ok_json(&cdht(&[
        "units",
        "qr",
        "demo-x2-c1",
        "--data",
        &data,
        "--out",
        out.to_str().unwrap(),
    ]));
    let key = unit(&list(&data), "DEMO-X2-C1")["join_key"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(printed["join_key"], key.as_str());

    let text = decode_qr(&out);
    let payload = JoinPayload::parse(&text).unwrap();
    assert_eq!(payload.unit.as_str(), "DEMO-X2-C1");
    assert_eq!(payload.join_key, key);
    assert_eq!(
        payload.server, "https://cdht.example.vn/hoi",
        "stored at init"
    );
    assert_eq!(printed["qr_url"], text.as_str());

    // --public-url overrides the stored one.
    ok_json(&cdht(&[
        "units",
        "qr",
        "DEMO-T",
        "--data",
        &data,
        "--out",
        out.to_str().unwrap(),
        "--public-url",
        "http://192.168.1.10:8080",
    ]));
    let payload = JoinPayload::parse(&decode_qr(&out)).unwrap();
    assert_eq!(payload.server, "http://192.168.1.10:8080");
    assert_eq!(payload.unit.as_str(), "DEMO-T");
}

#[test]
fn the_pdf_poster_is_one_a4_page_holding_the_picture() {
    let dir = tempfile::tempdir().unwrap();
    let data = demo(dir.path());
    let out = dir.path().join("poster.pdf");
    let printed = ok_json(&cdht(&[
        "units",
        "qr",
        "DEMO-X1",
        "--data",
        &data,
        "--out",
        out.to_str().unwrap(),
    ]));
    assert_eq!(printed["format"], "pdf");
    let pdf = std::fs::read(&out).unwrap();
    let text = String::from_utf8_lossy(&pdf);
    assert!(pdf.starts_with(b"%PDF-"));
    assert!(text.trim_end().ends_with("%%EOF"));
    assert!(text.contains("/MediaBox [0 0 595.276 841.89]"), "A4");
    assert!(text.contains("/Subtype /Image"));
    assert!(text.contains("/Width 2480") && text.contains("/Height 3508"));
    assert!(text.contains("/Count 1"));
}

#[test]
fn poster_errors_are_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = demo(dir.path());
    let png = dir.path().join("p.png");
    let png = png.to_str().unwrap();

    let lines = error_lines(&cdht(&[
        "units", "qr", "NOPE-1", "--data", &data, "--out", png,
    ]));
    assert_eq!(lines.len(), 1);
    assert!(lines[0].starts_with("error [unknown_unit]: "), "{lines:?}");

    let lines = error_lines(&cdht(&[
        "units", "qr", "DEMO-T", "--data", &data, "--out", "p.jpg",
    ]));
    assert!(lines[0].starts_with("error [bad_output]: "), "{lines:?}");

    let lines = error_lines(&cdht(&[
        "units",
        "qr",
        "DEMO-T",
        "--data",
        &data,
        "--out",
        "/no/such/folder/p.png",
    ]));
    assert!(
        lines[0].starts_with("error [unwritable_output]: "),
        "{lines:?}"
    );

    // A data directory made without init has no public URL to print.
    let bare = dir.path().join("bare");
    let bare = bare.to_str().unwrap();
    ok_json(&cdht(&["units", "list", "--data", bare]));
    let lines = error_lines(&cdht(&[
        "units", "qr", "DEMO-T", "--data", bare, "--out", png,
    ]));
    assert!(lines[0].starts_with("error [no_public_url]: "), "{lines:?}");
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path.to_str().unwrap().to_owned()
}

#[test]
fn import_adds_a_tree_in_any_order_with_or_without_a_bom() {
    let dir = tempfile::tempdir().unwrap();
    let data = demo(dir.path());
    let before = list(&data).len();
    // Excel's "CSV UTF-8": a byte-order mark and CRLF; children before parents;
    // a parent already on the server (DEMO-T); a quoted name with a comma.
    let csv = "\u{feff}code,name,kind,parent,area\r\n\
               hg-x3-c1,\"Chi hội khuyến học xóm Đồi, thôn Thượng\",branch,HG-X3,\r\n\
               HG-X3,Hội Khuyến học xã Lũng Cú,commune,DEMO-T,difficult\r\n\
               HG-X3-T1,Ban khuyến học Trường THCS Lũng Cú,agency,HG-X3,\r\n\
               HG-X4,Hội Khuyến học xã Đồng Văn,commune,DEMO-T,\r\n";
    let file = write(dir.path(), "đơn vị.csv", csv.as_bytes());
    let created = ok_json(&cdht(&["units", "import", &file, "--data", &data]));
    let created = created.as_array().unwrap();
    let codes: Vec<&str> = created
        .iter()
        .map(|u| u["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        ["HG-X3", "HG-X3-C1", "HG-X3-T1", "HG-X4"],
        "parents first"
    );
    for u in created {
        assert_eq!(u["join_key"].as_str().unwrap().len(), 10);
        let payload = JoinPayload::parse(u["qr_url"].as_str().unwrap()).unwrap();
        assert_eq!(payload.unit.as_str(), u["code"]);
    }
    let c1 = created.iter().find(|u| u["code"] == "HG-X3-C1").unwrap();
    assert_eq!(c1["name"], "Chi hội khuyến học xóm Đồi, thôn Thượng");
    assert_eq!(c1["own_area"], serde_json::Value::Null);
    assert_eq!(c1["area"], "difficult", "inherited from HG-X3");
    let x4 = created.iter().find(|u| u["code"] == "HG-X4").unwrap();
    assert_eq!(x4["area"], "normal", "inherited from DEMO-T");

    let units = list(&data);
    assert_eq!(units.len(), before + 4);
    assert_eq!(unit(&units, "HG-X3-T1")["parent"], "HG-X3");

    // The same file without a BOM, new codes: also fine.
    let csv = "code,name,kind,parent,area\nHG-X5,Xã Sủng Là,commune,DEMO-T,normal\n";
    let file = write(dir.path(), "plain.csv", csv.as_bytes());
    let created = ok_json(&cdht(&["units", "import", &file, "--data", &data]));
    assert_eq!(created[0]["own_area"], "normal");

    // A new unit's poster prints and scans.
    let out = dir.path().join("x3.png");
    ok_json(&cdht(&[
        "units",
        "qr",
        "HG-X3-C1",
        "--data",
        &data,
        "--out",
        out.to_str().unwrap(),
    ]));
    let payload = JoinPayload::parse(&decode_qr(&out)).unwrap();
    assert_eq!(payload.join_key, c1["join_key"].as_str().unwrap());
}

#[test]
fn a_bad_file_adds_nothing_and_names_every_bad_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = demo(dir.path());
    let before = list(&data).len();
    let csv = "code,name,kind,parent,area\n\
               GOOD-1,Xã Tốt,commune,DEMO-T,\n\
               x,Mã quá ngắn,commune,DEMO-T,\n\
               GOOD-1,Trùng mã,commune,DEMO-T,\n\
               ORPHAN-1,Không có cha,branch,NOWHERE-9,\n\
               LOOP-A,Vòng A,branch,LOOP-B,\n\
               LOOP-B,Vòng B,branch,LOOP-A,\n\
               AREA-1,Vùng sai,commune,DEMO-T,mountain\n\
               DEMO-X1,Đã có,commune,DEMO-T,\n";
    let file = write(dir.path(), "units.csv", csv.as_bytes());
    let lines = error_lines(&cdht(&["units", "import", &file, "--data", &data]));
    let expect = [
        ("bad_code", "units.csv line 3: "),
        ("duplicate_unit", "units.csv line 4: "),
        ("bad_area", "units.csv line 8: "),
        ("unknown_parent", "units.csv line 5: "),
        ("cycle", "units.csv lines 6, 7: "),
    ];
    for (code, prefix) in expect {
        let start = format!("error [{code}]: {prefix}");
        assert!(
            lines.iter().any(|l| l.starts_with(&start)),
            "{start} in {lines:#?}"
        );
    }
    assert_eq!(lines.len(), expect.len(), "{lines:#?}");
    assert!(lines.iter().any(|l| l.contains("LOOP-A → LOOP-B → LOOP-A")));
    assert_eq!(
        list(&data).len(),
        before,
        "all or nothing: GOOD-1 was not added"
    );
    assert_eq!(
        unit(&list(&data), "DEMO-X1")["name"],
        "Hội Khuyến học xã Bình An",
        "nor DEMO-X1 (an existing code: an update) renamed"
    );
}

#[test]
fn an_existing_code_updates_the_unit() {
    let dir = tempfile::tempdir().unwrap();
    let data = demo(dir.path());
    let before = list(&data);
    let csv = "code,name,kind,parent,area\n\
               DEMO-X1,Hội Khuyến học xã Bình An (mới),commune,DEMO-T,difficult\n\
               DEMO-X2,Hội Khuyến học xã Nậm Pồ,commune,DEMO-T,difficult\n\
               NEW-C9,Chi hội mới,branch,DEMO-X1,\n";
    let file = write(dir.path(), "units.csv", csv.as_bytes());
    let out = ok_json(&cdht(&["units", "import", &file, "--data", &data]));
    let status: Vec<(&str, &str)> = out
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["code"].as_str().unwrap(), u["import"].as_str().unwrap()))
        .collect();
    assert_eq!(
        status,
        [
            ("NEW-C9", "added"),
            ("DEMO-X1", "updated"),
            ("DEMO-X2", "unchanged")
        ]
    );
    let units = list(&data);
    assert_eq!(units.len(), before.len() + 1);
    let x1 = unit(&units, "DEMO-X1");
    assert_eq!(x1["name"], "Hội Khuyến học xã Bình An (mới)");
    assert_eq!(x1["join_key"], unit(&before, "DEMO-X1")["join_key"]);
    assert_eq!(unit(&units, "DEMO-X1-C1")["area"], "difficult", "inherited");
    assert_eq!(unit(&units, "NEW-C9")["area"], "difficult");
}

#[test]
fn unreadable_files_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let data = demo(dir.path());
    // Windows-1258 / Latin-1 bytes, not UTF-8.
    let mut bytes = b"code,name,kind,parent,area\nLAT-1,X\xe3 B\xecnh,commune,DEMO-T,\n".to_vec();
    let file = write(dir.path(), "latin.csv", &bytes);
    let lines = error_lines(&cdht(&["units", "import", &file, "--data", &data]));
    assert_eq!(lines.len(), 1);
    assert!(
        lines[0].starts_with("error [bad_csv]: latin.csv line 2: not UTF-8"),
        "{lines:?}"
    );

    bytes = b"code;name;kind;parent;area\nA;B;C;D;E\n".to_vec();
    let file = write(dir.path(), "semicolons.csv", &bytes);
    let lines = error_lines(&cdht(&["units", "import", &file, "--data", &data]));
    assert!(lines[0].starts_with("error [bad_header]: semicolons.csv line 1: "));

    let file = write(
        dir.path(),
        "short.csv",
        b"code,name,kind,parent,area\nAAA-1,X,commune\n",
    );
    let lines = error_lines(&cdht(&["units", "import", &file, "--data", &data]));
    assert!(
        lines[0].starts_with("error [bad_csv]: short.csv line 2: "),
        "{lines:?}"
    );

    let file = write(dir.path(), "empty.csv", b"code,name,kind,parent,area\n");
    let lines = error_lines(&cdht(&["units", "import", &file, "--data", &data]));
    assert!(lines[0].starts_with("error [empty_csv]: "));

    let lines = error_lines(&cdht(&["units", "import", "/no/such.csv", "--data", &data]));
    assert!(lines[0].starts_with("error [unreadable_input]: "));
}

#[test]
fn rotate_key_gives_a_new_key_and_a_new_poster() {
    let dir = tempfile::tempdir().unwrap();
    let data = demo(dir.path());
    let old = unit(&list(&data), "DEMO-X1-C1")["join_key"].clone();
    let rotated = ok_json(&cdht(&[
        "units",
        "rotate-key",
        "demo-x1-c1",
        "--data",
        &data,
    ]));
    assert_eq!(rotated["code"], "DEMO-X1-C1");
    assert_ne!(rotated["join_key"], old);
    assert_eq!(
        unit(&list(&data), "DEMO-X1-C1")["join_key"],
        rotated["join_key"]
    );
    let payload = JoinPayload::parse(rotated["qr_url"].as_str().unwrap()).unwrap();
    assert_eq!(payload.join_key, rotated["join_key"].as_str().unwrap());

    let lines = error_lines(&cdht(&["units", "rotate-key", "NOPE-1", "--data", &data]));
    assert!(lines[0].starts_with("error [unknown_unit]: "), "{lines:?}");
}

#[test]
fn catalogs_add_installs_a_higher_revision_and_refuses_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let data = demo(dir.path());
    let shipped = cdht_core::embedded_catalog("244-2022").unwrap().unwrap();
    let mut v = serde_json::to_value(shipped).unwrap();
    // The shipped revision again: refused, with the reason and what to do.
    let same = write(dir.path(), "same.json", v.to_string().as_bytes());
    let lines = error_lines(&cdht(&["catalogs", "add", &same, "--data", &data]));
    assert!(
        lines[0].starts_with("error [stale_revision]: "),
        "{lines:?}"
    );
    assert!(lines[0].contains("\"revision\""), "{lines:?}");
    // Broken: refused with the core's reason.
    v["revision"] = serde_json::json!(shipped.revision + 1);
    v["rules"]["pass_threshold"] = serde_json::json!(900);
    let broken = write(dir.path(), "broken.json", v.to_string().as_bytes());
    let lines = error_lines(&cdht(&["catalogs", "add", &broken, "--data", &data]));
    assert!(
        lines[0].starts_with("error [invalid_catalog]: "),
        "{lines:?}"
    );
    let lines = error_lines(&cdht(&[
        "catalogs",
        "add",
        "/no/such.json",
        "--data",
        &data,
    ]));
    assert!(
        lines[0].starts_with("error [unreadable_input]: "),
        "{lines:?}"
    );
    // A corrected revision: installed, and listed as what the server scores with.
    v["rules"]["pass_threshold"] = serde_json::json!(80);
    v["notes"]["en"] = serde_json::json!("Corrected wording.");
    let fixed = write(dir.path(), "fixed.json", v.to_string().as_bytes());
    let added = ok_json(&cdht(&["catalogs", "add", &fixed, "--data", &data]));
    assert_eq!(added["id"], "244-2022");
    assert_eq!(added["revision"], shipped.revision + 1);
    assert_eq!(added["source"], "installed");
    let listed = ok_json(&cdht(&["catalogs", "list", "--data", &data]));
    let listed = listed.as_array().unwrap();
    let c = listed.iter().find(|c| c["id"] == "244-2022").unwrap();
    assert_eq!(
        (c["revision"].clone(), c["source"].clone()),
        (added["revision"].clone(), "installed".into())
    );
    assert!(listed
        .iter()
        .any(|c| c["id"] == "324-2023" && c["source"] == "embedded"));
    // Installing it twice is refused by the installed revision.
    let lines = error_lines(&cdht(&["catalogs", "add", &fixed, "--data", &data]));
    assert!(
        lines[0].starts_with("error [stale_revision]: "),
        "{lines:?}"
    );
}
