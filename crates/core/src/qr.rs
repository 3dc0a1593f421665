//! The unit QR payload (version 1): a URL carrying the server, the unit code
//! and the join key, e.g.
//!
//! `https://cdht.example.vn/j/HD-CG-001?v=1#k=7K3Q9XPA2M`
//!
//! - Scanned by the app, it enrols the device in the unit.
//! - Scanned by any phone camera without the app, the browser opens
//!   `/j/HD-CG-001` on the server, a page saying what the unit is and how to
//!   get the app. The join key sits in the fragment, which browsers never
//!   send, so it stays out of server and proxy logs.
//! - The server URL may carry a path prefix (a server behind a proxy at
//!   `https://host/cdht/`); everything before the last `/j/` is the server.
//!
//! Under the QR, the poster prints the unit code and the join key, for typing
//! on a phone that cannot scan: [`JoinPayload::from_typed`] builds the same payload.

use crate::ids::UnitCode;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The payload version this build writes and reads.
pub const QR_VERSION: u32 = 1;

/// What a unit QR code (or the typed code and key) tells the app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinPayload {
    /// The server's base URL, without a trailing slash (`https://host/prefix`).
    pub server: String,
    pub unit: UnitCode,
    pub join_key: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QrError {
    #[error("this QR code is not a CDHT unit code")]
    NotCdht,
    #[error("this QR code is for a newer version of CDHT (version {0}); update the app")]
    NewerVersion(u32),
    #[error("the unit code {0:?} is not valid (3–32 letters, digits or '-')")]
    BadUnitCode(String),
    #[error("the join key is missing or not valid (6–32 letters or digits)")]
    BadJoinKey,
    #[error("the server address {0:?} is not valid")]
    BadServer(String),
}

impl QrError {
    #[must_use]
    pub const fn code(&self) -> &'static str {
        match self {
            Self::NotCdht => "qr_not_cdht",
            Self::NewerVersion(_) => "qr_newer_version",
            Self::BadUnitCode(_) => "qr_bad_unit_code",
            Self::BadJoinKey => "qr_bad_join_key",
            Self::BadServer(_) => "qr_bad_server",
        }
    }
}

impl JoinPayload {
    /// Builds a payload from what a person typed: server, unit code, join key.
    /// Letters are upper-cased and spaces dropped, as people type them.
    pub fn from_typed(server: &str, unit: &str, join_key: &str) -> Result<Self, QrError> {
        let payload = Self {
            server: normalise_typed_server(server)?,
            unit: UnitCode::new(normalise_code(unit)),
            join_key: normalise_code(join_key).replace('-', ""),
        };
        payload.validate()?;
        Ok(payload)
    }

    /// Parses the text of a scanned QR code.
    pub fn parse(text: &str) -> Result<Self, QrError> {
        let text = text.trim();
        let rest = text
            .strip_prefix("https://")
            .or_else(|| text.strip_prefix("http://"))
            .ok_or(QrError::NotCdht)?;
        let scheme_len = text.len() - rest.len();
        let (before_fragment, fragment) = match text.split_once('#') {
            Some((a, b)) => (a, Some(b)),
            None => (text, None),
        };
        let (path_part, query) = match before_fragment.split_once('?') {
            Some((a, b)) => (a, Some(b)),
            None => (before_fragment, None),
        };
        let j = path_part.rfind("/j/").ok_or(QrError::NotCdht)?;
        if j < scheme_len {
            return Err(QrError::NotCdht);
        }
        let server = normalise_server(&path_part[..j])?;
        let unit = path_part[j + 3..].trim_end_matches('/');
        let version = param(query, "v")
            .map(|v| v.parse::<u32>().map_err(|_| QrError::NotCdht))
            .transpose()?
            .unwrap_or(QR_VERSION);
        if version > QR_VERSION {
            return Err(QrError::NewerVersion(version));
        }
        let join_key = param(fragment, "k").ok_or(QrError::BadJoinKey)?;
        let payload = Self {
            server,
            unit: UnitCode::new(unit),
            join_key: join_key.to_owned(),
        };
        payload.validate()?;
        Ok(payload)
    }

    /// The QR text, also the page a phone camera opens.
    #[must_use]
    pub fn to_url(&self) -> String {
        format!(
            "{}/j/{}?v={QR_VERSION}#k={}",
            self.server, self.unit, self.join_key
        )
    }

