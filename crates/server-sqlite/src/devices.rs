//! Devices, officers and their sessions: enrolment, tokens, officer binding.

use super::units::unit_row;
use super::{audit, now, write_tx, SqliteStorage};
use cdht_core::ids::{DeviceId, UnitCode};
use cdht_core::sync::{DeviceScope, Role, RoleGrant};
use cdht_core::Code;
use cdht_server_db::{
    DeviceRef, EnrolDevice, Refusal, StorageError, StorageResult, Subject, UnitRow,
};
use rusqlite::{params, Connection, OptionalExtension};

fn grants(conn: &rusqlite::Connection, officer_id: i64) -> StorageResult<Vec<RoleGrant>> {
    let mut stmt = conn.prepare(
        "SELECT role, unit FROM officer_roles WHERE officer_id = ?1 ORDER BY unit, role",
    )?;
    let rows = stmt.query_map([officer_id], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (role, unit) = row?;
        let role = Role::parse(&role).ok_or_else(|| StorageError::Corrupt(role.clone()))?;
        out.push(RoleGrant {
            role,
            unit: UnitCode::new(unit),
        });
    }
    Ok(out)
}

pub(super) fn is_device_person(
    conn: &Connection,
    device_id: &str,
    person: &str,
) -> StorageResult<bool> {
    Ok(conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM device_people WHERE device_id = ?1 AND person = ?2)",
        )?
        .query_row(params![device_id, person], |r| r.get(0))?)
}

