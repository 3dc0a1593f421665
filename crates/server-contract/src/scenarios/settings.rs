//! Server-wide settings.

use crate::Backend;

/// A setting reads back as last set; an unknown one is `None`.
pub fn settings(backend: &dyn Backend) {
    let s = backend.fresh();
    assert_eq!(s.setting("app_url").unwrap(), None);
    s.set_setting("app_url", "https://cdht.example.vn").unwrap();
    assert_eq!(
        s.setting("app_url").unwrap().as_deref(),
        Some("https://cdht.example.vn")
    );
    s.set_setting("app_url", "https://khac.example.vn").unwrap();
    assert_eq!(
        s.setting("app_url").unwrap().as_deref(),
        Some("https://khac.example.vn")
    );
    s.set_setting("other", "Tiếng Việt").unwrap();
    assert_eq!(s.setting("other").unwrap().as_deref(), Some("Tiếng Việt"));
    assert_eq!(
        s.setting("app_url").unwrap().as_deref(),
        Some("https://khac.example.vn")
    );
}
