//! The CCCD as the store takes it; the rule itself is the core's
//! (`cdht_core::cccd::Cccd`).

use crate::error::{Result, StoreError};
use cdht_core::cccd::Cccd;

/// Accepts exactly 12 ASCII digits; spaces people type between groups are ignored.
pub fn normalize_cccd(input: &str) -> Result<String> {
    Cccd::from_typed(input)
        .map(Cccd::into_string)
        .map_err(|err| StoreError::invalid(err.to_string()))
}

/// What lists and cards show: only the last 4 digits, e.g. "••••••••1234".
#[must_use]
pub fn mask_cccd(cccd: &str) -> String {
    cdht_core::cccd::mask(cccd)
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
