//! Tauri's build step (capabilities, context). A fresh clone has no built UI
//! yet: a placeholder page keeps `cargo build --workspace` working; the real
//! UI is built into ui/app/dist by `npm run build` in ui/ (scripts/setup.sh,
//! scripts/e2e.sh).

use std::path::Path;

fn main() {
    let dist = Path::new("../ui/app/dist");
    if !dist.join("index.html").exists() {
        // Best effort: if this fails, tauri-build reports the missing folder itself.
        let _ = std::fs::create_dir_all(dist);
        let _ = std::fs::write(
            dist.join("index.html"),
            "<!doctype html><meta charset=\"utf-8\"><title>CDHT</title>\
             <p>Giao diện chưa được dựng: chạy <code>npm run build</code> trong thư mục ui/.</p>\
             <p>The UI is not built: run <code>npm run build</code> in ui/.</p>",
        );
    }
    println!("cargo:rerun-if-changed=../ui/app/dist");
    tauri_build::build();
}
