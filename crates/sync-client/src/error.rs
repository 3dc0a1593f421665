//! What can go wrong talking to a server, and how a failure is classified:
//! the network, no server at the address, an address that is not CDHT, a
//! certificate, or the server's own answer (`{code, message}`).

use cdht_core::qr::QrError;
use cdht_core::sync::ErrorBody;
use cdht_core::Code;

/// A refusal's parameters as the server sent them (`params` of its body):
/// with the code, what the app words ([`Code::from_wire`]).
pub type Params = serde_json::Map<String, serde_json::Value>;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// No connection, a timeout or a cut: retry later.
    #[error("cannot reach the server: {0}")]
    Network(String),
    /// The network works, but nothing answers at this address: its host name
    /// does not exist, or nothing listens on its port. Retry later (a server
    /// restarting) but tell the person: waiting for a signal will not fix a
    /// wrong address.
    #[error("no server answers at this address: {0}")]
    NoServer(String),
    /// The address answers, but not as a CDHT server (a router's page, another
    /// web site, a proxy's error page): nothing sent there can be accepted.
    #[error("the address answers, but it is not a CDHT server: {0}")]
    NotCdht(String),
    /// The TLS handshake failed on the server's certificate (unknown or
    /// private CA, expired, wrong name): not the network, and retrying will
    /// not help until the certificate or the trusted roots change.
    #[error("the server's certificate is not trusted: {0}")]
    Certificate(String),
    /// 5xx or 429: the server cannot take it now; retry later.
    #[error("the server cannot take it now ({status} {code})")]
    Unavailable {
        status: u16,
        code: String,
        message: String,
    },
    /// 401: the token is missing, unknown or expired: enrol or log in again.
    #[error("not signed in ({code}): {message}")]
    Unauthenticated { code: String, message: String },
    /// 403: signed in, but not allowed there.
    #[error("not allowed ({code}): {message}")]
    Forbidden {
        code: String,
        message: String,
        params: Params,
    },
    /// 409: see `code` (`batch_conflict`, `seq_out_of_order`, `offset_mismatch`, …).
    #[error("conflict ({code}): {message}")]
    Conflict {
        code: String,
        message: String,
        params: Params,
    },
    /// Any other 4xx: this request is refused as it is; park it with the reason.
    #[error("refused ({status} {code}): {message}")]
    Rejected {
        status: u16,
        code: String,
        message: String,
        params: Params,
    },
    /// The server answered something this client does not understand.
    #[error("unexpected answer from the server: {0}")]
    Protocol(String),
    /// Plain HTTP to an address that is not loopback nor explicitly allowed.
    #[error("refusing plain HTTP to {0}: use https, or allow this LAN address explicitly")]
    InsecureServer(String),
    #[error("bad unit code: {0}")]
    Qr(#[from] QrError),
}

impl SyncError {
    /// Classifies a transport error: a certificate failure is its own kind,
    /// everything else is the network.
    #[must_use]
    pub fn from_transport(err: &reqwest::Error) -> Self {
        let text = error_chain_text(err);
        if is_certificate_error(err) {
            Self::Certificate(text)
        } else if is_connection_refused(err) || names_unknown_host(&text) {
            Self::NoServer(text)
        } else {
            Self::Network(text)
        }
    }

    /// Whether the same request may succeed a moment later unchanged (retried
    /// within a round). Not [`Self::NoServer`]: a wrong address would hold
    /// the round for minutes; the round fails at once and the app's loop
    /// probes the address between rounds.
    #[must_use]
    pub const fn is_retry_later(&self) -> bool {
        matches!(self, Self::Network(_) | Self::Unavailable { .. })
    }

    /// The server's machine-readable code, if it gave one.
    #[must_use]
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Unavailable { code, .. }
            | Self::Unauthenticated { code, .. }
            | Self::Forbidden { code, .. }
            | Self::Conflict { code, .. }
            | Self::Rejected { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The server's refusal as a code with its params, if the server gave
    /// one: a code this version does not know keeps the server's sentence.
    #[must_use]
    pub fn server_code(&self) -> Option<Code> {
        match self {
            Self::Forbidden {
                code,
                message,
                params,
            }
            | Self::Conflict {
                code,
                message,
                params,
            }
            | Self::Rejected {
                code,
                message,
                params,
                ..
            } => Some(Code::from_wire(code, Some(params), message)),
            Self::Unavailable { code, message, .. } | Self::Unauthenticated { code, message } => {
                Some(Code::from_wire(code, None, message))
            }
            _ => None,
        }
    }
}

pub type SyncResult<T> = Result<T, SyncError>;

/// The error of a non-2xx answer, from its status and `{code, message, params}` body.
pub(crate) fn error_from_status(status: u16, bytes: &[u8]) -> SyncError {
    let Ok(ErrorBody {
        code,
        message,
        params,
        ..
    }) = serde_json::from_slice(bytes)
    else {
        let snippet = format!("HTTP {status}: {}", answer_snippet(bytes));
        // A CDHT server words every refusal as an `ErrorBody`; a 5xx page is
        // a proxy in front of it that cannot reach it now (retry later), any
        // other answer comes from something that is not CDHT.
        return if matches!(status, 429 | 500..=599) {
            SyncError::Unavailable {
                status,
                code: "unknown".to_owned(),
                message: snippet,
            }
        } else {
            SyncError::NotCdht(snippet)
        };
    };
    match status {
        401 => SyncError::Unauthenticated { code, message },
        403 => SyncError::Forbidden {
            code,
            message,
            params,
        },
        409 => SyncError::Conflict {
            code,
            message,
            params,
        },
        429 | 500..=599 => SyncError::Unavailable {
            status,
            code,
            message,
        },
        _ => SyncError::Rejected {
            status,
            code,
            message,
            params,
        },
    }
}

/// The start of an answer, on one line, for an error's detail.
pub(crate) fn answer_snippet(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(200)
        .collect()
}

/// Whether the host answered "nothing listens on this port" (a reset on
/// connect): the network works.
fn is_connection_refused(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = next {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::ConnectionRefused {
                return true;
            }
            if io
                .get_ref()
                .is_some_and(|inner| is_connection_refused(inner))
            {
                return true;
            }
        }
        next = e.source();
    }
    false
}

