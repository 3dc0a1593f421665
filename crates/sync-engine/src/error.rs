//! What a sync round can fail with, sorted by what the app does about it.

use cdht_store::StoreError;
use cdht_sync_client::SyncError as ClientError;

/// The branch the UI takes on a failed round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum SyncErrorKind {
    /// No connection, a timeout or a cut link: keep everything, try again when
    /// the connection is back.
    Offline,
    /// The server is busy or failing (5xx, 429): keep everything, back off.
    RetryLater,
    /// The network works but nothing answers at the joined address (the name
    /// does not exist, or nothing listens there): keep everything and retry,
    /// and tell the person that a wrong address will not fix itself.
    ServerNotAnswering,
    /// The joined address answers, but it is not a CDHT server: keep
    /// everything; the way out is to scan the unit's QR code again.
    NotCdht,
    /// The device token is unknown (or the device never enrolled): scan the
    /// unit QR again. The person stays in the app and loses nothing.
    AuthExpired,
    /// TLS refused the server's certificate: not "offline"; a person must fix
    /// the server address or trust the right certificate.
    CertificateUntrusted,
    /// The server refused the request as it is (bad QR, out of scope, a
    /// malformed batch): show the reason.
    Rejected,
    /// The local database failed (disk full, corrupt, too new).
    Store,
    /// An officer logging in on the device typed a wrong username or
    /// password: ask again (the device's own token is fine).
    BadCredentials,
    /// The officer is not a collector (or admin) of this device's unit.
    ForbiddenRole,
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("offline: {0}")]
    Offline(String),
    #[error("the server cannot take it now ({code})")]
    RetryLater { code: String, message: String },
    #[error("no server answers at this address: {0}")]
    ServerNotAnswering(String),
    #[error("the address answers, but it is not a CDHT server: {0}")]
    NotCdht(String),
    #[error("enrol again ({code}): {message}")]
    AuthExpired { code: String, message: String },
    #[error("the server's certificate is not trusted: {0}")]
    CertificateUntrusted(String),
    #[error("refused ({code}): {message}")]
    Rejected { code: String, message: String },
    #[error("local database: {0}")]
    Store(#[from] StoreError),
    #[error("wrong officer username or password ({code})")]
    BadCredentials { code: String, message: String },
    #[error("the officer may not collect for this unit ({code}): {message}")]
    ForbiddenRole { code: String, message: String },
}

impl SyncError {
    #[must_use]
    pub const fn kind(&self) -> SyncErrorKind {
        match self {
            Self::Offline(_) => SyncErrorKind::Offline,
            Self::RetryLater { .. } => SyncErrorKind::RetryLater,
            Self::ServerNotAnswering(_) => SyncErrorKind::ServerNotAnswering,
            Self::NotCdht(_) => SyncErrorKind::NotCdht,
            Self::AuthExpired { .. } => SyncErrorKind::AuthExpired,
            Self::CertificateUntrusted(_) => SyncErrorKind::CertificateUntrusted,
            Self::Rejected { .. } => SyncErrorKind::Rejected,
            Self::Store(_) => SyncErrorKind::Store,
            Self::BadCredentials { .. } => SyncErrorKind::BadCredentials,
            Self::ForbiddenRole { .. } => SyncErrorKind::ForbiddenRole,
        }
    }

    /// Whether the background loop should simply try again later.
    #[must_use]
    pub const fn is_retry_later(&self) -> bool {
        matches!(
            self,
            Self::Offline(_)
                | Self::RetryLater { .. }
                | Self::ServerNotAnswering(_)
                | Self::NotCdht(_)
        )
    }

