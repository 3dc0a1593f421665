//! Push rule 2, the write scope: judged on what is stored, asked through
//! a few narrow questions each backend answers in its push transaction.

/// What the write-scope rule ([`may_write`]) asks the database, each
/// answered inside the push's transaction (and from what the batch wrote so
/// far, which the database may not show yet).
pub trait ScopeLookup {
    /// Whether `unit` is `root` or a unit below it.
    fn in_subtree(&self, root: &str, unit: &str) -> crate::StorageResult<bool>;
    /// Whether the pushing device wrote this person (its own people).
    fn is_own_person(&self, person: &str) -> crate::StorageResult<bool>;
    /// The device that sent the stored evidence record `id`.
    fn evidence_pusher(&self, id: &str) -> crate::StorageResult<Option<String>>;
    /// The unit of a person the server has.
    fn person_unit(&self, person: &str) -> crate::StorageResult<Option<String>>;
}

/// The record a device pushes, as the write-scope rule judges it.
#[derive(Debug, Clone, Copy)]
pub struct WriteTarget<'a> {
    pub id: &'a str,
    /// The unit owning the stored record; `None` for a new record.
    pub owner: Option<&'a str>,
    /// The person it is about: for a stored record, its *stored* person.
    pub subject: Option<&'a str>,
    /// A person the server does not have yet (its own subject).
    pub new_person: bool,
}

/// Push rule 2: may this device write `target`? Judged on what is stored,
/// never on what the pushed body claims: a stored record by its owning unit
/// (inside a collector device's subtree) or its stored person (one of an
/// `own_records` device's own people); a new record by its person, when the
/// server knows them, so nobody attaches a record to somebody else's person.
pub fn may_write(
    device: &crate::DeviceRef,
    device_id: &str,
    target: &WriteTarget<'_>,
    db: &impl ScopeLookup,
) -> crate::StorageResult<bool> {
    use cdht_core::sync::DeviceScope;
    let unit = device.unit.as_str();
    match target.owner {
        Some(owner) => match (device.scope, target.subject) {
            (DeviceScope::UnitRecords, _) => db.in_subtree(unit, owner),
            (DeviceScope::OwnRecords, Some(person)) => db.is_own_person(person),
            // An evidence record whose assessment the server never got: only
            // the phone that sent it.
            (DeviceScope::OwnRecords, None) => Ok(owner == unit
                && db
                    .evidence_pusher(target.id)?
                    .is_some_and(|pusher| pusher == device_id)),
        },
        None => {
            let Some(person) = target.subject.filter(|_| !target.new_person) else {
                return Ok(true);
            };
            let Some(person_unit) = db.person_unit(person)? else {
                return Ok(true);
            };
            match device.scope {
                DeviceScope::UnitRecords => db.in_subtree(unit, &person_unit),
                DeviceScope::OwnRecords => db.is_own_person(person),
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A small world: units U > U1 and V; person P of U1 written by this
    /// device, person Q of V by another; evidence E sent by this device.
    struct World;
    impl ScopeLookup for World {
        fn in_subtree(&self, root: &str, unit: &str) -> crate::StorageResult<bool> {
            Ok(root == unit || (root == "U" && unit == "U1"))
        }
        fn is_own_person(&self, person: &str) -> crate::StorageResult<bool> {
            Ok(person == "P")
        }
        fn evidence_pusher(&self, id: &str) -> crate::StorageResult<Option<String>> {
            Ok((id == "E").then(|| "me".to_owned()))
        }
        fn person_unit(&self, person: &str) -> crate::StorageResult<Option<String>> {
            Ok(match person {
                "P" => Some("U1".into()),
                "Q" => Some("V".into()),
                _ => None,
            })
        }
    }

    #[test]
    fn write_scope_is_judged_on_what_is_stored() {
        use cdht_core::sync::DeviceScope;
        let device = |scope| crate::DeviceRef {
            device_id: cdht_core::ids::DeviceId::new_v7(),
            unit: "U".into(),
            scope,
        };
        let may = |scope, owner, subject, id, new_person| {
            let target = WriteTarget {
                id,
                owner,
                subject,
                new_person,
            };
            may_write(&device(scope), "me", &target, &World).unwrap()
        };
        use DeviceScope::{OwnRecords as Own, UnitRecords as Unit};
        // Stored records: a collector by the owning unit, a phone by its people.
        assert!(may(Unit, Some("U1"), Some("Q"), "x", false));
        assert!(!may(Unit, Some("V"), Some("P"), "x", false));
        assert!(may(Own, Some("V"), Some("P"), "x", false));
        assert!(!may(Own, Some("U"), Some("Q"), "x", false));
        // Evidence whose assessment the server lacks: only its sender.
        assert!(may(Own, Some("U"), None, "E", false));
        assert!(!may(Own, Some("U"), None, "F", false));
        // New records hang on a person the device may write, if known.
        assert!(may(Own, None, Some("N"), "x", true));
        assert!(may(Unit, None, Some("unknown"), "x", false));
        assert!(may(Unit, None, Some("P"), "x", false));
        assert!(!may(Unit, None, Some("Q"), "x", false));
        assert!(!may(Own, None, Some("Q"), "x", false));
    }
}