pub(super) fn enrol_device(
    db: &SqliteStorage,
    unit: &str,
    join_key: &str,
    device: EnrolDevice<'_>,
    token_hash: &str,
) -> StorageResult<Option<(UnitRow, u64, DeviceId)>> {
    let label = device.label;
    let mut conn = db.conn()?;
    let Some(row) = unit_row(&conn, unit)? else {
        return Ok(None);
    };
    if !cdht_server_db::rules::constant_time_eq(row.join_key.as_bytes(), join_key.as_bytes()) {
        return Ok(None);
    }
    let tx = write_tx(&mut conn)?;
    let mut device_id = device.device_id;
    let held: Option<(String, u64, String)> = tx
        .query_row(
            "SELECT unit, last_push_seq, token_hash FROM devices WHERE id = ?1",
            [device_id.to_string()],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    // A known id is bound to its first enrolment: only its own token
    // re-enrols it. Anybody else (the join key is on a public poster)
    // gets a new id and never the phone's token, seq or people.
    let known = match held {
        Some((old_unit, seq, held_token)) => {
            let own = device.current_token_hash.is_some_and(|t| {
                cdht_server_db::rules::constant_time_eq(t.as_bytes(), held_token.as_bytes())
            });
            if own {
                Some((old_unit, seq))
            } else {
                device_id = DeviceId::new_v7();
                None
            }
        }
        None => None,
    };
    // A device moving to another unit starts a new push sequence there,
    // and leaves the people of its old unit behind.
    let last_seq = match known {
        Some((old_unit, seq)) if old_unit == unit => seq,
        Some(_) => {
            tx.execute(
                "DELETE FROM device_people WHERE device_id = ?1",
                [device_id.to_string()],
            )?;
            0
        }
        None => 0,
    };
    // A re-enrolment drops an officer binding: whoever holds the phone now
    // has only scanned a poster.
    tx.execute(
        "INSERT INTO devices (id, unit, label, token_hash, last_push_seq, enrolled_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (id) DO UPDATE SET unit = ?2, label = ?3, token_hash = ?4,
            last_push_seq = ?5, enrolled_at = ?6, officer_id = NULL,
            scope = 'own_records'",
        params![
            device_id.to_string(),
            unit,
            label,
            token_hash,
            last_seq,
            now()
        ],
    )?;
    tx.commit()?;
    Ok(Some((row, last_seq, device_id)))
}

pub(super) fn subject_for_token(
    db: &SqliteStorage,
    token_hash: &str,
    now: &str,
) -> StorageResult<Option<Subject>> {
    let conn = db.conn()?;
    let device: Option<(String, String, String)> = conn
        .query_row(
            "SELECT id, unit, scope FROM devices WHERE token_hash = ?1",
            [token_hash],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    if let Some((id, unit, scope)) = device {
        let device_id = id
            .parse()
            .map_err(|_| StorageError::Corrupt(format!("device id {id}")))?;
        let scope = DeviceScope::parse(&scope)
            .ok_or_else(|| StorageError::Corrupt(format!("device scope {scope}")))?;
        return Ok(Some(Subject::Device(DeviceRef {
            device_id,
            unit: UnitCode::new(unit),
            scope,
        })));
    }
    let officer: Option<(i64, String)> = conn
        .query_row(
            "SELECT o.id, o.username FROM sessions s JOIN officers o ON o.id = s.officer_id
             WHERE s.token_hash = ?1 AND s.expires_at > ?2",
            params![token_hash, now],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((id, username)) = officer else {
        return Ok(None);
    };
    Ok(Some(Subject::Officer {
        id,
        username,
        grants: grants(&conn, id)?,
    }))
}

pub(super) fn add_officer(
    db: &SqliteStorage,
    username: &str,
    password_hash: &str,
    grants: &[RoleGrant],
) -> StorageResult<()> {
    let mut conn = db.conn()?;
    let tx = write_tx(&mut conn)?;
    tx.execute(
        "INSERT INTO officers (username, password_hash, created_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (username) DO UPDATE SET password_hash = ?2",
        params![username, password_hash, now()],
    )?;
    let id: i64 = tx.query_row(
        "SELECT id FROM officers WHERE username = ?1",
        [username],
        |r| r.get(0),
    )?;
    for g in grants {
        let exists: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM units WHERE code = ?1)",
            [g.unit.as_str()],
            |r| r.get(0),
        )?;
        if !exists {
            return Err(StorageError::refused_saying(
                Refusal::NotFound,
                Code::UnknownUnit {
                    unit: g.unit.to_string(),
                },
                format!("no unit {}", g.unit),
            ));
        }
        tx.execute(
            "INSERT OR IGNORE INTO officer_roles (officer_id, role, unit) VALUES (?1, ?2, ?3)",
            params![id, g.role.as_str(), g.unit.as_str()],
        )?;
    }
    tx.commit()?;
    Ok(())
}

pub(super) fn officer_login(
    db: &SqliteStorage,
    username: &str,
) -> StorageResult<Option<(i64, String, Vec<RoleGrant>)>> {
    let conn = db.conn()?;
    let row: Option<(i64, String)> = conn
        .query_row(
            "SELECT id, password_hash FROM officers WHERE username = ?1",
            [username],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    match row {
        Some((id, hash)) => Ok(Some((id, hash, grants(&conn, id)?))),
        None => Ok(None),
    }
}

pub(super) fn add_session(
    db: &SqliteStorage,
    officer_id: i64,
    token_hash: &str,
    expires_at: &str,
) -> StorageResult<()> {
    let conn = db.conn()?;
    conn.execute("DELETE FROM sessions WHERE expires_at < ?1", params![now()])?;
    conn.execute(
        "INSERT INTO sessions (token_hash, officer_id, expires_at) VALUES (?1, ?2, ?3)",
        params![token_hash, officer_id, expires_at],
    )?;
    Ok(())
}

pub(super) fn bind_officer(
    db: &SqliteStorage,
    device_id: DeviceId,
    officer_id: Option<i64>,
) -> StorageResult<()> {
    let scope = if officer_id.is_some() {
        DeviceScope::UnitRecords
    } else {
        DeviceScope::OwnRecords
    };
    let mut conn = db.conn()?;
    let tx = write_tx(&mut conn)?;
    let device = device_id.to_string();
    tx.execute(
        "UPDATE devices SET officer_id = ?2, scope = ?3 WHERE id = ?1",
        params![device, officer_id, scope.as_str()],
    )?;
    // Who turned which device into a collector device (it then reads the
    // whole unit's people) belongs in the audit log.
    let unit: Option<String> = tx
        .query_row("SELECT unit FROM devices WHERE id = ?1", [&device], |r| {
            r.get(0)
        })
        .optional()?;
    let actor: Option<String> = match officer_id {
        Some(id) => tx
            .query_row("SELECT username FROM officers WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()?,
        None => None,
    };
    let actor = actor.unwrap_or_else(|| format!("device:{device}"));
    let action = if officer_id.is_some() {
        "bind_officer"
    } else {
        "unbind_officer"
    };
    audit(
        &tx,
        &actor,
        action,
        unit.as_deref(),
        None,
        None,
        None,
        Some(&format!("device {device}")),
    )?;
    tx.commit()?;
    Ok(())
}