/// Whether name resolution answered "no such host" (the resolver was
/// reached and the name does not exist), in the wording of each system's
/// resolver. "Temporary failure in name resolution" (no resolver reachable)
/// and Android's "No address associated with hostname" (also what it says
/// with no network at all) stay network failures.
#[must_use]
pub fn names_unknown_host(error_text: &str) -> bool {
    const NO_SUCH_HOST: [&str; 3] = [
        "Name or service not known",      // glibc EAI_NONAME
        "nodename nor servname provided", // BSD, macOS
        "No such host is known",          // Windows WSAHOST_NOT_FOUND
    ];
    NO_SUCH_HOST.iter().any(|s| error_text.contains(s))
}

/// The error and its sources on one line (reqwest's own text is only the top).
fn error_chain_text(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut next = err.source();
    while let Some(e) = next {
        let part = e.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        next = e.source();
    }
    text
}

/// Whether a transport error is rustls refusing the server's certificate.
/// `io::Error::source` skips its inner error, so each `io::Error` in the chain
/// is also opened with `get_ref`.
fn is_certificate_error(err: &(dyn std::error::Error + 'static)) -> bool {
    fn is_cert(e: &(dyn std::error::Error + 'static)) -> bool {
        matches!(
            e.downcast_ref::<rustls::Error>(),
            Some(
                rustls::Error::InvalidCertificate(_)
                    | rustls::Error::NoCertificatesPresented
                    | rustls::Error::InvalidCertRevocationList(_)
            )
        )
    }
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = next {
        if is_cert(e) {
            return true;
        }
        if let Some(inner) = e
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
        {
            if is_certificate_error(inner) {
                return true;
            }
        }
        next = e.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_that_are_not_cdht_are_told_apart_from_refusals_and_busy_proxies() {
        let html = b"<html><body>404 Not Found</body></html>";
        assert!(matches!(
            error_from_status(404, html),
            SyncError::NotCdht(_)
        ));
        assert!(matches!(
            error_from_status(401, html),
            SyncError::NotCdht(_)
        ));
        // A proxy in front of CDHT that cannot reach it now: retry later.
        assert!(error_from_status(502, html).is_retry_later());
        // CDHT's own refusal keeps its code.
        let refusal = br#"{"code":"bad_request","message":"x"}"#;
        assert!(matches!(
            error_from_status(400, refusal),
            SyncError::Rejected { ref code, .. } if code == "bad_request"
        ));
    }

    #[test]
    fn a_refusal_keeps_its_params_as_a_code() {
        let body = r#"{"code":"invalid_name","message":"Họ tên...","params":{"max":200}}"#;
        let err = error_from_status(422, body.as_bytes());
        assert_eq!(err.server_code(), Some(Code::InvalidName { max: 200 }));
        let conflict = br#"{"code":"seq_out_of_order","message":"...","params":{"last":41}}"#;
        assert_eq!(
            error_from_status(409, conflict).server_code(),
            Some(Code::SeqOutOfOrder { last: 41 })
        );
        // From a server older than params: a code with params it cannot fill
        // keeps the server's sentence, one without params is itself.
        let old = r#"{"code":"invalid_name","message":"Họ tên quá dài."}"#;
        assert_eq!(
            error_from_status(422, old.as_bytes()).server_code(),
            Some(Code::Unrecognised {
                name: "invalid_name".into(),
                message: "Họ tên quá dài.".into()
            })
        );
        let plain = br#"{"code":"out_of_scope","message":"x"}"#;
        assert_eq!(
            error_from_status(403, plain).server_code(),
            Some(Code::OutOfScope)
        );
    }

    #[test]
    fn a_host_that_does_not_exist_is_told_apart_from_no_resolver() {
        assert!(names_unknown_host(
            "error sending request: dns error: failed to lookup address information: \
             Name or service not known"
        ));
        // No resolver reachable, or Android with no network at all: offline.
        assert!(!names_unknown_host(
            "dns error: failed to lookup address information: Temporary failure in name resolution"
        ));
        assert!(!names_unknown_host(
            "dns error: failed to lookup address information: No address associated with hostname"
        ));
    }
}
