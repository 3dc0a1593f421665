//! `cdht-server init --demo`: a demo unit tree with officers, so a person can
//! try the whole flow on one machine.

use crate::storage::{NewUnit, Storage};
use cdht_core::ids::UnitCode;
use cdht_core::qr::JoinPayload;
use cdht_core::sync::{Role, RoleGrant};
use cdht_core::AreaType;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct DemoUnit {
    pub code: String,
    pub name: String,
    pub kind: String,
    pub parent: Option<String>,
    pub join_key: String,
    /// The unit QR's text (the URL a camera opens).
    pub qr_url: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct DemoOfficer {
    pub username: String,
    pub password: String,
    pub role: Role,
    pub unit: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct DemoTree {
    pub units: Vec<DemoUnit>,
    pub officers: Vec<DemoOfficer>,
}

/// (code, name, kind, parent, own area type)
type DemoUnitRow = (
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
    Option<AreaType>,
);
const DEMO_UNITS: &[DemoUnitRow] = &[
    (
        "DEMO-T",
        "Hội Khuyến học tỉnh Demo",
        "province",
        None,
        Some(AreaType::Normal),
    ),
    (
        "DEMO-X1",
        "Hội Khuyến học xã Bình An",
        "commune",
        Some("DEMO-T"),
        None,
    ),
    (
        "DEMO-X1-C1",
        "Chi hội khuyến học thôn Đông",
        "branch",
        Some("DEMO-X1"),
        None,
    ),
    (
        "DEMO-X1-C2",
        "Chi hội khuyến học thôn Tây",
        "branch",
        Some("DEMO-X1"),
        None,
    ),
    (
        "DEMO-X2",
        "Hội Khuyến học xã Nậm Pồ",
        "commune",
        Some("DEMO-T"),
        Some(AreaType::Difficult),
    ),
    (
        "DEMO-X2-C1",
        "Chi hội khuyến học bản Na Cô Sa",
        "branch",
        Some("DEMO-X2"),
        None,
    ),
    (
        "DEMO-X2-T1",
        "Ban khuyến học Trường Tiểu học Nậm Pồ",
        "agency",
        Some("DEMO-X2"),
        None,
    ),
];

/// (username, role, unit)
const DEMO_OFFICERS: &[(&str, Role, &str)] = &[
    ("admin-tinh", Role::Admin, "DEMO-T"),
    ("xem-tinh", Role::Viewer, "DEMO-T"),
    ("congnhan-x1", Role::Recogniser, "DEMO-X1"),
    ("kiemtra-x1", Role::Reviewer, "DEMO-X1"),
    ("congnhan-x2", Role::Recogniser, "DEMO-X2"),
    ("kiemtra-x2", Role::Reviewer, "DEMO-X2"),
    ("nhaplieu-x1-c1", Role::Collector, "DEMO-X1-C1"),
];

/// Creates the demo tree. `public_url` is the server as phones reach it.
pub fn init_demo(storage: &dyn Storage, public_url: &str) -> anyhow::Result<DemoTree> {
    let mut units = Vec::new();
    for (code, name, kind, parent, area) in DEMO_UNITS {
        let join_key = crate::random_code(10)?;
        storage.add_unit(&NewUnit {
            code: UnitCode::new(*code),
            name: (*name).to_owned(),
            kind: (*kind).to_owned(),
            parent: parent.map(UnitCode::new),
            area: *area,
            join_key: join_key.clone(),
        })?;
        let qr = JoinPayload::from_typed(public_url, code, &join_key)
            .map_err(|e| anyhow::anyhow!("{public_url}: {e}"))?;
        units.push(DemoUnit {
            code: (*code).to_owned(),
            name: (*name).to_owned(),
            kind: (*kind).to_owned(),
            parent: parent.map(str::to_owned),
            join_key,
            qr_url: qr.to_url(),
        });
    }
    let mut officers = Vec::new();
    for (username, role, unit) in DEMO_OFFICERS {
        let password = crate::random_code(12)?.to_ascii_lowercase();
        add_officer(
            storage,
            username,
            &password,
            &[RoleGrant {
                role: *role,
                unit: UnitCode::new(*unit),
            }],
        )?;
        officers.push(DemoOfficer {
            username: (*username).to_owned(),
            password,
            role: *role,
            unit: (*unit).to_owned(),
        });
    }
    Ok(DemoTree { units, officers })
}

pub fn add_officer(
    storage: &dyn Storage,
    username: &str,
    password: &str,
    grants: &[RoleGrant],
) -> anyhow::Result<()> {
    if password.chars().count() < 8 {
        anyhow::bail!("a password needs at least 8 characters");
    }
    let hash = crate::api::hash_password(password)?;
    storage.add_officer(username, &hash, grants)?;
    Ok(())
}
