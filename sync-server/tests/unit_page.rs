#![allow(clippy::unwrap_used)]
//! The page a phone camera without the app opens (`/j/UNIT`): the app's real
//! button names, the join key shown from the QR's fragment by the page's
//! own script (run here in Node), and where to get the app.

mod support;

use support::*;

async fn page(server: &TestServer, unit: &str) -> (u16, String) {
    let r = reqwest::get(format!("{}/j/{unit}", server.url))
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// Runs the page's script with `location.hash` = `hash`; returns what it
/// showed: (key line hidden, key text).
fn run_script(html: &str, hash: &str) -> (bool, String) {
    let script = html
        .split("<script>")
        .nth(1)
        .and_then(|s| s.split("</script>").next())
        .unwrap();
    let harness = format!(
        "const els = {{ 'join-key': {{ textContent: '' }}, 'key-line': {{ hidden: true }} }};\n\
         const document = {{ getElementById: (id) => els[id] }};\n\
         const location = {{ hash: {hash:?} }};\n\
         {script}\n\
         console.log(JSON.stringify([els['key-line'].hidden, els['join-key'].textContent]));"
    );
    let out = std::process::Command::new("node")
        .args(["-e", &harness])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test]
async fn the_unit_page_names_the_apps_buttons_shows_the_key_and_the_download() {
    let server = start_with(|c| c.app_url = Some("https://cdht.example.vn/cdht.apk".into())).await;
    let storage = std::sync::Arc::clone(&server.state.storage);
    let url = server.url.clone();
    tokio::task::spawn_blocking(move || {
        storage
            .set_setting(cdht_server::units::PUBLIC_URL, &url)
            .unwrap();
    })
    .await
    .unwrap();

    let (status, html) = page(&server, "DEMO-X1-C1").await;
    assert_eq!(status, 200);
    assert!(
        !html.contains("Quét mã đơn vị"),
        "a button the app does not have"
    );
    for wording in [
        "Quét mã QR bằng máy ảnh",
        "Chọn ảnh mã QR",
        "Cách 2: Nhập mã in dưới mã QR",
        "Đơn vị",
    ] {
        assert!(html.contains(wording), "{wording}");
    }
    // Each button the page names is the app's own wording.
    let vi: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../ui/shared/src/i18n/vi.json"
        ))
        .unwrap(),
    )
    .unwrap();
    for key in [
        "join.scan_button",
        "join.qr_button",
        "join.typed_title",
        "nav.join",
    ] {
        assert!(html.contains(vi[key].as_str().unwrap()), "{key}");
    }
    assert!(
        html.contains("href=\"https://cdht.example.vn/cdht.apk\""),
        "the download"
    );
    assert!(
        html.contains(&format!("<b id=server>{}</b>", server.url)),
        "the server address"
    );

    // Opened from the QR: the key in the fragment is shown; without it, nothing.
    let key = &server
        .demo
        .units
        .iter()
        .find(|u| u.code == "DEMO-X1-C1")
        .unwrap()
        .join_key;
    assert_eq!(
        run_script(&html, &format!("#k={key}")),
        (false, key.clone())
    );
    assert_eq!(run_script(&html, ""), (true, String::new()));
    assert_eq!(run_script(&html, "#k=<img>"), (true, String::new()));

    // No download configured: the page says whom to ask.
    let plain = start().await;
    let (_, html) = page(&plain, "DEMO-X1-C1").await;
    assert!(html.contains("hỏi cán bộ chi hội"));
    assert!(!html.contains("id=app-url"));
}
