// No console window behind the app on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    // `--help` and `--version` print and exit without opening a window.
    if let Some(text) =
        cdht_app::cli::early_exit(std::env::args().skip(1), env!("CARGO_PKG_VERSION"))
    {
        println!("{text}");
        return;
    }
    cdht_tauri_lib::run();
}
