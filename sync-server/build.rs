//! Embeds the built dashboard (`ui/dashboard/dist`, made by
//! `npm run build:dashboard` in `ui/`, which scripts/setup.sh runs) into the
//! binary: a table of (path, bytes) written to `OUT_DIR/dashboard_assets.rs`.
//! A clone where it was never built still compiles (and `cargo test` runs):
//! the table is empty and `/dashboard/` says how to build it.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let dashboard = manifest.join("../ui/dashboard");
    let dist = dashboard.join("dist");
    // Watching the folder that will hold dist (when missing) notices its
    // first build; afterwards, every change inside dist.
    let watched = if dist.is_dir() { &dist } else { &dashboard };
    println!("cargo:rerun-if-changed={}", watched.display());

    let mut files = Vec::new();
    if dist.is_dir() {
        collect(&dist, &dist, &mut files);
    }
    files.sort();
    let mut table = String::from("&[\n");
    for (name, path) in &files {
        writeln!(
            table,
            "    ({name:?}, include_bytes!({:?})),",
            path.display()
        )
        .expect("writing to a String");
    }
    table.push(']');
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets it"));
    std::fs::write(out.join("dashboard_assets.rs"), table).expect("OUT_DIR is writable");
}

/// Every file under `dir`, as (path relative to `root` with `/`, absolute path).
fn collect(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) {
    let entries = std::fs::read_dir(dir).expect("dist is readable");
    for entry in entries {
        let path = entry.expect("dist is readable").path();
        if path.is_dir() {
            collect(root, &path, out);
        } else if let Ok(relative) = path.strip_prefix(root) {
            let name = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            let absolute = path.canonicalize().unwrap_or(path);
            out.push((name, absolute));
        }
    }
}
