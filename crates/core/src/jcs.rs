//! RFC 8785, the JSON Canonicalization Scheme: the byte form of a JSON value
//! that protocol 2 hashes (docs/sync-protocol.md, "Record hashes").
//!
//! Chosen so that a client in any language can produce it from the body it
//! sends with a standard library: object members sorted by their names
//! (UTF-16 code units), no white space, strings with the shortest escapes
//! (only `"`, `\` and control characters; everything else raw UTF-8), numbers
//! as ECMAScript writes them (integers plainly).

use serde_json::Value;
use std::fmt::Write as _;

/// The canonical bytes of `value`.
#[must_use]
pub fn canonical(value: &Value) -> Vec<u8> {
    let mut out = String::new();
    write_value(&mut out, value);
    out.into_bytes()
}

fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => write_number(out, n),
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            members.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
            out.push('{');
            for (i, (name, item)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, name);
                out.push(':');
                write_value(out, item);
            }
            out.push('}');
        }
    }
}

fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{08}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{0c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn write_number(out: &mut String, n: &serde_json::Number) {
    if let Some(i) = n.as_i64() {
        let _ = write!(out, "{i}");
    } else if let Some(u) = n.as_u64() {
        let _ = write!(out, "{u}");
    } else if let Some(f) = n.as_f64() {
        write_es6_number(out, f);
    }
}

/// ECMAScript's Number::toString for a finite double (RFC 8785 §3.2.2.3).
fn write_es6_number(out: &mut String, f: f64) {
    if f == 0.0 {
        out.push('0');
        return;
    }
    if f < 0.0 {
        out.push('-');
    }
    // Rust's `{:e}` gives the shortest digits that read back as `f`, as
    // ECMAScript requires: "d.ddde±x".
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let k = i32::try_from(digits.len()).unwrap_or(i32::MAX);
    // The decimal point's place after the first digit, as ECMAScript's `n`.
    let n = exp.parse::<i32>().unwrap_or(0) + 1;
    if k <= n && n <= 21 {
        out.push_str(&digits);
        out.extend(std::iter::repeat_n(
            '0',
            usize::try_from(n - k).unwrap_or(0),
        ));
    } else if 0 < n && n <= 21 {
        let split = usize::try_from(n).unwrap_or(0);
        out.push_str(&digits[..split]);
        out.push('.');
        out.push_str(&digits[split..]);
    } else if -6 < n && n <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', usize::try_from(-n).unwrap_or(0)));
        out.push_str(&digits);
    } else {
        out.push_str(&digits[..1]);
        if k > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let e = n - 1;
        let _ = write!(out, "e{}{}", if e < 0 { '-' } else { '+' }, e.abs());
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn jcs(text: &str) -> String {
        String::from_utf8(canonical(&serde_json::from_str(text).unwrap())).unwrap()
    }

    #[test]
    fn sorts_members_and_drops_white_space() {
        assert_eq!(
            jcs(r#"{ "b": [1, {"z": null, "a": true}], "a": "x" }"#),
            r#"{"a":"x","b":[1,{"a":true,"z":null}]}"#
        );
    }

    #[test]
    fn writes_non_ascii_raw_and_escapes_only_what_json_needs() {
        assert_eq!(
            jcs(r#""Nguy\u1ec5n \"Văn\" A\n\u001f/\u2028""#),
            "\"Nguyễn \\\"Văn\\\" A\\n\\u001f/\u{2028}\""
        );
    }

    #[test]
    fn sorts_by_utf16_code_units() {
        // U+FB33 sorts before U+1D11E in UTF-16 (a surrogate pair starts with
        // 0xD834), the other way round in code points.
        let text = "{\"\u{1D11E}\":1,\"\u{FB33}\":2}";
        assert_eq!(jcs(text), "{\"\u{1D11E}\":1,\"\u{FB33}\":2}");
    }

    #[test]
    fn numbers_as_ecmascript_writes_them() {
        // RFC 8785 appendix B's examples.
        for (given, expected) in [
            ("0", "0"),
            ("-0.0", "0"),
            ("8.0", "8"),
            ("1e21", "1e+21"),
            ("1e20", "100000000000000000000"),
            ("123.456", "123.456"),
            ("0.000001", "0.000001"),
            ("1e-7", "1e-7"),
            ("-1.5e-9", "-1.5e-9"),
            ("4.5", "4.5"),
            ("333333333.3333333", "333333333.3333333"),
            ("9007199254740992", "9007199254740992"),
            ("1.7976931348623157e308", "1.7976931348623157e+308"),
        ] {
            assert_eq!(jcs(given), expected, "{given}");
        }
    }
}