    fn validate(&self) -> Result<(), QrError> {
        if !valid_unit_code(self.unit.as_str()) {
            return Err(QrError::BadUnitCode(self.unit.to_string()));
        }
        let key_ok = (6..=32).contains(&self.join_key.len())
            && self.join_key.bytes().all(|b| b.is_ascii_alphanumeric());
        if !key_ok {
            return Err(QrError::BadJoinKey);
        }
        Ok(())
    }
}

impl fmt::Display for JoinPayload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_url())
    }
}

/// A unit code: 3–32 upper-case ASCII letters, digits or '-', not starting or
/// ending with '-'. Plain ASCII so it can be typed on any keyboard and read aloud.
#[must_use]
pub fn valid_unit_code(code: &str) -> bool {
    (3..=32).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-')
        && !code.starts_with('-')
        && !code.ends_with('-')
}

fn normalise_code(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase()
}

fn normalise_server(s: &str) -> Result<String, QrError> {
    let s = s.trim().trim_end_matches('/');
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .ok_or_else(|| QrError::BadServer(s.to_owned()))?;
    let host = rest.split('/').next().unwrap_or_default();
    if !s.contains(['?', '#', ' ', '@']) && valid_host_and_port(host) {
        Ok(s.to_owned())
    } else {
        Err(QrError::BadServer(s.to_owned()))
    }
}

/// `name`, `name:port`, `[v6]` or `[v6]:port`, the port 1–65535.
fn valid_host_and_port(host: &str) -> bool {
    let (name, port) = if let Some(v6) = host.strip_prefix('[') {
        let Some((addr, after)) = v6.split_once(']') else {
            return false;
        };
        if addr.is_empty() || !addr.bytes().all(|b| b.is_ascii_hexdigit() || b == b':') {
            return false;
        }
        match after {
            "" => return true,
            _ => match after.strip_prefix(':') {
                Some(port) => ("v6", Some(port)),
                None => return false,
            },
        }
    } else {
        match host.split_once(':') {
            Some((name, port)) => (name, Some(port)),
            None => (host, None),
        }
    };
    // "http" as a host is a scheme typed wrong (`https://http//host`).
    let name_ok = !name.is_empty()
        && !name.eq_ignore_ascii_case("http")
        && !name.eq_ignore_ascii_case("https")
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    let port_ok = port.is_none_or(|p| {
        !p.is_empty()
            && p.len() <= 5
            && p.bytes().all(|b| b.is_ascii_digit())
            && p.parse::<u32>().is_ok_and(|n| (1..=65_535).contains(&n))
    });
    name_ok && port_ok
}

/// The server as a person typed or pasted it. The join screen comes
/// pre-filled with `https://`, so `https://http://host` is that prefix in
/// front of a pasted address: the inner one counts. A whole join URL (or
/// any page of the server) keeps only the server part. A bare host gets
/// `http://` when it is an IP address or `localhost` (a server on a local
/// network, as `run.sh` starts it), else `https://`.
fn normalise_typed_server(typed: &str) -> Result<String, QrError> {
    let mut s = typed.trim();
    while let Some(inner) = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
    {
        if inner.starts_with("https://") || inner.starts_with("http://") {
            s = inner;
        } else {
            break;
        }
    }
    let scheme_len = if s.starts_with("https://") {
        8
    } else if s.starts_with("http://") {
        7
    } else {
        0
    };
    let mut end = s.len();
    for cut in ["/j/", "?", "#"] {
        if let Some(i) = s[scheme_len..].find(cut) {
            end = end.min(scheme_len + i);
        }
    }
    let s = s[..end].trim_end_matches('/');
    if scheme_len > 0 {
        return normalise_server(s);
    }
    let name = s.split([':', '/']).next().unwrap_or_default();
    let local = name == "localhost"
        || name.starts_with('[')
        || (!name.is_empty() && name.bytes().all(|b| b.is_ascii_digit() || b == b'.'));
    let scheme = if local { "http" } else { "https" };
    normalise_server(&format!("{scheme}://{s}"))
        .map_err(|_| QrError::BadServer(typed.trim().to_owned()))
}

