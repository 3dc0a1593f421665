//! Free text people type (names, phones, addresses, reasons): the
//! characters no field may hold and the length limits, shared by the
//! server's checks and the app's forms.

/// The most characters of a person's full name.
pub const MAX_NAME_CHARS: usize = 200;
/// The most characters of a phone number as typed (spaces, `+`, dots count).
pub const MAX_PHONE_CHARS: usize = 20;
/// The most characters of an address (village, hamlet, commune, …).
pub const MAX_ADDRESS_CHARS: usize = 300;
/// The most characters of a household label ("Hộ ông Tám, xóm 3").
pub const MAX_HOUSEHOLD_CHARS: usize = 200;

/// Whether `c` may not appear in a text field: control characters (C0,
/// DEL, C1; a line break only where `multi_line`), line and paragraph
/// separators, and the bidirectional controls that reorder how text is
/// shown (a name could display as another name, or hide part of itself).
#[must_use]
pub fn is_forbidden_char(c: char, multi_line: bool) -> bool {
    if multi_line && (c == '\n' || c == '\r' || c == '\t') {
        return false;
    }
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}'
                | '\u{200E}' | '\u{200F}' | '\u{061C}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2066}'..='\u{2069}'
        )
}

/// Whether `s` holds a character [`is_forbidden_char`] refuses.
#[must_use]
pub fn has_forbidden_char(s: &str, multi_line: bool) -> bool {
    s.chars().any(|c| is_forbidden_char(c, multi_line))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vietnamese_text_passes_and_control_or_bidi_characters_do_not() {
        for ok in [
            "Nguyễn Thị Lan",
            "Thôn Đông, xã Nậm Pồ",
            "+84 912.345-678",
            "",
        ] {
            assert!(!has_forbidden_char(ok, false), "{ok}");
        }
        for bad in [
            "Lan\u{202E}",
            "a\u{0}b",
            "a\u{7}b",
            "a\u{1b}[31m",
            "a\u{85}b",
            "a\u{2066}b",
            "a\u{200F}b",
            "a\nb",
            "a\u{2028}b",
            "a\u{7f}b",
        ] {
            assert!(has_forbidden_char(bad, false), "{bad:?}");
        }
        assert!(!has_forbidden_char("dòng 1\ndòng 2", true));
        assert!(has_forbidden_char("dòng 1\u{202E}", true));
    }
}
