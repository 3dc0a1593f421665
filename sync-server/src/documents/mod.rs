//! Documents officers print and people keep: a recognised assessment's
//! certificate (PDF with a QR to its verification page), a decision's
//! recognition list (XLSX and PDF), a unit's report (XLSX and CSV), and the
//! public verification page `GET /v/{token}`.

pub mod certificate;
pub mod decision;
pub mod pdf;
pub mod tables;
pub mod verify;
pub mod xlsx;

pub use cdht_server_db::facts::{CertificateFacts, DecisionRow};

/// A new verification token: 32 random bytes (256 bits), hex.
pub fn new_token() -> anyhow::Result<String> {
    Ok(hex::encode(crate::random_bytes::<32>()?))
}

/// `d/m/yyyy` for an ISO date (`2025-12-01` → `1/12/2025`), as Vietnamese
/// documents write it; anything else as is.
#[must_use]
pub fn vi_date(iso: &str) -> String {
    let parts: Vec<&str> = iso.split('-').collect();
    match parts.as_slice() {
        [y, m, d] => match (d.parse::<u32>(), m.parse::<u32>()) {
            (Ok(d), Ok(m)) => format!("{d}/{m}/{y}"),
            _ => iso.to_owned(),
        },
        _ => iso.to_owned(),
    }
}

/// Initials of a full name: "Nguyễn Thị Lan" → "N. T. L.".
#[must_use]
pub fn initials(full_name: &str) -> String {
    full_name
        .split_whitespace()
        .filter_map(|w| w.chars().next())
        .map(|c| format!("{}.", c.to_uppercase()))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initials_and_dates_read_as_vietnamese_documents_write_them() {
        assert_eq!(initials("Nguyễn Thị Lan"), "N. T. L.");
        assert_eq!(initials("  Đặng   văn  ấn "), "Đ. V. Ấ.");
        assert_eq!(vi_date("2025-12-01"), "1/12/2025");
        assert_eq!(vi_date("bad"), "bad");
    }
}
