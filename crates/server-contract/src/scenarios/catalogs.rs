//! Catalogs installed on the server, and telling devices of new revisions.

use crate::db::Refusal;
use crate::fixture::{assert_refused, collector, enrol, pull_all, tree, Device};
use crate::Backend;
use cdht_core::sync::Change;
use cdht_core::Catalog;

/// The embedded demo catalog at `revision`.
fn demo(revision: u32) -> Catalog {
    let mut catalog = cdht_core::embedded_catalogs()
        .unwrap()
        .iter()
        .find(|c| c.id.as_str() == "244-2022")
        .unwrap()
        .clone();
    catalog.revision = revision;
    catalog
}

/// The (id, revision) of the catalog changes a device pulls after `since`.
fn heard(s: &dyn crate::db::Storage, device: &Device, since: u64) -> Vec<(String, u32)> {
    pull_all(s, device, since, 100)
        .into_iter()
        .filter_map(|c| match c.change {
            Change::Catalog { catalog } => Some((catalog.id.to_string(), catalog.revision)),
            _ => None,
        })
        .collect()
}

/// A catalog installs as written and reaches every device; installing it
/// again needs a higher revision (`stale_revision`), and a refused one
/// changes nothing.
pub fn catalogs_install_and_revision(backend: &dyn Backend) {
    let s = backend.fresh();
    assert!(s.catalogs().unwrap().is_empty());
    assert!(s.catalog_revisions().unwrap().is_empty());
    tree(&*s);
    let phone = enrol(&*s, "C1");
    let elsewhere = collector(&*s, "C2");
    s.add_catalog(&demo(4)).unwrap();
    assert_eq!(s.catalogs().unwrap(), vec![demo(4)]);
    assert_eq!(
        s.catalog_revisions().unwrap(),
        vec![("244-2022".to_owned(), 4)]
    );
    for revision in [4, 2] {
        match s.add_catalog(&demo(revision)) {
            Err(crate::db::StorageError::Refused {
                kind: Refusal::Conflict,
                code:
                    cdht_core::Code::StaleRevision {
                        revision: r,
                        installed,
                        ..
                    },
                ..
            }) => assert_eq!((r, installed), (revision, 4)),
            other => panic!("revision {revision}: {other:?}"),
        }
    }
    assert_refused(s.add_catalog(&demo(3)), Refusal::Conflict, "stale_revision");
    s.add_catalog(&demo(5)).unwrap();
    assert_eq!(
        s.catalog_revisions().unwrap(),
        vec![("244-2022".to_owned(), 5)]
    );
    let both = vec![("244-2022".to_owned(), 4), ("244-2022".to_owned(), 5)];
    assert_eq!(heard(&*s, &phone, 0), both);
    assert_eq!(heard(&*s, &elsewhere, 0), both);
    let later = enrol(&*s, "C2");
    assert_eq!(
        heard(&*s, &later, 0),
        both,
        "also to devices enrolled later"
    );
}

/// A revision built into the server is announced once, above what was
/// announced and what is installed; with no device yet it is only noted.
pub fn announce_shipped_catalog(backend: &dyn Backend) {
    let s = backend.fresh();
    tree(&*s);
    assert!(
        !s.announce_shipped_catalog(&demo(4)).unwrap(),
        "no device to tell"
    );
    let phone = enrol(&*s, "C1");
    assert!(heard(&*s, &phone, 0).is_empty(), "noted, not a change");
    assert!(
        !s.announce_shipped_catalog(&demo(4)).unwrap(),
        "already announced"
    );
    assert!(s.announce_shipped_catalog(&demo(5)).unwrap());
    assert!(!s.announce_shipped_catalog(&demo(5)).unwrap(), "once");
    assert_eq!(heard(&*s, &phone, 0), vec![("244-2022".to_owned(), 5)]);
    s.add_catalog(&demo(7)).unwrap();
    assert!(
        !s.announce_shipped_catalog(&demo(6)).unwrap(),
        "below the installed one"
    );
    assert!(
        s.catalogs().unwrap().iter().all(|c| c.revision == 7),
        "announcing installs nothing"
    );
}
