//! Text folding for search: "Nguyễn Văn Đức" and "nguyen van duc" must meet;
//! and names as stored (NFC). One copy, for the app, the store and the server.

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// Lowercase, Vietnamese diacritics removed (tones and the marks of ă â ê ô ơ ư),
/// đ → d, runs of whitespace collapsed to one space, trimmed.
#[must_use]
pub fn fold_name(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space_pending = false;
    // NFD splits "ễ" into "e" + circumflex + tilde; dropping the marks leaves "e".
    for c in text.nfd() {
        if is_combining_mark(c) {
            continue;
        }
        if c.is_whitespace() {
            space_pending = !out.is_empty();
            continue;
        }
        if space_pending {
            out.push(' ');
            space_pending = false;
        }
        // đ has no decomposition; Ð/ð (eth) is a common look-alike typed for it.
        match c {
            'đ' | 'Đ' | 'ð' | 'Ð' => out.push('d'),
            _ => out.extend(c.to_lowercase()),
        }
    }
    out
}

/// A display name as stored: NFC (keyboards send either form), whitespace collapsed.
#[must_use]
pub fn clean_display_name(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .nfc()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_vietnamese() {
        assert_eq!(fold_name("  Nguyễn   Văn Đức "), "nguyen van duc");
        assert_eq!(fold_name("Trần Thị Ánh Nguyệt"), "tran thi anh nguyet");
        assert_eq!(fold_name("Lương Thế Vinh"), "luong the vinh");
        assert_eq!(fold_name("ĐẶNG ƯỚC"), "dang uoc");
        // Already decomposed input (NFD) folds the same.
        let nfd: String = "Phạm Hồng Thái".nfd().collect();
        assert_eq!(fold_name(&nfd), "pham hong thai");
    }

    #[test]
    fn display_name_is_nfc() {
        let nfd: String = "Hồ  Xuân Hương".nfd().collect();
        assert_eq!(clean_display_name(&nfd), "Hồ Xuân Hương");
    }
}
