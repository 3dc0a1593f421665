//! What the sync engine keeps besides records (migration 4): the device's
//! credentials and scope, pulled catalogs, photos the server refused.

use crate::error::{Result, StoreError};
use crate::model::{ParkedUpload, SyncCredentials};
use crate::pull::{load_catalogs, save_catalog, Scorer};
use crate::sql::{now_ms, parsed};
use crate::store::Store;
use cdht_core::catalog::Catalog;
use cdht_core::ids::{IndicatorId, UnitCode};
use cdht_core::sync::DeviceScope;
use rusqlite::{Connection, OptionalExtension};

const MAX_REASON_CHARS: usize = 1000;

fn scope_from_text(text: &str) -> rusqlite::Result<DeviceScope> {
    DeviceScope::parse(text).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            4,
            rusqlite::types::Type::Text,
            format!("unknown device scope {text:?}").into(),
        )
    })
}

/// Pulls `unit_code` again from the start, remembering where it had got to:
/// a wider scope makes older changes relevant that the server skipped before.
fn restart_pull_in(conn: &Connection, unit_code: &str, now: i64) -> Result<()> {
    conn.execute(
        "UPDATE pull_cursors SET replay_below = max(replay_below, cursor), cursor = 0,
             updated_at_ms = ?2
         WHERE unit_code = ?1",
        (unit_code, now),
    )?;
    Ok(())
}

impl Store {
    /// The saved credentials, if this device enrolled.
    pub fn sync_credentials(&self) -> Result<Option<SyncCredentials>> {
        Ok(self
            .conn
            .query_row(
                "SELECT server_url, unit_code, device_id, device_token, scope, officer_username,
                     updated_at_ms
                 FROM sync_credentials WHERE singleton = 1",
                [],
                |row| {
                    Ok(SyncCredentials {
                        server_url: row.get(0)?,
                        unit_code: UnitCode::new(row.get::<_, String>(1)?),
                        device_id: row.get(2)?,
                        device_token: row.get(3)?,
                        scope: scope_from_text(&row.get::<_, String>(4)?)?,
                        officer_username: row.get(5)?,
                        updated_at_ms: row.get(6)?,
                    })
                },
            )
            .optional()?)
    }