fn param<'a>(part: Option<&'a str>, name: &str) -> Option<&'a str> {
    part?
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_and_without_prefix() {
        for server in [
            "https://cdht.example.vn",
            "https://host:8443/cdht",
            "http://127.0.0.1:8080",
        ] {
            let p = JoinPayload::from_typed(server, "hd-cg-001", "7k3q 9xpa").unwrap();
            assert_eq!(p.unit.as_str(), "HD-CG-001");
            assert_eq!(p.join_key, "7K3Q9XPA");
            let url = p.to_url();
            assert_eq!(JoinPayload::parse(&url).unwrap(), p, "{url}");
        }
        assert_eq!(
            JoinPayload::parse("https://x.vn/j/HD-1?v=1#k=ABCDEF12")
                .unwrap()
                .to_url(),
            "https://x.vn/j/HD-1?v=1#k=ABCDEF12"
        );
    }

    #[test]
    fn wrong_or_damaged_codes_get_typed_errors() {
        assert_eq!(
            JoinPayload::parse("WIFI:S:home;T:WPA;P:secret;;"),
            Err(QrError::NotCdht)
        );
        assert_eq!(
            JoinPayload::parse("https://example.com/shop?id=5"),
            Err(QrError::NotCdht)
        );
        assert_eq!(
            JoinPayload::parse("https://x.vn/j/HD-1?v=1"),
            Err(QrError::BadJoinKey)
        );
        assert_eq!(
            JoinPayload::parse("https://x.vn/j/HD-1?v=1#k=ab"),
            Err(QrError::BadJoinKey)
        );
        assert_eq!(
            JoinPayload::parse("https://x.vn/j/HD-1?v=2#k=ABCDEF12"),
            Err(QrError::NewerVersion(2))
        );
        assert!(matches!(
            JoinPayload::parse("https://x.vn/j/hd_1?v=1#k=ABCDEF12"),
            Err(QrError::BadUnitCode(_))
        ));
        assert!(matches!(
            JoinPayload::parse("https://x .vn/j/HD-1#k=ABCDEF12"),
            Err(QrError::BadServer(_))
        ));
        assert!(matches!(
            JoinPayload::from_typed("ftp://x", "HD-1", "ABCDEF12"),
            Err(QrError::BadServer(_))
        ));
        // Each refusal keeps its own code, which the UI words.
        let codes: std::collections::HashSet<_> = [
            QrError::NotCdht,
            QrError::BadJoinKey,
            QrError::NewerVersion(2),
        ]
        .iter()
        .map(QrError::code)
        .collect();
        assert_eq!(codes.len(), 3);
    }

    #[test]
    fn a_typed_server_is_normalised_or_refused() {
        let server =
            |typed: &str| JoinPayload::from_typed(typed, "HD-1", "ABCDEF12").map(|p| p.server);
        for (typed, want) in [
            ("https://http://127.0.0.1:8080", "http://127.0.0.1:8080"),
            (
                "https://https://cdht.example.vn/",
                "https://cdht.example.vn",
            ),
            ("  http://127.0.0.1:8080/  ", "http://127.0.0.1:8080"),
            ("127.0.0.1:8080", "http://127.0.0.1:8080"),
            ("192.168.1.20:8080/", "http://192.168.1.20:8080"),
            ("localhost:8080", "http://localhost:8080"),
            ("cdht.example.vn", "https://cdht.example.vn"),
            (
                "https://cdht.example.vn/khuyenhoc",
                "https://cdht.example.vn/khuyenhoc",
            ),
            (
                "http://127.0.0.1:8080/j/DEMO-X1-C1?v=1#k=ABCDEF12",
                "http://127.0.0.1:8080",
            ),
            ("https://[::1]:8443", "https://[::1]:8443"),
        ] {
            assert_eq!(server(typed).as_deref(), Ok(want), "{typed:?}");
        }
        for typed in [
            "",
            "https://",
            "https://http:",
            "https://http//127.0.0.1:8080",
            "https:/127.0.0.1:8080",
            "http://127.0.0.1:80800",
            "http://127.0.0.1:0",
            "http://exa mple.vn",
            "ftp://x",
            "https://user@host",
            "http://host:port",
            "chi hội thôn Đông",
        ] {
            assert!(
                matches!(server(typed), Err(QrError::BadServer(_))),
                "{typed:?}"
            );
        }
    }
}
