//! The 12-digit citizen identity card number (Căn cước công dân).

use crate::error::{Result, StoreError};

pub const CCCD_DIGITS: usize = 12;

/// Accepts exactly 12 ASCII digits; spaces people type between groups are ignored.
pub fn normalize_cccd(input: &str) -> Result<String> {
    let digits: String = input.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.len() == CCCD_DIGITS && digits.bytes().all(|b| b.is_ascii_digit()) {
        Ok(digits)
    } else {
        Err(StoreError::invalid(format!(
            "a CCCD number has exactly {CCCD_DIGITS} digits"
        )))
    }
}

/// What lists and cards show: only the last 4 digits, e.g. "••••••••1234".
#[must_use]
pub fn mask_cccd(cccd: &str) -> String {
    let shown = cccd.len().saturating_sub(4);
    let mut masked = "•".repeat(cccd.chars().count().min(shown));
    masked.push_str(cccd.get(shown..).unwrap_or(""));
    masked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_and_masks() {
        assert_eq!(
            normalize_cccd("001 099 001234").ok().as_deref(),
            Some("001099001234")
        );
        assert!(normalize_cccd("12345678901").is_err());
        assert!(normalize_cccd("00109900123a").is_err());
        assert!(normalize_cccd("０01099001234").is_err());
        assert_eq!(mask_cccd("001099001234"), "••••••••1234");
    }
}
