//! Record hashes as SQLite keeps them: 32 bytes, or the text of hashes
//! written before migration 0006.

/// A record hash as kept: its 32 bytes (since migration 0006; half the
/// bytes of the hex text written before), or the text itself when it is not
/// lower-case hex of 32 bytes.
pub(crate) fn hash_value(hex_text: &str) -> rusqlite::types::Value {
    use rusqlite::types::Value;
    let lower_hex = hex_text
        .bytes()
        .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    match hex::decode(hex_text) {
        Ok(bytes) if lower_hex && bytes.len() == 32 => Value::Blob(bytes),
        _ => Value::Text(hex_text.to_owned()),
    }
}

/// A kept record hash (see [`hash_value`]) as lower-case hex.
pub(crate) fn hash_text(value: rusqlite::types::ValueRef<'_>) -> rusqlite::Result<Option<String>> {
    use rusqlite::types::{FromSqlError, ValueRef};
    match value {
        ValueRef::Null => Ok(None),
        ValueRef::Blob(bytes) => Ok(Some(hex::encode(bytes))),
        ValueRef::Text(_) => value
            .as_str()
            .map(|s| Some(s.to_owned()))
            .map_err(Into::into),
        _ => Err(FromSqlError::InvalidType.into()),
    }
}
