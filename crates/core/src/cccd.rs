//! The 12-digit citizen identity card number (Căn cước công dân): the one
//! copy of its rule, for the app (what a person types), the device's store
//! and the server (what a push carries).

/// A valid CCCD: exactly 12 ASCII digits.
#[derive(Clone, PartialEq, Eq)]
pub struct Cccd(String);

/// Not a CCCD (`Code::InvalidCccd` on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a CCCD number has exactly {} digits", Cccd::DIGITS)]
pub struct InvalidCccd;

impl Cccd {
    pub const DIGITS: usize = 12;

    /// A CCCD as it travels: exactly 12 ASCII digits, surrounding white
    /// space ignored.
    pub fn parse(text: &str) -> Result<Self, InvalidCccd> {
        let digits = text.trim();
        if digits.len() == Self::DIGITS && digits.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(digits.to_owned()))
        } else {
            Err(InvalidCccd)
        }
    }

    /// A CCCD as a person types it: the spaces between digit groups ignored.
    pub fn from_typed(input: &str) -> Result<Self, InvalidCccd> {
        let digits: String = input.chars().filter(|c| !c.is_whitespace()).collect();
        Self::parse(&digits)
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    #[must_use]
    pub fn into_string(self) -> String {
        self.0
    }

    /// What lists and cards show: only the last 4 digits, "••••••••1234".
    #[must_use]
    pub fn masked(&self) -> String {
        mask(&self.0)
    }
}

/// Only the last 4 characters of `number` shown, the others as `•`.
#[must_use]
pub fn mask(number: &str) -> String {
    let shown = number.len().saturating_sub(4);
    let mut masked = "•".repeat(number.chars().count().min(shown));
    masked.push_str(number.get(shown..).unwrap_or(""));
    masked
}

// Never printed whole, even in a debug log.
impl std::fmt::Debug for Cccd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Cccd({})", self.masked())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn twelve_ascii_digits_and_nothing_else() {
        assert_eq!(
            Cccd::from_typed("001 099 001234").map(Cccd::into_string),
            Ok("001099001234".to_owned())
        );
        assert_eq!(
            Cccd::parse(" 001099001234 ").unwrap().as_str(),
            "001099001234"
        );
        assert_eq!(Cccd::parse("001 099 001234"), Err(InvalidCccd));
        assert_eq!(Cccd::parse("12345678901"), Err(InvalidCccd));
        assert_eq!(Cccd::parse("00109900123a"), Err(InvalidCccd));
        assert_eq!(Cccd::from_typed("０01099001234"), Err(InvalidCccd));
        let cccd = Cccd::parse("001099001234").unwrap();
        assert_eq!(cccd.masked(), "••••••••1234");
        assert_eq!(format!("{cccd:?}"), "Cccd(••••••••1234)");
    }
}
