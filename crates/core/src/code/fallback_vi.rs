//! The Vietnamese sentence of each code, for an old app that reads the
//! server's `message` (apps of this version word codes from their catalogs).
//! The one place such sentences are made in Rust.

use super::Code;

/// A field named by an `invalid_text` or `text_*` code, as people call it.
fn field_vi(field: &str) -> &str {
    match field {
        "full_name" => "Họ tên",
        "phone" => "Số điện thoại",
        "address" => "Địa chỉ",
        "household" => "Tên hộ",
        "ethnicity" => "Dân tộc",
        "indicator" => "Mã chỉ số",
        "decision_no" => "Số quyết định",
        "reason" => "Lý do",
        "device_label" => "Tên thiết bị",
        other => other,
    }
}

impl Code {
    /// The sentence an old client shows for this code, in Vietnamese.
    #[must_use]
    #[allow(clippy::too_many_lines)] // One arm a code: the table is the point.
    pub fn fallback_vi(&self) -> String {
        match self {
            Self::BadJson => "Nội dung không phải JSON hợp lệ.".to_owned(),
            Self::InvalidBody { place: None } => "Dữ liệu gửi lên không đúng mẫu.".to_owned(),
            Self::InvalidBody { place: Some(place) } => {
                format!("Dữ liệu gửi lên không đúng mẫu tại `{place}`.")
            }
            Self::BadRequest => "Yêu cầu không hợp lệ.".to_owned(),
            Self::BadBody => "Không đọc được dữ liệu gửi lên.".to_owned(),
            Self::UnsupportedMediaType => {
                "Nội dung phải là JSON (Content-Type: application/json).".to_owned()
            }
            Self::PayloadTooLarge => "Dữ liệu gửi lên quá lớn; hãy chia nhỏ.".to_owned(),
            Self::BadQuery { param } => match param.as_deref() {
                Some("year") => "Năm phải từ 2021 đến 2100.".to_owned(),
                Some("state") => {
                    "Trạng thái phải là draft, submitted, returned, approved hoặc recognised."
                        .to_owned()
                }
                Some("cursor") => "Con trỏ trang không đúng.".to_owned(),
                Some("decision_no") => {
                    "Cần số quyết định (tối đa 100 ký tự, không có ký tự điều khiển).".to_owned()
                }
                Some(param) => format!("Tham số không đúng: `{param}`."),
                None => "Tham số không đúng.".to_owned(),
            },
            Self::BadPath => "Địa chỉ yêu cầu không đúng.".to_owned(),
            Self::MethodNotAllowed => "Phương thức không được hỗ trợ ở địa chỉ này.".to_owned(),
            Self::Unauthenticated => {
                "Cần đăng nhập hoặc đăng ký thiết bị (thiếu mã truy cập, hoặc mã đã hết hạn)."
                    .to_owned()
            }
            Self::OutOfScope => {
                "Bản ghi hoặc đơn vị này thuộc người hoặc đơn vị khác; tài khoản hay thiết bị \
                 này không được sửa."
                    .to_owned()
            }
            Self::ForbiddenRole => "Tài khoản này không có quyền làm việc này.".to_owned(),
            Self::BadJoinKey => {
                "Mã đơn vị hoặc mã tham gia không đúng. Bác xem lại mã in dưới mã QR.".to_owned()
            }
            Self::BadCredentials => "Tên đăng nhập hoặc mật khẩu không đúng.".to_owned(),
            Self::RateLimited => {
                "Thử sai quá nhiều lần. Vui lòng đợi ít phút rồi thử lại.".to_owned()
            }
            Self::NotFound => "Không tìm thấy.".to_owned(),
            Self::Busy => "Máy chủ đang bận. Vui lòng thử lại sau ít giây.".to_owned(),
            Self::Internal => "Máy chủ gặp sự cố. Vui lòng thử lại sau.".to_owned(),
            Self::ServerStorageFull => {
                "Máy chủ đã hết chỗ lưu trữ. Dữ liệu vẫn giữ trên máy; vui lòng thử lại sau."
                    .to_owned()
            }
            Self::UnsupportedProtocol { max } => format!("Máy chủ hiểu giao thức 1 đến {max}."),
            Self::BatchTooLarge { max } => {
                format!("Một lần gửi tối đa {max} bản ghi; hãy chia nhỏ.")
            }
            Self::BadSeq { max } => format!("Số thứ tự gửi phải từ 1 đến {max}."),
            Self::BatchConflict => "Mã lô gửi này đã được dùng cho một nội dung khác.".to_owned(),
            Self::SeqOutOfOrder { last } => {
                format!("Số thứ tự lô gửi phải lớn hơn {last} (lô cuối máy chủ đã nhận).")
            }
            Self::BadVersion => "Phiên bản bản ghi bắt đầu từ 1.".to_owned(),
            Self::InvalidText { field } => format!(
                "{} có ký tự điều khiển hoặc ký tự đảo chiều chữ (không nhìn thấy được). \
                 Hãy xoá và gõ lại.",
                field_vi(field)
            ),
            Self::InvalidName { max } => {
                format!("Họ tên không được để trống (tối đa {max} ký tự).")
            }
            Self::InvalidPhone { max } => format!("Số điện thoại tối đa {max} ký tự."),
            Self::InvalidAddress { max } => format!("Địa chỉ tối đa {max} ký tự."),
            Self::InvalidHousehold { max } => format!("Tên hộ tối đa {max} ký tự."),
            Self::InvalidCccd => "Số CCCD phải gồm đúng 12 chữ số.".to_owned(),
            Self::InvalidYear => "Năm đánh giá không hợp lệ.".to_owned(),
            Self::VersionConflict => "Bản ghi đã được sửa trên thiết bị khác với cùng phiên bản. \
                                      Hãy đồng bộ lại rồi sửa tiếp."
                .to_owned(),
            Self::LockedAfterReview => "Bản đánh giá đã được cán bộ duyệt hoặc công nhận nên \
                                        không sửa được nữa. Nếu cần sửa, hãy đề nghị cán bộ trả lại."
                .to_owned(),
            Self::DeleteAfterReview => "Bản đánh giá đã được cán bộ kiểm tra (trả lại, duyệt \
                                        hoặc công nhận) nên không xoá được nữa. Nếu nhập nhầm, \
                                        hãy báo cán bộ chi hội."
                .to_owned(),
            Self::RecordReassigned => "Không được chuyển bản ghi sang người hoặc bản đánh giá \
                                       khác. Hãy tạo bản ghi mới."
                .to_owned(),
            Self::RecordDeleted => "Bản ghi này đã bị xoá nên không sửa hay xoá lại được nữa."
                .to_owned(),
            Self::PersonHasAssessments => "Người này còn bản đánh giá. Hãy xoá các bản đánh giá \
                                           trước rồi mới xoá người."
                .to_owned(),
            Self::DuplicateLimit { .. } => "Máy này đã ghi số CCCD này cho nhiều người. Có thể \
                                            người này đã có hồ sơ: hãy kiểm tra lại danh sách \
                                            trước khi thêm."
                .to_owned(),
            Self::HashMismatch => {
                "Dữ liệu bị hỏng trên đường truyền (mã kiểm tra không khớp); hãy gửi lại."
                    .to_owned()
            }
            Self::InvalidEvidence { problem } => match problem.as_str() {
                "not_jpeg" => "Tệp gửi lên không phải ảnh JPEG.".to_owned(),
                "bad_dimensions" => {
                    "Ảnh có kích thước (số điểm ảnh) không hợp lệ hoặc quá lớn.".to_owned()
                }
                "too_many_hashes" => {
                    "Tối đa 500 mã sha256 (64 ký tự hex thường) mỗi lần hỏi.".to_owned()
                }
                _ => "Mã sha256 của ảnh không hợp lệ.".to_owned(),
            },
            Self::EvidenceTooLarge { max_mb } => format!("Ảnh phải nhỏ hơn {max_mb} MB."),
            Self::UnsupportedType => "Chỉ nhận ảnh JPEG.".to_owned(),
            Self::UnknownEvidence => {
                "Máy chủ chưa có thông tin ảnh này; hãy gửi bản ghi minh chứng trước.".to_owned()
            }
            Self::OffsetMismatch { received } => {
                format!("Máy chủ đã nhận {received} byte; hãy gửi tiếp từ đó.")
            }
            Self::ChunkOutOfRange => {
                "Phần dữ liệu gửi vượt quá kích thước ảnh đã khai báo.".to_owned()
            }
            Self::UnknownCatalog { catalog } => format!("Không có bộ tiêu chí “{catalog}”."),
            Self::UnknownGroup { group } => {
                format!("Không có nhóm đối tượng “{group}” trong bộ tiêu chí này.")
            }
            Self::UnknownIndicator { indicator } => {
                format!("Chỉ số “{indicator}” không có trong bộ tiêu chí của nhóm này.")
            }
            Self::DuplicateIndicator { indicator } => {
                format!("Chỉ số {indicator} được trả lời hai lần.")
            }
            Self::MissingIndicators { indicators } | Self::Unanswered { indicators } => format!(
                "Còn thiếu câu trả lời cho chỉ số {}.",
                indicators.join(", ")
            ),
            Self::PointsOutOfRange {
                indicator,
                points,
                max,
            } => format!("Chỉ số {indicator}: {points} điểm nằm ngoài khoảng 0–{max}."),
            Self::UnknownLevel { indicator, level } => {
                format!("Chỉ số {indicator}: không có mức trả lời “{level}”.")
            }
            Self::WrongState { state, to: Some(to) } => format!(
                "Bản đánh giá đang ở trạng thái “{state}”, không thể chuyển sang “{to}”."
            ),
            Self::WrongState { state, to: None } => {
                format!("Bản đánh giá chưa được duyệt (trạng thái “{state}”).")
            }
            Self::AlreadyRecognisedElsewhere => {
                "Người của bản đánh giá này đã được công nhận ở đơn vị khác trong năm nay."
                    .to_owned()
            }
            Self::NotRecognised => {
                "Bản đánh giá này chưa được công nhận nên chưa có giấy chứng nhận.".to_owned()
            }
            Self::ReasonRequired { max } => {
                format!("Cần ghi lý do trả lại (tối đa {max} ký tự).")
            }
            Self::InvalidRecognition { max } => {
                format!("Cần số quyết định và danh sách bản đánh giá (tối đa {max}).")
            }
            Self::InvalidExemplary { max } => format!(
                "Cần năm (2021–2100), số quyết định (tối đa 100 ký tự) và danh sách người \
                 (tối đa {max})."
            ),
            Self::NotEligible {
                person,
                year,
                streak,
                required,
            } => format!(
                "{person} mới được công nhận {streak} năm liền đến năm {year} (cần {required} \
                 năm), nên chưa đủ điều kiện xét công dân học tập tiêu biểu."
            ),
            Self::AlreadyGranted {
                person,
                year,
                decision_no,
                decision_date,
            } => format!(
                "{person} đã được công nhận công dân học tập tiêu biểu năm {year} theo quyết \
                 định {decision_no} ngày {decision_date}."
            ),
            Self::StaleRevision {
                catalog,
                revision,
                installed,
            } => format!(
                "Bộ tiêu chí {catalog} bản {revision} không mới hơn bản đang dùng ({installed})."
            ),
            Self::UnitExists { unit } => {
                format!("Đơn vị {unit} đã có, hoặc đơn vị cấp trên của nó chưa có.")
            }
            Self::UnknownUnit { unit } => format!("Không có đơn vị {unit}."),
            Self::Cycle { unit } => {
                format!("Đơn vị cấp trên mới của {unit} tạo thành vòng lặp trong cây đơn vị.")
            }
            Self::BelowThreshold {
                total,
                threshold,
                short_by,
            } => format!("Tổng điểm {total}, còn thiếu {short_by} điểm để đạt {threshold}."),
            Self::IndicatorBelowMinimum {
                indicator,
                points,
                min,
            } => format!("Chỉ số {indicator} chỉ có {points} điểm, cần ít nhất {min}."),
            Self::RaiseIndicator {
                indicator,
                from,
                to,
                gain,
            } => format!("Nâng chỉ số {indicator} từ {from} lên {to} điểm (thêm {gain} điểm)."),
            Self::RaiseIndicatorToLevel {
                indicator,
                from,
                to,
                gain,
                level,
            } => format!(
                "Nâng chỉ số {indicator} từ {from} lên {to} điểm (mức {level}, thêm {gain} điểm)."
            ),
            Self::Unrecognised { message, .. } => message.clone(),
            // Codes only the app uses never reach an old app from the server.
            Self::AlreadyExists
            | Self::Conflict
            | Self::Locked
            | Self::InvalidInput
            | Self::DiskFull
            | Self::Corrupt
            | Self::TooNew
            | Self::DatabaseKeyUnavailable
            | Self::StorageError
            | Self::DataFolderUnavailable
            | Self::AppFailed
            | Self::QrNotCdht
            | Self::QrNewerVersion
            | Self::QrBadUnitCode { .. }
            | Self::QrBadJoinKey
            | Self::QrBadServer
            | Self::QrNotImage
            | Self::QrNotFound
            | Self::QrDamaged
            | Self::JoinNotCdht
            | Self::JoinServerNotAnswering
            | Self::PhotoEmpty
            | Self::PhotoTooLarge { .. }
            | Self::PhotoNotAnImage
            | Self::PhotoUnsupportedFormat { .. }
            | Self::PhotoCorrupt
            | Self::PhotoDimensionsTooLarge
            | Self::PhotoInternal
            | Self::PhotoOnServer
            | Self::PhotoMissing
            | Self::PhotoUnknown
            | Self::PhotoFetchOffline
            | Self::PhotoNotOnServer
            | Self::PhotoFetchFailed
            | Self::FileUnreadable
            | Self::NameRequired
            | Self::TextInvalid { .. }
            | Self::TextTooLong { .. }
            | Self::BirthYearInvalid { .. }
            | Self::CccdConsentRequired
            | Self::CccdInvalid
            | Self::NoTargetGroup
            | Self::IndicatorNotInAssessment { .. }
            | Self::ReplacedAnswersGone
            | Self::CatalogBroken
            | Self::SyncUnavailable
            | Self::SyncBusy
            | Self::OfficerFieldsRequired
            | Self::OfficerBadCredentials
            | Self::OfficerNoRole
            | Self::OfficerOffline
            | Self::OfficerRetryLater
            | Self::OfficerLogoutOffline
            | Self::NotEnrolled
            | Self::Offline
            | Self::RetryLater
            | Self::ServerNotAnswering
            | Self::NotCdht
            | Self::AuthExpired
            | Self::CertificateUntrusted
            | Self::Protocol
            | Self::InsecureServer { .. } => format!("Có lỗi ({}).", self.as_str()),
        }
    }
}
