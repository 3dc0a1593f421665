//! How `cdht-server`'s commands fail (a module of the binary, `main.rs`):
//! every error line reads `error [code]: English (Vietnamese)`; the English
//! part carries the details (file, line, value), the Vietnamese part, from
//! the table below, says what went wrong.

use cdht_core::ScoreError;

/// A failure the operator can act on: a stable code and one line of text;
/// `more` holds further problems of the same input (one line each).
pub(crate) struct CliError {
    pub(crate) code: &'static str,
    pub(crate) message: String,
    /// The Vietnamese wording, when it says more than the code's own.
    pub(crate) vi: Option<String>,
    pub(crate) more: Vec<(&'static str, String)>,
}

impl From<ScoreError> for CliError {
    fn from(e: ScoreError) -> Self {
        let mut error = Self::new(e.code(), e.to_string());
        error.vi = Some(cdht_core::Code::from(&e).fallback_vi());
        error
    }
}

/// `error [code]: English (Vietnamese)`, on one line.
pub(crate) fn error_line(code: &str, message: &str, vi: Option<&str>) -> String {
    let vi = vi.unwrap_or_else(|| vietnamese(code));
    format!(
        "error [{code}]: {} ({})",
        message.replace('\n', " "),
        vi.trim_end_matches('.')
    )
}

/// An error of this binary's own with a stable code (`bad_role`, `bad_listen`).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub(crate) struct Coded {
    pub(crate) code: &'static str,
    pub(crate) message: String,
}

impl CliError {
    pub(crate) fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            vi: None,
            more: Vec::new(),
        }
    }

    /// Keeps the code of the errors that carry one.
    pub(crate) fn failed(e: anyhow::Error) -> Self {
        if let Some(problems) = e.downcast_ref::<cdht_server::units::Problems>() {
            let mut lines = problems.0.iter().map(|p| (p.code, p.message.clone()));
            if let Some((code, message)) = lines.next() {
                let mut error = Self::new(code, message);
                error.more = lines.collect();
                return error;
            }
        }
        if let Some(e) = e.downcast_ref::<UnreadableInput>() {
            return Self::new("unreadable_input", e.message.clone());
        }
        if let Some(e) = e.downcast_ref::<Coded>() {
            return Self::new(e.code, e.message.clone());
        }
        if let Some(e) = e.downcast_ref::<cdht_server::poster::PosterError>() {
            return Self::new(e.code, e.message.clone());
        }
        if let Some(e) = e.downcast_ref::<cdht_server::catalogs::CatalogFileError>() {
            return Self::new(e.code, e.message.clone());
        }
        if let Some(e) = e.downcast_ref::<cdht_server::migrate_storage::MigrateError>() {
            return Self::new(e.code, e.message.clone());
        }
        if let Some(cdht_server::storage::StorageError::SchemaTooNew { .. }) =
            e.downcast_ref::<cdht_server::storage::StorageError>()
        {
            return Self::new("schema_too_new", format!("{e}"));
        }
        if let Some(e) = e.downcast_ref::<cdht_server::tls::TlsError>() {
            return Self::new(e.code, e.message.clone());
        }
        if let Some(cdht_server::storage::StorageError::Refused { code, message, .. }) =
            e.downcast_ref::<cdht_server::storage::StorageError>()
        {
            return Self::new(code.as_str(), message.clone());
        }
        Self::new("failed", format!("{e:#}"))
    }
}

/// An input file (CSV, catalog JSON) that cannot be read: `unreadable_input`.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub(crate) struct UnreadableInput {
    pub(crate) message: String,
}

