//! Devices, officers and their sessions: enrolment, tokens, officer binding.

use crate::changes::{audit, AuditRow};
use crate::error::{corrupt, Result};
use crate::units::unit_row;
use crate::{big, now, unsigned, PgStorage};
use cdht_core::ids::{DeviceId, UnitCode};
use cdht_core::sync::{DeviceScope, Role, RoleGrant};
use cdht_core::Code;
use cdht_server_db::{DeviceRef, EnrolDevice, Refusal, StorageError, Subject, UnitRow};
use postgres::GenericClient;

fn grants(c: &mut impl GenericClient, officer_id: i64) -> Result<Vec<RoleGrant>> {
    let rows = c.query(
        "SELECT role, unit FROM officer_roles WHERE officer_id = $1 ORDER BY unit, role",
        &[&officer_id],
    )?;
    rows.iter()
        .map(|r| {
            let role: &str = r.get(0);
            Ok(RoleGrant {
                role: Role::parse(role).ok_or_else(|| corrupt(role))?,
                unit: UnitCode::new(r.get::<_, String>(1)),
            })
        })
        .collect()
}

pub(crate) fn is_device_person(
    c: &mut impl GenericClient,
    device_id: &str,
    person: &str,
) -> Result<bool> {
    Ok(c.query_one(
        "SELECT EXISTS (SELECT 1 FROM device_people WHERE device_id = $1 AND person = $2)",
        &[&device_id, &person],
    )?
    .get(0))
}

pub(crate) fn enrol_device(
    db: &PgStorage,
    unit: &str,
    join_key: &str,
    device: EnrolDevice<'_>,
    token_hash: &str,
) -> Result<Option<(UnitRow, u64, DeviceId)>> {
    let mut conn = db.conn()?;
    let Some(row) = unit_row(&mut *conn, unit)? else {
        return Ok(None);
    };
    if !cdht_server_db::rules::constant_time_eq(row.join_key.as_bytes(), join_key.as_bytes()) {
        return Ok(None);
    }
    let mut tx = conn.transaction()?;
    let mut device_id = device.device_id;
    // Locked: a push of this device (which locks the row too) or another
    // enrolment of it waits for this one.
    let held = tx.query_opt(
        "SELECT unit, last_push_seq, token_hash FROM devices WHERE id = $1 FOR UPDATE",
        &[&device_id.to_string()],
    )?;
    // A known id is bound to its first enrolment: only its own token
    // re-enrols it. Anybody else (the join key is on a public poster)
    // gets a new id and never the phone's token, seq or people.
    let known = match held {
        Some(r) => {
            let held_token: &str = r.get(2);
            let own = device.current_token_hash.is_some_and(|t| {
                cdht_server_db::rules::constant_time_eq(t.as_bytes(), held_token.as_bytes())
            });
            if own {
                Some((r.get::<_, String>(0), unsigned(r.get(1))))
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
                "DELETE FROM device_people WHERE device_id = $1",
                &[&device_id.to_string()],
            )?;
            0
        }
        None => 0,
    };
    // A re-enrolment drops an officer binding: whoever holds the phone now
    // has only scanned a poster.
    tx.execute(
        "INSERT INTO devices (id, unit, label, token_hash, last_push_seq, enrolled_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (id) DO UPDATE SET unit = $2, label = $3, token_hash = $4,
            last_push_seq = $5, enrolled_at = $6, officer_id = NULL,
            scope = 'own_records'",
        &[
            &device_id.to_string(),
            &unit,
            &device.label,
            &token_hash,
            &big(last_seq),
            &now(),
        ],
    )?;
    tx.commit()?;
    Ok(Some((row, last_seq, device_id)))
}