    /// The machine-readable code, when there is one.
    #[must_use]
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::RetryLater { code, .. }
            | Self::AuthExpired { code, .. }
            | Self::Rejected { code, .. }
            | Self::BadCredentials { code, .. }
            | Self::ForbiddenRole { code, .. } => Some(code),
            _ => None,
        }
    }

    /// What to tell the person, in Vietnamese (the server's own sentence when
    /// it gave one for a rejection).
    #[must_use]
    pub fn message_vi(&self) -> String {
        match self {
            Self::Offline(_) => "Chưa có mạng. Dữ liệu vẫn được lưu an toàn trên máy; \
                ứng dụng sẽ tự gửi khi có sóng trở lại."
                .to_owned(),
            Self::RetryLater { .. } => "Máy chủ đang bận. Dữ liệu vẫn được lưu trên máy; \
                ứng dụng sẽ tự thử lại sau ít phút."
                .to_owned(),
            Self::ServerNotAnswering(_) => "Máy có mạng nhưng máy chủ không trả lời ở địa chỉ \
                này. Ứng dụng sẽ tự thử lại; nếu cứ như vậy, bác hãy quét lại mã QR của chi hội. \
                Dữ liệu vẫn được lưu trên máy."
                .to_owned(),
            Self::NotCdht(_) => "Địa chỉ này có trả lời nhưng không phải máy chủ CDHT. \
                Bác hãy quét lại mã QR của chi hội. Dữ liệu vẫn được lưu trên máy."
                .to_owned(),
            Self::AuthExpired { .. } => "Máy này cần tham gia lại đơn vị: bác hãy quét lại \
                mã QR của chi hội. Mọi dữ liệu đã nhập vẫn còn nguyên."
                .to_owned(),
            Self::CertificateUntrusted(_) => "Không xác minh được chứng chỉ bảo mật của máy chủ \
                (không phải do mất mạng). Bác hãy báo cán bộ chi hội kiểm tra địa chỉ máy chủ. \
                Dữ liệu vẫn được lưu trên máy."
                .to_owned(),
            Self::Rejected { message, .. } if !message.trim().is_empty() => message.clone(),
            Self::Rejected { .. } => "Máy chủ không nhận yêu cầu này.".to_owned(),
            Self::BadCredentials { .. } => "Sai tên đăng nhập hoặc mật khẩu.".to_owned(),
            Self::ForbiddenRole { .. } => "Tài khoản này không có quyền thu thập phiếu \
                cho đơn vị của máy này. Bác hãy nhờ quản trị viên cấp quyền cộng tác viên."
                .to_owned(),
            Self::Store(err) => format!(
                "Lỗi bộ nhớ trên máy ({:?}). Dữ liệu chưa gửi không bị xoá; \
                 bác hãy kiểm tra dung lượng trống rồi thử lại.",
                err.kind()
            ),
        }
    }
}

impl From<ClientError> for SyncError {
    fn from(err: ClientError) -> Self {
        match err {
            ClientError::Network(text) => Self::Offline(text),
            ClientError::NoServer(text) => Self::ServerNotAnswering(text),
            ClientError::NotCdht(text) => Self::NotCdht(text),
            ClientError::Certificate(text) => Self::CertificateUntrusted(text),
            ClientError::Unavailable { code, message, .. } => Self::RetryLater { code, message },
            // An officer's password, not the device token: ask again, do not re-enrol.
            ClientError::Unauthenticated { code, message } if code == "bad_credentials" => {
                Self::BadCredentials { code, message }
            }
            ClientError::Unauthenticated { code, message } => Self::AuthExpired { code, message },
            ClientError::Forbidden { code, message } if code == "forbidden_role" => {
                Self::ForbiddenRole { code, message }
            }
            ClientError::Forbidden { code, message }
            | ClientError::Conflict { code, message }
            | ClientError::Rejected { code, message, .. } => Self::Rejected { code, message },
            ClientError::Protocol(text) => Self::Rejected {
                code: "protocol".to_owned(),
                message: format!("Máy chủ trả lời không đúng giao thức: {text}"),
            },
            ClientError::InsecureServer(server) => Self::Rejected {
                code: "insecure_server".to_owned(),
                message: format!(
                    "Không gửi dữ liệu qua kết nối không mã hoá tới {server}. \
                     Hãy dùng địa chỉ https://."
                ),
            },
            ClientError::Qr(qr) => Self::Rejected {
                code: qr.code().to_owned(),
                message: qr.message_vi(),
            },
        }
    }
}