/// (code, Vietnamese), sorted by code.
const VIETNAMESE: &[(&str, &str)] = &[
    (
        "already_recognised_elsewhere",
        "Người này đã được công nhận ở đơn vị khác trong năm",
    ),
    ("bad_app_url", "Địa chỉ tải ứng dụng không đúng"),
    (
        "bad_area",
        "Loại địa bàn không đúng (normal hoặc difficult)",
    ),
    (
        "bad_code",
        "Mã đơn vị không đúng (chữ in hoa, số, dấu gạch ngang)",
    ),
    ("bad_csv", "Tệp CSV không đọc được"),
    ("bad_header", "Dòng tiêu đề của tệp CSV không đúng"),
    ("bad_kind", "Loại đơn vị không đúng"),
    (
        "bad_listen",
        "Địa chỉ lắng nghe không đúng, ví dụ đúng: 127.0.0.1:8080",
    ),
    ("bad_name", "Tên đơn vị không hợp lệ"),
    ("bad_output", "Tên tệp xuất phải có đuôi .png hoặc .pdf"),
    ("bad_public_url", "Địa chỉ máy chủ không đúng"),
    ("bad_role", "Vai trò không đúng; viết VAI_TRÒ:MÃ_ĐƠN_VỊ"),
    (
        "blobs_unreachable",
        "Không đọc được kho ảnh minh chứng (S3): kiểm tra tên bucket và các biến AWS_*",
    ),
    ("broken_catalog", "Bộ tiêu chí có sẵn bị hỏng"),
    ("cycle", "Đơn vị cấp trên mới tạo thành vòng lặp"),
    ("duplicate_unit", "Mã đơn vị bị trùng"),
    ("empty_csv", "Tệp CSV không có đơn vị nào"),
    ("failed", "Lệnh không thực hiện được"),
    ("internal", "Lỗi bên trong máy chủ"),
    ("invalid_catalog", "Tệp danh mục không hợp lệ"),
    ("malformed_assessment", "Bản đánh giá không đúng định dạng"),
    (
        "migrate_bad_target",
        "Nơi chuyển đến không đúng: ghi postgres://… hoặc một thư mục",
    ),
    (
        "migrate_counts_differ",
        "Bản sao không khớp số liệu với máy chủ cũ; hãy chạy lại vào một cơ sở dữ liệu trống",
    ),
    (
        "migrate_needs_bucket",
        "Chuyển sang PostgreSQL thì cần thêm --blobs s3://… để mọi máy chủ cùng thấy ảnh",
    ),
    (
        "migrate_no_source",
        "Thư mục nguồn không có dữ liệu máy chủ (cdht.sqlite3 và secret.key)",
    ),
    (
        "migrate_target_not_blank",
        "Nơi chuyển đến đã có dữ liệu; chỉ chuyển vào một cơ sở dữ liệu trống",
    ),
    (
        "no_public_url",
        "Chưa có địa chỉ máy chủ; thêm --public-url",
    ),
    ("not_found", "Không tìm thấy"),
    ("output", "Không ghi được kết quả"),
    ("qr_too_long", "Nội dung quá dài để in mã QR"),
    (
        "schema_too_new",
        "Cơ sở dữ liệu do phiên bản máy chủ mới hơn tạo ra; hãy dùng phiên bản đó",
    ),
    (
        "stale_revision",
        "Bản sửa của danh mục không mới hơn bản đang dùng",
    ),
    ("tls_cert", "Không đọc được chứng chỉ TLS"),
    ("tls_key", "Không đọc được khóa TLS"),
    ("unit_exists", "Đơn vị đã có, hoặc chưa có đơn vị cấp trên"),
    ("unknown_parent", "Không có đơn vị cấp trên này"),
    ("unknown_unit", "Không có đơn vị này"),
    ("unreadable_input", "Không đọc được tệp đầu vào"),
    ("unwritable_output", "Không ghi được tệp xuất"),
    ("usage", "Lệnh viết chưa đúng; xem cdht-server --help"),
    (
        "wrong_state",
        "Trạng thái bản đánh giá không cho phép việc này",
    ),
];

/// The Vietnamese wording of `code`, or the general one.
fn vietnamese(code: &str) -> &'static str {
    VIETNAMESE
        .binary_search_by(|(c, _)| c.cmp(&code))
        .map_or("Lệnh không thực hiện được", |i| VIETNAMESE[i].1)
}

#[cfg(test)]
mod tests {
    #[test]
    fn sorted_so_that_the_search_finds_every_code() {
        for pair in super::VIETNAMESE.windows(2) {
            assert!(pair[0].0 < pair[1].0, "{pair:?}");
        }
        for (code, vi) in super::VIETNAMESE {
            assert_eq!(super::vietnamese(code), *vi);
        }
    }
}
