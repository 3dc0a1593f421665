//! The Vietnamese wording of each error code `cdht-server`'s commands print
//! (a module of the binary, `main.rs`). Every error line reads
//! `error [code]: English (Vietnamese)`; the English part carries the
//! details (file, line, value), the Vietnamese part says what went wrong.

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
    ("broken_catalog", "Bộ tiêu chí có sẵn bị hỏng"),
    ("cycle", "Đơn vị cấp trên mới tạo thành vòng lặp"),
    ("duplicate_unit", "Mã đơn vị bị trùng"),
    ("empty_csv", "Tệp CSV không có đơn vị nào"),
    ("failed", "Lệnh không thực hiện được"),
    ("internal", "Lỗi bên trong máy chủ"),
    ("invalid_catalog", "Tệp danh mục không hợp lệ"),
    ("malformed_assessment", "Bản đánh giá không đúng định dạng"),
    (
        "no_public_url",
        "Chưa có địa chỉ máy chủ; thêm --public-url",
    ),
    ("not_found", "Không tìm thấy"),
    ("output", "Không ghi được kết quả"),
    ("qr_too_long", "Nội dung quá dài để in mã QR"),
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
pub fn vietnamese(code: &str) -> &'static str {
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
