//! Small helpers shared by the store's modules.

use crate::error::{Result, StoreError};
use crate::model::UnixMs;
use cdht_core::ids::DeviceId;
use rusqlite::types::Type;
use rusqlite::{Connection, OptionalExtension, Row};
use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

pub(crate) fn now_ms() -> UnixMs {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
        })
}

/// Reads a UUID id (or anything `FromStr`) from a TEXT column.
pub(crate) fn parsed<T>(row: &Row<'_>, index: usize) -> rusqlite::Result<T>
where
    T: FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    let text: String = row.get(index)?;
    text.parse()
        .map_err(|err| rusqlite::Error::FromSqlConversionFailure(index, Type::Text, Box::new(err)))
}

pub(crate) fn parsed_opt<T>(row: &Row<'_>, index: usize) -> rusqlite::Result<Option<T>>
where
    T: FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    match row.get::<_, Option<String>>(index)? {
        None => Ok(None),
        Some(text) => text.parse().map(Some).map_err(|err| {
            rusqlite::Error::FromSqlConversionFailure(index, Type::Text, Box::new(err))
        }),
    }
}

pub(crate) fn area_col(row: &Row<'_>, index: usize) -> rusqlite::Result<cdht_core::AreaType> {
    let text: String = row.get(index)?;
    cdht_core::AreaType::parse(&text).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            index,
            Type::Text,
            format!("unknown area type {text:?}").into(),
        )
    })
}

pub(crate) fn u32_opt(row: &Row<'_>, index: usize) -> rusqlite::Result<Option<u32>> {
    Ok(row
        .get::<_, Option<i64>>(index)?
        .and_then(|v| u32::try_from(v).ok()))
}

// One copy of the rule, in the core (record hashes, photo addresses).
pub(crate) use cdht_core::digest::{is_sha256_hex, sha256_hex};

/// Trimmed text, `None` when empty; refused above `max_chars`.
pub(crate) fn clean_opt(
    value: Option<&str>,
    field: &str,
    max_chars: usize,
) -> Result<Option<String>> {
    let Some(text) = value.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if text.chars().count() > max_chars {
        return Err(StoreError::invalid(format!(
            "{field} is longer than {max_chars} characters"
        )));
    }
    Ok(Some(text.to_owned()))
}

/// A short id-like text (indicator, level, catalog, group): non-empty, no spaces around.
pub(crate) fn check_code(text: &str, field: &str) -> Result<()> {
    if text.is_empty() || text.len() > 64 || text.trim() != text {
        return Err(StoreError::invalid(format!(
            "{field} must be 1–64 characters without surrounding spaces, got {text:?}"
        )));
    }
    Ok(())
}

pub(crate) fn usize_to_i64(value: usize) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// Creates the device row on first open and returns the device id.
pub(crate) fn ensure_device(conn: &Connection) -> Result<DeviceId> {
    let existing: Option<String> = conn
        .query_row(
            "SELECT device_id FROM device WHERE singleton = 1",
            [],
            |row| row.get(0),
        )
        .optional()?;
    let text = match existing {
        Some(text) => text,
        None => {
            let device_id = DeviceId::new_v7().to_string();
            conn.execute(
                "INSERT INTO device (singleton, device_id, created_at_ms) VALUES (1, ?1, ?2)",
                (&device_id, now_ms()),
            )?;
            device_id
        }
    };
    text.parse()
        .map_err(|err| StoreError::Corrupt(format!("stored device id {text:?}: {err}")))
}