pub(crate) fn subject_for_token(
    db: &PgStorage,
    token_hash: &str,
    now: &str,
) -> Result<Option<Subject>> {
    let mut conn = db.conn()?;
    if let Some(r) = conn.query_opt(
        "SELECT id, unit, scope FROM devices WHERE token_hash = $1",
        &[&token_hash],
    )? {
        let id: &str = r.get(0);
        let device_id = id.parse().map_err(|_| corrupt(format!("device id {id}")))?;
        let scope: &str = r.get(2);
        let scope =
            DeviceScope::parse(scope).ok_or_else(|| corrupt(format!("device scope {scope}")))?;
        return Ok(Some(Subject::Device(DeviceRef {
            device_id,
            unit: UnitCode::new(r.get::<_, String>(1)),
            scope,
        })));
    }
    let Some(r) = conn.query_opt(
        "SELECT o.id, o.username FROM sessions s JOIN officers o ON o.id = s.officer_id
         WHERE s.token_hash = $1 AND s.expires_at > $2",
        &[&token_hash, &now],
    )?
    else {
        return Ok(None);
    };
    let id: i64 = r.get(0);
    Ok(Some(Subject::Officer {
        id,
        username: r.get(1),
        grants: grants(&mut *conn, id)?,
    }))
}

pub(crate) fn add_officer(
    db: &PgStorage,
    username: &str,
    password_hash: &str,
    grants: &[RoleGrant],
) -> Result<()> {
    let mut conn = db.conn()?;
    let mut tx = conn.transaction()?;
    let id: i64 = tx
        .query_one(
            "INSERT INTO officers (username, password_hash, created_at) VALUES ($1, $2, $3)
             ON CONFLICT (username) DO UPDATE SET password_hash = $2
             RETURNING id",
            &[&username, &password_hash, &now()],
        )?
        .get(0);
    for g in grants {
        let exists: bool = tx
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM units WHERE code = $1)",
                &[&g.unit.as_str()],
            )?
            .get(0);
        if !exists {
            return Err(StorageError::refused_saying(
                Refusal::NotFound,
                Code::UnknownUnit {
                    unit: g.unit.to_string(),
                },
                format!("no unit {}", g.unit),
            )
            .into());
        }
        tx.execute(
            "INSERT INTO officer_roles (officer_id, role, unit) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
            &[&id, &g.role.as_str(), &g.unit.as_str()],
        )?;
    }
    tx.commit()?;
    Ok(())
}

pub(crate) fn officer_login(
    db: &PgStorage,
    username: &str,
) -> Result<Option<(i64, String, Vec<RoleGrant>)>> {
    let mut conn = db.conn()?;
    let Some(r) = conn.query_opt(
        "SELECT id, password_hash FROM officers WHERE username = $1",
        &[&username],
    )?
    else {
        return Ok(None);
    };
    let id: i64 = r.get(0);
    Ok(Some((id, r.get(1), grants(&mut *conn, id)?)))
}

pub(crate) fn add_session(
    db: &PgStorage,
    officer_id: i64,
    token_hash: &str,
    expires_at: &str,
) -> Result<()> {
    let mut conn = db.conn()?;
    conn.execute("DELETE FROM sessions WHERE expires_at < $1", &[&now()])?;
    conn.execute(
        "INSERT INTO sessions (token_hash, officer_id, expires_at) VALUES ($1, $2, $3)",
        &[&token_hash, &officer_id, &expires_at],
    )?;
    Ok(())
}

pub(crate) fn bind_officer(
    db: &PgStorage,
    device_id: DeviceId,
    officer_id: Option<i64>,
) -> Result<()> {
    let scope = if officer_id.is_some() {
        DeviceScope::UnitRecords
    } else {
        DeviceScope::OwnRecords
    };
    let mut conn = db.conn()?;
    let mut tx = conn.transaction()?;
    let device = device_id.to_string();
    // Who turned which device into a collector device (it then reads the
    // whole unit's people) belongs in the audit log.
    let unit: Option<String> = tx
        .query_opt(
            "UPDATE devices SET officer_id = $2, scope = $3 WHERE id = $1 RETURNING unit",
            &[&device, &officer_id, &scope.as_str()],
        )?
        .map(|r| r.get(0));
    let actor: Option<String> = match officer_id {
        Some(id) => tx
            .query_opt("SELECT username FROM officers WHERE id = $1", &[&id])?
            .map(|r| r.get(0)),
        None => None,
    };
    let actor = actor.unwrap_or_else(|| format!("device:{device}"));
    let action = if officer_id.is_some() {
        "bind_officer"
    } else {
        "unbind_officer"
    };
    audit(
        &mut tx,
        &AuditRow {
            at: &now(),
            actor: &actor,
            action,
            unit: unit.as_deref(),
            assessment: None,
            from: None,
            to: None,
            detail: Some(&format!("device {device}")),
        },
    )?;
    tx.commit()?;
    Ok(())
}
