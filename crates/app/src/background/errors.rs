//! The wording of the loop's failures that a command shows (officer login
//! and logout, a photo download): a kind the UI words, and plain Vietnamese.

use crate::AppError;
use cdht_sync_engine::{SyncError, SyncErrorKind};

/// The officer login's failure, for the screen: a kind and plain Vietnamese.
#[must_use]
pub fn officer_error(err: &SyncError) -> AppError {
    let (kind, message) = match err.kind() {
        SyncErrorKind::BadCredentials => (
            "officer_bad_credentials",
            "Sai tên đăng nhập hoặc mật khẩu. Bác gõ lại, chú ý chữ hoa và chữ thường.".to_owned(),
        ),
        SyncErrorKind::ForbiddenRole => (
            "officer_no_role",
            "Tài khoản này chưa có quyền nhập hồ sơ (cộng tác viên) cho đơn vị của máy này. \
             Bác nhờ quản trị viên của Hội cấp quyền."
                .to_owned(),
        ),
        SyncErrorKind::Offline => (
            "officer_offline",
            "Cần có mạng để đăng nhập cán bộ. Bác bật Wi-Fi hoặc 4G rồi bấm lại.".to_owned(),
        ),
        SyncErrorKind::RetryLater => (
            "officer_retry_later",
            "Máy chủ đang bận hoặc đã thử quá nhiều lần. Bác chờ vài phút rồi thử lại.".to_owned(),
        ),
        SyncErrorKind::AuthExpired => (
            "not_enrolled",
            "Máy này chưa vào được đơn vị. Bác tham gia đơn vị bằng mã QR, chờ đồng bộ xong, \
             rồi đăng nhập cán bộ."
                .to_owned(),
        ),
        SyncErrorKind::CertificateUntrusted => ("certificate_untrusted", err.message_vi()),
        SyncErrorKind::ServerNotAnswering => ("server_not_answering", err.message_vi()),
        SyncErrorKind::NotCdht => ("not_cdht", err.message_vi()),
        SyncErrorKind::Store => ("storage_error", err.message_vi()),
        SyncErrorKind::Rejected => ("sync_rejected", err.message_vi()),
    };
    AppError::new(kind, message, err.to_string())
}

/// The officer logout's failure: the server must hear it, so it needs the
/// network too; anything else is worded as for the login.
#[must_use]
pub fn officer_logout_error(err: &SyncError) -> AppError {
    match err.kind() {
        SyncErrorKind::Offline => AppError::new(
            "officer_logout_offline",
            "Cần có mạng để đăng xuất cán bộ. Bác bật Wi-Fi hoặc 4G rồi bấm lại; \
             trong lúc chờ, máy vẫn là máy của cán bộ.",
            err.to_string(),
        ),
        _ => officer_error(err),
    }
}

/// A photo download's failure, for the screen.
#[must_use]
pub fn fetch_photo_error(err: &SyncError) -> AppError {
    let (kind, message) = match err.kind() {
        SyncErrorKind::Offline | SyncErrorKind::RetryLater => (
            "photo_fetch_offline",
            "Cần có mạng để tải ảnh từ máy chủ. Bác bật Wi-Fi hoặc 4G rồi bấm “Tải ảnh” lại."
                .to_owned(),
        ),
        SyncErrorKind::Rejected if err.code() == Some("not_found") => (
            "photo_not_on_server",
            "Máy chủ chưa có đủ ảnh này (máy đã chụp chưa gửi xong). Bác thử lại sau.".to_owned(),
        ),
        SyncErrorKind::Store => ("storage_error", err.message_vi()),
        _ => ("photo_fetch_failed", err.message_vi()),
    };
    AppError::new(kind, message, err.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn officer_login_failures_are_plain_vietnamese_with_a_kind() {
        let wrong = officer_error(&SyncError::BadCredentials {
            code: "bad_credentials".into(),
            message: "x".into(),
        });
        assert_eq!(wrong.kind, "officer_bad_credentials");
        assert!(wrong.message.contains("Sai tên đăng nhập hoặc mật khẩu"));
        let role = officer_error(&SyncError::ForbiddenRole {
            code: "forbidden_role".into(),
            message: "x".into(),
        });
        assert_eq!(role.kind, "officer_no_role");
        assert!(role.message.contains("quyền"));
        let offline = officer_error(&SyncError::Offline("connection refused".into()));
        assert_eq!(offline.kind, "officer_offline");
        assert!(offline
            .message
            .starts_with("Cần có mạng để đăng nhập cán bộ"));
        let logout = officer_logout_error(&SyncError::Offline("timeout".into()));
        assert_eq!(logout.kind, "officer_logout_offline");
        assert!(logout
            .message
            .starts_with("Cần có mạng để đăng xuất cán bộ"));
        let photo = fetch_photo_error(&SyncError::Offline("timeout".into()));
        assert_eq!(photo.kind, "photo_fetch_offline");
        assert!(photo.message.contains("Tải ảnh"));
    }
}
