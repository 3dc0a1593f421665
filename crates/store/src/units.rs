//! Association units the device joined.

use crate::error::{Result, StoreError};
use crate::model::{JoinUnit, Unit};
use crate::sql::{area_col, check_code, now_ms};
use crate::store::Store;
use cdht_core::ids::UnitCode;
use rusqlite::{OptionalExtension, Row};

const UNIT_COLUMNS: &str =
    "unit_code, name, server_url, join_payload, joined_at_ms, area_type, active, name_known";

fn unit_from_row(row: &Row<'_>) -> rusqlite::Result<Unit> {
    let payload: String = row.get(3)?;
    Ok(Unit {
        unit_code: UnitCode::new(row.get::<_, String>(0)?),
        name: row.get(1)?,
        server_url: row.get(2)?,
        join_payload: serde_json::from_str(&payload).map_err(|err| {
            rusqlite::Error::FromSqlConversionFailure(3, rusqlite::types::Type::Text, Box::new(err))
        })?,
        joined_at_ms: row.get(4)?,
        area_type: area_col(row, 5)?,
        active: row.get(6)?,
        name_known: row.get(7)?,
    })
}

impl Store {
    /// Joins a unit, or re-joins it (fresh URL and payload; first join time kept).
    /// An empty `name` means the name is not known yet (offline, only the code
    /// is): the code stands in for it, and a re-join without a name keeps the
    /// name and area type the unit already has.
    pub fn join_unit(&mut self, join: &JoinUnit) -> Result<Unit> {
        check_code(join.unit_code.as_str(), "unit code")?;
        let name = join.name.trim();
        let name_known = !name.is_empty();
        let name = if name_known {
            name
        } else {
            join.unit_code.as_str()
        };
        let server_url = join.server_url.trim();
        if !(server_url.starts_with("https://") || server_url.starts_with("http://")) {
            return Err(StoreError::invalid(format!(
                "server URL must start with https:// or http://, got {server_url:?}"
            )));
        }
        let payload = serde_json::to_string(&join.join_payload)?;
        let tx = self.write_tx()?;
        tx.execute(
            "INSERT INTO units (unit_code, name, server_url, join_payload, joined_at_ms, area_type, active, name_known)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7)
             ON CONFLICT (unit_code) DO UPDATE SET
                 name = CASE WHEN excluded.name_known = 1 THEN excluded.name ELSE name END,
                 area_type = CASE WHEN excluded.name_known = 1 THEN excluded.area_type ELSE area_type END,
                 name_known = max(name_known, excluded.name_known),
                 server_url = excluded.server_url,
                 join_payload = excluded.join_payload, active = 1",
            (
                join.unit_code.as_str(),
                name,
                server_url,
                &payload,
                now_ms(),
                join.area_type.as_str(),
                name_known,
            ),
        )?;
        tx.commit()?;
        self.unit(&join.unit_code)
    }

    pub fn unit(&self, unit_code: &UnitCode) -> Result<Unit> {
        self.conn
            .query_row(
                &format!("SELECT {UNIT_COLUMNS} FROM units WHERE unit_code = ?1"),
                [unit_code.as_str()],
                unit_from_row,
            )
            .optional()?
            .ok_or_else(|| StoreError::not_found("unit", unit_code))
    }

    /// All joined units, active ones first.
    pub fn units(&self) -> Result<Vec<Unit>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {UNIT_COLUMNS} FROM units ORDER BY active DESC, joined_at_ms"
        ))?;
        let units = stmt
            .query_map([], unit_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(units)
    }

    /// Leaving a unit only hides it: its people and their records stay.
    pub fn set_unit_active(&mut self, unit_code: &UnitCode, active: bool) -> Result<()> {
        let tx = self.write_tx()?;
        let changed = tx.execute(
            "UPDATE units SET active = ?2 WHERE unit_code = ?1",
            (unit_code.as_str(), active),
        )?;
        if changed == 0 {
            return Err(StoreError::not_found("unit", unit_code));
        }
        tx.commit()?;
        Ok(())
    }
}
