//! Text for SQL searches; the folding itself is the core's
//! (`cdht_core::fold`), re-exported.

pub use cdht_core::fold::{clean_display_name, fold_name};

/// Escapes `%`, `_` and the escape character itself for `LIKE ... ESCAPE '\'`.
#[must_use]
pub fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_wildcards() {
        assert_eq!(escape_like(r"50%_a\b"), r"50\%\_a\\b");
    }
}
