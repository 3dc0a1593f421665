//! The answer of each push batch, kept so that a replay gets it back as it
//! was first given.

/// A batch's answer as kept for replays: deflated, since 200 acks of JSON
/// are a quarter of what an ingest stored, and replays are rare.
pub(super) fn stored_response(json: &str) -> Vec<u8> {
    miniz_oxide::deflate::compress_to_vec(json.as_bytes(), 1)
}

/// A kept answer: deflated (`stored_response`), or JSON text as written
/// before migration 0007.
pub(super) fn read_response(value: rusqlite::types::ValueRef<'_>) -> rusqlite::Result<String> {
    use rusqlite::types::{FromSqlError, ValueRef};
    let bad = |e: String| rusqlite::Error::FromSqlConversionFailure(2, value.data_type(), e.into());
    match value {
        ValueRef::Text(text) => String::from_utf8(text.to_vec()).map_err(|e| bad(e.to_string())),
        ValueRef::Blob(deflated) => {
            let json = miniz_oxide::inflate::decompress_to_vec_with_limit(deflated, 4 << 20)
                .map_err(|e| bad(format!("{e:?}")))?;
            String::from_utf8(json).map_err(|e| bad(e.to_string()))
        }
        _ => Err(rusqlite::Error::FromSqlConversionFailure(
            2,
            value.data_type(),
            Box::new(FromSqlError::InvalidType),
        )),
    }
}
