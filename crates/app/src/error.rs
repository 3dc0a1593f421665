//! The one error type every command returns. The UI branches on `kind` (a
//! stable snake_case word) and shows `message` (Vietnamese, plain words, with
//! what to do next); `detail` is English for logs and support.

use cdht_core::qr::QrError;
use cdht_core::ScoreError;
use cdht_photo::PhotoError;
use cdht_store::{ErrorKind, StoreError};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[error("{kind}: {detail}")]
pub struct AppError {
    pub kind: String,
    pub message: String,
    pub detail: String,
}

impl AppError {
    pub fn new(kind: &str, message: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            kind: kind.to_owned(),
            message: message.into(),
            detail: detail.into(),
        }
    }

    /// For input the UI should have prevented; the message still says what to fix.
    pub fn invalid(message: impl Into<String>) -> Self {
        let message = message.into();
        Self::new("invalid_input", message.clone(), message)
    }
}

impl From<StoreError> for AppError {
    fn from(err: StoreError) -> Self {
        let kind = err.kind();
        let (code, message) = match kind {
            ErrorKind::NotFound => (
                "not_found",
                "Không tìm thấy dữ liệu này trên máy. Bác hãy quay lại màn hình trước.",
            ),
            ErrorKind::AlreadyExists => ("already_exists", "Dữ liệu này đã có trên máy."),
            ErrorKind::Conflict => (
                "conflict",
                "Thay đổi này không khớp với dữ liệu đã lưu. Bác hãy mở lại và thử lần nữa.",
            ),
            ErrorKind::Locked => (
                "locked",
                "Bài tự đánh giá đã gửi đi nên không sửa được nữa. \
                 Nếu chi hội trả lại, bác sẽ sửa được.",
            ),
            ErrorKind::InvalidInput => (
                "invalid_input",
                "Thông tin nhập chưa đúng. Bác xem lại ô vừa nhập.",
            ),
            ErrorKind::DiskFull => (
                "disk_full",
                "Máy đã hết chỗ lưu. Bác hãy xoá bớt ảnh hoặc ứng dụng không dùng, rồi thử lại. \
                 Dữ liệu cũ vẫn còn nguyên.",
            ),
            ErrorKind::Corrupt => (
                "corrupt",
                "Dữ liệu trên máy bị hỏng. Bác đừng xoá ứng dụng; hãy nhờ cán bộ chi hội giúp.",
            ),
            ErrorKind::TooNew => (
                "too_new",
                "Dữ liệu trên máy do phiên bản ứng dụng mới hơn tạo ra. Bác hãy cập nhật ứng dụng.",
            ),
            ErrorKind::Busy => ("busy", "Máy đang bận. Bác chờ một chút rồi thử lại."),
            ErrorKind::KeyUnavailable => (
                "database_key_unavailable",
                "Chưa mở được khoá bảo vệ dữ liệu trên máy. Bác hãy mở khoá máy \
                 (đăng nhập lại) rồi mở lại ứng dụng. Đừng xoá ứng dụng: dữ liệu vẫn còn.",
            ),
            ErrorKind::Io | ErrorKind::Internal => (
                "storage_error",
                "Không lưu được. Bác thử lại; nếu vẫn lỗi, hãy nhờ cán bộ chi hội giúp.",
            ),
        };
        Self::new(code, message, err.to_string())
    }
}

impl From<QrError> for AppError {
    fn from(err: QrError) -> Self {
        Self::new(err.code(), err.message_vi(), err.to_string())
    }
}

impl From<PhotoError> for AppError {
    fn from(err: PhotoError) -> Self {
        Self::new(
            &format!("photo_{}", err.kind().code()),
            err.user_message_vi(),
            err.to_string(),
        )
    }
}

impl From<ScoreError> for AppError {
    fn from(err: ScoreError) -> Self {
        Self::new(err.code(), err.message_vi(), err.to_string())
    }
}
