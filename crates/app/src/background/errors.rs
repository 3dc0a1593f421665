//! The codes of the loop's failures that a command shows (officer login
//! and logout, a photo download); the UI words them from its catalogs.

use crate::AppError;
use cdht_core::Code;
use cdht_sync_engine::{SyncError, SyncErrorKind};

/// The officer login's failure, for the screen.
#[must_use]
pub fn officer_error(err: &SyncError) -> AppError {
    let code = match err.kind() {
        SyncErrorKind::BadCredentials => Code::OfficerBadCredentials,
        SyncErrorKind::ForbiddenRole => Code::OfficerNoRole,
        SyncErrorKind::Offline => Code::OfficerOffline,
        SyncErrorKind::RetryLater => Code::OfficerRetryLater,
        SyncErrorKind::AuthExpired => Code::NotEnrolled,
        SyncErrorKind::CertificateUntrusted
        | SyncErrorKind::ServerNotAnswering
        | SyncErrorKind::NotCdht
        | SyncErrorKind::Store
        | SyncErrorKind::Rejected => err.as_code(),
    };
    AppError::new(code, err.to_string())
}

/// The officer logout's failure: the server must hear it, so it needs the
/// network too; anything else is as for the login.
#[must_use]
pub fn officer_logout_error(err: &SyncError) -> AppError {
    match err.kind() {
        SyncErrorKind::Offline => AppError::new(Code::OfficerLogoutOffline, err.to_string()),
        _ => officer_error(err),
    }
}

/// A photo download's failure, for the screen.
#[must_use]
pub fn fetch_photo_error(err: &SyncError) -> AppError {
    let code = match err.kind() {
        SyncErrorKind::Offline | SyncErrorKind::RetryLater => Code::PhotoFetchOffline,
        SyncErrorKind::Rejected if err.code() == Some("not_found") => Code::PhotoNotOnServer,
        SyncErrorKind::Store => err.as_code(),
        _ => Code::PhotoFetchFailed,
    };
    AppError::new(code, err.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn officer_login_failures_are_codes_of_their_own() {
        let wrong = officer_error(&SyncError::BadCredentials {
            code: "bad_credentials".into(),
            message: "x".into(),
        });
        assert_eq!(*wrong.code, Code::OfficerBadCredentials);
        assert_eq!(wrong.kind, "officer_bad_credentials");
        let role = officer_error(&SyncError::ForbiddenRole {
            code: "forbidden_role".into(),
            message: "x".into(),
        });
        assert_eq!(*role.code, Code::OfficerNoRole);
        let offline = officer_error(&SyncError::Offline("connection refused".into()));
        assert_eq!(*offline.code, Code::OfficerOffline);
        let logout = officer_logout_error(&SyncError::Offline("timeout".into()));
        assert_eq!(*logout.code, Code::OfficerLogoutOffline);
        let photo = fetch_photo_error(&SyncError::Offline("timeout".into()));
        assert_eq!(*photo.code, Code::PhotoFetchOffline);
        // A server's refusal keeps the server's code.
        let refused = officer_error(&SyncError::Rejected {
            code: "busy".into(),
            message: "x".into(),
            params: cdht_sync_engine::Params::new(),
        });
        assert_eq!(*refused.code, Code::Busy);
        // With its params, worded by the catalogs like the app's own codes.
        let mut params = cdht_sync_engine::Params::new();
        params.insert("max".into(), 200.into());
        let with_params = officer_error(&SyncError::Rejected {
            code: "invalid_name".into(),
            message: "x".into(),
            params,
        });
        assert_eq!(*with_params.code, Code::InvalidName { max: 200 });
    }
}