    /// Saves the credentials of an enrolment (replacing any). The scope and
    /// officer are taken from `creds`; `updated_at_ms` is set to now.
    pub fn save_sync_credentials(&mut self, creds: &SyncCredentials) -> Result<()> {
        let officer = match creds.scope {
            DeviceScope::OwnRecords => None,
            DeviceScope::UnitRecords => {
                Some(creds.officer_username.as_deref().ok_or_else(|| {
                    StoreError::invalid("a unit_records scope needs the bound officer")
                })?)
            }
        };
        let tx = self.write_tx()?;
        tx.execute(
            "INSERT INTO sync_credentials (singleton, server_url, unit_code, device_id,
                 device_token, scope, officer_username, updated_at_ms)
             VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (singleton) DO UPDATE SET
                 server_url = excluded.server_url, unit_code = excluded.unit_code,
                 device_id = excluded.device_id, device_token = excluded.device_token,
                 scope = excluded.scope, officer_username = excluded.officer_username,
                 updated_at_ms = excluded.updated_at_ms",
            rusqlite::params![
                creds.server_url,
                creds.unit_code.as_str(),
                creds.device_id,
                creds.device_token,
                creds.scope.as_str(),
                officer,
                now_ms()
            ],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Records an officer binding (`UnitRecords` with the officer) or its end
    /// (`OwnRecords`, `None`). When the scope widens, the unit's pull starts
    /// again from 0 in the same transaction so records pushed before the
    /// binding arrive too (already-applied changes are not re-applied:
    /// records by version, reviews of this device's own assessments skipped).
    pub fn set_sync_scope(&mut self, scope: DeviceScope, officer: Option<&str>) -> Result<()> {
        let officer = match scope {
            DeviceScope::OwnRecords => None,
            DeviceScope::UnitRecords => Some(
                officer
                    .map(str::trim)
                    .filter(|o| !o.is_empty())
                    .ok_or_else(|| StoreError::invalid("a unit_records scope needs an officer"))?,
            ),
        };
        let now = now_ms();
        let tx = self.write_tx()?;
        let current: Option<(String, String)> = tx
            .query_row(
                "SELECT scope, unit_code FROM sync_credentials WHERE singleton = 1",
                [],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()?;
        let Some((current, unit_code)) = current else {
            return Err(StoreError::not_found("sync credentials", "device"));
        };
        tx.execute(
            "UPDATE sync_credentials SET scope = ?1, officer_username = ?2, updated_at_ms = ?3
             WHERE singleton = 1",
            rusqlite::params![scope.as_str(), officer, now],
        )?;
        if scope == DeviceScope::UnitRecords && current != scope.as_str() {
            restart_pull_in(&tx, &unit_code, now)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Forgets the credentials (e.g. the person leaves the unit for good).
    pub fn clear_sync_credentials(&mut self) -> Result<()> {
        let tx = self.write_tx()?;
        tx.execute("DELETE FROM sync_credentials", [])?;
        tx.commit()?;
        Ok(())
    }

    /// Catalogs pulled from the server (the highest revision of each id),
    /// without the embedded ones: merge with `cdht_core::merge_catalogs`.
    pub fn catalogs(&self) -> Result<Vec<Catalog>> {
        load_catalogs(&self.conn)
    }

    /// Keeps a catalog (normally through [`Store::apply_pull`]): validated,
    /// stored when its revision is higher than the one held. `Ok(true)` when
    /// stored.
    pub fn save_catalog(&mut self, catalog: &Catalog) -> Result<bool> {
        let tx = self.write_tx()?;
        let saved = save_catalog(&tx, catalog, &mut Scorer::new(), now_ms())?;
        tx.commit()?;
        Ok(saved)
    }

    /// Parks a photo the server refused whole (`422` `hash_mismatch` /
    /// `invalid_evidence`): it is not uploaded again ([`Store::pending_uploads`]
    /// leaves it out) and [`Store::parked_uploads`] lists it until the person
    /// replaces it (a new photo is a new file).
    pub fn park_upload(&mut self, sha256: &str, code: &str, reason: &str) -> Result<()> {
        let reason: String = reason.trim().chars().take(MAX_REASON_CHARS).collect();
        let reason = if reason.is_empty() {
            code.to_owned()
        } else {
            reason
        };
        let now = now_ms();
        let tx = self.write_tx()?;
        let changed = tx.execute(
            "INSERT INTO evidence_uploads (sha256, bytes_acked, updated_at_ms, refused_code,
                 refused_reason, refused_at_ms)
             SELECT sha256, 0, ?4, ?2, ?3, ?4 FROM evidence_files WHERE sha256 = ?1
             ON CONFLICT (sha256) DO UPDATE SET
                 bytes_acked = 0, refused_code = excluded.refused_code,
                 refused_reason = excluded.refused_reason,
                 refused_at_ms = excluded.refused_at_ms, updated_at_ms = excluded.updated_at_ms",
            rusqlite::params![sha256, code, reason, now],
        )?;
        if changed == 0 {
            return Err(StoreError::not_found("evidence file", sha256));
        }
        tx.commit()?;
        Ok(())
    }

    /// Photos the server refused, one line per evidence row still using one,
    /// newest first: "Ảnh bị từ chối: {reason}" next to the indicator.
    pub fn parked_uploads(&self) -> Result<Vec<ParkedUpload>> {
        let mut stmt = self.conn.prepare(
            "SELECT u.sha256, e.evidence_id, e.assessment_id, a.person_id, a.year,
                 e.indicator_id, u.refused_code, u.refused_reason, u.refused_at_ms
             FROM evidence_uploads u
             JOIN evidence e ON e.sha256 = u.sha256
             JOIN assessments a ON a.assessment_id = e.assessment_id
             WHERE u.refused_at_ms IS NOT NULL
             ORDER BY u.refused_at_ms DESC, e.evidence_id",
        )?;
        let rows = stmt
            .query_map([], |row| {
                Ok(ParkedUpload {
                    sha256: row.get(0)?,
                    evidence_id: parsed(row, 1)?,
                    assessment_id: parsed(row, 2)?,
                    person_id: parsed(row, 3)?,
                    year: row.get(4)?,
                    indicator_id: IndicatorId::new(row.get::<_, String>(5)?),
                    code: row.get::<_, Option<String>>(6)?.unwrap_or_default(),
                    reason: row.get::<_, Option<String>>(7)?.unwrap_or_default(),
                    parked_at_ms: row.get(8)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }
}
